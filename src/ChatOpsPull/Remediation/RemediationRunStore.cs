using System.Data.Common;
using System.Text.Json;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Storage;
using Dapper;

namespace ChatOpsPull.Remediation;

/// <summary>A run as stored, with what the job needs beyond <see cref="RemediationRun"/>.</summary>
/// <param name="Image">The incident's image when the run was approved (credential checks need it), or null.</param>
/// <param name="AppliedAt">When the change reached the cluster; the rollout deadline counts from here.</param>
public sealed record RunRecord(
    RemediationRun Run,
    string Cluster,
    string? Image,
    DateTimeOffset? StartedAt,
    DateTimeOffset? AppliedAt,
    string? LeaseOwner,
    DateTimeOffset? LeaseUntil,
    int Attempts)
{
    /// <summary>When a queued run stops waiting for a worker of its cluster (null: it waits as long as it takes).</summary>
    public DateTimeOffset? StartBy { get; init; }

    /// <summary>True when the run never started and its time to start is up.</summary>
    public bool MissedStartAt(DateTimeOffset now) => Run.Status == RunStatus.Queued && StartBy is { } by && now >= by;
}

/// <summary>One step of a run: what it set out to do (written before acting) and what came of it.</summary>
public sealed record RunStep(string Step, string? Intent, string? Result, DateTimeOffset? DoneAt)
{
    public bool IsDone => DoneAt is not null;
}

/// <summary>
/// Remediation runs and their steps. A run row is written in the same transaction that approves its request, so an
/// approved request always has one; its lease lets one worker act on it at a time (replicas, Hangfire retries), and
/// its steps let a resumed run skip what was already done.
/// </summary>
public sealed class RemediationRunStore(BotDatabase database)
{
    public BotDatabase Database => database;

    /// <summary>Stores a queued run; false when the approval already has one (a retried approval write).</summary>
    /// <param name="startBy">When the run stops waiting to start (in a fleet, the request's expiry), or null.</param>
    public static async Task<bool> InsertQueuedAsync(DbConnection connection, DbTransaction transaction, RemediationRun run, string cluster, string? image, DateTimeOffset? startBy = null)
    {
        const string sql = """
            INSERT INTO remediation_runs (approval_id, incident_id, cluster, plan, image, status, detail, queued_at, attempts, start_by)
            VALUES (@approvalId, @incidentId, @cluster, @plan, @image, 'queued', @detail, @queuedAt, 0, @startBy)
            ON CONFLICT (approval_id) DO NOTHING
            """;
        var inserted = await connection.ExecuteAsync(sql, new
        {
            approvalId = run.ApprovalId,
            incidentId = string.IsNullOrEmpty(run.IncidentId) ? null : run.IncidentId,
            cluster,
            plan = JsonSerializer.Serialize(run.Plan, RemediationJson.Options),
            image,
            detail = run.Detail,
            queuedAt = BotDatabase.ToDb(run.QueuedAt),
            startBy = BotDatabase.ToDb(startBy),
        }, transaction).ConfigureAwait(false);
        return inserted == 1;
    }

    public async Task<RunRecord?> GetAsync(string approvalId, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var row = await connection.QuerySingleOrDefaultAsync<RunRow>($"SELECT {RunRow.Columns} FROM remediation_runs WHERE approval_id = @approvalId", new { approvalId }).ConfigureAwait(false);
        return row?.ToRecord();
    }

    public async Task<IReadOnlyList<RemediationRun>> ListForIncidentsAsync(IReadOnlyCollection<string> incidentIds, CancellationToken cancellationToken = default)
    {
        if (incidentIds.Count == 0)
        {
            return [];
        }

        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = new List<RunRow>();
        foreach (var id in incidentIds)
        {
            rows.AddRange(await connection.QueryAsync<RunRow>(
                $"SELECT {RunRow.Columns} FROM remediation_runs WHERE incident_id = @id ORDER BY queued_at, approval_id", new { id }).ConfigureAwait(false));
        }

        return rows.OrderBy(r => r.queued_at).Select(r => r.ToRecord().Run).ToList();
    }

    /// <summary>Unfinished runs nobody holds (never started, or their worker's lease ran out), with their cluster: the sweep enqueues them again.</summary>
    public async Task<IReadOnlyList<(string ApprovalId, string Cluster)>> ListStalledAsync(DateTimeOffset now, DateTimeOffset queuedBefore, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var ids = await connection.QueryAsync<(string ApprovalId, string Cluster)>(
            """
            SELECT approval_id, cluster FROM remediation_runs
            WHERE status IN ('queued', 'running', 'verifying_rollout') AND queued_at < @queuedBefore
              AND (lease_until IS NULL OR lease_until < @now)
            ORDER BY queued_at LIMIT 200
            """,
            new { now = BotDatabase.ToDb(now), queuedBefore = BotDatabase.ToDb(queuedBefore) }).ConfigureAwait(false);
        return ids.ToList();
    }

