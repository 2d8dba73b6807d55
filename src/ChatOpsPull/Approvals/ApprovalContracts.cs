using ChatOpsPull.Core.Approvals;
using ChatOpsPull.Core.Remediation;

namespace ChatOpsPull.Approvals;

/// <summary>Read side of approvals, for status answers, the web page and the digest.</summary>
public interface IApprovalQueries
{
    Task<IReadOnlyList<ApprovalRequest>> ListPendingAsync(string? @namespace, CancellationToken cancellationToken);

    Task<IReadOnlyList<ApprovalRequest>> ListForIncidentAsync(string incidentId, CancellationToken cancellationToken);

    Task<IReadOnlyList<RemediationRun>> ListRunsForIncidentAsync(string incidentId, CancellationToken cancellationToken);

    /// <summary>Requests made in [from, to), any status (digest: approvals waiting, approval latency).</summary>
    Task<IReadOnlyList<ApprovalRequest>> ListRequestedAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken);
}
