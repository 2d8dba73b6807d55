using System.ComponentModel;
using ChatOpsPull.Fleet;
using ChatOpsPull.Incidents;
using Hangfire;

namespace ChatOpsPull.Diagnosing;

/// <summary>
/// Every five minutes: re-enqueues diagnoses that were asked for but never applied (the process stopped between storing
/// the incident and enqueueing its job, or the job ran out of retries). The diagnose job is idempotent, so a duplicate
/// enqueue costs one skipped run, never a second result.
/// </summary>
public sealed partial class DiagnosisSweepJob(IncidentStore store, IDiagnosisScheduler scheduler, FleetRegistry fleet, TimeProvider time, ILogger<DiagnosisSweepJob> logger)
{
    public const string RecurringId = "diagnosis-sweep";

    /// <summary>A request younger than this may still be queued or running.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromMinutes(10);

    [DisplayName("Re-enqueue forgotten diagnoses")]
    [AutomaticRetry(Attempts = 0)]
    [DisableConcurrentExecution(timeoutInSeconds: 60)]
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var pending = await store.ListPendingDiagnosesAsync(time.GetUtcNow() - Grace, cancellationToken).ConfigureAwait(false);
        var live = new Dictionary<string, bool>(StringComparer.Ordinal);
        var requeued = 0;
        foreach (var (id, version) in pending)
        {
            // In a fleet, a cluster with no live bot keeps its diagnosis job waiting on its queue: adding another would only pile up.
            if (await store.ClusterOfAsync(id, cancellationToken).ConfigureAwait(false) is { } cluster)
            {
                if (!live.TryGetValue(cluster, out var isLive))
                {
                    live[cluster] = isLive = await fleet.IsLiveAsync(cluster, cancellationToken).ConfigureAwait(false);
                }

                if (!isLive)
                {
                    continue;
                }
            }

            await scheduler.EnqueueAsync(id, version, cancellationToken).ConfigureAwait(false);
            requeued++;
        }

        if (requeued > 0)
        {
            LogRequeued(logger, requeued);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Re-enqueued {Count} diagnoses that were asked for but never applied")]
    private static partial void LogRequeued(ILogger logger, int count);
}

/// <summary>
/// Registers the recurring jobs of this capability when the host starts. Takes Hangfire's configuration first so this
/// host's settings (log provider, serializer) are applied before the recurring job manager is built.
/// </summary>
internal sealed class RecurringJobsRegistration(IGlobalConfiguration configured, IRecurringJobManager recurring) : IHostedService
{
    private readonly IGlobalConfiguration _configured = configured;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        recurring.AddOrUpdate<DiagnosisSweepJob>(DiagnosisSweepJob.RecurringId, job => job.RunAsync(CancellationToken.None), "*/5 * * * *");
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
