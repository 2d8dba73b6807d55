using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Chat.Routing;
using ChatOpsPull.Prevention;

namespace ChatOpsPull.Chat.Prevention;

/// <summary>
/// Keeps each finding's card current in the channels routed for its cluster and namespace (<see cref="ChatRouter"/>):
/// posted when the finding opens, updated in place when it changes or resolves (the surfaces post once per card key and
/// update after). Also what the web page and the digest take the open findings' cards from.
/// </summary>
public sealed partial class FindingCardPublisher(
    FindingStore store,
    ChatRouter router,
    IEnumerable<IChatSurface> surfaces,
    FixOffer fixes,
    TimeProvider time,
    ILogger<FindingCardPublisher> log) : IPreventionNotifier
{
    private readonly IChatSurface[] _surfaces = surfaces.ToArray();

    public async Task FindingChangedAsync(PreventionFinding finding, FindingChange change, CancellationToken cancellationToken)
    {
        if (change == FindingChange.Unchanged)
        {
            return;
        }

        var destinations = router.Route(finding.Cluster, finding.Namespace);
        if (destinations.Count == 0)
        {
            LogNoRoute(log, finding.Id, finding.Cluster, finding.Namespace);
            return;
        }

        var card = Build(finding);
        foreach (var destination in destinations)
        {
            if (Array.Find(_surfaces, s => s.Platform == destination.Platform) is { } surface)
            {
                await surface.PublishAsync(destination.Channel, card, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The card of a finding as it stands.</summary>
    public Card Build(PreventionFinding finding) =>
        FindingCardBuilder.Build(finding, fixes.AsButtons ? null : finding.Plans.ToDictionary(p => p.Key, p => fixes.Commands(p, []), StringComparer.Ordinal), time.GetUtcNow());

    /// <summary>The cards of the open findings (the web page shows them under the incidents).</summary>
    public async Task<IReadOnlyList<Card>> OpenCardsAsync(string? cluster, CancellationToken cancellationToken) =>
        (await store.ListOpenAsync(null, cluster, cancellationToken).ConfigureAwait(false)).Select(Build).ToList();

    [LoggerMessage(Level = LogLevel.Debug, Message = "No chat route for finding {FindingId} ({Cluster}/{Namespace}); its card is only on the web page")]
    private static partial void LogNoRoute(ILogger logger, string findingId, string cluster, string @namespace);
}
