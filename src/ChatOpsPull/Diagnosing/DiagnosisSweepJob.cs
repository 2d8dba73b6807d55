using System.ComponentModel;
using ChatOpsPull.Fleet;
using ChatOpsPull.Incidents;
using Hangfire;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Diagnosing;

/// <summary>
/// The one taker of diagnosis requests left undone, every minute on whichever host's job server runs it (Hangfire runs
/// one at a time): a host that crashed or stopped before it finished a diagnosis (the request is the incident's diagnosis
/// ticket, written in the incident's own transaction, so none is lost), a run that failed and whose diagnose job ran out
/// of retries. It takes the tickets not applied <see cref="DiagnosisOptions.BackstopDelay"/> after the incident last
/// changed (in a fleet, where every request is a job already, <see cref="FleetGrace"/>) by compare and set on the ticket
/// (<see cref="IncidentStore.TakeDiagnosesAsync"/>) for as long again, so a second sweep — on another host, or the next
/// minute while the first one's diagnoses still run — takes none of them, and asks for each once: in this host's
/// in-process queue, or in a fleet on the queue of the incident's cluster. The diagnosis itself stores one result
/// (<see cref="DiagnosisRun"/>).
/// </summary>
public sealed partial class DiagnosisSweepJob(
    IncidentStore store,
    IDiagnosisScheduler scheduler,
    InProcessDiagnosisScheduler inProcess,
    FleetRegistry fleet,
    IOptions<DiagnosisOptions> options,
    TimeProvider time,
    ILogger<DiagnosisSweepJob> logger)
{
    public const string RecurringId = "diagnosis-sweep";

    /// <summary>In a fleet every request is a diagnose job with its retries: the sweep catches only those never enqueued.</summary>
    public static readonly TimeSpan FleetGrace = TimeSpan.FromMinutes(10);

    [DisplayName("Take up diagnoses left undone")]
    [AutomaticRetry(Attempts = 0)]
    [DisableConcurrentExecution(timeoutInSeconds: 60)]
    public Task RunAsync(CancellationToken cancellationToken) => TakeUpAsync(cancellationToken);

    /// <summary>One sweep; returns how many requests it took and asked for.</summary>
    internal async Task<int> TakeUpAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var grace = inProcess.FleetMode ? FleetGrace : options.Value.BackstopDelay;
        var pending = await store.ListPendingDiagnosesAsync(now - grace, now, cancellationToken).ConfigureAwait(false);
        var candidates = new List<(string Id, int RequestVersion)>(pending.Count);
        var live = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var (id, version) in pending)
        {
            // This host runs it already (queued or running here): not taken, not asked twice.
            if (inProcess.Holds(id, version))
            {
                continue;
            }

            // In a fleet, a cluster with no live bot keeps its diagnosis job waiting on its queue: adding another would only pile up.
            if (inProcess.FleetMode && await store.ClusterOfAsync(id, cancellationToken).ConfigureAwait(false) is { } cluster)
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

            candidates.Add((id, version));
        }

        var taken = await store.TakeDiagnosesAsync(candidates, now, now + grace, cancellationToken).ConfigureAwait(false);
        foreach (var (id, version) in taken)
        {
            await scheduler.EnqueueAsync(id, version, cancellationToken).ConfigureAwait(false);
        }

        if (taken.Count > 0)
        {
            LogTakenUp(logger, taken.Count);
        }

        return taken.Count;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Took up {Count} diagnoses asked for and not applied (a host stopped before it finished them, or their job ran out of retries)")]
    private static partial void LogTakenUp(ILogger logger, int count);
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
        recurring.AddOrUpdate<DiagnosisSweepJob>(DiagnosisSweepJob.RecurringId, job => job.RunAsync(CancellationToken.None), Cron.Minutely());
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
