using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.Json;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Incidents;
using ChatOpsPull.Storage;
using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Detection.Webhooks.Inbox;

/// <summary>An inbox row: the alerts of one accepted request that belong to one subject (<see cref="AlertInbox.SubjectKey"/>).</summary>
/// <param name="Subject">Null in a row written before rows were split by subject (its alerts may be of several).</param>
/// <param name="AlertsJson">The row's alerts as stored, parsed when <see cref="Alerts"/> is read; empty in a row of one
/// subject read by <see cref="AlertInbox.OldestAsync"/> (the transaction that claims the subject's rows reads and parses
/// them there, once).</param>
public sealed record InboxEntry(long Id, string? Subject, string AlertsJson)
{
    public IReadOnlyList<PullAlert> Alerts => AlertInbox.ParseAlerts(AlertsJson);
}

/// <summary>An inbox row set aside because its alerts could not be read.</summary>
public sealed record QuarantinedRow(long Id, string Subject, string Reason);

/// <summary>
/// Where the alert webhooks put what they accept before answering 200: "200" means the alerts are in the database, not
/// that the incident engine has applied them (<see cref="AlertInboxDrain"/> does that, in the background and again after
/// a restart). Appends are group-committed: the requests that arrive while the rounds under way are being written go
/// together in the next one, so a storm of requests costs a few transactions (and fsyncs), not one each. On SQLite one
/// round is written at a time (one writer); on PostgreSQL up to <see cref="AlertWebhookOptions.InboxRoundsAtOnce"/> rounds
/// are in flight at once, each its own transaction: a request that arrives while a round commits starts the next round at
/// once instead of waiting for that commit first (the requests of two rounds in flight were in flight together, so which
/// commits first orders nothing a sender saw; a request answered before another was sent has the smaller row id).
/// </summary>
public sealed class AlertInbox(BotDatabase database, TimeProvider time, IOptions<AlertWebhookOptions> options)
{
    /// <summary>Rows per INSERT statement on PostgreSQL (two parameters each, well under its limit); SQLite runs one prepared statement per row.</summary>
    private const int RowsPerStatement = 200;

    private readonly Lock _lock = new();
    private readonly AppendCounter _counts = new(time);
    private List<Pending> _waiting = [];
    private int _writers;

    /// <summary>Raised (on the writing thread) after a group of appends committed, for the drain to wake up.</summary>
    public event Action? Appended;

    /// <summary>The requests whose alerts are being stored now: the drain gives way to them (<see cref="AlertInboxDrain"/>).</summary>
    public AcceptPressure Accepting { get; } = new();

    /// <summary>
    /// Whether an inbox round waits for the write turn the drain's rounds hold (SQLite: one writer at a time), so the drain
    /// keeps its rounds to one row while requests come; on PostgreSQL they write side by side.
    /// </summary>
    internal bool SharesWriteTurnWithDrain => database.Dialect.OneWriterAtATime;

    /// <summary>Rounds that may be written at once: 1 on SQLite, <see cref="AlertWebhookOptions.InboxRoundsAtOnce"/> on PostgreSQL.</summary>
    public int RoundsAtOnce { get; } = database.Dialect.OneWriterAtATime ? 1 : options.Value.InboxRoundsAtOnce;

    /// <summary>What the appends have cost so far: requests, commits, and where a request's wait went (<see cref="InboxCounts"/>).</summary>
    public InboxCounts Counts => _counts.Snapshot();

