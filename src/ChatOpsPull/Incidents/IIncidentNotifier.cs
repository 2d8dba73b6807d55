using ChatOpsPull.Core.Incidents;

namespace ChatOpsPull.Incidents;

/// <summary>What happened to an incident, for the card and the thread.</summary>
public enum IncidentChange
{
    Opened,
    PodsChanged,
    Diagnosed,
    ApprovalRequested,
    ApprovalDecided,
    RemediationStarted,
    RemediationFinished,
    Snoozed,
    Resolved,
    Reopened,
}

/// <summary>
/// Told after an incident changed and the change is stored. Chat surfaces implement it to post or update
/// the incident's card (one card per incident per channel). Must be idempotent: it may be told twice.
/// </summary>
public interface IIncidentNotifier
{
    /// <param name="detail">One line for the thread ("3 more pods joined", "job #12 finished: pods Ready"), or null.</param>
    Task IncidentChangedAsync(Incident incident, IncidentChange change, string? detail, CancellationToken cancellationToken);
}
