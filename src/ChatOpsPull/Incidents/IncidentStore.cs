using System.Data.Common;
using System.Globalization;
using System.Text;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Storage;
using Dapper;
using Microsoft.Data.Sqlite;
using Polly.Registry;

namespace ChatOpsPull.Incidents;

/// <summary>Counts for status replies and the digest.</summary>
/// <param name="Open">Open now (any state but Resolved/Failed).</param>
/// <param name="Opened">Opened inside the period.</param>
/// <param name="Resolved">Resolved inside the period.</param>
/// <param name="ByState">Open now, per state.</param>
public sealed record IncidentCounts(int Open, int Opened, int Resolved, IReadOnlyDictionary<IncidentState, int> ByState);

/// <summary>Where the latest diagnosis request of an incident stands (incident versions, 0 = none).</summary>
public sealed record DiagnosisTicket(int Requested, int Applied)
{
    public bool IsPending => Requested > Applied;
}

/// <summary>
/// The news of <paramref name="Version"/> (and of the versions before it not told yet) is owed to the notifiers: a row of
/// <c>incident_news_owed</c>, written in the transaction of the change, removed once told, told again from the stored
/// incident when it is still there after a grace (a host died between the commit and the card).
/// </summary>
/// <param name="Change">What a retell says: the weightiest change owed (see the merge in <see cref="IncidentStore.OweNews"/>).</param>
/// <param name="OwnCard">The news is for the incident's own card even when it is rolled up (the roll-up news itself).</param>
/// <param name="OwedAt">When it was written, or last taken for a retell.</param>
internal sealed record OwedNews(string IncidentId, int Version, IncidentChange Change, string? Detail, bool OwnCard, DateTimeOffset OwedAt)
{
    /// <summary>
    /// The version whose write made <see cref="Change"/> (kept with it when a lighter change of a newer version is owed on
    /// top): with the change, the news's identity (<see cref="IncidentNewsKeys.Of"/>), so a retell of news that was told
    /// has the key its first telling had. Null: <see cref="Version"/> (rows owed before the column existed).
    /// </summary>
    public int? ChangeVersion { get; init; }
}

/// <summary>Another writer changed the incident between read and write; the caller reloads and tries again.</summary>
public sealed class IncidentConcurrencyException(string id)
    : Exception($"Incident {id} was changed by someone else at the same time; reload and try again.");

/// <summary>
/// Incidents and their pods in the bot's database (SQLite or PostgreSQL). Every write checks <see cref="Incident.Version"/>
/// (optimistic concurrency); an open incident's key is unique (a unique index on <c>open_key</c>), so two replicas can
/// never open two incidents for one key.
/// </summary>
public sealed partial class IncidentStore(BotDatabase database, ResiliencePipelineProvider<string> pipelines)
{
    public BotDatabase Database => database;

