using System.ComponentModel;
using ChatOpsPull.Diagnosing;
using ChatOpsPull.Incidents;
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

/// <summary>Enqueues <see cref="DiagnoseIncidentJob"/> on Hangfire (the sweep's re-asks, and the in-process queue's overflow).</summary>
public sealed class HangfireDiagnosisScheduler(IBackgroundJobClient jobs) : IDiagnosisScheduler
{
    public Task EnqueueAsync(string incidentId, int requestVersion, CancellationToken cancellationToken)
    {
        jobs.Enqueue<DiagnoseIncidentJob>(job => job.RunAsync(incidentId, requestVersion, CancellationToken.None));
        return Task.CompletedTask;
    }

    /// <summary>The durable backstop of a request taken in process: runs after <paramref name="delay"/> unless a crash took the host first.</summary>
    public void ScheduleBackstop(string incidentId, int requestVersion, TimeSpan delay) =>
        jobs.Schedule<DiagnoseIncidentJob>(job => job.RunAsync(incidentId, requestVersion, CancellationToken.None), delay);
}
