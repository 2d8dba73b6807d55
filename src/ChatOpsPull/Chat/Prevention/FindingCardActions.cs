using System.Text.RegularExpressions;
using ChatOpsPull.Chat.Actions;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Prevention;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Chat.Prevention;

/// <summary>
/// Clicks on a finding card's fix buttons: the finding and its plan are looked up on the server (the card carries only
/// their ids), and the plan is asked for as a stand-alone remediation request, decided by the same approval policy as
/// every other (<see cref="IRemediationRequests"/>) — refused under the observe profile, like any fix. Unknown or resolved
/// findings, other clusters and outdated plans get a clear answer and change nothing.
/// </summary>
public sealed partial class FindingCardActions(
    FindingStore store,
    FindingCardPublisher cards,
    IRemediationRequests requests,
    IOptions<BotOptions> bot) : ICardTargetHandler
{
    public bool Owns(string target) => FindingIdRegex().IsMatch(target);

    public async Task<ChatReply> HandleAsync(ChatActionRequest request, CancellationToken cancellationToken)
    {
        var payload = request.Payload;
        if (payload.Verb != CardVerb.Request)
        {
            return new ChatReply("A finding's card has only fix buttons; this one is not one the bot issued. Nothing changed.");
        }

        var finding = await store.GetAsync(payload.Target, cancellationToken).ConfigureAwait(false);
        if (finding is null)
        {
            return new ChatReply($"There is no finding {payload.Target}; the card may come from another bot. Nothing changed.");
        }

        if (!string.Equals(finding.Cluster, bot.Value.Cluster, StringComparison.Ordinal))
        {
            return new ChatReply($"Finding {finding.Id} is in cluster {finding.Cluster}, and this bot acts on cluster {bot.Value.Cluster}. Nothing changed.");
        }

        if (!finding.IsOpen)
        {
            return new ChatReply($"Finding {finding.Id} is resolved; there is nothing to fix. Nothing changed.") { UpdatedCard = cards.Build(finding), ChangedNothing = true };
        }

        var plan = finding.Plans.FirstOrDefault(p => p.Key == payload.Argument);
        if (plan is null)
        {
            return new ChatReply("This card is out of date; here is the current one. Nothing was requested.") { UpdatedCard = cards.Build(finding), ChangedNothing = true };
        }

        return await requests.RequestAsync(request.User, null, finding.Cluster, plan, cancellationToken).ConfigureAwait(false);
    }

    [GeneratedRegex("^fnd-[0-9a-f]{10}$", RegexOptions.CultureInvariant)]
    private static partial Regex FindingIdRegex();
}
