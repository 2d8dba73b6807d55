namespace ChatOpsPull.Incidents;

/// <summary>
/// Where the engine asks for a diagnosis after an incident opened, changed cause, or someone asked again.
/// The Hangfire implementation (Jobs/) enqueues a DiagnoseIncidentJob; the job is idempotent on incident id + version.
/// </summary>
public interface IDiagnosisScheduler
{
    /// <param name="requestVersion">The incident version at the time of the request; a later request supersedes it.</param>
    Task EnqueueAsync(string incidentId, int requestVersion, CancellationToken cancellationToken);
}
