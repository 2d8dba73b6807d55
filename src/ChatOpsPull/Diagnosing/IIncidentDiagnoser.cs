using ChatOpsPull.Core.Incidents;

namespace ChatOpsPull.Diagnosing;

/// <summary>
/// Builds the diagnosis of an incident: cause, confidence, summary, evidence and remediations.
/// Called by the diagnose job (Jobs/DiagnoseIncidentJob); may take seconds (live registry and cluster checks).
/// </summary>
public interface IIncidentDiagnoser
{
    Task<Core.Diagnoses.Diagnosis> DiagnoseAsync(Incident incident, CancellationToken cancellationToken);
}