    public async Task<Incident?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await GetAsync(connection, null, id).ConfigureAwait(false);
    }

    /// <summary>Open incidents (not Resolved/Failed), newest first, optionally for one cluster and/or namespace.</summary>
    public Task<IReadOnlyList<Incident>> ListOpenAsync(string? cluster = null, string? @namespace = null, CancellationToken cancellationToken = default) =>
        QueryAsync(
            $"SELECT {IncidentRow.Columns} FROM incidents WHERE open_key IS NOT NULL AND (@cluster IS NULL OR cluster = @cluster) AND (@namespace IS NULL OR namespace = @namespace) ORDER BY opened_at DESC, id",
            new { cluster, @namespace },
            cancellationToken);

    /// <summary>The open incident with this key, if any.</summary>
    public async Task<Incident?> FindOpenAsync(IncidentKey key, CancellationToken cancellationToken = default)
    {
        var found = await QueryAsync($"SELECT {IncidentRow.Columns} FROM incidents WHERE open_key = @key", new { key = key.ToString() }, cancellationToken).ConfigureAwait(false);
        return found.Count > 0 ? found[0] : null;
    }

    /// <summary>Incidents resolved or failed inside [from, to), newest first (the digest reads these).</summary>
    public Task<IReadOnlyList<Incident>> ListClosedAsync(DateTimeOffset from, DateTimeOffset to, string? cluster = null, CancellationToken cancellationToken = default) =>
        QueryAsync(
            $"SELECT {IncidentRow.Columns} FROM incidents WHERE open_key IS NULL AND resolved_at >= @from AND resolved_at < @to AND (@cluster IS NULL OR cluster = @cluster) ORDER BY resolved_at DESC, id",
            new { from = BotDatabase.ToDb(from), to = BotDatabase.ToDb(to), cluster },
            cancellationToken);

    /// <summary>Incidents opened inside [from, to), whatever their state now, newest first.</summary>
    public Task<IReadOnlyList<Incident>> ListOpenedAsync(DateTimeOffset from, DateTimeOffset to, string? cluster = null, CancellationToken cancellationToken = default) =>
        QueryAsync(
            $"SELECT {IncidentRow.Columns} FROM incidents WHERE opened_at >= @from AND opened_at < @to AND (@cluster IS NULL OR cluster = @cluster) ORDER BY opened_at DESC, id",
            new { from = BotDatabase.ToDb(from), to = BotDatabase.ToDb(to), cluster },
            cancellationToken);

    /// <summary>How many incidents are rolled up under <paramref name="parentId"/>, inside a transaction.</summary>
    internal static async Task<int> CountRolledUpAsync(DbConnection connection, DbTransaction transaction, string parentId) =>
        (int)await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM incidents WHERE rollup_of = @parentId", new { parentId }, transaction).ConfigureAwait(false);

    /// <summary>Incidents rolled up under <paramref name="parentId"/>.</summary>
    public Task<IReadOnlyList<Incident>> ListRolledUpAsync(string parentId, CancellationToken cancellationToken = default) =>
        QueryAsync($"SELECT {IncidentRow.Columns} FROM incidents WHERE rollup_of = @parentId ORDER BY opened_at, id", new { parentId }, cancellationToken);

    public async Task<IncidentCounts> CountAsync(DateTimeOffset from, DateTimeOffset to, string? cluster = null, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var states = await connection.QueryAsync<(string State, long Count)>(
            "SELECT state, COUNT(*) FROM incidents WHERE open_key IS NOT NULL AND (@cluster IS NULL OR cluster = @cluster) GROUP BY state",
            new { cluster }).ConfigureAwait(false);
        var byState = new Dictionary<IncidentState, int>();
        foreach (var (name, count) in states)
        {
            if (IncidentTransitions.TryParse(name, out var state))
            {
                byState[state] = (int)count;
            }
        }

        var window = new { from = BotDatabase.ToDb(from), to = BotDatabase.ToDb(to), cluster };
        var opened = await connection.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM incidents WHERE opened_at >= @from AND opened_at < @to AND (@cluster IS NULL OR cluster = @cluster)", window).ConfigureAwait(false);
        var resolved = await connection.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM incidents WHERE state = 'resolved' AND resolved_at >= @from AND resolved_at < @to AND (@cluster IS NULL OR cluster = @cluster)", window).ConfigureAwait(false);
        return new IncidentCounts(byState.Values.Sum(), (int)opened, (int)resolved, byState);
    }

    /// <summary>The cluster an incident belongs to (one indexed read), or null when there is no such incident.</summary>
    public async Task<string?> ClusterOfAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.QuerySingleOrDefaultAsync<string>("SELECT cluster FROM incidents WHERE id = @id", new { id }).ConfigureAwait(false);
    }

    private const string VersionSql = "SELECT version FROM incidents WHERE id = @id";

    /// <summary>The stored version of an incident (one indexed read of one row), or null when there is no such incident.</summary>
    public async Task<int?> VersionOfAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        if (connection is SqliteConnection sqlite)
        {
            var versions = SqliteIndexedStatement.Query(sqlite, VersionSql, [("id", id, typeof(string))], row => (int?)row.Int64(0));
            return versions.Count > 0 ? versions[0] : null;
        }

        return (int?)await connection.QuerySingleOrDefaultAsync<long?>(VersionSql, new { id }).ConfigureAwait(false);
    }

    public async Task<DiagnosisTicket?> GetDiagnosisTicketAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await GetDiagnosisTicketAsync(connection, null, id).ConfigureAwait(false);
    }

    /// <summary>
    /// The diagnosis ticket of an incident and, when the ticket still asks for request <paramref name="requestVersion"/>
    /// (requested, not applied), the incident itself: a diagnosis's first read, one round trip. Null ticket: no such incident.
    /// </summary>
    public async Task<(DiagnosisTicket? Ticket, Incident? Incident)> GetForDiagnosisAsync(string id, int requestVersion, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        using var reader = await connection.QueryMultipleAsync(
            $"SELECT {IncidentRow.Columns} FROM incidents WHERE id = @id;\n"
            + $"SELECT {PodRow.Columns} FROM incident_pods p WHERE p.incident_id = @id AND EXISTS (SELECT 1 FROM incidents i WHERE i.id = @id AND i.diagnosis_requested = @requestVersion AND i.diagnosis_applied < @requestVersion) ORDER BY p.first_seen, p.pod, p.container",
            new { id, requestVersion }).ConfigureAwait(false);
        var row = (await reader.ReadAsync<IncidentRow>().ConfigureAwait(false)).FirstOrDefault();
        var pods = (await reader.ReadAsync<PodRow>().ConfigureAwait(false)).Select(p => p.ToPod()).ToList();
        if (row is null)
        {
            return (null, null);
        }

        var ticket = row.Ticket;
        return (ticket, ticket.Requested == requestVersion && ticket.Applied < requestVersion ? row.ToIncident(pods) : null);
    }

    /// <summary>
    /// Reads the incident, applies <paramref name="change"/> and writes it back if its version is still the one read;
    /// on a lost update it reads again and re-applies (pipeline <see cref="IncidentRetryPipelines.StoreUpdate"/>,
    /// Incidents:StoreUpdateAttempts tries). <paramref name="change"/> returns null for "nothing to change" and must be a
    /// pure function of the incident it is given. Returns the stored incident, or null when it does not exist or nothing
    /// changed. Does not notify or audit: use <see cref="IncidentEngine"/> for that.
    /// </summary>
    public async Task<Incident?> UpdateAsync(string id, Func<Incident, Incident?> change, CancellationToken cancellationToken = default) =>
        await pipelines.GetPipeline(IncidentRetryPipelines.StoreUpdate).ExecuteAsync(
            async token => await database.InTransactionAsync(
                async (connection, transaction) =>
                {
                    // Writers through this method queue on the row instead of racing (on SQLite ForUpdate is empty: the
                    // immediate transaction already holds the one write lock).
                    await connection.ExecuteAsync("SELECT id FROM incidents WHERE id = @id" + database.Dialect.ForUpdate, new { id }, transaction).ConfigureAwait(false);

                    var current = await GetAsync(connection, transaction, id).ConfigureAwait(false);
                    if (current is null || change(current) is not { } changed)
                    {
                        return null;
                    }

                    return await SaveAsync(connection, transaction, current, changed).ConfigureAwait(false);
                },
                token).ConfigureAwait(false),
            cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Open incidents whose latest diagnosis request is not applied, that have not changed since <paramref name="olderThan"/>
    /// and that nobody has taken (<see cref="TakeDiagnosesAsync"/>) or whose taking ran out by <paramref name="now"/>.
    /// </summary>
    public async Task<IReadOnlyList<(string Id, int RequestVersion)>> ListPendingDiagnosesAsync(DateTimeOffset olderThan, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await connection.QueryAsync<(string Id, long Requested)>(
            "SELECT id, diagnosis_requested FROM incidents WHERE open_key IS NOT NULL AND diagnosis_requested > diagnosis_applied AND updated_at < @olderThan"
            + " AND (diagnosis_taken_until IS NULL OR diagnosis_taken_until <= @now) ORDER BY updated_at LIMIT 500",
            new { olderThan = BotDatabase.ToDb(olderThan), now = BotDatabase.ToDb(now) }).ConfigureAwait(false);
        return rows.Select(r => (r.Id, (int)r.Requested)).ToList();
    }

    /// <summary>
    /// Takes the diagnosis requests of <paramref name="pending"/> that are still not applied and not taken at
    /// <paramref name="now"/>, until <paramref name="until"/> (compare and set, one transaction): of two sweeps that
    /// listed a request, one takes it. Returns the requests taken.
    /// </summary>
    public Task<IReadOnlyList<(string Id, int RequestVersion)>> TakeDiagnosesAsync(
        IReadOnlyList<(string Id, int RequestVersion)> pending, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken = default) =>
        OwedRows.ClaimAsync(
            database,
            pending,
            request => (TakeDiagnosisSql + " AND (diagnosis_taken_until IS NULL OR diagnosis_taken_until <= @now)",
                TakeDiagnosisParameters(request, until).Add("now", BotDatabase.ToDb(now))),
            cancellationToken);

    /// <summary>Takes one diagnosis request still not applied until <paramref name="until"/>, whoever held it (a request handed to the diagnose job, for its retries).</summary>
    public async Task TakeDiagnosisAsync(string id, int requestVersion, DateTimeOffset until, CancellationToken cancellationToken = default) =>
        await OwedRows.ClaimAsync(database, [(id, requestVersion)], request => (TakeDiagnosisSql, TakeDiagnosisParameters(request, until)), cancellationToken).ConfigureAwait(false);

    private const string TakeDiagnosisSql =
        "UPDATE incidents SET diagnosis_taken_until = @until WHERE id = @id AND diagnosis_requested = @requestVersion AND diagnosis_applied < @requestVersion";

    private static StatementParameters TakeDiagnosisParameters((string Id, int RequestVersion) request, DateTimeOffset until) =>
        new StatementParameters().Add("until", BotDatabase.ToDb(until)).Add("id", request.Id).Add("requestVersion", request.RequestVersion);

    // ---- used inside the engine's transactions ----

    /// <summary>
    /// The incident and its diagnosis ticket, in one round trip that first takes <paramref name="pending"/> (the subject
    /// lock of a write that has not taken it yet).
    /// </summary>
    internal static async Task<(Incident? Incident, DiagnosisTicket? Ticket)> GetWithTicketAsync(DbConnection connection, DbTransaction transaction, string id, TransactionLock? pending)
    {
        using var reader = await QueryTakingLockAsync(
            connection,
            transaction,
            pending,
            $"{ByIdSql};\n{PodsOfSql}",
            new { id }).ConfigureAwait(false);
        var row = (await reader.ReadAsync<IncidentRow>().ConfigureAwait(false)).FirstOrDefault();
        var pods = (await reader.ReadAsync<PodRow>().ConfigureAwait(false)).Select(p => p.ToPod()).ToList();
        return row is null ? (null, null) : (row.ToIncident(pods), row.Ticket);
    }

    /// <summary>
    /// PostgreSQL: stores <paramref name="diagnosis"/> as the result of request <paramref name="requestVersion"/> only if the
    /// incident's ticket still asks for it and has not applied it (a conditional UPDATE … RETURNING, which also moves an
    /// open incident to Diagnosed and marks the ticket applied), writes the audit line and the news owed (<see cref="OwedNews"/>) in the
    /// same statement only when the row changed, and reads the stored incident's pods — one round trip, which also takes <paramref name="pending"/>
    /// (the subject lock) first. Returns the stored incident, or null when the ticket no longer asks for this request
    /// (applied already, or superseded): then nothing was written. <paramref name="auditParameters"/>: the line's
    /// (<see cref="AuditLog.ParametersOf"/>). The check and the write are one statement under the
    /// row's lock, so of several takers of one request exactly one stores it.
    /// </summary>
    internal static async Task<Incident?> ApplyDiagnosisAsync(
        DbConnection connection,
        DbTransaction transaction,
        TransactionLock pending,
        string id,
        int requestVersion,
        Core.Diagnoses.Diagnosis diagnosis,
        DateTimeOffset now,
        object auditParameters)
    {
        var parameters = new DynamicParameters(auditParameters);
        parameters.Add("id", id);
        parameters.Add("requestVersion", requestVersion);
        parameters.Add("diagnosis", IncidentJson.Serialize(diagnosis));
        parameters.Add("updatedAt", BotDatabase.ToDb(now));
        parameters.Add("becomeDiagnosed", IncidentTransitions.BecomeDiagnosed.Select(s => s.ToSnakeCase()).ToArray()); // the rule is C#'s: only its states come here
        parameters.Add("diagnosed", IncidentState.Diagnosed.ToSnakeCase());
        parameters.Add("owedChange", nameof(IncidentChange.Diagnosed));
        parameters.Add("owedDetail", diagnosis.Summary);
        using var reader = await QueryTakingLockAsync(
            connection,
            transaction,
            pending,
            $"""
            WITH applied AS (
                UPDATE incidents SET diagnosis = @diagnosis, updated_at = @updatedAt, version = version + 1, diagnosis_applied = @requestVersion,
                    state = CASE WHEN state = ANY(@becomeDiagnosed) THEN @diagnosed ELSE state END
                WHERE id = @id AND diagnosis_requested = @requestVersion AND diagnosis_applied < @requestVersion
                RETURNING {IncidentRow.Columns}),
            audited AS ({AuditLog.InsertFrom("applied")}),
            owed AS (
                INSERT INTO incident_news_owed (incident_id, version, change, detail, own_card, owed_at, change_version)
                SELECT id, version, @owedChange, @owedDetail, 0, @updatedAt, version FROM applied
                {OweOnConflict})
            SELECT {IncidentRow.Columns} FROM applied;
            SELECT {PodRow.Columns} FROM incident_pods WHERE incident_id = @id
                AND EXISTS (SELECT 1 FROM incidents i WHERE i.id = @id AND i.diagnosis_applied = @requestVersion AND i.updated_at = @updatedAt)
                ORDER BY first_seen, pod, container
            """,
            parameters).ConfigureAwait(false);
        var row = (await reader.ReadAsync<IncidentRow>().ConfigureAwait(false)).FirstOrDefault();
        var pods = (await reader.ReadAsync<PodRow>().ConfigureAwait(false)).Select(p => p.ToPod()).ToList();
        return row?.ToIncident(pods);
    }

    /// <summary>
    /// Runs <paramref name="sql"/> (one or more statements) as one command, with the statement that takes
    /// <paramref name="pending"/> first when it is not taken yet; that statement's row is read past here.
    /// </summary>
    private static Task<SqlMapper.GridReader> QueryTakingLockAsync(DbConnection connection, DbTransaction transaction, TransactionLock? pending, string sql, object parameters) =>
        pending is null
            ? connection.QueryMultipleAsync(sql, parameters, transaction)
            : pending.QueryMultipleTakingAsync(connection, transaction, sql, parameters);

    private const string ByIdSql = $"SELECT {IncidentRow.Columns} FROM incidents WHERE id = @id";

    private const string PodsOfSql = $"SELECT {PodRow.Columns} FROM incident_pods WHERE incident_id = @id ORDER BY first_seen, pod, container";

    internal static async Task<Incident?> GetAsync(DbConnection connection, DbTransaction? transaction, string id)
    {
        if (connection is SqliteConnection sqlite)
        {
            return SqliteSubject.Get(sqlite, id);
        }

        var rows = await connection.QueryAsync<IncidentRow>(ByIdSql, new { id }, transaction).ConfigureAwait(false);
        var found = await WithPodsAsync(connection, transaction, rows.ToList()).ConfigureAwait(false);
        return found.Count > 0 ? found[0] : null;
    }

    /// <summary>
    /// Open incidents of a subject, each with only the entries of the given pods (any container), in one round trip:
    /// enough to group a round of reports without reading every pod of a large incident. Saving such a partial incident
    /// writes only the pods that differ. With <paramref name="closedSince"/>, the closed ones of
    /// <see cref="ClosedForSubjectAsync"/> come in the same round trip (null when not asked for).
    /// </summary>
    /// <param name="pending">The subject lock when the write has not taken it yet: taken by this read, in its round trip.</param>
    internal static async Task<(IReadOnlyList<Incident> Open, IReadOnlyList<Incident>? Closed)> OpenForSubjectAsync(
        DbConnection connection, DbTransaction transaction, string cluster, string @namespace, string subject, IReadOnlyCollection<string> pods, DateTimeOffset? closedSince, TransactionLock? pending)
    {
        if (connection is SqliteConnection sqlite)
        {
            // The transaction holds SQLite's one write lock: the subject lock takes no statement here.
            _ = pending?.TakeWithNextStatement();
            var openHere = SqliteSubject.Read(sqlite, SqliteSubject.Open, cluster, @namespace, subject, since: null, pods);
            return (openHere, closedSince is { } since ? SqliteSubject.Read(sqlite, SqliteSubject.Closed, cluster, @namespace, subject, since, pods) : null);
        }

        using var reader = await QueryTakingLockAsync(
            connection,
            transaction,
            pending,
            closedSince is null ? SubjectSql(connection, OpenWhere, string.Empty) : OpenAndClosedSubjectSql,
            new { cluster, @namespace, subject, since = BotDatabase.ToDb(closedSince ?? default), pods = SqlList.Of(pods) }).ConfigureAwait(false);
        var read = await ReadSubjectRowsAsync(reader).ConfigureAwait(false);
        return closedSince is null
            ? (read.ConvertAll(r => r.Incident), null)
            : (read.Where(r => r.Open).Select(r => r.Incident).ToList(), read.Where(r => !r.Open).Select(r => r.Incident).ToList()); // one result held both
    }

    /// <summary>
    /// PostgreSQL: the subject's open incidents and its closed ones of <see cref="ClosedForSubjectAsync"/> (the latest five
    /// resolved since <c>@since</c>) as one result, open first and the closed newest first, and the given pods' entries of
    /// all of them: two statements where reading each kind apart took four (a storm round reads them on every round, and
    /// nearly always needs only the open ones).
    /// </summary>
    private static readonly string OpenAndClosedSubjectSql = SubjectSql(
        PostgresDialect.Instance,
        "i.open_key IS NOT NULL OR i.id IN (SELECT c.id FROM incidents c WHERE c.cluster = @cluster AND c.namespace = @namespace AND c.subject = @subject AND c.open_key IS NULL AND c.resolved_at >= @since ORDER BY c.resolved_at DESC LIMIT 5)",
        " ORDER BY i.open_key IS NULL, i.resolved_at DESC");

    /// <summary>Closed incidents of a subject resolved since <paramref name="since"/> (the latest five), with only the given pods' entries.</summary>
    internal static async Task<IReadOnlyList<Incident>> ClosedForSubjectAsync(DbConnection connection, DbTransaction transaction, string cluster, string @namespace, string subject, DateTimeOffset since, IReadOnlyCollection<string> pods)
    {
        if (connection is SqliteConnection sqlite)
        {
            return SqliteSubject.Read(sqlite, SqliteSubject.Closed, cluster, @namespace, subject, since, pods);
        }

        using var reader = await connection.QueryMultipleAsync(
            SubjectSql(connection, ClosedWhere, ClosedOrder),
            new { cluster, @namespace, subject, since = BotDatabase.ToDb(since), pods = SqlList.Of(pods) },
            transaction).ConfigureAwait(false);
        return await ReadSubjectAsync(reader).ConfigureAwait(false);
    }

    private const string OpenWhere = "i.open_key IS NOT NULL";
    private const string ClosedWhere = "i.open_key IS NULL AND i.resolved_at >= @since";
    private const string ClosedOrder = " ORDER BY i.resolved_at DESC LIMIT 5";

    /// <summary>A subject's incidents matching <paramref name="where"/> and the given pods' entries of them: two statements.</summary>
    private static string SubjectSql(DbConnection connection, string where, string orderAndLimit) => SubjectSql(SqlDialects.For(connection), where, orderAndLimit);

    private static string SubjectSql(ISqlDialect dialect, string where, string orderAndLimit)
    {
        var selected = $"SELECT {IncidentRow.Columns} FROM incidents i WHERE i.cluster = @cluster AND i.namespace = @namespace AND i.subject = @subject AND ({where}){orderAndLimit}";
        return selected + ";\n"
            + $"SELECT {PodRow.Columns} FROM incident_pods p WHERE p.incident_id IN (SELECT s.id FROM ({selected}) s) AND {dialect.In("p.pod", "@pods")} ORDER BY p.first_seen, p.pod, p.container";
    }

    /// <summary>The two results of one <see cref="SubjectSql"/>: incidents, then their pods.</summary>
    private static async Task<IReadOnlyList<Incident>> ReadSubjectAsync(SqlMapper.GridReader reader) =>
        (await ReadSubjectRowsAsync(reader).ConfigureAwait(false)).ConvertAll(r => r.Incident);

    /// <summary>The same, each incident with whether its row is open (has an open key), in the order read.</summary>
    private static async Task<List<(bool Open, Incident Incident)>> ReadSubjectRowsAsync(SqlMapper.GridReader reader)
    {
        var rows = (await reader.ReadAsync<IncidentRow>().ConfigureAwait(false)).ToList();
        var pods = new Dictionary<string, List<AffectedPod>>(StringComparer.Ordinal);
        foreach (var p in await reader.ReadAsync<PodRow>().ConfigureAwait(false))
        {
            if (!pods.TryGetValue(p.incident_id, out var list))
            {
                pods[p.incident_id] = list = [];
            }

            list.Add(p.ToPod());
        }

        return rows.ConvertAll(r => (r.open_key is not null, r.ToIncident(pods.TryGetValue(r.id, out var list) ? list : [])));
    }

    internal static async Task<IReadOnlyList<Incident>> OpenInStormAsync(DbConnection connection, DbTransaction? transaction, string stormKey)
    {
        var rows = await connection.QueryAsync<IncidentRow>(
            $"SELECT {IncidentRow.Columns} FROM incidents WHERE storm_key = @stormKey AND open_key IS NOT NULL",
            new { stormKey },
            transaction).ConfigureAwait(false);
        return rows.Select(r => r.ToIncident([])).ToList();
    }

    /// <summary>Ids of open incidents in which this pod (container) is still failing.</summary>
    internal async Task<IReadOnlyList<(string Id, string Subject)>> OpenWithPodAsync(string cluster, string @namespace, string pod, string? container, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await OpenWithPodAsync(connection, null, cluster, @namespace, pod, container).ConfigureAwait(false);
    }

    /// <summary>The same, inside a transaction.</summary>
    internal static async Task<IReadOnlyList<(string Id, string Subject)>> OpenWithPodAsync(DbConnection connection, DbTransaction? transaction, string cluster, string @namespace, string pod, string? container)
    {
        if (connection is SqliteConnection sqlite)
        {
            return SqliteIndexedStatement.Query(
                sqlite,
                OpenWithPodSql,
                [("cluster", cluster, typeof(string)), ("namespace", @namespace, typeof(string)), ("pod", pod, typeof(string)), ("container", container, typeof(string))],
                row => (row.Text(0), row.Text(1)));
        }

        var rows = await connection.QueryAsync<(string, string)>(OpenWithPodSql, new { cluster, @namespace, pod, container }, transaction).ConfigureAwait(false);
        return rows.ToList();
    }

    private const string OpenWithPodSql =
        """
        SELECT DISTINCT i.id, i.subject FROM incident_pods p JOIN incidents i ON i.id = p.incident_id
        WHERE p.pod = @pod AND (@container IS NULL OR p.container = @container) AND p.resolved_at IS NULL
          AND i.cluster = @cluster AND i.namespace = @namespace AND i.open_key IS NOT NULL
        """;

    internal static async Task<DiagnosisTicket?> GetDiagnosisTicketAsync(DbConnection connection, DbTransaction? transaction, string id)
    {
        var row = await connection.QuerySingleOrDefaultAsync<(long Requested, long Applied)?>(
            "SELECT diagnosis_requested, diagnosis_applied FROM incidents WHERE id = @id", new { id }, transaction).ConfigureAwait(false);
        return row is { } r ? new DiagnosisTicket((int)r.Requested, (int)r.Applied) : null;
    }

    internal static Task SetDiagnosisTicketAsync(DbConnection connection, DbTransaction transaction, string id, int requested, int? applied) =>
        connection.ExecuteAsync(SetTicketSql, new { id, requested, applied }, transaction);

    /// <summary>The same, sent with the rest of <paramref name="batch"/>.</summary>
    internal static void SetDiagnosisTicket(StatementBatch batch, string id, int requested, int? applied) =>
        batch.Add(SetTicketSql, new { id, requested, applied });

    private const string SetTicketSql = "UPDATE incidents SET diagnosis_requested = @requested, diagnosis_applied = COALESCE(@applied, diagnosis_applied) WHERE id = @id";

    internal static async Task<DateTimeOffset?> GetReopenNotifiedAtAsync(DbConnection connection, DbTransaction transaction, string id) =>
        BotDatabase.FromDb(await connection.ExecuteScalarAsync<long?>(
            "SELECT reopen_notified_at FROM incidents WHERE id = @id", new { id }, transaction).ConfigureAwait(false));

    internal static void SetReopenNotifiedAt(StatementBatch batch, string id, DateTimeOffset at) =>
        batch.Add("UPDATE incidents SET reopen_notified_at = @at WHERE id = @id", new { id, at = BotDatabase.ToDb(at) });

    /// <summary>Inserts a new incident and its pods; a unique violation means another writer opened the same key first.</summary>
    internal static async Task<Incident> InsertAsync(DbConnection connection, DbTransaction transaction, Incident incident)
    {
        var batch = new StatementBatch();
        Insert(batch, incident);
        await batch.ExecuteAsync(connection, transaction).ConfigureAwait(false);
        return incident;
    }

    /// <summary>Adds the insert of a new incident and its pods to <paramref name="batch"/>; a unique violation means another writer opened the same key first.</summary>
    internal static void Insert(StatementBatch batch, Incident incident)
    {
        batch.Add(
            """
            INSERT INTO incidents (id, cluster, namespace, subject, cause, open_key, storm_key, image, state, workload_kind, workload_name,
                opened_at, updated_at, resolved_at, snoozed_until, rollup_of, diagnosis, version)
            VALUES (@id, @cluster, @namespace, @subject, @cause, @open_key, @storm_key, @image, @state, @workload_kind, @workload_name,
                @opened_at, @updated_at, @resolved_at, @snoozed_until, @rollup_of, @diagnosis, @version)
            """,
            IncidentRow.From(incident));
        UpsertPods(batch, incident.Id, incident.Pods);
    }

    /// <summary>
    /// Writes <paramref name="changed"/> over <paramref name="current"/> (as read in this transaction) with version + 1,
    /// only if the stored version is still <paramref name="current"/>'s. Only pods that differ are written.
    /// </summary>
    internal static async Task<Incident> SaveAsync(DbConnection connection, DbTransaction transaction, Incident current, Incident changed)
    {
        var batch = new StatementBatch();
        var next = Save(batch, current, changed);
        await batch.ExecuteAsync(connection, transaction).ConfigureAwait(false);
        return next;
    }

    /// <summary>The same, sent with the rest of <paramref name="batch"/> (the version check fails the batch, and so the transaction).</summary>
    internal static Incident Save(StatementBatch batch, Incident current, Incident changed)
    {
        var next = changed with { Version = current.Version + 1 };
        WriteOver(batch, current, next);
        return next;
    }

    /// <summary>
    /// Adds to <paramref name="batch"/> the write of <paramref name="next"/> (its own version, which may be several past
    /// <paramref name="stored"/>'s: a round of reports applied in memory) over <paramref name="stored"/>, only if the stored
    /// version is still <paramref name="stored"/>'s (otherwise the batch fails with <see cref="IncidentConcurrencyException"/>).
    /// Only pods that differ from <paramref name="stored"/>'s are written, up to 100 in one statement.
    /// </summary>
    internal static void WriteOver(StatementBatch batch, Incident stored, Incident next)
    {
        // A diagnosis object is never changed in place, so the same one is the same diagnosis: a storm's round over a
        // diagnosed incident does not send (bind, compare, rewrite) its kilobytes of JSON again.
        var row = IncidentRow.From(next);
        row.expected = stored.Version;
        batch.Add(
            ReferenceEquals(stored.Diagnosis, next.Diagnosis) ? UpdateKeepingDiagnosisSql : UpdateSql,
            row,
            updated =>
            {
                if (updated != 1)
                {
                    throw new IncidentConcurrencyException(stored.Id);
                }
            });

        var before = new Dictionary<(string, string), AffectedPod>(stored.Pods.Count);
        foreach (var pod in stored.Pods)
        {
            before[(pod.Pod, pod.Container)] = pod;
        }

        var changedPods = new List<AffectedPod>();
        foreach (var pod in next.Pods)
        {
            if (!before.TryGetValue((pod.Pod, pod.Container), out var old) || old != pod)
            {
                changedPods.Add(pod);
            }
        }

        UpsertPods(batch, next.Id, changedPods);
    }

    private const string UpdateColumns = """
        UPDATE incidents SET cluster = @cluster, namespace = @namespace, subject = @subject, cause = @cause, open_key = @open_key,
            storm_key = @storm_key, image = @image, state = @state, workload_kind = @workload_kind, workload_name = @workload_name,
            opened_at = @opened_at, updated_at = @updated_at, resolved_at = @resolved_at, snoozed_until = @snoozed_until,
            rollup_of = @rollup_of, version = @version
        """;

    /// <summary>The incident's write over the version read (<see cref="WriteOver"/>), its diagnosis with it.</summary>
    private const string UpdateSql = UpdateColumns + ", diagnosis = @diagnosis\nWHERE id = @id AND version = @expected";

    /// <summary>The same, the stored diagnosis left as it is (the write carries the one it read).</summary>
    private const string UpdateKeepingDiagnosisSql = UpdateColumns + "\nWHERE id = @id AND version = @expected";

    /// <summary>
    /// Inserts or updates pods of one incident: on PostgreSQL up to 100 rows per statement (SQLite's parameter limit would
    /// allow 111), on SQLite one prepared statement per row (<see cref="StatementBatch.AddRows"/>).
    /// </summary>
    private static void UpsertPods(StatementBatch batch, string incidentId, IReadOnlyList<AffectedPod> pods)
    {
        if (pods.Count == 0)
        {
            return;
        }

        var rows = new StatementParameters[pods.Count];
        for (var i = 0; i < rows.Length; i++)
        {
            var pod = pods[i];
            rows[i] = new StatementParameters()
                .Add("p", pod.Pod)
                .Add("c", pod.Container)
                .Add("r", pod.Reason)
                .Add("m", pod.Message)
                .Add("f", BotDatabase.ToDb(pod.FirstSeen))
                .Add("l", BotDatabase.ToDb(pod.LastSeen))
                .Add("x", BotDatabase.ToDb(pod.ResolvedAt))
                .Add("n", pod.NodeName);
        }

        batch.AddRows(
            "INSERT INTO incident_pods (incident_id, pod, container, reason, message, first_seen, last_seen, resolved_at, node_name) VALUES",
            "(@incidentId, @p, @c, @r, @m, @f, @l, @x, @n)",
            """
            ON CONFLICT (incident_id, pod, container) DO UPDATE SET reason = excluded.reason, message = excluded.message,
                first_seen = excluded.first_seen, last_seen = excluded.last_seen, resolved_at = excluded.resolved_at, node_name = excluded.node_name
            """,
            new StatementParameters().Add("incidentId", incidentId),
            rows,
            rowsPerStatement: 100);
    }

    // ---- news owed ----

    /// <summary>
    /// How a second row of news owed for one incident merges into the first: the newer version, the newest news — except
    /// that "pods changed" never hides a weightier change not told yet (opened, diagnosed, resolved …: what a retell must
    /// say, and what the notifiers other than the card act on).
    /// </summary>
    private const string OweOnConflict =
        """
        ON CONFLICT (incident_id) DO UPDATE SET
            version = CASE WHEN excluded.version > incident_news_owed.version THEN excluded.version ELSE incident_news_owed.version END,
            change = CASE WHEN excluded.change = 'PodsChanged' AND incident_news_owed.change <> 'PodsChanged' THEN incident_news_owed.change ELSE excluded.change END,
            detail = CASE WHEN excluded.change = 'PodsChanged' AND incident_news_owed.change <> 'PodsChanged' THEN incident_news_owed.detail ELSE excluded.detail END,
            own_card = CASE WHEN excluded.change = 'PodsChanged' AND incident_news_owed.change <> 'PodsChanged' THEN incident_news_owed.own_card ELSE excluded.own_card END,
            change_version = CASE WHEN excluded.change = 'PodsChanged' AND incident_news_owed.change <> 'PodsChanged' THEN incident_news_owed.change_version ELSE excluded.change_version END,
            owed_at = excluded.owed_at
        """;

    /// <summary>
    /// Adds to <paramref name="batch"/> the row saying the news of <paramref name="owed"/>'s version is owed (written in the
    /// transaction of the change it is about, removed once told: <see cref="ForgetToldNewsAsync"/>).
    /// </summary>
    internal static void OweNews(StatementBatch batch, OwedNews owed) =>
        batch.Add(
            "INSERT INTO incident_news_owed (incident_id, version, change, detail, own_card, owed_at, change_version) VALUES (@incidentId, @version, @change, @detail, @ownCard, @owedAt, @changeVersion)\n" + OweOnConflict,
            new StatementParameters()
                .Add("incidentId", owed.IncidentId)
                .Add("version", owed.Version)
                .Add("change", owed.Change.ToString())
                .Add("detail", owed.Detail)
                .Add("ownCard", owed.OwnCard ? 1 : 0)
                .Add("owedAt", BotDatabase.ToDb(owed.OwedAt))
                .Add("changeVersion", owed.ChangeVersion ?? owed.Version));

    /// <summary>
    /// Removes the news owed that has been told: per incident, the row if its version is at most the one told (news of a
    /// newer write stays owed). Returns the incidents whose rows it left alone because another transaction was writing them
    /// (PostgreSQL): the caller keeps those and tries them again. On SQLite, one transaction for all of them (it may share
    /// another writer's), and none is left alone.
    /// On PostgreSQL it is one statement in a transaction of its own, with no write turn: it locks only the rows no one else
    /// holds (<c>SKIP LOCKED</c>), so it never waits. A removal that waited for a row an intake round was upserting, while
    /// holding the rows it had already deleted, made the next rounds of those incidents wait for it in turn (and, in a group
    /// commit holding several subjects' rounds, could close a circle the deadlock detector breaks after a second).
    /// </summary>
    internal Task<IReadOnlyCollection<string>> ForgetToldNewsAsync(IReadOnlyCollection<KeyValuePair<string, int>> told, CancellationToken cancellationToken) =>
        database.Dialect.OneWriterAtATime
            ? database.InSharedTransactionAsync<IReadOnlyCollection<string>>(
                async (connection, transaction) =>
                {
                    var batch = new StatementBatch();
                    foreach (var (id, version) in told)
                    {
                        batch.Add("DELETE FROM incident_news_owed WHERE incident_id = @id AND version <= @version", new StatementParameters().Add("id", id).Add("version", version));
                    }

                    await batch.ExecuteAsync(connection, transaction).ConfigureAwait(false);
                    return [];
                },
                cancellationToken)
            : ForgetToldNewsSkippingLockedAsync(told, cancellationToken);

    /// <summary>
    /// <see cref="ForgetToldNewsAsync"/> on an engine with row locks: one statement. The rows it can lock at once are removed
    /// when told (their newest version, read under the lock); the rows it sees held by another transaction are returned.
    /// </summary>
    private async Task<IReadOnlyCollection<string>> ForgetToldNewsSkippingLockedAsync(IReadOnlyCollection<KeyValuePair<string, int>> told, CancellationToken cancellationToken)
    {
        var ids = told.Select(t => t.Key).ToArray();
        var versions = told.Select(t => t.Value).ToArray();
        try
        {
            await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
            var held = await connection.QueryAsync<string>(new CommandDefinition(
                $"""
                WITH told AS (SELECT t.id, t.version FROM unnest(@ids, @versions) AS t(id, version)),
                taken AS (
                    SELECT o.incident_id FROM incident_news_owed o WHERE {database.Dialect.In("o.incident_id", "@ids")}
                    ORDER BY o.incident_id{database.Dialect.ForUpdateSkipLocked}),
                removed AS (
                    DELETE FROM incident_news_owed o USING taken k, told t
                    WHERE o.incident_id = k.incident_id AND t.id = k.incident_id AND o.version <= t.version)
                SELECT o.incident_id FROM incident_news_owed o
                WHERE {database.Dialect.In("o.incident_id", "@ids")} AND NOT EXISTS (SELECT 1 FROM taken k WHERE k.incident_id = o.incident_id)
                """,
                new { ids = SqlList.Of(ids), versions },
                cancellationToken: cancellationToken)).ConfigureAwait(false);
            database.WriteSucceeded();
            return held.ToList();
        }
        catch (Exception e) when (database.WriteFailed(e))
        {
            throw;
        }
    }

    /// <summary>News owed since before <paramref name="olderThan"/>, oldest first (up to <paramref name="limit"/> rows).</summary>
    internal async Task<IReadOnlyList<OwedNews>> ListOwedNewsAsync(DateTimeOffset olderThan, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await connection.QueryAsync<(string Id, long Version, string Change, string? Detail, long OwnCard, long OwedAt, long? ChangeVersion)>(
            "SELECT incident_id, version, change, detail, own_card, owed_at, change_version FROM incident_news_owed WHERE owed_at < @olderThan ORDER BY owed_at, incident_id LIMIT @limit",
            new { olderThan = BotDatabase.ToDb(olderThan), limit }).ConfigureAwait(false);
        return rows
            .Select(r => new OwedNews(r.Id, (int)r.Version, Enum.TryParse<IncidentChange>(r.Change, out var change) ? change : IncidentChange.PodsChanged, r.Detail, r.OwnCard != 0, BotDatabase.FromDb(r.OwedAt))
            {
                ChangeVersion = (int?)r.ChangeVersion,
            })
            .ToList();
    }

    /// <summary>
    /// Takes the rows of <paramref name="owed"/> still as listed (same version, same <c>owed_at</c>) for a retell, by moving
    /// their <c>owed_at</c> to <paramref name="now"/> (compare and set, one transaction): of several sweepers that listed a
    /// row, one takes it, and it is not listed again for a grace. Returns the rows taken, as listed.
    /// </summary>
    internal Task<IReadOnlyList<OwedNews>> ClaimOwedNewsAsync(IReadOnlyList<OwedNews> owed, DateTimeOffset now, CancellationToken cancellationToken) =>
        OwedRows.ClaimAsync(
            database,
            owed,
            row => ("UPDATE incident_news_owed SET owed_at = @now WHERE incident_id = @id AND version = @version AND owed_at = @owedAt",
                new StatementParameters().Add("now", BotDatabase.ToDb(now)).Add("id", row.IncidentId).Add("version", row.Version).Add("owedAt", BotDatabase.ToDb(row.OwedAt))),
            cancellationToken);

    // ---- mutes ----

    internal static async Task AddMuteAsync(DbConnection connection, DbTransaction? transaction, IncidentMute mute) =>
        await connection.ExecuteAsync(
            "INSERT INTO incident_mutes (id, scope, cluster, pattern, until_at, created_by, created_at) VALUES (@id, @scope, @cluster, @pattern, @until, @createdBy, @createdAt)",
            new
            {
                id = mute.Id,
                scope = mute.Scope == MuteScope.Image ? "image" : "namespace",
                cluster = mute.Cluster,
                pattern = mute.Pattern,
                until = BotDatabase.ToDb(mute.Until),
                createdBy = mute.CreatedBy,
                createdAt = BotDatabase.ToDb(mute.CreatedAt),
            },
            transaction).ConfigureAwait(false);

    internal static async Task<bool> RemoveMuteAsync(DbConnection connection, DbTransaction transaction, string id, DateTimeOffset at) =>
        await connection.ExecuteAsync(
            "UPDATE incident_mutes SET removed_at = @at WHERE id = @id AND removed_at IS NULL", new { id, at = BotDatabase.ToDb(at) }, transaction).ConfigureAwait(false) == 1;

    /// <summary>Mutes not removed and not expired at <paramref name="now"/>.</summary>
    public async Task<IReadOnlyList<IncidentMute>> ListMutesAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await connection.QueryAsync<(string Id, string Scope, string Cluster, string Pattern, long? Until, string CreatedBy, long CreatedAt)>(
            "SELECT id, scope, cluster, pattern, until_at, created_by, created_at FROM incident_mutes WHERE removed_at IS NULL AND (until_at IS NULL OR until_at > @now) ORDER BY created_at",
            new { now = BotDatabase.ToDb(now) }).ConfigureAwait(false);
        return rows.Select(r => new IncidentMute(
                r.Id,
                r.Scope == "image" ? MuteScope.Image : MuteScope.Namespace,
                r.Cluster,
                r.Pattern,
                BotDatabase.FromDb(r.Until),
                r.CreatedBy,
                BotDatabase.FromDb(r.CreatedAt)))
            .ToList();
    }

    private async Task<IReadOnlyList<Incident>> QueryAsync(string sql, object parameters, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = (await connection.QueryAsync<IncidentRow>(sql, parameters).ConfigureAwait(false)).ToList();
        return await WithPodsAsync(connection, null, rows).ConfigureAwait(false);
    }

    private static async Task<IReadOnlyList<Incident>> WithPodsAsync(DbConnection connection, DbTransaction? transaction, List<IncidentRow> rows, (string Pod, string Container)? only = null)
    {
        if (rows.Count == 0)
        {
            return [];
        }

        // One query whatever the number of incidents: the ids are one parameter (SqlList) on both engines.
        var pods = new Dictionary<string, List<AffectedPod>>(StringComparer.Ordinal);
        var podRows = await connection.QueryAsync<PodRow>(
            $"SELECT {PodRow.Columns} FROM incident_pods WHERE " + SqlDialects.For(connection).In("incident_id", "@ids")
            + (only is null ? string.Empty : " AND pod = @pod AND container = @container")
            + " ORDER BY first_seen, pod, container",
            new { ids = SqlList.Of(rows.ConvertAll(r => r.id)), pod = only?.Pod, container = only?.Container },
            transaction).ConfigureAwait(false);
        foreach (var p in podRows)
        {
            if (!pods.TryGetValue(p.incident_id, out var list))
            {
                pods[p.incident_id] = list = [];
            }

            list.Add(p.ToPod());
        }

        return rows.Select(r => r.ToIncident(pods.TryGetValue(r.id, out var list) ? list : [])).ToList();
    }

