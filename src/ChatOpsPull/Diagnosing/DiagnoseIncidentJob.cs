using System.ComponentModel;
using ChatOpsPull.Diagnosing;
using ChatOpsPull.Incidents;
using ChatOpsPull.Jobs;
using Hangfire;

namespace ChatOpsPull.Diagnosing;

/// <summary>
/// The durable way a diagnosis request is carried out (<see cref="DiagnosisRun"/>): Hangfire keeps the job in storage
/// until it succeeds and retries it after a failure, a crash or a restart. Requests the in-process queue took run here
/// only as the backstop (after <see cref="DiagnosisOptions.BackstopDelay"/>), and are then skipped when already stored.
/// </summary>
public sealed class DiagnoseIncidentJob(DiagnosisRun run)
{
    [DisplayName("Diagnose {0} (request v{1})")]
    [AutomaticRetry(Attempts = 5, DelaysInSeconds = [5, 15, 60, 300, 900])]
    public Task RunAsync(string incidentId, int requestVersion, CancellationToken cancellationToken) =>
        run.RunAsync(incidentId, requestVersion, queueWait: null, cancellationToken);
}

/// <summary>
/// Enqueues <see cref="DiagnoseIncidentJob"/> on Hangfire, on the queue of the incident's cluster (in a fleet): the
/// sweep's re-asks, the in-process queue's overflow, and every request in fleet mode.
/// </summary>
public sealed class HangfireDiagnosisScheduler(ClusterJobs jobs, IncidentStore store, IBackgroundJobClient client) : IDiagnosisScheduler
{
    public async Task EnqueueAsync(string incidentId, int requestVersion, CancellationToken cancellationToken)
    {
        var cluster = jobs.FleetMode ? await store.ClusterOfAsync(incidentId, cancellationToken).ConfigureAwait(false) : null;
        jobs.Enqueue<DiagnoseIncidentJob>(cluster, job => job.RunAsync(incidentId, requestVersion, CancellationToken.None));
    }

    /// <summary>Whether requests are spread over per-cluster queues (then the in-process path is not used).</summary>
    public bool FleetMode => jobs.FleetMode;

    /// <summary>The durable backstop of a request taken in process (single cluster): runs after <paramref name="delay"/> unless already stored.</summary>
    public void ScheduleBackstop(string incidentId, int requestVersion, TimeSpan delay) =>
        client.Schedule<DiagnoseIncidentJob>(job => job.RunAsync(incidentId, requestVersion, CancellationToken.None), delay);
}
