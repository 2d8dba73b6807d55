using System.Data.Common;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Storage;
using Dapper;

namespace ChatOpsPull.Incidents;

/// <summary>
/// News about an incident that another capability stored in its own transaction (an approval requested or decided, a
/// remediation run started, applied or finished) and owes the incident's card: the thread line, the change the notifiers
/// hear and, when the news also moves the incident, the state it moves it to (<see cref="IncidentEngine.TellAsync"/>
/// moves it when that is still legal, otherwise only announces). The writer owes it in the same transaction as its own
/// write (<see cref="OwedAnnouncements.OweAsync"/>) and tells it after the commit; what a host that stopped in between
/// left owed is told by another host after Incidents:NewsRetellGrace (<c>NewsRetell</c>), once.
/// </summary>
/// <param name="Key">Stable per piece of news (for example <c>approval:{id}:v{version}</c>, <c>run:{id}:finished</c>): owed once, told once.</param>
/// <param name="Detail">The thread line; null tells the card only.</param>
/// <param name="MoveTo">The state the news moves the incident to when that is legal from where it stands; null: announce only.</param>
/// <param name="Actor">Who the move is audited as.</param>
public sealed record OwedAnnouncement(string Key, string IncidentId, IncidentChange Change, string? Detail, IncidentState? MoveTo, AuditActor Actor, DateTimeOffset OwedAt);

/// <summary>
/// The table <c>incident_announcements_owed</c> (migration <see cref="IncidentSchema.AnnouncementsOwed"/>): announcements
/// written in their news' transaction, removed once told (or once a move of the incident took them over, in the move's
/// transaction), and taken for a retell by compare and set on <c>owed_at</c>, so that of several replicas one tells each.
/// </summary>
public static class OwedAnnouncements
{
    /// <summary>Owes <paramref name="announcement"/> in the caller's transaction (a second row with the same key is ignored).</summary>
    public static Task OweAsync(DbConnection connection, DbTransaction transaction, OwedAnnouncement announcement)
    {
        ArgumentNullException.ThrowIfNull(announcement);
        return connection.ExecuteAsync(
            """
            INSERT INTO incident_announcements_owed (id, incident_id, change, detail, move_to, actor_platform, actor_id, actor_name, owed_at)
            VALUES (@key, @incidentId, @change, @detail, @moveTo, @platform, @actorId, @actorName, @owedAt)
            ON CONFLICT (id) DO NOTHING
            """,
            new
            {
                key = announcement.Key,
                incidentId = announcement.IncidentId,
                change = announcement.Change.ToString(),
                detail = announcement.Detail,
                moveTo = announcement.MoveTo?.ToString(),
                platform = announcement.Actor.Platform,
                actorId = announcement.Actor.Id,
                actorName = announcement.Actor.Name,
                owedAt = BotDatabase.ToDb(announcement.OwedAt),
            },
            transaction);
    }

    /// <summary>Adds to <paramref name="batch"/> the removal of the announcement <paramref name="key"/> (a move of the incident took it over).</summary>
    internal static void Forget(StatementBatch batch, string key) =>
        batch.Add("DELETE FROM incident_announcements_owed WHERE id = @key", new StatementParameters().Add("key", key));

    /// <summary>Removes the announcements told (one transaction; on SQLite it may share another writer's).</summary>
    internal static Task ForgetToldAsync(BotDatabase database, IReadOnlyCollection<string> keys, CancellationToken cancellationToken) =>
        database.InSharedTransactionAsync(
            async (connection, transaction) =>
            {
                var batch = new StatementBatch();
                foreach (var key in keys)
                {
                    Forget(batch, key);
                }

                await batch.ExecuteAsync(connection, transaction).ConfigureAwait(false);
                return true;
            },
            cancellationToken);

    /// <summary>Announcements owed since before <paramref name="olderThan"/>, oldest first (up to <paramref name="limit"/>).</summary>
    internal static async Task<IReadOnlyList<OwedAnnouncement>> ListAsync(BotDatabase database, DateTimeOffset olderThan, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await connection.QueryAsync<(string Id, string IncidentId, string Change, string? Detail, string? MoveTo, string Platform, string ActorId, string ActorName, long OwedAt)>(
            """
            SELECT id, incident_id, change, detail, move_to, actor_platform, actor_id, actor_name, owed_at
            FROM incident_announcements_owed WHERE owed_at < @olderThan ORDER BY owed_at, id LIMIT @limit
            """,
            new { olderThan = BotDatabase.ToDb(olderThan), limit }).ConfigureAwait(false);
        return rows
            .Select(r => new OwedAnnouncement(
                r.Id,
                r.IncidentId,
                Enum.TryParse<IncidentChange>(r.Change, out var change) ? change : IncidentChange.PodsChanged,
                r.Detail,
                Enum.TryParse<IncidentState>(r.MoveTo, out var to) ? to : null,
                new AuditActor(r.Platform, r.ActorId, r.ActorName),
                BotDatabase.FromDb(r.OwedAt)))
            .ToList();
    }

    /// <summary>
    /// Takes the rows of <paramref name="owed"/> still as listed (same <c>owed_at</c>) for a retell by moving their
    /// <c>owed_at</c> to <paramref name="now"/> (compare and set, one transaction): of several sweepers one takes each.
    /// </summary>
    internal static Task<IReadOnlyList<OwedAnnouncement>> ClaimAsync(BotDatabase database, IReadOnlyList<OwedAnnouncement> owed, DateTimeOffset now, CancellationToken cancellationToken) =>
        OwedRows.ClaimAsync(
            database,
            owed,
            row => ("UPDATE incident_announcements_owed SET owed_at = @now WHERE id = @key AND owed_at = @owedAt",
                new StatementParameters().Add("now", BotDatabase.ToDb(now)).Add("key", row.Key).Add("owedAt", BotDatabase.ToDb(row.OwedAt))),
            cancellationToken);
}

/// <summary>How a retell takes rows of news owed: one compare and set per row, in one transaction.</summary>
internal static class OwedRows
{
    /// <summary>
    /// Runs <paramref name="compareAndSet"/> for each row in one transaction; returns the rows whose statement changed
    /// exactly one row (of several sweepers that listed a row, one takes it), as listed: their <c>OwedAt</c> stays when
    /// they were owed (the retell tells them in that order), while the store holds the claim's time.
    /// </summary>
    public static Task<IReadOnlyList<T>> ClaimAsync<T>(
        BotDatabase database,
        IReadOnlyList<T> rows,
        Func<T, (string Sql, StatementParameters Parameters)> compareAndSet,
        CancellationToken cancellationToken) =>
        rows.Count == 0
            ? Task.FromResult<IReadOnlyList<T>>([])
            : database.InTransactionAsync<IReadOnlyList<T>>(
                async (connection, transaction) =>
                {
                    var won = new List<T>();
                    var batch = new StatementBatch();
                    foreach (var row in rows)
                    {
                        var (sql, parameters) = compareAndSet(row);
                        batch.Add(sql, parameters, updated =>
                        {
                            if (updated == 1)
                            {
                                won.Add(row);
                            }
                        });
                    }

                    await batch.ExecuteAsync(connection, transaction).ConfigureAwait(false);
                    return won;
                },
                cancellationToken);
}