    /// <summary>
    /// Stores the alerts of one request; completes once they are committed, or fails with the store's error (then nothing
    /// of this request is stored). A caller giving up does not take its alerts out of a transaction already under way.
    /// </summary>
    public async Task AppendAsync(IReadOnlyList<PullAlert> alerts, CancellationToken cancellationToken)
    {
        using var accepting = Accepting.Begin();
        var pending = new Pending(RowsOf(alerts), time.GetTimestamp());
        bool writeHere;
        lock (_lock)
        {
            _waiting.Add(pending);
            writeHere = _writers < RoundsAtOnce;
            _writers += writeHere ? 1 : 0;
        }

        if (writeHere)
        {
            // Written off the request: a request that starts a writer does not keep writing other requests' rounds. A
            // writer takes everything waiting when it starts, and again after each commit, until nothing waits.
            _ = Task.Run(WriteRoundsAsync, CancellationToken.None);
        }

        await pending.Committed.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The oldest rows, up to <paramref name="limit"/>, in the order they were accepted; on PostgreSQL without the rows
    /// another replica is applying right now (<c>FOR UPDATE SKIP LOCKED</c>: its <see cref="ClaimAsync"/> holds them until
    /// it commits), so replicas drain different rows instead of queueing for the same ones.
    /// </summary>
    /// <param name="alertsOfEveryRow">False: the alerts only of rows of no one subject (applied from the list); a subject's
    /// rows are read once, by <see cref="ClaimAsync"/> in the transaction that applies them.</param>
    public async Task<IReadOnlyList<InboxEntry>> OldestAsync(int limit, bool alertsOfEveryRow, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var alerts = alertsOfEveryRow ? "alerts" : "CASE WHEN subject IS NULL THEN alerts END";
        var rows = await connection.QueryAsync<(long Id, string? Subject, string? Alerts)>(
            new CommandDefinition($"SELECT id, subject, {alerts} FROM alert_inbox ORDER BY id LIMIT @limit{database.Dialect.ForUpdateSkipLocked}", new { limit }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return rows.Select(r => new InboxEntry(r.Id, r.Subject, r.Alerts ?? string.Empty)).ToList();
    }

    /// <summary>
    /// Inside the transaction that applies them: takes <paramref name="subjectLock"/> and every row of
    /// <paramref name="subject"/> up to <paramref name="lastId"/> still in the inbox — older ones a batch passed over
    /// included, so the subject's alerts are applied in the order accepted — in one command (on PostgreSQL one round trip:
    /// the lock, then <c>DELETE … RETURNING</c>, which waits for a row another replica's batch read holds for a moment),
    /// and returns their alerts as reports, in that order. Rows another replica applied meanwhile are gone. A row whose
    /// alerts cannot be read is moved to <c>alert_inbox_quarantine</c> with the reason and named in
    /// <paramref name="quarantined"/> (to be logged once the transaction commits). Rolled back with the incidents when that
    /// transaction fails.
    /// </summary>
    public static async Task<IReadOnlyList<PodReport>> ClaimAsync(
        DbConnection connection, DbTransaction transaction, TransactionLock subjectLock, string subject, long lastId, DateTimeOffset now, List<QuarantinedRow> quarantined)
    {
        List<(long Id, long ReceivedAt, string Alerts)> rows;
        if (connection is SqliteConnection sqlite)
        {
            // The transaction holds SQLite's one write lock (the subject lock takes no statement); the statement is kept.
            _ = subjectLock.TakeWithNextStatement();
            rows = [.. SqliteIndexedStatement.Query(sqlite, ClaimSql, [("subject", subject, typeof(string)), ("lastId", lastId, typeof(long))], row => (row.Int64(0), row.Int64(1), row.Text(2))).OrderBy(r => r.Item1)];
        }
        else
        {
            using var reader = await subjectLock.QueryMultipleTakingAsync(connection, transaction, ClaimSql, new { subject, lastId }).ConfigureAwait(false);
            rows = [.. (await reader.ReadAsync<(long Id, long ReceivedAt, string Alerts)>().ConfigureAwait(false)).OrderBy(r => r.Id)];
        }

        quarantined.Clear();
        var reports = new List<PodReport>();
        foreach (var row in rows)
        {
            if (!TryParseAlerts(row.Alerts, out var alerts, out var reason))
            {
                await connection.ExecuteAsync(
                    "INSERT INTO alert_inbox_quarantine (id, received_at, subject, alerts, quarantined_at, reason) VALUES (@id, @receivedAt, @subject, @alerts, @at, @reason)",
                    new { id = row.Id, receivedAt = row.ReceivedAt, subject, alerts = row.Alerts, at = BotDatabase.ToDb(now), reason },
                    transaction).ConfigureAwait(false);
                quarantined.Add(new QuarantinedRow(row.Id, subject, reason));
                continue;
            }

            reports.AddRange(alerts.Select(a => new PodReport(a.Failure, a.Status == AlertStatus.Resolved ? PodResolution.AlertResolved : null)));
        }

        return reports;
    }

    private const string ClaimSql = "DELETE FROM alert_inbox WHERE subject = @subject AND id <= @lastId RETURNING id, received_at, alerts";

    /// <summary>A row's alerts, or why they cannot be read (the reason names no value of the row).</summary>
    public static bool TryParseAlerts(string json, out IReadOnlyList<PullAlert> alerts, out string reason)
    {
        try
        {
            alerts = ParseAlerts(json);
            if (alerts.Any(a => a is null || a.Failure is null))
            {
                alerts = [];
                reason = "an alert of the row is null or has no failure";
                return false;
            }

            reason = string.Empty;
            return true;
        }
        catch (JsonException e)
        {
            alerts = [];
            reason = $"not the inbox's alert JSON: {e.Message}";
            return false;
        }
    }

    /// <summary>A row's alerts from their stored JSON.</summary>
    public static IReadOnlyList<PullAlert> ParseAlerts(string json) => JsonSerializer.Deserialize(json, InboxJson.Default.ListPullAlert) ?? [];

    /// <summary>The subject an alert's row is stored under: cluster, namespace and <see cref="IncidentGrouping.SubjectOf"/>.</summary>
    public static string SubjectKey(PullAlert alert) => $"{alert.Failure.Cluster}/{alert.Failure.Namespace}/{IncidentGrouping.SubjectOf(alert.Failure)}";

    /// <summary>
    /// The rows of one request: one per subject, its alerts in payload order (the drain applies a row in the transaction
    /// of its subject's incidents, and removes it there).
    /// </summary>
    internal static IReadOnlyList<InboxRow> RowsOf(IReadOnlyList<PullAlert> alerts)
    {
        if (alerts.Count == 0)
        {
            return [];
        }

        // A storm's request is usually one workload's pods: one row, written without grouping.
        var subject = SubjectKey(alerts[0]);
        for (var i = 1; i < alerts.Count; i++)
        {
            if (!string.Equals(SubjectKey(alerts[i]), subject, StringComparison.Ordinal))
            {
                return [.. alerts.GroupBy(SubjectKey).Select(group => new InboxRow(group.Key, JsonSerializer.Serialize(group.ToList(), InboxJson.Default.ListPullAlert)))];
            }
        }

        var all = alerts as List<PullAlert> ?? [.. alerts];
        return [new InboxRow(subject, JsonSerializer.Serialize(all, InboxJson.Default.ListPullAlert))];
    }

    /// <summary>Removes rows that were applied.</summary>
    public Task RemoveAsync(IReadOnlyList<long> ids, CancellationToken cancellationToken) =>
        database.InTransactionAsync(
            async (connection, transaction) =>
            {
                foreach (var chunk in ids.Chunk(500))
                {
                    await connection.ExecuteAsync(new CommandDefinition($"DELETE FROM alert_inbox WHERE id IN ({IdList(chunk)})", transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                }

                return true;
            },
            cancellationToken);

    /// <summary>Moves rows that cannot be applied to <c>alert_inbox_quarantine</c>, with the reason.</summary>
    public Task QuarantineAsync(IReadOnlyList<long> ids, string reason, CancellationToken cancellationToken) =>
        database.InTransactionAsync(
            async (connection, transaction) =>
            {
                var at = BotDatabase.ToDb(time.GetUtcNow());
                foreach (var chunk in ids.Chunk(500))
                {
                    await connection.ExecuteAsync(new CommandDefinition($"INSERT INTO alert_inbox_quarantine (id, received_at, subject, alerts, quarantined_at, reason) SELECT id, received_at, subject, alerts, @at, @reason FROM alert_inbox WHERE id IN ({IdList(chunk)})", new { at, reason }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                    await connection.ExecuteAsync(new CommandDefinition($"DELETE FROM alert_inbox WHERE id IN ({IdList(chunk)})", transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                }

                return true;
            },
            cancellationToken);

    /// <summary>Rows not applied yet.</summary>
    public async Task<long> CountAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition("SELECT COUNT(*) FROM alert_inbox", cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>Row ids written into the statement (numbers only): one statement text per list, no parameter per id.</summary>
    private static string IdList(IEnumerable<long> ids) => string.Join(',', ids.Select(id => id.ToString(CultureInfo.InvariantCulture)));

    private async Task WriteRoundsAsync()
    {
        // A round is what the requests in it wait for before they can answer: on SQLite it takes the write turn ahead of
        // the writers queued without that mark (the drain's subject transactions among them), after the one under way.
        using var ahead = database.WriteTurn.GoAhead();
        // SQLite: the round takes the requests waiting once it holds the write turn, not when it starts asking for it, so
        // the requests that arrive while it waits for the turn (a drain transaction, the round before) go in it instead of
        // waiting for it to commit and then for the turn again. PostgreSQL takes no turn: a round takes them at once.
        var takeInTurn = database.Dialect.OneWriterAtATime;
        while (true)
        {
            List<Pending>? round = null;
            lock (_lock)
            {
                if (_waiting.Count == 0)
                {
                    _writers--;
                    return;
                }

                if (!takeInTurn)
                {
                    round = TakeWaiting();
                }
            }

            var phases = new RoundPhases(time.GetTimestamp());
            try
            {
                if (round is not null)
                {
                    await database.WriteBatchAsync(InsertOf(round), () => phases.InTransaction = time.GetTimestamp(), CancellationToken.None).ConfigureAwait(false);
                }
                else
                {
                    await database.InTransactionAsync(
                        async (connection, transaction) =>
                        {
                            lock (_lock)
                            {
                                round = TakeWaiting(); // this writer is SQLite's only one: what it saw waiting still waits
                            }

                            phases.InTransaction = time.GetTimestamp();

                            await InsertOf(round).ExecuteAsync(connection, transaction, CancellationToken.None).ConfigureAwait(false);
                            return true;
                        },
                        CancellationToken.None).ConfigureAwait(false);
                }

                _counts.Committed(round!.Count, round.Sum(p => p.Rows.Count), phases, round.Select(p => p.Queued), time.GetTimestamp());
                round.ForEach(p => p.Committed.TrySetResult());
            }
#pragma warning disable CA1031 // handed to every request of the round, which answers 503
            catch (Exception e)
#pragma warning restore CA1031
            {
                if (round is null)
                {
                    // Failed before the round took its requests (the write turn, a connection, BEGIN): the requests waiting
                    // would have been in it.
                    lock (_lock)
                    {
                        round = TakeWaiting();
                    }
                }

                round.ForEach(p => p.Committed.TrySetException(e));
                continue;
            }

            Appended?.Invoke();
        }
    }

    /// <summary>Every request waiting, for a round (under <see cref="_lock"/>).</summary>
    private List<Pending> TakeWaiting()
    {
        var round = _waiting;
        _waiting = [];
        return round;
    }

    /// <summary>
    /// The round's rows in one atomic write: on PostgreSQL one round trip (the INSERT statements as one batch, its own
    /// implicit transaction: no BEGIN, no COMMIT of their own), on SQLite run in the round's transaction.
    /// </summary>
    private StatementBatch InsertOf(List<Pending> round)
    {
        var receivedAt = BotDatabase.ToDb(time.GetUtcNow());
        var batch = new StatementBatch();
        batch.AddRows(
            "INSERT INTO alert_inbox (received_at, subject, alerts) VALUES",
            "(@at, @s, @a)",
            string.Empty,
            new StatementParameters().Add("at", receivedAt),
            [.. round.SelectMany(p => p.Rows).Select(r => new StatementParameters().Add("s", r.Subject).Add("a", r.Alerts))],
            RowsPerStatement);
        return batch;
    }

    /// <summary>One request's rows (one per subject), and its answer.</summary>
    private sealed class Pending(IReadOnlyList<InboxRow> rows, long queued)
    {
        public IReadOnlyList<InboxRow> Rows { get; } = rows;

        /// <summary>When the request handed its rows over (<see cref="TimeProvider.GetTimestamp"/>).</summary>
        public long Queued { get; } = queued;

        public TaskCompletionSource Committed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>A row to insert: its subject, and its alerts as JSON.</summary>
    internal sealed record InboxRow(string Subject, string Alerts);
}
