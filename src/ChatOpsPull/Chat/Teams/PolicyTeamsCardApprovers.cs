using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Chat.Teams;
using ChatOpsPull.Incidents;
using Microsoft.Extensions.Options;
using ChatOpsPull.Approvals;

namespace ChatOpsPull.Chat.Teams;

/// <summary>
/// Who sees Approve/Deny on a card in Teams, from the approval policy: the Teams approvers (and members of Teams
/// approver groups listed in Approvals:GroupMembers) of the rule that covers the card's cluster and namespace, plus
/// Teams:CardApprovers (cards about nothing the policy covers: Teams:CardApprovers alone). Only what is shown depends on this; every click is still decided by the policy on the server.
/// </summary>
public sealed class PolicyTeamsCardApprovers(
    IncidentStore incidents,
    ApprovalStore approvals,
    IOptionsMonitor<ApprovalOptions> options,
    IOptionsMonitor<TeamsOptions> teams) : ITeamsCardApprovers
{
    private const string Teams = "teams:";

    public async ValueTask<IReadOnlyList<string>?> ApproversForAsync(string conversationId, Card card, CancellationToken cancellationToken)
    {
        var configured = teams.CurrentValue.CardApprovers;
        if (await ScopeAsync(card.Key, cancellationToken).ConfigureAwait(false) is not { } where)
        {
            // Not a card of an incident or request (a digest, a check result): Teams:CardApprovers as configured.
            return configured.Count == 0 ? null : configured.ToList();
        }

        var approvers = new SortedSet<string>(configured, StringComparer.OrdinalIgnoreCase);
        if (options.CurrentValue.ToPolicy().RuleFor(where.Cluster, where.Namespace) is { } rule)
        {
            approvers.UnionWith(rule.Users.Where(u => u.StartsWith(Teams, StringComparison.Ordinal)).Select(u => u[Teams.Length..]));
            var groups = rule.Groups.Where(g => g.StartsWith(Teams, StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal);
            foreach (var group in options.CurrentValue.GroupMembers.Where(g => groups.Contains(g.Group)))
            {
                approvers.UnionWith(group.Members);
            }
        }

        return approvers.ToList();
    }

    /// <summary>The cluster and namespace a card is about: "incident:inc-…" or "approval:apr-…".</summary>
    private async Task<(string Cluster, string Namespace)?> ScopeAsync(string cardKey, CancellationToken cancellationToken)
    {
        if (cardKey.StartsWith("incident:", StringComparison.Ordinal)
            && await incidents.GetAsync(cardKey["incident:".Length..], cancellationToken).ConfigureAwait(false) is { } incident)
        {
            return (incident.Key.Cluster, incident.Key.Namespace);
        }

        if (cardKey.StartsWith("approval:", StringComparison.Ordinal)
            && await approvals.GetAsync(cardKey["approval:".Length..], cancellationToken).ConfigureAwait(false) is { } request)
        {
            return (request.Cluster, request.Plan.Namespace);
        }

        return null;
    }
}
