using System.Globalization;
using ChatOpsPull.Core.Digest;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Storage;
using Dapper;

namespace ChatOpsPull.Digest;

/// <summary>How often something was done in the period, from the audit log ("incident.snoozed" × 2).</summary>
public sealed record AuditActionCount(string Action, int Done, int Refused, int Failed);

/// <summary>
/// Reads what a digest needs straight from the bot's tables, lean: incident rows without pods or diagnosis (with a
/// pod count), Pulled events without keys, and audit counts. Filters by cluster and namespace globs; an exact cluster
/// name is pushed into SQL, patterns are applied here.
/// </summary>
public sealed class DigestDataReader(BotDatabase database)
{
    /// <summary>Incidents opened or closed in [from, to), and every incident open now that opened before <paramref name="to"/>.</summary>
    public async Task<IReadOnlyList<IncidentFacts>> IncidentsAsync(DateTimeOffset from, DateTimeOffset to, string clusterGlob, string namespaceGlob, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await connection.QueryAsync<IncidentRow>(new CommandDefinition(
            """
            SELECT i.id AS Id, i.cluster AS Cluster, i.namespace AS Namespace, i.subject AS Subject, i.image AS Image, i.cause AS Cause,
                   i.state AS State, i.opened_at AS OpenedAt, i.resolved_at AS ResolvedAt,
                   (SELECT COUNT(*) FROM incident_pods p WHERE p.incident_id = i.id) AS Pods
            FROM incidents i
            WHERE (@cluster IS NULL OR i.cluster = @cluster)
              AND ((i.opened_at >= @from AND i.opened_at < @to)
                OR (i.resolved_at >= @from AND i.resolved_at < @to)
                OR (i.open_key IS NOT NULL AND i.opened_at < @to))
            """,
            new { from = BotDatabase.ToDb(from), to = BotDatabase.ToDb(to), cluster = ExactOrNull(clusterGlob) },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return rows
            .Where(r => Glob.IsMatch(clusterGlob, r.Cluster) && Glob.IsMatch(namespaceGlob, r.Namespace))
            .Select(r => r.ToFacts())
            .ToList();
    }

    /// <summary>Pulled events observed in [from, to).</summary>
    public async Task<IReadOnlyList<PullSample>> PullsAsync(DateTimeOffset from, DateTimeOffset to, string clusterGlob, string namespaceGlob, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var cluster = ExactOrNull(clusterGlob);
        var sql = cluster is null
            ? "SELECT cluster, namespace, registry_host, image, node, duration_ms, size_bytes, observed_at FROM pull_events WHERE observed_at >= @from AND observed_at < @to"
            : "SELECT cluster, namespace, registry_host, image, node, duration_ms, size_bytes, observed_at FROM pull_events WHERE cluster = @cluster AND observed_at >= @from AND observed_at < @to";
        var samples = new List<PullSample>();
        await using var reader = await connection.ExecuteReaderAsync(new CommandDefinition(
            sql,
            new { from = PullEventTime(from), to = PullEventTime(to), cluster },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        var anyCluster = cluster is not null || clusterGlob == "*";
        var anyNamespace = namespaceGlob == "*";
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        string Shared(string value) => names.TryGetValue(value, out var known) ? known : names[value] = value;
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if ((!anyCluster && !Glob.IsMatch(clusterGlob, reader.GetString(0))) || (!anyNamespace && !Glob.IsMatch(namespaceGlob, reader.GetString(1))))
            {
                continue;
            }

            samples.Add(new PullSample(
                reader.IsDBNull(2) ? "(unknown)" : Shared(reader.GetString(2)),
                Shared(reader.GetString(3)),
                reader.IsDBNull(4) ? null : Shared(reader.GetString(4)),
                reader.IsDBNull(5) ? null : reader.GetInt64(5),
                reader.IsDBNull(6) ? null : reader.GetInt64(6),
                ParseObservedAt(reader.GetString(7))));
        }

        return samples;
    }

    /// <summary>"2026-03-23T08:00:00.000Z" as the watcher writes it, read without the general parser (100,000 rows a digest).</summary>
    internal static DateTimeOffset ParseObservedAt(string text)
    {
        static int Digits(ReadOnlySpan<char> span)
        {
            var value = 0;
            foreach (var c in span)
            {
                if (!char.IsAsciiDigit(c))
                {
                    return -1;
                }

                value = (value * 10) + (c - '0');
            }

            return value;
        }

        var s = text.AsSpan();
        if (s.Length == 24 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' && s[19] == '.' && s[23] == 'Z')
        {
            int year = Digits(s[..4]), month = Digits(s[5..7]), day = Digits(s[8..10]), hour = Digits(s[11..13]), minute = Digits(s[14..16]), second = Digits(s[17..19]), ms = Digits(s[20..23]);
            if (year > 0 && month is >= 1 and <= 12 && day >= 1 && day <= DateTime.DaysInMonth(year, month) && hour is >= 0 and < 24 && minute is >= 0 and < 60 && second is >= 0 and < 60 && ms >= 0)
            {
                return new DateTimeOffset(year, month, day, hour, minute, second, ms, TimeSpan.Zero);
            }
        }

        return DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
    }

    /// <summary>
    /// Audit lines of the period grouped by action, for actions beyond the incident lifecycle the digest already counts
    /// (snoozes, mutes, approvals, jobs). Lines about an incident follow its cluster/namespace; lines about no incident
    /// are counted only when the digest covers every cluster and namespace.
    /// </summary>
    public async Task<IReadOnlyList<AuditActionCount>> ActionsAsync(DateTimeOffset from, DateTimeOffset to, string clusterGlob, string namespaceGlob, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var notLifecycle = database.Dialect.NotIn("a.action", "@lifecycle");
        var rows = await connection.QueryAsync<(string Action, string Outcome, string? Cluster, string? Namespace, long Count)>(new CommandDefinition(
            $"""
            SELECT a.action, a.outcome, i.cluster, i.namespace, COUNT(*)
            FROM audit_log a LEFT JOIN incidents i ON i.id = a.incident_id
            WHERE a.at >= @from AND a.at < @to AND {notLifecycle}
            GROUP BY a.action, a.outcome, i.cluster, i.namespace
            """,
            new { from = BotDatabase.ToDb(from), to = BotDatabase.ToDb(to), lifecycle = SqlList.Of(LifecycleActions) },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        var everything = clusterGlob == "*" && namespaceGlob == "*";
        return rows
            .Where(r => r.Cluster is null ? everything : Glob.IsMatch(clusterGlob, r.Cluster) && Glob.IsMatch(namespaceGlob, r.Namespace ?? string.Empty))
            .GroupBy(r => r.Action, StringComparer.Ordinal)
            .Select(g => new AuditActionCount(
                g.Key,
                (int)g.Where(r => r.Outcome == "done").Sum(r => r.Count),
                (int)g.Where(r => r.Outcome == "refused").Sum(r => r.Count),
                (int)g.Where(r => r.Outcome == "failed").Sum(r => r.Count)))
            .OrderByDescending(c => c.Done + c.Refused + c.Failed).ThenBy(c => c.Action, StringComparer.Ordinal)
            .ToList();
    }

    private static readonly string[] LifecycleActions =
    [
        "incident.opened", "incident.reopened", "incident.cause_changed", "incident.resolved", "incident.state_changed",
        "incident.diagnosed", "incident.diagnosis_requested", "incident.rolled_up",
    ];

    /// <summary>The watcher stores observed_at as ISO-8601 text with milliseconds and 'Z': it sorts as text.</summary>
    private static string PullEventTime(DateTimeOffset at) =>
        at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static string? ExactOrNull(string glob) =>
        glob.Contains('*', StringComparison.Ordinal) || glob.Contains('?', StringComparison.Ordinal) ? null : glob;

#pragma warning disable CA1812, IDE1006 // instantiated by Dapper
    private sealed class IncidentRow
    {
        public string Id { get; set; } = "";
        public string Cluster { get; set; } = "";
        public string Namespace { get; set; } = "";
        public string Subject { get; set; } = "";
        public string Image { get; set; } = "";
        public string Cause { get; set; } = "";
        public string State { get; set; } = "";
        public long OpenedAt { get; set; }
        public long? ResolvedAt { get; set; }
        public long Pods { get; set; }

        public IncidentFacts ToFacts() => new(
            Id,
            Cluster,
            Namespace,
            Subject,
            Image,
            PullCauseNames.TryParse(Cause, out var cause) ? cause : PullCause.Unknown,
            IncidentTransitions.TryParse(State, out var state) ? state : IncidentState.Open,
            BotDatabase.FromDb(OpenedAt),
            BotDatabase.FromDb(ResolvedAt),
            (int)Pods);
    }
#pragma warning restore CA1812, IDE1006
}