#pragma warning disable IDE1006, CA1812 // column names as Dapper maps them
    private sealed class IncidentRow
    {
        /// <summary>
        /// The columns a read maps, named so that a statement prepared on a pooled PostgreSQL connection keeps its result
        /// type when another replica's migration adds a column (a prepared <c>SELECT *</c> fails once then, 0A000). The SQLite
        /// intake reads them by position, in this order (<c>IncidentStore.SqliteReads</c>).
        /// </summary>
        public const string Columns =
            "id, cluster, namespace, subject, cause, open_key, storm_key, image, state, workload_kind, workload_name, opened_at, updated_at, resolved_at, snoozed_until, rollup_of, diagnosis, version, diagnosis_requested, diagnosis_applied";

        public string id { get; set; } = "";
        public string cluster { get; set; } = "";
        public string @namespace { get; set; } = "";
        public string subject { get; set; } = "";
        public string cause { get; set; } = "";
        public string? open_key { get; set; }
        public string storm_key { get; set; } = "";
        public string image { get; set; } = "";
        public string state { get; set; } = "";
        public string? workload_kind { get; set; }
        public string? workload_name { get; set; }
        public long opened_at { get; set; }
        public long updated_at { get; set; }
        public long? resolved_at { get; set; }
        public long? snoozed_until { get; set; }
        public string? rollup_of { get; set; }
        public string? diagnosis { get; set; }
        public long version { get; set; }
        public long diagnosis_requested { get; set; }
        public long diagnosis_applied { get; set; }

        /// <summary>The diagnosis ticket the row holds (read only: the incident's writes leave it alone).</summary>
        public DiagnosisTicket Ticket => new((int)diagnosis_requested, (int)diagnosis_applied);

        /// <summary>The version the writer read (optimistic concurrency); not a column.</summary>
        public long expected { get; set; }

        public static IncidentRow From(Incident incident) => new()
        {
            id = incident.Id,
            cluster = incident.Key.Cluster,
            @namespace = incident.Key.Namespace,
            subject = incident.Key.Subject,
            cause = incident.Key.Cause.ToSnakeCase(),
            open_key = incident.IsClosed ? null : incident.Key.ToString(),
            storm_key = IncidentRollup.StormKey(incident.Key.Cluster, incident.Image, incident.Key.Cause),
            image = incident.Image,
            state = incident.State.ToSnakeCase(),
            workload_kind = incident.Workload?.Kind,
            workload_name = incident.Workload?.Name,
            opened_at = BotDatabase.ToDb(incident.OpenedAt),
            updated_at = BotDatabase.ToDb(incident.UpdatedAt),
            resolved_at = BotDatabase.ToDb(incident.ResolvedAt),
            snoozed_until = BotDatabase.ToDb(incident.SnoozedUntil),
            rollup_of = incident.RollupOf,
            diagnosis = incident.Diagnosis is null ? null : IncidentJson.Serialize(incident.Diagnosis),
            version = incident.Version,
        };

        public Incident ToIncident(IReadOnlyList<AffectedPod> pods)
        {
            var parsedCause = PullCauseNames.TryParse(cause, out var c) ? c : PullCause.Unknown;
            var parsedState = IncidentTransitions.TryParse(state, out var st) ? st : IncidentState.Open;
            return new Incident(
                id,
                new IncidentKey(cluster, @namespace, subject, parsedCause),
                image,
                parsedState,
                BotDatabase.FromDb(opened_at),
                BotDatabase.FromDb(updated_at),
                pods,
                (int)version)
            {
                Workload = workload_kind is null || workload_name is null ? null : new WorkloadRef(workload_kind, workload_name),
                Diagnosis = IncidentJson.Deserialize(diagnosis),
                ResolvedAt = BotDatabase.FromDb(resolved_at),
                SnoozedUntil = BotDatabase.FromDb(snoozed_until),
                RollupOf = rollup_of,
            };
        }
    }

    private sealed class PodRow
    {
        /// <summary>The columns a read maps (see <see cref="IncidentRow.Columns"/>), in the order the SQLite intake reads them by position.</summary>
        public const string Columns = "incident_id, pod, container, reason, message, first_seen, last_seen, resolved_at, node_name";

        public string incident_id { get; set; } = "";
        public string pod { get; set; } = "";
        public string container { get; set; } = "";
        public string reason { get; set; } = "";
        public string message { get; set; } = "";
        public long first_seen { get; set; }
        public long last_seen { get; set; }
        public long? resolved_at { get; set; }
        public string? node_name { get; set; }

        public AffectedPod ToPod() => new(pod, container, reason, message, BotDatabase.FromDb(first_seen), BotDatabase.FromDb(last_seen))
        {
            ResolvedAt = BotDatabase.FromDb(resolved_at),
            NodeName = node_name,
        };
    }
#pragma warning restore IDE1006, CA1812
}