    /// <summary>Takes the run's lease for <paramref name="owner"/> unless another owner holds an unexpired one. Counts the attempt.</summary>
    public async Task<bool> TryClaimAsync(string approvalId, string owner, DateTimeOffset now, TimeSpan leaseFor, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var changed = await connection.ExecuteAsync(
            """
            UPDATE remediation_runs SET lease_owner = @owner, lease_until = @until, attempts = attempts + 1
            WHERE approval_id = @approvalId AND status IN ('queued', 'running', 'verifying_rollout')
              AND (lease_owner IS NULL OR lease_owner = @owner OR lease_until IS NULL OR lease_until < @now)
            """,
            new { approvalId, owner, now = BotDatabase.ToDb(now), until = BotDatabase.ToDb(now + leaseFor) }).ConfigureAwait(false);
        return changed == 1;
    }

    /// <summary>Extends the lease; false when it was lost (another worker took the run over).</summary>
    public async Task<bool> RenewAsync(string approvalId, string owner, DateTimeOffset until, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.ExecuteAsync(
            "UPDATE remediation_runs SET lease_until = @until WHERE approval_id = @approvalId AND lease_owner = @owner",
            new { approvalId, owner, until = BotDatabase.ToDb(until) }).ConfigureAwait(false) == 1;
    }

    public async Task ReleaseAsync(string approvalId, string owner, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(
            "UPDATE remediation_runs SET lease_owner = NULL, lease_until = NULL WHERE approval_id = @approvalId AND lease_owner = @owner",
            new { approvalId, owner }).ConfigureAwait(false);
    }

    /// <summary>Queued → Running, once: true for the worker that started it (it writes the "job started" audit line).</summary>
    public static async Task<bool> MarkStartedAsync(DbConnection connection, DbTransaction transaction, string approvalId, string owner, DateTimeOffset now) =>
        await connection.ExecuteAsync(
            "UPDATE remediation_runs SET status = 'running', detail = '', started_at = @now WHERE approval_id = @approvalId AND status = 'queued' AND lease_owner = @owner",
            new { approvalId, owner, now = BotDatabase.ToDb(now) },
            transaction).ConfigureAwait(false) == 1;

    /// <summary>The change reached the cluster: now verifying the rollout (the deadline counts from <paramref name="appliedAt"/>, once).</summary>
    public async Task MarkAppliedAsync(string approvalId, string owner, string detail, DateTimeOffset appliedAt, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(
            """
            UPDATE remediation_runs SET status = 'verifying_rollout', detail = @detail, applied_at = COALESCE(applied_at, @appliedAt)
            WHERE approval_id = @approvalId AND lease_owner = @owner AND status IN ('running', 'verifying_rollout')
            """,
            new { approvalId, owner, detail = Cut(detail), appliedAt = BotDatabase.ToDb(appliedAt) }).ConfigureAwait(false);
    }

    /// <summary>Finishes the run once (only while unfinished and held by <paramref name="owner"/>): true for the worker that finished it.</summary>
    public static async Task<bool> FinishAsync(DbConnection connection, DbTransaction transaction, string approvalId, string owner, RunStatus status, string detail, DateTimeOffset now) =>
        await connection.ExecuteAsync(
            """
            UPDATE remediation_runs SET status = @status, detail = @detail, finished_at = @now, lease_owner = NULL, lease_until = NULL
            WHERE approval_id = @approvalId AND lease_owner = @owner AND status IN ('queued', 'running', 'verifying_rollout')
            """,
            new { approvalId, owner, status = StatusName(status), detail = Cut(detail), now = BotDatabase.ToDb(now) },
            transaction).ConfigureAwait(false) == 1;

    public async Task<RunStep?> GetStepAsync(string approvalId, string step, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var row = await connection.QuerySingleOrDefaultAsync<StepRow>(
            $"SELECT {StepRow.Columns} FROM remediation_steps WHERE approval_id = @approvalId AND step = @step", new { approvalId, step }).ConfigureAwait(false);
        return row is null ? null : new RunStep(row.step, row.intent, row.result, BotDatabase.FromDb(row.done_at));
    }

