using System.ComponentModel;
using Hangfire;

namespace ChatOpsPull.Remediation;

/// <summary>
/// Every minute: enqueues again any approved run nobody is working on — its job was lost between the approval and the enqueue, or its worker died and
/// its lease ran out. The job is idempotent on the approval id, so a duplicate costs one skipped attempt.
/// </summary>
public sealed partial class RemediationSweepJob(
    RemediationRunStore runs,
    IRemediationScheduler scheduler,
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
        foreach (var approvalId in stalled)
        {
            scheduler.Enqueue(approvalId);
        }

        if (stalled.Count > 0)
        {
            LogSwept(logger, stalled.Count);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sweep: {Stalled} stalled remediation(s) enqueued again")]
    private static partial void LogSwept(ILogger logger, int stalled);
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
