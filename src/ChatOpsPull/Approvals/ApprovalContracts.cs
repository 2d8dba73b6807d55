using ChatOpsPull.Chat;
using ChatOpsPull.Core.Approvals;
using ChatOpsPull.Core.Remediation;

namespace ChatOpsPull.Approvals;

/// <summary>
/// Asking to run a remediation, from a card button, a <c>retry</c> command or the web page. The same policy decides
/// everywhere; the answer is what the person who asked sees (ephemeral), with the updated card where one changed.
/// </summary>
public interface IRemediationRequests
{
    /// <param name="incidentId">The incident the plan fixes, or null for a request that stands alone (e.g. <c>retry ns/workload</c> with no open incident).</param>
    /// <param name="cluster">The cluster the plan acts on (the bot's own, Bot:Cluster, for commands).</param>
    Task<ChatReply> RequestAsync(ChatUser user, string? incidentId, string cluster, RemediationPlan plan, CancellationToken cancellationToken);
}

/// <summary>Read side of approvals, for status answers, the web page and the digest.</summary>
public interface IApprovalQueries
{
    Task<IReadOnlyList<ApprovalRequest>> ListPendingAsync(string? @namespace, CancellationToken cancellationToken);

    Task<IReadOnlyList<ApprovalRequest>> ListForIncidentAsync(string incidentId, CancellationToken cancellationToken);

    Task<IReadOnlyList<RemediationRun>> ListRunsForIncidentAsync(string incidentId, CancellationToken cancellationToken);

    /// <summary>Requests made in [from, to), any status (digest: approvals waiting, approval latency).</summary>
    Task<IReadOnlyList<ApprovalRequest>> ListRequestedAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken);
}
