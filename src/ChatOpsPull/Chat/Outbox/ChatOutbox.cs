using System.Collections.Concurrent;
using ChatOpsPull.Storage;
using Dapper;

namespace ChatOpsPull.Chat.Outbox;

/// <summary>A row the web page can show: a send that failed for good.</summary>
public sealed record OutboxFailure(long Id, ChatPlatform Platform, string Channel, string Operation, int Attempts, string? LastError, DateTimeOffset CreatedAt, DateTimeOffset FailedAt);

/// <summary>How many rows are in each state.</summary>
public sealed record OutboxCounts(int Pending, int Sending, int Delivered, int Failed, int Superseded);

/// <summary>One row as stored, for status pages and tests.</summary>
/// <param name="SentBy">The replica that delivered it or gave it up.</param>
public sealed record OutboxRow(long Id, ChatPlatform Platform, string Channel, string Operation, string Payload, string? DedupeKey, int Attempts, OutboxState State, string? LastError, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, string? SentBy);

/// <summary>
/// The persistent outbound queue. <see cref="EnqueueAsync"/> stores the message and wakes the dispatcher; the
/// <see cref="OutboxDispatcher"/> sends it when its channel's turn comes. A message with a dedupe key that is already
/// pending replaces that pending message's operation and payload (one send, the newest content: card updates coalesce).
/// A message with a once key (<see cref="EnqueueOnceAsync"/>, a thread line) is added only when no row holds that key yet,
/// whatever its state: a line told again after a crash, or by two replicas, is sent once. A line that failed for good (the
/// channel is gone) keeps its key and is never queued again; one given up after its retries (Slack or Teams down longer
/// than <see cref="OutboxOptions.MaxAttempts"/> tries) frees its key, so the same news told again is sent then.
/// </summary>
public sealed class ChatOutbox(BotDatabase database, SqliteWriteGate gate, OutboxSignal signal, TimeProvider time) : IChatOutbox
{
    /// <summary>Lanes known to exist, so most enqueues are one INSERT.</summary>
    private readonly ConcurrentDictionary<(string Platform, string Channel), bool> _knownLanes = new();

    public async Task<long> EnqueueAsync(ChatPlatform platform, string channel, string operation, string payload, string? dedupeKey, CancellationToken cancellationToken)
    {
        var row = Row(platform, channel, operation, payload, string.IsNullOrEmpty(dedupeKey) ? null : dedupeKey);
        var id = await InsertAsync(
            row,
            row.key is null
                ? """
                  INSERT INTO chat_outbox (platform, channel, operation, payload, dedupe_key, attempts, not_before, created_at, updated_at, state)
                  VALUES (@platform, @channel, @operation, @payload, NULL, 0, @now, @now, @now, 'pending')
                  RETURNING id
                  """
                : """
                  INSERT INTO chat_outbox (platform, channel, operation, payload, dedupe_key, attempts, not_before, created_at, updated_at, state)
                  VALUES (@platform, @channel, @operation, @payload, @key, 0, @now, @now, @now, 'pending')
                  ON CONFLICT (dedupe_key) WHERE state = 'pending'
                  DO UPDATE SET operation = excluded.operation, payload = excluded.payload, updated_at = excluded.updated_at
                  RETURNING id
                  """,
            cancellationToken).ConfigureAwait(false);
        return id!.Value;
    }

    public Task<long?> EnqueueOnceAsync(ChatPlatform platform, string channel, string operation, string payload, string onceKey, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(onceKey);
        return InsertAsync(
            Row(platform, channel, operation, payload, onceKey),
            """
            INSERT INTO chat_outbox (platform, channel, operation, payload, once_key, attempts, not_before, created_at, updated_at, state)
            VALUES (@platform, @channel, @operation, @payload, @key, 0, @now, @now, @now, 'pending')
            ON CONFLICT (once_key) DO NOTHING
            RETURNING id
            """,
            cancellationToken);
    }

