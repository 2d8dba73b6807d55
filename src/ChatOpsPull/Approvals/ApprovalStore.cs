using System.Data.Common;
using System.Text.Json;
using System.Text.Json.Serialization;
using ChatOpsPull.Core.Approvals;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Storage;
using Dapper;
using ChatOpsPull.Remediation;

namespace ChatOpsPull.Approvals;

/// <summary>
/// Approval requests and their votes in the bot's database. Every change is a compare-and-set on <c>version</c>
/// (<see cref="TryUpdateAsync"/> says whether it won), so two replicas deciding the same request at once decide it
/// once; a unique <c>pending_key</c> keeps one pending request per incident and plan.
/// </summary>
public sealed class ApprovalStore(BotDatabase database)
{
    public BotDatabase Database => database;

    private static JsonSerializerOptions Json => RemediationJson.Options;

    public async Task<ApprovalRequest?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await GetAsync(connection, null, id).ConfigureAwait(false);
    }

    public static async Task<ApprovalRequest?> GetAsync(DbConnection connection, DbTransaction? transaction, string id)
    {
        var row = await connection.QuerySingleOrDefaultAsync<RequestRow>(
            $"SELECT {RequestRow.Columns} FROM approval_requests WHERE id = @id", new { id }, transaction).ConfigureAwait(false);
        return row?.ToRequest();
    }

    /// <summary>The pending request for this incident (or stand-alone workload) and plan, if any.</summary>
    public async Task<ApprovalRequest?> FindPendingAsync(string? incidentId, string cluster, RemediationPlan plan, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var row = await connection.QuerySingleOrDefaultAsync<RequestRow>(
            $"SELECT {RequestRow.Columns} FROM approval_requests WHERE pending_key = @key", new { key = PendingKey(incidentId, cluster, plan) }).ConfigureAwait(false);
        return row?.ToRequest();
    }

    /// <summary>Inserts a new request. A unique violation means another pending request for the same plan exists.</summary>
    public static Task InsertAsync(DbConnection connection, DbTransaction transaction, ApprovalRequest request) =>
        connection.ExecuteAsync(
            """
            INSERT INTO approval_requests (id, incident_id, cluster, namespace, plan_key, plan, requested_by, requested_at, expires_at,
                status, required, votes, dry_run, decided_at, pending_key, version)
            VALUES (@id, @incident_id, @cluster, @namespace, @plan_key, @plan, @requested_by, @requested_at, @expires_at,
                @status, @required, @votes, @dry_run, @decided_at, @pending_key, @version)
            """,
            RequestRow.From(request),
            transaction);

    /// <summary>Writes <paramref name="updated"/> if the stored version is still <paramref name="expectedVersion"/>; false when someone else won.</summary>
    public static async Task<bool> TryUpdateAsync(DbConnection connection, DbTransaction transaction, int expectedVersion, ApprovalRequest updated)
    {
        var row = RequestRow.From(updated);
        row.expected = expectedVersion;
        var changed = await connection.ExecuteAsync(
            """
            UPDATE approval_requests SET status = @status, votes = @votes, dry_run = @dry_run, decided_at = @decided_at,
                pending_key = @pending_key, version = @version
            WHERE id = @id AND version = @expected
            """,
            row,
            transaction).ConfigureAwait(false);
        return changed == 1;
    }

    /// <summary>Whether the incident has a request still pending, as the transaction sees it (after its own update).</summary>
    public static async Task<bool> HasPendingAsync(DbConnection connection, DbTransaction transaction, string incidentId) =>
        await connection.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM approval_requests WHERE incident_id = @incidentId AND status = 'pending'", new { incidentId }, transaction).ConfigureAwait(false) > 0;

    /// <summary>Stores the decision's signature (<see cref="DecisionSignature"/>) beside the request, in the approving transaction.</summary>
    public static Task SetSignatureAsync(DbConnection connection, DbTransaction transaction, string id, string signature) =>
        connection.ExecuteAsync("UPDATE approval_requests SET decision_signature = @signature WHERE id = @id", new { id, signature }, transaction);

    /// <summary>The request and its decision's signature (null when unsigned), or null when there is no such request.</summary>
    public async Task<(ApprovalRequest Request, string? Signature)?> GetSignedAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var row = await connection.QuerySingleOrDefaultAsync<RequestRow>(
            $"SELECT {RequestRow.Columns} FROM approval_requests WHERE id = @id", new { id }).ConfigureAwait(false);
        return row is null ? null : (row.ToRequest(), row.decision_signature);
    }

    public Task<IReadOnlyList<ApprovalRequest>> ListPendingAsync(string? @namespace, CancellationToken cancellationToken = default) =>
        QueryAsync(
            $"SELECT {RequestRow.Columns} FROM approval_requests WHERE status = 'pending' AND (@namespace IS NULL OR namespace = @namespace) ORDER BY requested_at, id",
            new { @namespace },
            cancellationToken);

    public Task<IReadOnlyList<ApprovalRequest>> ListForIncidentAsync(string incidentId, CancellationToken cancellationToken = default) =>
        QueryAsync($"SELECT {RequestRow.Columns} FROM approval_requests WHERE incident_id = @incidentId ORDER BY requested_at, id", new { incidentId }, cancellationToken);

    public Task<IReadOnlyList<ApprovalRequest>> ListRequestedAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default) =>
        QueryAsync(
            $"SELECT {RequestRow.Columns} FROM approval_requests WHERE requested_at >= @from AND requested_at < @to ORDER BY requested_at, id",
            new { from = BotDatabase.ToDb(from), to = BotDatabase.ToDb(to) },
            cancellationToken);

    /// <summary>Pending requests whose lifetime ran out before <paramref name="now"/> (for the expiry sweep).</summary>
    public Task<IReadOnlyList<ApprovalRequest>> ListExpiredPendingAsync(DateTimeOffset now, CancellationToken cancellationToken = default) =>
        QueryAsync(
            $"SELECT {RequestRow.Columns} FROM approval_requests WHERE status = 'pending' AND expires_at <= @now ORDER BY expires_at LIMIT 500",
            new { now = BotDatabase.ToDb(now) },
            cancellationToken);

    /// <summary>How many requests (any status) an incident has had for a plan: auto-run acts at most once per plan.</summary>
    public async Task<int> CountForPlanAsync(string incidentId, string planKey, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return (int)await connection.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM approval_requests WHERE incident_id = @incidentId AND plan_key = @planKey",
            new { incidentId, planKey }).ConfigureAwait(false);
    }

    /// <summary>One pending request per incident and plan; a stand-alone request is keyed by its workload instead.</summary>
    public static string PendingKey(string? incidentId, string cluster, RemediationPlan plan) =>
        incidentId is { Length: > 0 }
            ? $"{incidentId}|{plan.Key}"
            : $"-|{cluster}|{plan.Namespace}|{plan.WorkloadKind}/{plan.WorkloadName}|{plan.Key}";

    public static string StatusName(ApprovalStatus status) => status switch
    {
        ApprovalStatus.Pending => "pending",
        ApprovalStatus.Approved => "approved",
        ApprovalStatus.Denied => "denied",
        ApprovalStatus.Expired => "expired",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "not an approval status"),
    };

    private static ApprovalStatus ParseStatus(string name) => name switch
    {
        "approved" => ApprovalStatus.Approved,
        "denied" => ApprovalStatus.Denied,
        "expired" => ApprovalStatus.Expired,
        _ => ApprovalStatus.Pending,
    };

    private async Task<IReadOnlyList<ApprovalRequest>> QueryAsync(string sql, object parameters, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await connection.QueryAsync<RequestRow>(sql, parameters).ConfigureAwait(false);
        return rows.Select(r => r.ToRequest()).ToList();
    }

