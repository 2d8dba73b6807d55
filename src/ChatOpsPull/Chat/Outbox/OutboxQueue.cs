using System.Data.Common;
using ChatOpsPull.Storage;
using Dapper;

namespace ChatOpsPull.Chat.Outbox;

/// <summary>A (platform, channel) pair: messages to it are sent one after another, paced.</summary>
internal sealed record OutboxLane(ChatPlatform Platform, string Channel);

/// <summary>
/// The dispatcher's statements. Every claim is one UPDATE guarded by its WHERE clause, so with several replicas on
/// PostgreSQL exactly one of them wins a lane or a row (row locks re-check the condition); SQLite serializes writers.
/// </summary>
internal sealed class OutboxQueue(BotDatabase database, SqliteWriteGate gate)
{
    /// <summary>Dapper sends a list as an array to PostgreSQL (= ANY) and expands it for SQLite (IN (…)).</summary>
    private string PlatformIn => database.Dialect.In("l.platform", "@platforms");

    /// <summary>
    /// Puts rows left in 'sending' back to 'pending': all of them when this is the only replica that can exist (SQLite,
    /// at start), otherwise those whose lease ran out (their replica died). A row whose newer version is already
    /// pending becomes 'superseded' instead.
    /// </summary>
    public async Task<int> RecoverAsync(bool everything, long now, CancellationToken cancellationToken)
    {
        var condition = everything ? "state = 'sending'" : "state = 'sending' AND lease_until < @now";
        using var pass = await gate.EnterAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await connection.ExecuteAsync(
            $"""
            UPDATE chat_outbox SET
                state = CASE WHEN dedupe_key IS NOT NULL AND EXISTS (
                    SELECT 1 FROM chat_outbox p WHERE p.dedupe_key = chat_outbox.dedupe_key AND p.state = 'pending') THEN 'superseded' ELSE 'pending' END,
                lease_owner = NULL, lease_until = NULL, updated_at = @now
            WHERE {condition}
            """,
            new { now }).ConfigureAwait(false);
        if (everything)
        {
            await connection.ExecuteAsync("UPDATE chat_outbox_lanes SET lease_owner = NULL, lease_until = NULL WHERE lease_owner IS NOT NULL").ConfigureAwait(false);
        }

        return rows;
    }

    public async Task<IReadOnlyList<OutboxLane>> ReadyLanesAsync(IReadOnlyList<string> platforms, long now, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var lanes = await connection.QueryAsync<(string Platform, string Channel)>(
            $"""
            SELECT l.platform, l.channel FROM chat_outbox_lanes l
            WHERE {PlatformIn} AND l.next_at <= @now AND (l.lease_owner IS NULL OR l.lease_until < @now)
              AND EXISTS (SELECT 1 FROM chat_outbox o WHERE o.platform = l.platform AND o.channel = l.channel AND o.state = 'pending' AND o.not_before <= @now)
            ORDER BY l.next_at
            LIMIT @limit
            """,
            new { platforms = SqlList.Of(platforms), now, limit }).ConfigureAwait(false);
        return lanes.Select(l => new OutboxLane(OutboxStateNames.ParsePlatform(l.Platform), l.Channel)).ToList();
    }

    /// <summary>Earliest time a free lane with pending rows may send one of them, or null when there is none.</summary>
    public async Task<long?> NextDueAsync(IReadOnlyList<string> platforms, long now, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        // A lane is due when it may send and its first row that is not set aside may go: the later of the two.
        return await connection.ExecuteScalarAsync<long?>(
            $"""
            SELECT MIN(CASE WHEN l.next_at > d.due THEN l.next_at ELSE d.due END) FROM chat_outbox_lanes l
            JOIN (SELECT platform, channel, MIN(not_before) AS due FROM chat_outbox WHERE state = 'pending' GROUP BY platform, channel) d
              ON d.platform = l.platform AND d.channel = l.channel
            WHERE {PlatformIn} AND (l.lease_owner IS NULL OR l.lease_until < @now)
            """,
            new { platforms = SqlList.Of(platforms), now }).ConfigureAwait(false);
    }

    public async Task ReleaseLaneAsync(OutboxLane lane, string owner, long nextAt, CancellationToken cancellationToken)
    {
        using var pass = await gate.EnterAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(
            "UPDATE chat_outbox_lanes SET lease_owner = NULL, lease_until = NULL, next_at = @nextAt WHERE platform = @platform AND channel = @channel AND lease_owner = @owner",
            new { nextAt, owner, platform = OutboxStateNames.PlatformName(lane.Platform), channel = lane.Channel }).ConfigureAwait(false);
    }

