using System.ComponentModel;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Incidents;
using ChatOpsPull.Kubernetes;
using ChatOpsPull.Remediation.Actions;
using ChatOpsPull.Jobs;
using Hangfire;
using k8s.Autorest;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Remediation;

/// <summary>
/// Runs one approved remediation (keyed by its approval id) on a Hangfire worker: claims the run's lease (one worker at
/// a time, across replicas), checks the approval behind the run where it runs (<see cref="IRunAuthority"/>: a run that fails
/// the check changes nothing, is audited and its card says why), makes what must be on record first (<see cref="IRunPreparation"/>:
/// a waiting dry run), marks it started once, applies the action step by step (each step recorded, and checking
/// the cluster before it writes, so a retry, a second replica or a restart mid-job acts once), then follows the rollout
/// until the pods are Ready or the deadline passes, and records Succeeded / RolloutTimedOut / Failed with a detail line.
/// Every start and result is in the audit log; the incident moves on (Resolved, back to Diagnosed, or Failed) and its
/// card is told.
/// </summary>
public sealed partial class RemediationJob(
    RemediationRunStore runs,
    RemediationActions actions,
    RolloutWatcher rollout,
    RemediationProgress progress,
    IRunAuthority authority,
    IRunPreparation preparation,
    ClusterJobs clusters,
    IOptionsMonitor<RemediationOptions> options,
    TimeProvider time,
    ILogger<RemediationJob> logger)
{
    [DisplayName("Remediate {0}")]
    [AutomaticRetry(Attempts = 3, DelaysInSeconds = [10, 60, 300])]
    public async Task RunAsync(string approvalId, CancellationToken cancellationToken)
    {
        var record = await runs.GetAsync(approvalId, cancellationToken).ConfigureAwait(false);
        if (record is null || record.Run.IsFinished)
        {
            LogNothingToDo(logger, approvalId);
            return;
        }

        if (!clusters.RunsHere(record.Cluster))
        {
            LogOtherCluster(logger, approvalId, record.Cluster);
            return;
        }

        var settings = options.CurrentValue;
        var owner = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";
        if (!await runs.TryClaimAsync(approvalId, owner, time.GetUtcNow(), settings.LeaseDuration, cancellationToken).ConfigureAwait(false))
        {
            LogHeldElsewhere(logger, approvalId);
            return;
        }

        var finished = false;
        try
        {
            if (record.MissedStartAt(time.GetUtcNow()))
            {
                finished = await progress.RecordFinishedAsync(record, owner, RunStatus.Failed, RemediationProgress.MissedStart(record), cancellationToken).ConfigureAwait(false);
                return;
            }

            // The run row proves nothing by itself: before anything is changed, the approval behind it is checked here.
            if (record.AppliedAt is null && await authority.RefusalAsync(record, cancellationToken).ConfigureAwait(false) is { } refusal)
            {
                LogRefused(logger, record.Run.ApprovalId, refusal);
                finished = await progress.RecordRefusedAsync(record, owner, refusal, cancellationToken).ConfigureAwait(false);
                return;
            }

            if (record.AppliedAt is null)
            {
                await preparation.PrepareAsync(record, cancellationToken).ConfigureAwait(false);
            }

            if (record.Run.Status == RunStatus.Queued)
            {
                await progress.RecordStartedAsync(record, owner, cancellationToken).ConfigureAwait(false);
            }

            var plan = record.Run.Plan;
            string applied;
            DateTimeOffset appliedAt;
            if (record.AppliedAt is { } already)
            {
                (applied, appliedAt) = (record.Run.Detail, already);
            }
            else
            {
                try
                {
                    applied = await actions.ApplyAsync(plan, record.Image, new StepLog(runs, approvalId, time), cancellationToken).ConfigureAwait(false);
                }
                catch (RemediationRefusedException e)
                {
                    finished = await progress.RecordFinishedAsync(record, owner, RunStatus.Failed, e.Message, cancellationToken).ConfigureAwait(false);
                    return;
                }
                catch (HttpOperationException e)
                {
                    finished = await progress.RecordFinishedAsync(record, owner, RunStatus.Failed, "the API server refused the change: " + ApiError.From(e).Message, cancellationToken).ConfigureAwait(false);
                    return;
                }

                appliedAt = time.GetUtcNow();
                await runs.MarkAppliedAsync(approvalId, owner, applied, appliedAt, cancellationToken).ConfigureAwait(false);
                await progress.RecordAppliedAsync(record, applied, cancellationToken).ConfigureAwait(false);
            }

            var lastRenewal = time.GetUtcNow();
            var (status, detail) = await FollowAsync(approvalId, plan, appliedAt, async ct =>
            {
                var now = time.GetUtcNow();
                if (now - lastRenewal < settings.LeaseDuration / 3)
                {
                    return true;
                }

                lastRenewal = now;
                return await runs.RenewAsync(approvalId, owner, now + settings.LeaseDuration, ct).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
            finished = await progress.RecordFinishedAsync(record, owner, status, $"{applied}; {detail}", cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (!finished)
            {
                // Stopped early (shutdown, lost lease, unexpected error): let the next attempt or replica take the run at once.
                await runs.ReleaseAsync(approvalId, owner, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private async Task<(RunStatus Status, string Detail)> FollowAsync(string approvalId, RemediationPlan plan, DateTimeOffset appliedAt, Func<CancellationToken, Task<bool>> keepAlive, CancellationToken cancellationToken)
    {
        try
        {
            var target = RolloutTarget.FromJson((await runs.GetStepAsync(approvalId, RolloutTarget.Step, cancellationToken).ConfigureAwait(false))?.Result)
                ?? RolloutTarget.Default(plan);
            return await rollout.WaitAsync(target, appliedAt, keepAlive, cancellationToken).ConfigureAwait(false);
        }
        catch (RemediationRefusedException e)
        {
            return (RunStatus.Failed, "the change was applied, but the rollout could not be followed: " + e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Remediation {ApprovalId} has no run to do (finished, or never approved); skipped")]
    private static partial void LogNothingToDo(ILogger logger, string approvalId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Remediation {ApprovalId} skipped: it acts on cluster {Cluster}, which this bot does not act on (the job was on the wrong queue)")]
    private static partial void LogOtherCluster(ILogger logger, string approvalId, string cluster);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Remediation {ApprovalId} refused before acting: {Reason}")]
    private static partial void LogRefused(ILogger logger, string approvalId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Remediation {ApprovalId} is held by another worker; this attempt leaves it to that one (the sweep takes it over if that worker dies)")]
    private static partial void LogHeldElsewhere(ILogger logger, string approvalId);
}

/// <summary>Enqueues remediation jobs.</summary>
public interface IRemediationScheduler
{
    /// <param name="cluster">The cluster the run acts on: in a fleet the job goes to that cluster's queue.</param>
    void Enqueue(string approvalId, string cluster);
}

/// <summary>Enqueues <see cref="RemediationJob"/> on Hangfire, on the queue of the run's cluster (in a fleet).</summary>
public sealed class HangfireRemediationScheduler(ClusterJobs jobs) : IRemediationScheduler
{
    public void Enqueue(string approvalId, string cluster) =>
        jobs.Enqueue<RemediationJob>(cluster, job => job.RunAsync(approvalId, CancellationToken.None));
}
