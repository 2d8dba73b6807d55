using System.Data.Common;
using ChatOpsPull.Storage;
using Dapper;

namespace ChatOpsPull.Incidents;

/// <summary>Who did something: a chat user, a local web user, or the bot itself.</summary>
/// <param name="Platform">"slack", "teams", "web", or "bot".</param>
public sealed record AuditActor(string Platform, string Id, string Name)
{
    public static AuditActor Bot { get; } = new("bot", "chatopspull", "ChatOpsPull");


    public override string ToString() => $"{Name} ({Platform}:{Id})";
}

public enum AuditOutcome
{
    /// <summary>It happened.</summary>
    Done,

    /// <summary>It was asked for and refused (policy, illegal transition, expired card).</summary>
    Refused,

    /// <summary>It was tried and failed.</summary>
    Failed,
}

/// <summary>One line of the audit log.</summary>
public sealed record AuditEntry(
    long Id,
    DateTimeOffset At,
    AuditActor Actor,
    string Action,
    string? IncidentId,
    string? ApprovalId,
    string? Detail,
    AuditOutcome Outcome);

/// <summary>What to append; <see cref="AuditLog"/> stamps the time.</summary>
/// <param name="Action">Dotted verb: "incident.opened", "approval.approved", "job.started" (see <see cref="AuditActions"/>).</param>
public sealed record AuditRecord(
    AuditActor Actor,
    string Action,
    string? IncidentId = null,
    string? ApprovalId = null,
    string? Detail = null,
    AuditOutcome Outcome = AuditOutcome.Done);

/// <summary>The actions the incident engine writes. Other capabilities add their own ("approval.requested", "job.finished" …).</summary>
public static class AuditActions
{
    public const string IncidentOpened = "incident.opened";
    public const string IncidentReopened = "incident.reopened";
    public const string IncidentCauseChanged = "incident.cause_changed";
    public const string IncidentResolved = "incident.resolved";
    public const string IncidentStateChanged = "incident.state_changed";
    public const string IncidentDiagnosed = "incident.diagnosed";
    public const string IncidentDiagnosisRequested = "incident.diagnosis_requested";
    public const string IncidentSnoozed = "incident.snoozed";
    public const string IncidentRolledUp = "incident.rolled_up";
    public const string MuteAdded = "mute.added";
    public const string MuteRemoved = "mute.removed";
}

/// <summary>
/// Append-only record of everything done to incidents and approvals, in the bot's database (survives restarts).
/// Nothing updates or deletes a line.
/// </summary>
public sealed class AuditLog(BotDatabase database, TimeProvider time)
{
    public const int MaxDetailLength = 2000;

    public async Task<long> AppendAsync(AuditRecord record, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await AppendAsync(connection, null, record).ConfigureAwait(false);
    }

    /// <summary>Appends inside the caller's transaction, so the line is there exactly when the change is.</summary>
    public async Task<long> AppendAsync(DbConnection connection, DbTransaction? transaction, AuditRecord record) =>
        await connection.ExecuteScalarAsync<long>(InsertSql + " RETURNING id", Row(record), transaction).ConfigureAwait(false);

    /// <summary>The same, sent with the rest of the caller's <paramref name="batch"/> (in its transaction; the line's id is not needed).</summary>
    public void Append(StatementBatch batch, AuditRecord record) => batch.Add(InsertSql, Row(record));

    /// <summary>
    /// The line of <paramref name="record"/> as an INSERT that writes it once per row of <paramref name="rows"/> (a CTE of the
    /// same PostgreSQL statement, e.g. the rows an UPDATE … RETURNING changed): written exactly when the change is. Its
    /// parameters are <see cref="ParametersOf"/>'s.
    /// </summary>
    internal static string InsertFrom(string rows) =>
        $"INSERT INTO audit_log (at, actor_platform, actor_id, actor_name, action, incident_id, approval_id, detail, outcome) SELECT @at, @platform, @actorId, @actorName, @action, @incidentId, @approvalId, @detail, @outcome FROM {rows}";

    /// <summary>The parameters <see cref="InsertFrom"/> names, for <paramref name="record"/> now.</summary>
    internal object ParametersOf(AuditRecord record) => Row(record);

