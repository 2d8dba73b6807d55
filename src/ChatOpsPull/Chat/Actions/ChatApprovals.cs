using ChatOpsPull.Approvals;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Core.Approvals;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Remediation;

namespace ChatOpsPull.Chat.Actions;

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

/// <summary>
/// Approvals as chat sees them: the person a platform vouched for becomes the policy's <see cref="Actor"/>
/// (<see cref="ApprovalActors"/>), <see cref="ApprovalWorkflow"/> decides, and its result becomes the reply for that
/// person with the card as it now stands — the incident's card, or a stand-alone request's own card.
/// </summary>
public sealed class ChatApprovals(
    ApprovalWorkflow approvals,
    ApprovalActors actors,
    IncidentCardPublisher cards,
    RemediationRunStore runs,
    TimeProvider time) : IRemediationRequests
{
    public async Task<ChatReply> RequestAsync(ChatUser user, string? incidentId, string cluster, RemediationPlan plan, CancellationToken cancellationToken)
    {
        var actor = await actors.ResolveAsync(user, cancellationToken).ConfigureAwait(false);
        var result = await approvals.RequestAsync(actor, incidentId, cluster, plan, cancellationToken).ConfigureAwait(false);
        var refused = result.Outcome == ApprovalOutcome.Refused;
        var card = await CardAsync(incidentId, result.Request, cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrEmpty(incidentId) && card is not null)
        {
            // A stand-alone request has no incident card in the channel: a new one is shown there with its buttons.
            return new ChatReply(result.Message, Ephemeral: refused) { Card = card };
        }

        return new ChatReply(result.Message) { UpdatedCard = card, ChangedNothing = refused };
    }

    /// <summary>An Approve or Deny click.</summary>
    public async Task<ChatReply> DecideAsync(ChatUser user, string approvalId, bool approve, CancellationToken cancellationToken)
    {
        var actor = await actors.ResolveAsync(user, cancellationToken).ConfigureAwait(false);
        var result = await approvals.DecideAsync(actor, approvalId, approve, cancellationToken).ConfigureAwait(false);
        var card = await CardAsync(result.IncidentId, result.Request, cancellationToken).ConfigureAwait(false);
        return new ChatReply(result.Message) { UpdatedCard = card, ChangedNothing = result.ChangedNothing };
    }

    /// <summary>The card a reply should carry: the incident's card, or the stand-alone request's own.</summary>
    public async Task<Card?> CardAsync(string? incidentId, ApprovalRequest? request, CancellationToken cancellationToken)
    {
        if (!string.IsNullOrEmpty(incidentId))
        {
            return await cards.BuildAsync(incidentId, cancellationToken).ConfigureAwait(false);
        }

        if (request is null)
        {
            return null;
        }

        var run = await runs.GetAsync(request.Id, cancellationToken).ConfigureAwait(false);
        return StandaloneApprovalCard.Build(request, run?.Run, time.GetUtcNow());
    }
}
