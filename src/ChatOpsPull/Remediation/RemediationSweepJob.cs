using System.ComponentModel;
using ChatOpsPull.Fleet;
using Hangfire;

namespace ChatOpsPull.Remediation;

/// <summary>
/// Every minute: enqueues again any approved run nobody is working on — its job was lost between the approval and the enqueue, or its worker died and
/// its lease ran out. The job is idempotent on the approval id, so a duplicate costs one skipped attempt. In a fleet, a run whose cluster has no
/// live bot is left alone (its job waits on that cluster's queue and runs when a bot is back), and one that never started before its request
/// expired is given up, so its card says so even when the cluster never comes back.
/// </summary>
public sealed partial class RemediationSweepJob(
    RemediationRunStore runs,
    IRemediationScheduler scheduler,
    RemediationProgress progress,
    FleetRegistry fleet,
    TimeProvider time,
    ILogger<RemediationSweepJob> logger)
{
    public const string RecurringId = "remediation-sweep";

    /// <summary>A run younger than this may still be on its way to a worker.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(30);

    [DisplayName("Resume stalled remediations")]
    [AutomaticRetry(Attempts = 0)]
    [DisableConcurrentExecution(timeoutInSeconds: 60)]
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var stalled = await runs.ListStalledAsync(now, now - Grace, cancellationToken).ConfigureAwait(false);
        var live = new Dictionary<string, bool>(StringComparer.Ordinal);
        var enqueued = 0;
        foreach (var (approvalId, cluster) in stalled)
        {
            if (await runs.GetAsync(approvalId, cancellationToken).ConfigureAwait(false) is { } record && record.MissedStartAt(now))
            {
                await GiveUpAsync(record, cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (!live.TryGetValue(cluster, out var isLive))
            {
                live[cluster] = isLive = await fleet.IsLiveAsync(cluster, cancellationToken).ConfigureAwait(false);
            }

            if (isLive)
            {
                scheduler.Enqueue(approvalId, cluster);
                enqueued++;
            }
        }

        if (enqueued > 0)
        {
            LogSwept(logger, enqueued);
        }
    }

    /// <summary>Finishes a run that never started in time (the sweep holds its lease for the moment it takes).</summary>
    private async Task GiveUpAsync(RunRecord record, CancellationToken cancellationToken)
    {
        var owner = "sweep:" + Guid.NewGuid().ToString("N")[..8];
        if (await runs.TryClaimAsync(record.Run.ApprovalId, owner, time.GetUtcNow(), TimeSpan.FromMinutes(1), cancellationToken).ConfigureAwait(false)
            && !await progress.RecordFinishedAsync(record, owner, Core.Remediation.RunStatus.Failed, RemediationProgress.MissedStart(record), cancellationToken).ConfigureAwait(false))
        {
            await runs.ReleaseAsync(record.Run.ApprovalId, owner, CancellationToken.None).ConfigureAwait(false);
        }

        LogGaveUp(logger, record.Run.ApprovalId, record.Cluster);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sweep: {Stalled} stalled remediation(s) enqueued again")]
    private static partial void LogSwept(ILogger logger, int stalled);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sweep: remediation {ApprovalId} never started on cluster {Cluster} before its request expired; given up")]
    private static partial void LogGaveUp(ILogger logger, string approvalId, string cluster);
}

/// <summary>Registers the sweep as a recurring job when the host starts.</summary>
internal sealed class RemediationSweepRegistration(IRecurringJobManager recurring) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        recurring.AddOrUpdate<RemediationSweepJob>(RemediationSweepJob.RecurringId, job => job.RunAsync(CancellationToken.None), "* * * * *");
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
