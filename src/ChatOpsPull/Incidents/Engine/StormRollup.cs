using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Observability;
using ChatOpsPull.Storage;
using Microsoft.Extensions.Options;
using Polly.Registry;

namespace ChatOpsPull.Incidents.Engine;

/// <summary>Where a piece of news goes: the card it changes, and the change and line that card is told.</summary>
/// <param name="OnStormCard">The news is about an incident rolled up under <paramref name="Card"/>.</param>
internal sealed record NewsDestination(Incident Card, IncidentChange Change, string? Detail, bool OnStormCard);

/// <summary>
/// Storms: workloads failing on one image for one cause roll up under one parent incident (one card per storm), and the
/// rule for their news — the only place it is written: news about an incident rolled up under an open parent goes on
/// the parent's card as a "pods changed" line prefixed with the incident's namespace/workload; anything else goes on
/// the incident's own card.
/// Roll-ups of one storm are serialized in process by their own keyed lock (taken while a subject lock is held, never
/// the other way round) and across replicas by an advisory lock in the transaction.
/// </summary>
internal sealed class StormRollup(
    IncidentStore store,
    LatestIncidents latest,
    AuditLog audit,
    IOptionsMonitor<IncidentOptions> options,
    ResiliencePipelineProvider<string> pipelines,
    TimeProvider time,
    BotMetrics metrics) : IDisposable
{
    private readonly KeyedLock _stormLocks = new();

    /// <summary>The storm rule: which card <paramref name="incident"/>'s news goes on, and how it reads there.</summary>
    public async Task<NewsDestination> DestinationAsync(Incident incident, IncidentChange change, string? detail, CancellationToken cancellationToken)
    {
        if (incident.RollupOf is { } parentId
            && await latest.ReadAsync(parentId, cancellationToken).ConfigureAwait(false) is { IsClosed: false } parent)
        {
            var workload = incident.Workload?.ToString() ?? incident.Key.Subject;
            return new NewsDestination(parent, IncidentChange.PodsChanged, $"{incident.Key.Namespace}/{workload}: {detail ?? change.ToString()}", OnStormCard: true);
        }

        return new NewsDestination(incident, change, detail, OnStormCard: false);
    }

    /// <summary>
    /// After <paramref name="incident"/> opened or changed cause: when enough workloads now fail on its image for its cause
    /// inside the roll-up window, rolls them up under the storm's parent, and writes in <paramref name="afterCommit"/> the
    /// news for the cards that had them ("rolled up under …") and for the parent's card.
    /// </summary>
    public async Task RollUpAsync(Incident incident, AfterCommit afterCommit, CancellationToken cancellationToken)
    {
        var stormKey = IncidentRollup.StormKey(incident.Key.Cluster, incident.Image, incident.Key.Cause);
        var lockName = "storm:" + stormKey;
        var current = options.CurrentValue;
        var database = store.Database;
        using (await _stormLocks.AcquireAsync(lockName, cancellationToken).ConfigureAwait(false))
        {
            // Most incidents start no storm: a read says so without a write transaction (on SQLite, a turn of the one
            // writer; on PostgreSQL, an advisory lock's round trips). Whatever committed before this check is in the
            // read, so of two incidents committed side by side the later one's check sees both.
            if (!await MayRollUpAsync(stormKey, current, cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            var (parent, children, parentLine) = await pipelines.GetPipeline(IncidentRetryPipelines.Write).ExecuteAsync(
                async token => await database.InTransactionAsync(
                    async (connection, transaction) =>
                    {
                        await database.LockAsync(connection, transaction, lockName).ConfigureAwait(false);
                        var candidates = await IncidentStore.OpenInStormAsync(connection, transaction, stormKey).ConfigureAwait(false);
                        var now = time.GetUtcNow();
                        var plan = IncidentRollup.Plan(candidates, now, current.RollupWindow, current.RollupThreshold);
                        if (plan is null)
                        {
                            return ((Incident?)null, (IReadOnlyList<(string Id, int Version)>)[], string.Empty);
                        }

                        // The news of the roll-up (below, after commit) is owed in this transaction, as every write's is.
                        var ids = new List<(string Id, int Version)>();
                        var writes = new StatementBatch();
                        foreach (var child in plan.Children)
                        {
                            var saved = IncidentStore.Save(writes, child, child with { RollupOf = plan.Parent.Id });
                            audit.Append(writes, new AuditRecord(AuditActor.Bot, AuditActions.IncidentRolledUp, child.Id, Detail: $"rolled up under {plan.Parent.Id} ({stormKey})"));
                            if (child.Id != incident.Id)
                            {
                                IncidentStore.OweNews(writes, new OwedNews(child.Id, saved.Version, IncidentChange.PodsChanged, RolledUpLine(plan.Parent.Id), OwnCard: true, now));
                            }

                            ids.Add((child.Id, saved.Version));
                        }

                        await writes.ExecuteAsync(connection, transaction).ConfigureAwait(false);
                        var line = StormLine(plan.Parent, await IncidentStore.CountRolledUpAsync(connection, transaction, plan.Parent.Id).ConfigureAwait(false));
                        IncidentStore.OweNews(writes, new OwedNews(plan.Parent.Id, plan.Parent.Version, IncidentChange.PodsChanged, line, OwnCard: true, now));
                        await writes.ExecuteAsync(connection, transaction).ConfigureAwait(false);
                        return ((Incident?)plan.Parent, (IReadOnlyList<(string Id, int Version)>)ids, line);
                    },
                    token).ConfigureAwait(false),
                cancellationToken).ConfigureAwait(false);
            if (parent is null)
            {
                return;
            }

            // The cards are built from the incidents as they are now, but each line keeps the version the roll-up wrote it
            // with (its owed news's key): a write landing between the commit and these reads must not give a line a
            // second key, under which a retell would queue it again.
            foreach (var (childId, rolledUpVersion) in children)
            {
                afterCommit.RolledUp(childId);
                metrics.Incident("rolled_up");
                if (childId != incident.Id && await store.GetAsync(childId, cancellationToken).ConfigureAwait(false) is { } child)
                {
                    // The child had its own card before the storm was recognised: tell it where it went.
                    afterCommit.NotifyOnOwnCard(child, IncidentChange.PodsChanged, RolledUpLine(parent.Id), rolledUpVersion);
                }
            }

            if (await store.GetAsync(parent.Id, cancellationToken).ConfigureAwait(false) is { } fresh)
            {
                afterCommit.NotifyOnOwnCard(fresh, IncidentChange.PodsChanged, parentLine, parent.Version);
            }
        }
    }

    private static string RolledUpLine(string parentId) => $"rolled up under {parentId}";

    /// <summary>The storm card's line: how many workloads fail on its image, the parent and those rolled up under it.</summary>
    private static string StormLine(Incident parent, int rolledUp) =>
        $"{rolledUp + 1} workloads fail on {IncidentGrouping.ImageSubject(parent.Image)} ({parent.Key.Cause.ToSnakeCase()})";

    private async Task<bool> MayRollUpAsync(string stormKey, IncidentOptions current, CancellationToken cancellationToken)
    {
        await using var connection = await store.Database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var candidates = await IncidentStore.OpenInStormAsync(connection, null, stormKey).ConfigureAwait(false);
        return IncidentRollup.Plan(candidates, time.GetUtcNow(), current.RollupWindow, current.RollupThreshold) is not null;
    }

    public void Dispose() => _stormLocks.Dispose();
}
