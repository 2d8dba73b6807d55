using ChatOpsPull.Core.Incidents;

namespace ChatOpsPull.Diagnosing;

/// <summary>
/// Builds the diagnosis of an incident: cause, confidence, summary, evidence and remediations.
/// Called by the diagnose job (Jobs/DiagnoseIncidentJob); may take seconds (live registry and cluster checks).
/// </summary>
public interface IIncidentDiagnoser
{
    Task<Core.Diagnoses.Diagnosis> DiagnoseAsync(Incident incident, CancellationToken cancellationToken);

    /// <param name="askedAt">When the diagnosis was asked for (a <see cref="System.Diagnostics.Stopwatch"/> timestamp): the
    /// evidence may come from cluster reads sent since then (another diagnosis's, in flight), never from older ones.</param>
    Task<Core.Diagnoses.Diagnosis> DiagnoseAsync(Incident incident, long askedAt, CancellationToken cancellationToken) =>
        DiagnoseAsync(incident, cancellationToken);
}
