using System.ComponentModel;
using ChatOpsPull.Diagnosing;
using ChatOpsPull.Incidents;
using ChatOpsPull.Jobs;
using Hangfire;

namespace ChatOpsPull.Diagnosing;

/// <summary>
/// The durable way a diagnosis request is carried out (<see cref="DiagnosisRun"/>): Hangfire keeps the job in storage
/// until it succeeds and retries it after a failure, a crash or a restart. Requests the in-process queue took run here
/// only when their run there failed or the queue was full (with Hangfire's retries from then on); the rest of the time
/// the in-process path's backstop is the diagnosis ticket itself, taken up by <see cref="DiagnosisSweepJob"/>.
/// </summary>
public sealed class DiagnoseIncidentJob(DiagnosisRun run)
{
    /// <summary>
    /// How long a request handed to this job is left to it (its five retries wait 5 s + 15 s + 1 min + 5 min + 15 min,
    /// about 21 minutes, plus the runs and a job queue's wait): the sweep takes it up again only after this.
    /// </summary>
    public static readonly TimeSpan RetriesLast = TimeSpan.FromMinutes(30);

    [DisplayName("Diagnose {0} (request v{1})")]
    [AutomaticRetry(Attempts = 5, DelaysInSeconds = [5, 15, 60, 300, 900])]
    public Task RunAsync(string incidentId, int requestVersion, CancellationToken cancellationToken) =>
        run.RunAsync(incidentId, requestVersion, queueWait: null, cancellationToken);
}

/// <summary>
/// Enqueues <see cref="DiagnoseIncidentJob"/> on Hangfire, on the queue of the incident's cluster (in a fleet): the
/// sweep's re-asks in a fleet, the in-process queue's overflow and failed runs, and every request in fleet mode.
/// </summary>
public sealed class HangfireDiagnosisScheduler(ClusterJobs jobs, IncidentStore store, TimeProvider time) : IDiagnosisScheduler
{
    public async Task EnqueueAsync(string incidentId, int requestVersion, CancellationToken cancellationToken)
    {
        var cluster = jobs.FleetMode ? await store.ClusterOfAsync(incidentId, cancellationToken).ConfigureAwait(false) : null;
        jobs.Enqueue<DiagnoseIncidentJob>(cluster, job => job.RunAsync(incidentId, requestVersion, CancellationToken.None));
    }

    /// <summary>
    /// A request the in-process path gives up (its run failed, or the queue was full): taken on its ticket for the job's
    /// retries (<see cref="DiagnoseIncidentJob.RetriesLast"/>), so the sweep does not ask for it again meanwhile, then
    /// enqueued. A host dying between the two leaves the ticket taken and no job: the sweep takes it up after that time.
    /// </summary>
    public async Task HandOverAsync(string incidentId, int requestVersion, CancellationToken cancellationToken)
    {
        await store.TakeDiagnosisAsync(incidentId, requestVersion, time.GetUtcNow() + DiagnoseIncidentJob.RetriesLast, cancellationToken).ConfigureAwait(false);
        await EnqueueAsync(incidentId, requestVersion, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Whether requests are spread over per-cluster queues (then the in-process path is not used).</summary>
    public bool FleetMode => jobs.FleetMode;
}
