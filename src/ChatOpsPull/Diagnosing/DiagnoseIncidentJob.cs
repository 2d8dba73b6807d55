using System.ComponentModel;
using ChatOpsPull.Diagnosing;
using ChatOpsPull.Incidents;
using ChatOpsPull.Jobs;
using Hangfire;

namespace ChatOpsPull.Diagnosing;

/// <summary>
/// The durable way a diagnosis request is carried out (<see cref="DiagnosisRun"/>): Hangfire keeps the job in storage
/// until it succeeds and retries it after a failure, a crash or a restart. Requests the in-process queue took run here
/// only when their run there failed (with Hangfire's retries from then on); the rest of the time the in-process path's
/// backstop is the diagnosis ticket itself (<see cref="DiagnosisBackstop"/>).
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
/// sweep's re-asks, the in-process queue's overflow and failed runs, and every request in fleet mode.
/// </summary>
public sealed class HangfireDiagnosisScheduler(ClusterJobs jobs, IncidentStore store) : IDiagnosisScheduler
{
    public async Task EnqueueAsync(string incidentId, int requestVersion, CancellationToken cancellationToken)
    {
        var cluster = jobs.FleetMode ? await store.ClusterOfAsync(incidentId, cancellationToken).ConfigureAwait(false) : null;
        jobs.Enqueue<DiagnoseIncidentJob>(cluster, job => job.RunAsync(incidentId, requestVersion, CancellationToken.None));
    }

    /// <summary>Whether requests are spread over per-cluster queues (then the in-process path is not used).</summary>
    public bool FleetMode => jobs.FleetMode;
}
