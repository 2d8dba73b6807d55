using ChatOpsPull.Core.Images;
using ChatOpsPull.Storage;
using Dapper;

namespace ChatOpsPull.Detection.KubernetesWatch;

/// <summary>One successful image pull, from a kubelet Pulled event. For the digest: slowest and most-pulled images.</summary>
/// <param name="EventKey">Event uid and count: the same event seen again (relist, restart) is stored once.</param>
public sealed record PullEventRecord(
    string Cluster,
    string Namespace,
    string Pod,
    string? Node,
    string Image,
    string? RegistryHost,
    long? DurationMs,
    long? SizeBytes,
    DateTimeOffset ObservedAt,
    string EventKey);

/// <summary>Table <c>pull_events</c> (migration 0400-pull-events), written by the watcher, read by the digest.</summary>
public sealed class PullEventStore
{
    /// <summary>
    /// Replaces main's <c>0401-pull-events</c> (one text per engine, <c>BIGSERIAL</c> on PostgreSQL): a database made with it
    /// keeps its rows and gets the identity column <c>{identity}</c> makes.
    /// </summary>
    public static readonly SchemaMigration Migration = new(
        "0400-pull-events",
        """
        CREATE TABLE pull_events (
            id {identity},
            cluster TEXT NOT NULL,
            namespace TEXT NOT NULL,
            pod TEXT NOT NULL,
            node TEXT NULL,
            image TEXT NOT NULL,
            registry_host TEXT NULL,
            duration_ms {bigint} NULL,
            size_bytes {bigint} NULL,
            observed_at TEXT NOT NULL,
            event_key TEXT NOT NULL
        );
        CREATE UNIQUE INDEX ux_pull_events_event ON pull_events (cluster, event_key);
        CREATE INDEX ix_pull_events_observed ON pull_events (cluster, observed_at);
        CREATE INDEX ix_pull_events_image ON pull_events (image);
        """)
    {
        Replaces = ["0401-pull-events"],
        Upgrade = dialect => dialect.IdentityFromSerial("pull_events", "id"),
    };

    private readonly BotDatabase _database;

    public PullEventStore(BotDatabase database)
    {
        _database = database;
    }

    /// <summary>The registry host of an image reference, or null when it does not parse.</summary>
    public static string? RegistryHostOf(string image) =>
        ImageReference.TryParse(image, out var reference, out _) ? reference.Domain : null;

    /// <returns>False when this event was already stored.</returns>
    public async Task<bool> RecordAsync(PullEventRecord record, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var inserted = await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO pull_events (cluster, namespace, pod, node, image, registry_host, duration_ms, size_bytes, observed_at, event_key)
            VALUES (@Cluster, @Namespace, @Pod, @Node, @Image, @RegistryHost, @DurationMs, @SizeBytes, @ObservedAt, @EventKey)
            ON CONFLICT (cluster, event_key) DO NOTHING
            """,
            new
            {
                record.Cluster,
                record.Namespace,
                record.Pod,
                record.Node,
                record.Image,
                record.RegistryHost,
                record.DurationMs,
                record.SizeBytes,
                ObservedAt = record.ObservedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture),
                record.EventKey,
            },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return inserted > 0;
    }

    /// <summary>Pulls observed since <paramref name="since"/>, newest first.</summary>
    public async Task<IReadOnlyList<PullEventRecord>> ListAsync(string cluster, DateTimeOffset since, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition(
            """
            SELECT cluster AS Cluster, namespace AS Namespace, pod AS Pod, node AS Node, image AS Image, registry_host AS RegistryHost,
                   duration_ms AS DurationMs, size_bytes AS SizeBytes, observed_at AS ObservedAt, event_key AS EventKey
            FROM pull_events WHERE cluster = @cluster AND observed_at >= @since ORDER BY observed_at DESC, id DESC
            """,
            new { cluster, since = since.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture) },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return rows.Select(r => new PullEventRecord(
            r.Cluster, r.Namespace, r.Pod, r.Node, r.Image, r.RegistryHost, r.DurationMs, r.SizeBytes,
            DateTimeOffset.Parse(r.ObservedAt, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal | System.Globalization.DateTimeStyles.AdjustToUniversal),
            r.EventKey)).ToArray();
    }

    private sealed record Row(string Cluster, string Namespace, string Pod, string? Node, string Image, string? RegistryHost, long? DurationMs, long? SizeBytes, string ObservedAt, string EventKey);
}