    /// <summary>
    /// Leases the lane and claims its oldest pending row not set aside (not_before passed) in one transaction (one commit). Leased is false when another
    /// replica has the lane or it is not due; a leased lane without pending rows is released again at once.
    /// </summary>
    public async Task<(bool Leased, OutboxMessage? Message)> LeaseAndClaimAsync(OutboxLane lane, string owner, long now, long until, CancellationToken cancellationToken)
    {
        var args = new { owner, until, now, platform = OutboxStateNames.PlatformName(lane.Platform), channel = lane.Channel };
        using var pass = await gate.EnterAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var leased = await connection.ExecuteAsync(
            """
            UPDATE chat_outbox_lanes SET lease_owner = @owner, lease_until = @until
            WHERE platform = @platform AND channel = @channel AND next_at <= @now AND (lease_owner IS NULL OR lease_until < @now)
            """,
            args, transaction).ConfigureAwait(false) == 1;
        if (!leased)
        {
            await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
            return (false, null);
        }

        var row = await connection.QuerySingleOrDefaultAsync<ClaimedRow>(ClaimSql, args, transaction).ConfigureAwait(false);
        if (row is null)
        {
            await connection.ExecuteAsync(
                "UPDATE chat_outbox_lanes SET lease_owner = NULL, lease_until = NULL WHERE platform = @platform AND channel = @channel AND lease_owner = @owner",
                args, transaction).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return (true, row is null ? null : ToMessage(row));
    }

    /// <summary>Records a final outcome ('delivered' or 'failed') and hands the lane back, in one transaction.</summary>
    /// <param name="forgetOnceKey">
    /// Frees the row's once key (a send given up after its retries, for a transient reason): the same news told again
    /// later queues its line anew. A row that failed for good (the channel is gone, the payload is refused) keeps its key,
    /// so no retell queues it again.
    /// </param>
    public async Task FinishAsync(OutboxLane lane, long id, bool delivered, string? error, string owner, long nextAt, long now, CancellationToken cancellationToken, bool forgetOnceKey = false)
    {
        using var pass = await gate.EnterAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(
            forgetOnceKey
                ? "UPDATE chat_outbox SET state = @state, last_error = @error, lease_owner = NULL, lease_until = NULL, sent_by = @owner, updated_at = @now, once_key = NULL WHERE id = @id"
                : "UPDATE chat_outbox SET state = @state, last_error = @error, lease_owner = NULL, lease_until = NULL, sent_by = @owner, updated_at = @now WHERE id = @id",
            new { id, state = delivered ? OutboxStateNames.Delivered : OutboxStateNames.Failed, error = error is null ? null : Shorten(error), owner, now },
            transaction).ConfigureAwait(false);
        await connection.ExecuteAsync(
            "UPDATE chat_outbox_lanes SET lease_owner = NULL, lease_until = NULL, next_at = @nextAt WHERE platform = @platform AND channel = @channel AND lease_owner = @owner",
            new { nextAt, owner, platform = OutboxStateNames.PlatformName(lane.Platform), channel = lane.Channel },
            transaction).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Back to 'pending' for another try at <paramref name="notBefore"/> (or 'superseded' when a newer version waits).</summary>
    /// <param name="uncount">Takes back the attempt (rate limits and shutdown are not failures).</param>
    public async Task RescheduleAsync(long id, long notBefore, string? error, bool uncount, long now, CancellationToken cancellationToken)
    {
        using var pass = await gate.EnterAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var args = new { id, notBefore, error = error is null ? null : Shorten(error), uncount = uncount ? 1 : 0, now };
        try
        {
            await connection.ExecuteAsync(
                """
                UPDATE chat_outbox SET
                    state = CASE WHEN dedupe_key IS NOT NULL AND EXISTS (
                        SELECT 1 FROM chat_outbox p WHERE p.dedupe_key = chat_outbox.dedupe_key AND p.state = 'pending') THEN 'superseded' ELSE 'pending' END,
                    not_before = @notBefore, last_error = @error, attempts = attempts - @uncount,
                    lease_owner = NULL, lease_until = NULL, updated_at = @now
                WHERE id = @id
                """,
                args).ConfigureAwait(false);
        }
        catch (DbException)
        {
            // A newer version with the same dedupe key became pending at the same moment (unique index): it wins.
            await connection.ExecuteAsync(
                "UPDATE chat_outbox SET state = 'superseded', last_error = @error, lease_owner = NULL, lease_until = NULL, updated_at = @now WHERE id = @id",
                args).ConfigureAwait(false);
        }
    }

    /// <summary>Deletes delivered and superseded rows last touched before <paramref name="before"/>.</summary>
    public async Task<int> PurgeAsync(long before, CancellationToken cancellationToken)
    {
        using var pass = await gate.EnterAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.ExecuteAsync(
            "DELETE FROM chat_outbox WHERE state IN ('delivered', 'superseded') AND updated_at < @before",
            new { before }).ConfigureAwait(false);
    }

    private const string ClaimSql =
        """
        UPDATE chat_outbox SET state = 'sending', attempts = attempts + 1, lease_owner = @owner, lease_until = @until, updated_at = @now
        WHERE id = (SELECT id FROM chat_outbox WHERE platform = @platform AND channel = @channel AND state = 'pending' AND not_before <= @now ORDER BY id LIMIT 1)
          AND state = 'pending'
        RETURNING id, platform, channel, operation, payload, dedupe_key, attempts, not_before
        """;

    private static OutboxMessage ToMessage(ClaimedRow row) =>
        new(row.id, OutboxStateNames.ParsePlatform(row.platform), row.channel, row.operation, row.payload,
            row.dedupe_key, (int)row.attempts, DateTimeOffset.FromUnixTimeMilliseconds(row.not_before));

    private static string Shorten(string error) => error.Length <= 1000 ? error : error[..1000];

#pragma warning disable IDE1006, CA1812 // Dapper maps columns by name; instantiated by Dapper
    private sealed class ClaimedRow
    {
        public long id { get; set; }

        public string platform { get; set; } = string.Empty;

        public string channel { get; set; } = string.Empty;

        public string operation { get; set; } = string.Empty;

        public string payload { get; set; } = string.Empty;

        public string? dedupe_key { get; set; }

        public long attempts { get; set; }

        public long not_before { get; set; }
    }
#pragma warning restore IDE1006, CA1812
}