#pragma warning disable IDE1006, CA1812, SA1300 // column names as Dapper maps them
    private sealed class RequestRow
    {
        /// <summary>The columns a read maps, named: a statement prepared on a PostgreSQL connection keeps its result type when another replica's migration adds a column.</summary>
        public const string Columns =
            "id, incident_id, cluster, namespace, plan_key, plan, requested_by, requested_at, expires_at, status, required, votes, dry_run, decided_at, pending_key, version, decision_signature";

        public string id { get; set; } = "";
        public string? incident_id { get; set; }
        public string cluster { get; set; } = "";
        public string @namespace { get; set; } = "";
        public string plan_key { get; set; } = "";
        public string plan { get; set; } = "";
        public string requested_by { get; set; } = "";
        public long requested_at { get; set; }
        public long expires_at { get; set; }
        public string status { get; set; } = "";
        public long required { get; set; }
        public string votes { get; set; } = "[]";
        public string? dry_run { get; set; }
        public long? decided_at { get; set; }
        public string? pending_key { get; set; }
        public long version { get; set; }
        public string? decision_signature { get; set; }

        /// <summary>The version the writer read (optimistic concurrency); not a column.</summary>
        public long expected { get; set; }

        public static RequestRow From(ApprovalRequest request)
        {
            var incidentId = string.IsNullOrEmpty(request.IncidentId) ? null : request.IncidentId;
            var decided = request.Status == ApprovalStatus.Pending ? (DateTimeOffset?)null : request.Votes.Select(v => v.At).DefaultIfEmpty(request.RequestedAt).Max();
            return new RequestRow
            {
                id = request.Id,
                incident_id = incidentId,
                cluster = request.Cluster,
                @namespace = request.Plan.Namespace,
                plan_key = request.Plan.Key,
                plan = JsonSerializer.Serialize(request.Plan, Json),
                requested_by = JsonSerializer.Serialize(request.RequestedBy, Json),
                requested_at = BotDatabase.ToDb(request.RequestedAt),
                expires_at = BotDatabase.ToDb(request.ExpiresAt),
                status = StatusName(request.Status),
                required = request.Required,
                votes = JsonSerializer.Serialize(request.Votes, Json),
                dry_run = request.DryRun,
                decided_at = BotDatabase.ToDb(decided),
                pending_key = request.Status == ApprovalStatus.Pending ? PendingKey(incidentId, request.Cluster, request.Plan) : null,
                version = request.Version,
            };
        }

        public ApprovalRequest ToRequest() => new(
            id,
            incident_id ?? string.Empty,
            JsonSerializer.Deserialize<RemediationPlan>(plan, Json)!,
            JsonSerializer.Deserialize<Actor>(requested_by, Json)!,
            BotDatabase.FromDb(requested_at),
            BotDatabase.FromDb(expires_at),
            ParseStatus(status),
            (int)required,
            JsonSerializer.Deserialize<List<ApprovalVote>>(votes, Json) ?? [],
            (int)version)
        {
            DryRun = dry_run,
            Cluster = cluster,
        };
    }
#pragma warning restore IDE1006, CA1812, SA1300
}