    public async Task<IReadOnlyList<RunStep>> ListStepsAsync(string approvalId, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await connection.QueryAsync<StepRow>(
            $"SELECT {StepRow.Columns} FROM remediation_steps WHERE approval_id = @approvalId ORDER BY step", new { approvalId }).ConfigureAwait(false);
        return rows.Select(r => new RunStep(r.step, r.intent, r.result, BotDatabase.FromDb(r.done_at))).ToList();
    }

    /// <summary>Records what a step is about to do (before it acts), unless it already has an intent or is done.</summary>
    public async Task<RunStep> BeginStepAsync(string approvalId, string step, string? intent, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(
            "INSERT INTO remediation_steps (approval_id, step, intent) VALUES (@approvalId, @step, @intent) ON CONFLICT (approval_id, step) DO NOTHING",
            new { approvalId, step, intent }).ConfigureAwait(false);
        var row = await connection.QuerySingleAsync<StepRow>(
            $"SELECT {StepRow.Columns} FROM remediation_steps WHERE approval_id = @approvalId AND step = @step", new { approvalId, step }).ConfigureAwait(false);
        return new RunStep(row.step, row.intent, row.result, BotDatabase.FromDb(row.done_at));
    }

    public async Task CompleteStepAsync(string approvalId, string step, string result, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(
            "UPDATE remediation_steps SET result = @result, done_at = @now WHERE approval_id = @approvalId AND step = @step AND done_at IS NULL",
            new { approvalId, step, result = Cut(result), now = BotDatabase.ToDb(now) }).ConfigureAwait(false);
    }

    public static string StatusName(RunStatus status) => status switch
    {
        RunStatus.Queued => "queued",
        RunStatus.Running => "running",
        RunStatus.VerifyingRollout => "verifying_rollout",
        RunStatus.Succeeded => "succeeded",
        RunStatus.RolloutTimedOut => "rollout_timed_out",
        RunStatus.Failed => "failed",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "not a run status"),
    };

    private static RunStatus ParseStatus(string name) => name switch
    {
        "running" => RunStatus.Running,
        "verifying_rollout" => RunStatus.VerifyingRollout,
        "succeeded" => RunStatus.Succeeded,
        "rollout_timed_out" => RunStatus.RolloutTimedOut,
        "failed" => RunStatus.Failed,
        _ => RunStatus.Queued,
    };

    private static string Cut(string text) => text.Length <= 2000 ? text : text[..1999] + "…";

#pragma warning disable IDE1006, CA1812, SA1300 // column names as Dapper maps them
    private sealed class RunRow
    {
        /// <summary>The columns a read maps, named: a statement prepared on a PostgreSQL connection keeps its result type when another replica's migration adds a column.</summary>
        public const string Columns =
            "approval_id, incident_id, cluster, plan, image, status, detail, queued_at, started_at, applied_at, finished_at, lease_owner, lease_until, attempts, start_by";

        public string approval_id { get; set; } = "";
        public string? incident_id { get; set; }
        public string cluster { get; set; } = "";
        public string plan { get; set; } = "";
        public string? image { get; set; }
        public string status { get; set; } = "";
        public string detail { get; set; } = "";
        public long queued_at { get; set; }
        public long? started_at { get; set; }
        public long? applied_at { get; set; }
        public long? finished_at { get; set; }
        public string? lease_owner { get; set; }
        public long? lease_until { get; set; }
        public long attempts { get; set; }
        public long? start_by { get; set; }

        public RunRecord ToRecord() => new(
            new RemediationRun(
                approval_id,
                incident_id ?? string.Empty,
                JsonSerializer.Deserialize<RemediationPlan>(plan, RemediationJson.Options)!,
                ParseStatus(status),
                detail,
                BotDatabase.FromDb(queued_at),
                BotDatabase.FromDb(finished_at)),
            cluster,
            image,
            BotDatabase.FromDb(started_at),
            BotDatabase.FromDb(applied_at),
            lease_owner,
            BotDatabase.FromDb(lease_until),
            (int)attempts)
        {
            StartBy = BotDatabase.FromDb(start_by),
        };
    }

    private sealed class StepRow
    {
        /// <summary>The columns a read maps, named: a statement prepared on a PostgreSQL connection keeps its result type when another replica's migration adds a column.</summary>
        public const string Columns = "approval_id, step, intent, result, done_at";

        public string approval_id { get; set; } = "";
        public string step { get; set; } = "";
        public string? intent { get; set; }
        public string? result { get; set; }
        public long? done_at { get; set; }
    }
#pragma warning restore IDE1006, CA1812, SA1300
}
