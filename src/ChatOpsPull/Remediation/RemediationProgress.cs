using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Incidents;

namespace ChatOpsPull.Remediation;

/// <summary>
/// Records a remediation run's progress (started, applied, finished) and what it means for everyone else: the audit log
/// (written in the same transaction as the run's own row where it decides something), the news its incident is owed
/// (<see cref="OwedAnnouncement"/>, in the same transaction, so a host that stops before telling it leaves it to another), the incident's state (a fix that
/// worked resolves it, one that timed out sends it back to Diagnosed, one that failed marks it Failed) and its card,
/// through the incident engine (in order with the incident's other news; not when snoozed or muted; on the storm's
/// card when the incident is rolled up).
/// </summary>
public sealed partial class RemediationProgress(
    RemediationRunStore runs,
    AuditLog audit,
    IncidentEngine engine,
    TimeProvider time,
    ILogger<RemediationProgress> logger)
{
    /// <summary>Queued → Running and the "job started" line, once per run (the worker that wins writes it).</summary>
    public async Task RecordStartedAsync(RunRecord record, string owner, CancellationToken cancellationToken)
    {
        var run = record.Run;
        var news = News(run, "started", IncidentChange.RemediationStarted, $"Running \"{run.Plan.Title}\"…", moveTo: null);
        var started = await runs.Database.InTransactionAsync(
            async (connection, transaction) =>
            {
                if (!await RemediationRunStore.MarkStartedAsync(connection, transaction, run.ApprovalId, owner, time.GetUtcNow()).ConfigureAwait(false))
                {
                    return false;
                }

                await audit.AppendAsync(connection, transaction, new AuditRecord(
                    AuditActor.Bot, RemediationAuditActions.JobStarted, IncidentOrNull(run), run.ApprovalId, $"{run.Plan.Title} ({RemediationPlan.KindName(run.Plan.Kind)} on {Target(run.Plan)})")).ConfigureAwait(false);
                await OweAsync(connection, transaction, news).ConfigureAwait(false);
                return true;
            },
            cancellationToken).ConfigureAwait(false);
        if (started)
        {
            LogStarted(logger, run.ApprovalId, run.Plan.Key);
            await TellAsync(news, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task RecordAppliedAsync(RunRecord record, string detail, CancellationToken cancellationToken)
    {
        var run = record.Run;
        var news = News(run, "applied", IncidentChange.RemediationStarted, $"\"{run.Plan.Title}\": {detail}; waiting for the pods to become Ready", moveTo: null);
        await runs.Database.InTransactionAsync(
            async (connection, transaction) =>
            {
                await audit.AppendAsync(connection, transaction, new AuditRecord(AuditActor.Bot, RemediationAuditActions.JobApplied, IncidentOrNull(run), run.ApprovalId, detail)).ConfigureAwait(false);
                await OweAsync(connection, transaction, news).ConfigureAwait(false);
                return true;
            },
            cancellationToken).ConfigureAwait(false);
        await TellAsync(news, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Records the result once; returns false when another worker already finished the run (or took it over).</summary>
    public async Task<bool> RecordFinishedAsync(RunRecord record, string owner, RunStatus status, string detail, CancellationToken cancellationToken)
    {
        var run = record.Run;
        var outcome = status == RunStatus.Succeeded ? AuditOutcome.Done : AuditOutcome.Failed;
        var to = status switch
        {
            RunStatus.Succeeded => IncidentState.Resolved,
            RunStatus.RolloutTimedOut => IncidentState.Diagnosed,
            RunStatus.Failed => IncidentState.Failed,
            RunStatus.Queued or RunStatus.Running or RunStatus.VerifyingRollout => throw new ArgumentOutOfRangeException(nameof(status), status, "not a result"),
            _ => throw new ArgumentOutOfRangeException(nameof(status), status, "not a run status"),
        };
        var news = News(run, "finished", IncidentChange.RemediationFinished, $"\"{run.Plan.Title}\" {Verdict(status)}: {detail}", to);
        var won = await FinishOnceAsync(run, owner, status, detail, new AuditRecord(
            AuditActor.Bot, RemediationAuditActions.JobFinished, IncidentOrNull(run), run.ApprovalId, $"{RemediationRunStore.StatusName(status)}: {detail}", outcome), news).ConfigureAwait(false);
        if (!won)
        {
            return false;
        }

        LogFinished(logger, run.ApprovalId, status);
        await TellAsync(news, CancellationToken.None).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// A run refused before it changed anything (<see cref="IRunAuthority"/>): finished as failed with the reason, audited as
    /// refused, and the incident goes back to Diagnosed (its problem still stands) with the reason on its card. False when
    /// another worker finished the run first.
    /// </summary>
    public async Task<bool> RecordRefusedAsync(RunRecord record, string owner, string reason, CancellationToken cancellationToken)
    {
        var run = record.Run;
        var detail = Refused(reason);
        var news = News(run, "finished", IncidentChange.RemediationFinished, $"\"{run.Plan.Title}\" {detail}", IncidentState.Diagnosed);
        var won = await FinishOnceAsync(run, owner, RunStatus.Failed, detail, new AuditRecord(
            AuditActor.Bot, RemediationAuditActions.JobRefused, IncidentOrNull(run), run.ApprovalId, detail, AuditOutcome.Refused), news).ConfigureAwait(false);
        if (won)
        {
            await TellAsync(news, CancellationToken.None).ConfigureAwait(false);
        }

        return won;
    }

    /// <summary>
    /// In one transaction: the run's result, only if this worker still holds it, its audit line and the news its incident
    /// is owed. False when another worker finished it first.
    /// </summary>
    private Task<bool> FinishOnceAsync(RemediationRun run, string owner, RunStatus status, string detail, AuditRecord line, OwedAnnouncement? news) =>
        runs.Database.InTransactionAsync(
            async (connection, transaction) =>
            {
                if (!await RemediationRunStore.FinishAsync(connection, transaction, run.ApprovalId, owner, status, detail, time.GetUtcNow()).ConfigureAwait(false))
                {
                    return false;
                }

                await audit.AppendAsync(connection, transaction, line).ConfigureAwait(false);
                await OweAsync(connection, transaction, news).ConfigureAwait(false);
                return true;
            },
            CancellationToken.None);

    /// <summary>How the detail of a run refused before acting starts.</summary>
    public const string RefusedPrefix = "refused before acting: ";

    /// <summary>The run's detail when it was refused before acting.</summary>
    public static string Refused(string reason) => $"{RefusedPrefix}{reason}. Nothing was changed";

    /// <summary>True for a run refused before acting: who the rows say approved it is not to be repeated (they may be forged).</summary>
    public static bool WasRefused(RemediationRun run) => run.Detail.StartsWith(RefusedPrefix, StringComparison.Ordinal);

    /// <summary>Why a run that never started was given up: its cluster had no bot to run it before the request's time was up.</summary>
    public static string MissedStart(RunRecord record) =>
        $"not run: no bot of cluster {record.Cluster} took it before {record.StartBy:yyyy-MM-dd HH:mm} UTC, when the request expired. Nothing was changed; ask again if it is still needed";

    public static string Verdict(RunStatus status) => status switch
    {
        RunStatus.Succeeded => "worked",
        RunStatus.RolloutTimedOut => "was applied, but the pods were not Ready by the deadline",
        RunStatus.Failed => "failed",
        RunStatus.Queued => "is queued",
        RunStatus.Running => "is running",
        RunStatus.VerifyingRollout => "is waiting for the pods",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "not a run status"),
    };

    /// <summary>
    /// The news a run's step owes its incident (none for a stand-alone request), keyed by run and step: owed in the step's
    /// transaction (<see cref="OweAsync"/>) and told after it (<see cref="TellAsync"/>), or by another host if this one stops between.
    /// </summary>
    private OwedAnnouncement? News(RemediationRun run, string step, IncidentChange change, string line, IncidentState? moveTo) =>
        IncidentOrNull(run) is { } id ? new OwedAnnouncement($"run:{run.ApprovalId}:{step}", id, change, line, moveTo, AuditActor.Bot, time.GetUtcNow()) : null;

    private static Task OweAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, OwedAnnouncement? news) =>
        news is null ? Task.CompletedTask : OwedAnnouncements.OweAsync(connection, transaction, news);

    private Task TellAsync(OwedAnnouncement? news, CancellationToken cancellationToken) =>
        news is null ? Task.CompletedTask : engine.TellAsync(news, cancellationToken);

    private static string? IncidentOrNull(RemediationRun run) => string.IsNullOrEmpty(run.IncidentId) ? null : run.IncidentId;

    private static string Target(RemediationPlan plan) => $"{plan.Namespace}/{plan.WorkloadKind.ToLowerInvariant()}/{plan.WorkloadName}";

    [LoggerMessage(Level = LogLevel.Information, Message = "Remediation {ApprovalId} started ({PlanKey})")]
    private static partial void LogStarted(ILogger logger, string approvalId, string planKey);

    [LoggerMessage(Level = LogLevel.Information, Message = "Remediation {ApprovalId} finished: {Status}")]
    private static partial void LogFinished(ILogger logger, string approvalId, RunStatus status);
}