    private const string InsertSql = "INSERT INTO audit_log (at, actor_platform, actor_id, actor_name, action, incident_id, approval_id, detail, outcome) VALUES (@at, @platform, @actorId, @actorName, @action, @incidentId, @approvalId, @detail, @outcome)";

    private AuditParameters Row(AuditRecord record) => new(
        BotDatabase.ToDb(time.GetUtcNow()),
        record.Actor.Platform,
        record.Actor.Id,
        record.Actor.Name,
        record.Action,
        record.IncidentId,
        record.ApprovalId,
        record.Detail is { Length: > MaxDetailLength } long_ ? long_[..MaxDetailLength] : record.Detail,
        OutcomeName(record.Outcome));

    /// <summary>Every line about one incident, oldest first.</summary>
    public Task<IReadOnlyList<AuditEntry>> ForIncidentAsync(string incidentId, CancellationToken cancellationToken = default) =>
        QueryAsync($"SELECT {AuditRow.Columns} FROM audit_log WHERE incident_id = @incidentId ORDER BY id", new { incidentId }, cancellationToken);

    /// <summary>Every line about one approval, oldest first.</summary>
    public Task<IReadOnlyList<AuditEntry>> ForApprovalAsync(string approvalId, CancellationToken cancellationToken = default) =>
        QueryAsync($"SELECT {AuditRow.Columns} FROM audit_log WHERE approval_id = @approvalId ORDER BY id", new { approvalId }, cancellationToken);

    /// <summary>The latest <paramref name="count"/> lines, newest first.</summary>
    public Task<IReadOnlyList<AuditEntry>> RecentAsync(int count, CancellationToken cancellationToken = default) =>
        QueryAsync($"SELECT {AuditRow.Columns} FROM audit_log ORDER BY id DESC LIMIT @count", new { count = Math.Clamp(count, 1, 10_000) }, cancellationToken);

    /// <summary>The latest <paramref name="count"/> lines older than line <paramref name="before"/>, newest first.</summary>
    public Task<IReadOnlyList<AuditEntry>> OlderThanAsync(long before, int count, CancellationToken cancellationToken = default) =>
        QueryAsync($"SELECT {AuditRow.Columns} FROM audit_log WHERE id < @before ORDER BY id DESC LIMIT @count", new { before, count = Math.Clamp(count, 1, 10_000) }, cancellationToken);

    private async Task<IReadOnlyList<AuditEntry>> QueryAsync(string sql, object parameters, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await connection.QueryAsync<AuditRow>(sql, parameters).ConfigureAwait(false);
        return rows.Select(r => new AuditEntry(
                r.id,
                BotDatabase.FromDb(r.at),
                new AuditActor(r.actor_platform, r.actor_id, r.actor_name),
                r.action,
                r.incident_id,
                r.approval_id,
                r.detail,
                ParseOutcome(r.outcome)))
            .ToList();
    }

    private static string OutcomeName(AuditOutcome outcome) => outcome switch
    {
        AuditOutcome.Done => "done",
        AuditOutcome.Refused => "refused",
        AuditOutcome.Failed => "failed",
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, "not an audit outcome"),
    };

    private static AuditOutcome ParseOutcome(string name) => name switch
    {
        "refused" => AuditOutcome.Refused,
        "failed" => AuditOutcome.Failed,
        _ => AuditOutcome.Done,
    };

#pragma warning disable IDE1006, CA1812, SA1300 // column names as Dapper maps them
    private sealed record AuditParameters(long at, string platform, string actorId, string actorName, string action, string? incidentId, string? approvalId, string? detail, string outcome);

    private sealed class AuditRow
    {
        /// <summary>The columns a read maps, named: a statement prepared on a PostgreSQL connection keeps its result type when another replica's migration adds a column.</summary>
        public const string Columns = "id, at, actor_platform, actor_id, actor_name, action, incident_id, approval_id, detail, outcome";

        public long id { get; set; }
        public long at { get; set; }
        public string actor_platform { get; set; } = "";
        public string actor_id { get; set; } = "";
        public string actor_name { get; set; } = "";
        public string action { get; set; } = "";
        public string? incident_id { get; set; }
        public string? approval_id { get; set; }
        public string? detail { get; set; }
        public string outcome { get; set; } = "";
    }
#pragma warning restore IDE1006, CA1812, SA1300
}
