using ChatOpsPull.Approvals;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Chat.Routing;
using ChatOpsPull.Core.Approvals;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Fleet;
using ChatOpsPull.Incidents;
using ChatOpsPull.Remediation;

namespace ChatOpsPull.Chat;

/// <summary>
/// Keeps every incident's card current in its channels: on each change it gathers the incident, its approval requests,
/// runs and rolled-up incidents, builds the card (<see cref="IncidentCardBuilder"/>), routes it by cluster and namespace
/// (<see cref="ChatRouter"/>) and publishes it on each destination's surface (posted once, updated in place after), plus
/// a thread reply with the change's detail line. Which card a rolled-up incident's news goes to is decided by the
/// incident engine, before this is told.
/// Idempotent: publishing the same state twice updates the same message to the same card (the card's outbox row is keyed
/// by channel and card, and the delivery posts or edits from the recorded message id), and the thread line of news told
/// twice (a retell after a crash, two replicas) is sent once: its outbox row carries the news's key (once ever).
/// </summary>
public sealed partial class IncidentCardPublisher(
    IncidentStore incidents,
    ApprovalStore approvals,
    RemediationRunStore runs,
    ChatRouter router,
    IEnumerable<IChatSurface> surfaces,
    FixOffer fixes,
    ClusterQueues queues,
    FleetRegistry fleet,
    TimeProvider time,
    ILogger<IncidentCardPublisher> logger) : IIncidentNotifier
{
    /// <summary>The most recent requests and runs a card lists (older ones stay in the audit log).</summary>
    public const int MaxListed = 6;

    private readonly IChatSurface[] _surfaces = surfaces.ToArray();

    public async Task IncidentChangedAsync(Incident incident, IncidentChange change, string? detail, string? newsKey, CancellationToken cancellationToken)
    {
        // Storm routing (a rolled-up incident's news on its parent's card) is the incident engine's: this is told the card to change.
        var destinations = router.Route(incident.Key.Cluster, incident.Key.Namespace);
        if (destinations.Count == 0)
        {
            LogNoRoute(logger, incident.Id, incident.Key.Cluster, incident.Key.Namespace);
            return;
        }

        var card = await BuildAsync(incident, cancellationToken).ConfigureAwait(false);
        foreach (var destination in destinations)
        {
            var surface = Array.Find(_surfaces, s => s.Platform == destination.Platform);
            if (surface is null)
            {
                continue;
            }

            await surface.PublishAsync(destination.Channel, card, cancellationToken).ConfigureAwait(false);
            if (!string.IsNullOrWhiteSpace(detail) && change != IncidentChange.Opened)
            {
                await surface.ReplyInThreadAsync(destination.Channel, card.Key, detail, newsKey, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The card of an incident as it stands now, or null when there is no such incident.</summary>
    public async Task<Card?> BuildAsync(string incidentId, CancellationToken cancellationToken)
    {
        var incident = await incidents.GetAsync(incidentId, cancellationToken).ConfigureAwait(false);
        return incident is null ? null : await BuildAsync(incident, cancellationToken).ConfigureAwait(false);
    }

    public async Task<Card> BuildAsync(Incident incident, CancellationToken cancellationToken)
    {
        var rolledUp = await incidents.ListRolledUpAsync(incident.Id, cancellationToken).ConfigureAwait(false);
        var ids = new List<string> { incident.Id };
        ids.AddRange(rolledUp.Select(i => i.Id));
        var requests = new List<ApprovalRequest>();
        foreach (var id in ids)
        {
            requests.AddRange(await approvals.ListForIncidentAsync(id, cancellationToken).ConfigureAwait(false));
        }

        var shownRuns = (await runs.ListForIncidentsAsync(ids, cancellationToken).ConfigureAwait(false)).TakeLast(MaxListed).ToList();
        var runIds = shownRuns.Select(r => r.ApprovalId).ToHashSet(StringComparer.Ordinal);

        // A request that became a run is shown by its run line (with who approved it); pending ones always show.
        var shownRequests = requests
            .OrderBy(r => r.RequestedAt)
            .Where(r => r.Status == ApprovalStatus.Pending || !runIds.Contains(r.Id))
            .TakeLast(MaxListed)
            .ToList();
        var now = time.GetUtcNow();

        // In a fleet, a queued run whose cluster has no live bot says so: it waits for that bot, or expires with its request.
        var waiting = queues.FleetMode && shownRuns.Any(r => r.Status == RunStatus.Queued)
            && !await fleet.IsLiveAsync(incident.Key.Cluster, cancellationToken).ConfigureAwait(false);
        return IncidentCardBuilder.Build(new IncidentCardInput(
            incident,
            shownRequests,
            shownRuns.Select(r => WithApprovers(r, requests)).Select(r => waiting && r.Status == RunStatus.Queued ? WaitingFor(r, incident.Key.Cluster) : r).ToList(),
            rolledUp.Where(i => !i.IsClosed).ToList(),
            now,
            await fixes.CommandsForAsync(incident, cancellationToken).ConfigureAwait(false),
            fixes.ManagedWorkloads));
    }

    private static RemediationRun WaitingFor(RemediationRun run, string cluster) =>
        run with { Detail = $"{run.Detail}; waiting for cluster {cluster}: no bot of it is running, the fix runs when one is back or expires with the request" };

    private static RemediationRun WithApprovers(RemediationRun run, List<ApprovalRequest> requests)
    {
        var request = requests.Find(r => r.Id == run.ApprovalId);
        if (request is null || RemediationProgress.WasRefused(run))
        {
            return run;
        }

        var approvers = request.Votes.Where(v => v.Approve).Select(v => v.By.Name).ToList();
        var who = approvers.Count > 0 ? $"approved by {string.Join(", ", approvers)}" : request.RequestedBy.Platform == "system" ? "ran by policy" : "ran without votes by policy";
        return run with { Detail = run.Detail.Length > 0 ? $"{who}; {run.Detail}" : who };
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "No chat route for incident {IncidentId} ({Cluster}/{Namespace}); its card is only on the web page")]
    private static partial void LogNoRoute(ILogger logger, string incidentId, string cluster, string @namespace);
}