    private OutboxInsert Row(ChatPlatform platform, string channel, string operation, string payload, string? key)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        ArgumentException.ThrowIfNullOrEmpty(operation);
        ArgumentNullException.ThrowIfNull(payload);
        return new OutboxInsert(OutboxStateNames.PlatformName(platform), channel, operation, payload, key, time.GetUtcNow().ToUnixTimeMilliseconds());
    }

    /// <summary>Makes sure the lane exists, runs <paramref name="insert"/> and wakes the dispatcher; the id inserted (or merged into), null when none.</summary>
    private async Task<long?> InsertAsync(OutboxInsert row, string insert, CancellationToken cancellationToken)
    {
        long? id;
        using (await gate.EnterAsync(cancellationToken).ConfigureAwait(false))
        {
            await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
            if (!_knownLanes.ContainsKey((row.platform, row.channel)))
            {
                await connection.ExecuteAsync(
                    "INSERT INTO chat_outbox_lanes (platform, channel, next_at) VALUES (@platform, @channel, 0) ON CONFLICT (platform, channel) DO NOTHING",
                    row).ConfigureAwait(false);
                _knownLanes.TryAdd((row.platform, row.channel), true);
            }

            id = await connection.ExecuteScalarAsync<long?>(insert, row).ConfigureAwait(false);
        }

        if (id is not null)
        {
            signal.Notify();
        }

        return id;
    }

    /// <summary>The most recent permanent failures, newest first: what the web page shows so a person sees them.</summary>
    public async Task<IReadOnlyList<OutboxFailure>> RecentFailuresAsync(int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await connection.QueryAsync<RawRow>(
            "SELECT id, platform, channel, operation, payload, dedupe_key, attempts, state, last_error, created_at, updated_at FROM chat_outbox WHERE state = 'failed' ORDER BY updated_at DESC, id DESC LIMIT @limit",
            new { limit = Math.Clamp(limit, 1, 1000) }).ConfigureAwait(false);
        return rows.Select(r => new OutboxFailure(
            r.id, OutboxStateNames.ParsePlatform(r.platform), r.channel, r.operation, (int)r.attempts, r.last_error,
            DateTimeOffset.FromUnixTimeMilliseconds(r.created_at), DateTimeOffset.FromUnixTimeMilliseconds(r.updated_at))).ToList();
    }

    public async Task<OutboxCounts> CountsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var counts = (await connection.QueryAsync<(string State, long Count)>(
            "SELECT state, COUNT(*) FROM chat_outbox GROUP BY state").ConfigureAwait(false))
            .ToDictionary(c => c.State, c => (int)c.Count, StringComparer.Ordinal);
        int Count(string state) => counts.GetValueOrDefault(state);
        return new OutboxCounts(
            Count(OutboxStateNames.Pending), Count(OutboxStateNames.Sending), Count(OutboxStateNames.Delivered),
            Count(OutboxStateNames.Failed), Count(OutboxStateNames.Superseded));
    }

    /// <summary>Whether a message enqueued with <paramref name="dedupeKey"/> is still to be sent (pending, or being sent now).</summary>
    public async Task<bool> IsWaitingAsync(string dedupeKey, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM chat_outbox WHERE dedupe_key = @dedupeKey AND state IN ('pending', 'sending')",
            new { dedupeKey }).ConfigureAwait(false) > 0;
    }

    public async Task<OutboxRow?> GetAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var row = await connection.QuerySingleOrDefaultAsync<RawRow>(
            "SELECT id, platform, channel, operation, payload, dedupe_key, attempts, state, last_error, created_at, updated_at, sent_by FROM chat_outbox WHERE id = @id",
            new { id }).ConfigureAwait(false);
        return row is null ? null : ToRow(row);
    }

    public async Task<IReadOnlyList<OutboxRow>> ListAsync(ChatPlatform platform, string channel, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await connection.QueryAsync<RawRow>(
            "SELECT id, platform, channel, operation, payload, dedupe_key, attempts, state, last_error, created_at, updated_at, sent_by FROM chat_outbox WHERE platform = @platform AND channel = @channel ORDER BY id",
            new { platform = OutboxStateNames.PlatformName(platform), channel }).ConfigureAwait(false);
        return rows.Select(ToRow).ToList();
    }

    private static OutboxRow ToRow(RawRow r) => new(
        r.id, OutboxStateNames.ParsePlatform(r.platform), r.channel, r.operation, r.payload, r.dedupe_key, (int)r.attempts,
        OutboxStateNames.Parse(r.state), r.last_error,
        DateTimeOffset.FromUnixTimeMilliseconds(r.created_at), DateTimeOffset.FromUnixTimeMilliseconds(r.updated_at), r.sent_by);

#pragma warning disable IDE1006, CA1812 // Dapper maps columns by name; instantiated by Dapper
    /// <summary>The parameters of an insert (<c>key</c>: its dedupe or once key).</summary>
    private sealed record OutboxInsert(string platform, string channel, string operation, string payload, string? key, long now);

    private sealed class RawRow
    {
        public long id { get; set; }

        public string platform { get; set; } = string.Empty;

        public string channel { get; set; } = string.Empty;

        public string operation { get; set; } = string.Empty;

        public string payload { get; set; } = string.Empty;

        public string? dedupe_key { get; set; }

        public long attempts { get; set; }

        public string state { get; set; } = string.Empty;

        public string? last_error { get; set; }

        public long created_at { get; set; }

        public long updated_at { get; set; }

        public string? sent_by { get; set; }
    }
#pragma warning restore IDE1006, CA1812
}
