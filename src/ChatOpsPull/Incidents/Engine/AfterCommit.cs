using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Observability;
using ChatOpsPull.Storage;

namespace ChatOpsPull.Incidents.Engine;

/// <summary>
/// What a write asks to happen once its transaction committed: news for the notifiers (in commit order), diagnosis
/// requests, storm checks and lifecycle counts. Collected inside the transaction, so a rolled-back attempt leaves none.
/// The news is also owed in the store, in the same transaction (<see cref="OweNews(StatementBatch)"/>): a host that dies
/// after the commit and before telling it leaves a row that another host tells (<see cref="NewsRetell"/>).
/// </summary>
/// <param name="now">When the write runs: when its news is owed since.</param>
internal sealed class AfterCommit(DateTimeOffset now)
{
    private readonly List<IncidentNotice> _notices = [];

    /// <summary>Notices before this one have their news owed in the store already.</summary>
    private int _owedUpTo;
    private readonly List<(string IncidentId, int Version)> _diagnoses = [];
    private readonly List<Incident> _stormChecks = [];
    private readonly HashSet<string> _rolledUp = new(StringComparer.Ordinal);
    private readonly List<string> _events = [];

    public IReadOnlyList<(string IncidentId, int Version)> Diagnoses => _diagnoses;

    public IReadOnlyList<Incident> StormChecks => _stormChecks;

    /// <summary>The cause a diagnosis found (counted once committed).</summary>
    public PullCause? DiagnosedAs { get; set; }

    /// <summary>A lifecycle event for the metrics ("opened", "reopened", "resolved"); null counts nothing.</summary>
    public void Count(string? incidentEvent)
    {
        if (incidentEvent is not null)
        {
            _events.Add(incidentEvent);
        }
    }

    /// <param name="partial">The incident holds only the pods this write changed: made whole before telling anyone.</param>
    public void Notify(Incident incident, IncidentChange change, string? detail, bool evenIfSnoozed = false, bool partial = false) =>
        _notices.Add(new IncidentNotice(incident, change, detail, evenIfSnoozed, OwnCard: false) { Partial = partial, OwedVersion = incident.Version });

    /// <summary>News for the incident's own card even when it is rolled up (what the roll-up itself says).</summary>
    /// <param name="owedVersion">The version the news was owed with, in the write's transaction (its key), when
    /// <paramref name="incident"/> was read after the commit and may be newer.</param>
    public void NotifyOnOwnCard(Incident incident, IncidentChange change, string? detail, int owedVersion) =>
        _notices.Add(new IncidentNotice(incident, change, detail, EvenIfSnoozed: false, OwnCard: true) { OwedVersion = owedVersion });

    /// <summary>
    /// Adds to <paramref name="batch"/> (sent in the write's transaction) the news owed for the notices written since the
    /// last call: one row per incident, its newest version and its weightiest change (what a retell would say).
    /// </summary>
    public void OweNews(StatementBatch batch)
    {
        foreach (var owed in Owed(_notices.Skip(_owedUpTo), now))
        {
            IncidentStore.OweNews(batch, owed);
        }

        _owedUpTo = _notices.Count;
    }

    /// <summary>The same for what the write has not owed already in its own batches: sent now (one more statement).</summary>
    public async Task OweNewsAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction)
    {
        var batch = new StatementBatch();
        OweNews(batch);
        await batch.ExecuteAsync(connection, transaction).ConfigureAwait(false);
    }

    /// <summary>The notices written so far have their news owed already (a statement of the write wrote it).</summary>
    public void NewsOwedAlready() => _owedUpTo = _notices.Count;

    /// <summary>
    /// The news owed by <paramref name="notices"/>, one per incident: the newest version, and the weightiest change
    /// (a "pods changed" never hides an opened, diagnosed, resolved … not told yet), as the store merges them too.
    /// </summary>
    internal static IEnumerable<OwedNews> Owed(IEnumerable<IncidentNotice> notices, DateTimeOffset at)
    {
        var owed = new Dictionary<string, OwedNews>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var notice in notices)
        {
            var id = notice.Incident.Id;
            var next = new OwedNews(id, notice.Incident.Version, notice.Change, notice.Detail, notice.OwnCard, at) { ChangeVersion = notice.Incident.Version };
            if (!owed.TryGetValue(id, out var before))
            {
                order.Add(id);
            }
            else if (next.Change == IncidentChange.PodsChanged && before.Change != IncidentChange.PodsChanged)
            {
                next = before with { Version = Math.Max(before.Version, next.Version) };
            }
            else
            {
                next = next with { Version = Math.Max(before.Version, next.Version) };
            }

            owed[id] = next;
        }

        return order.Select(id => owed[id]);
    }

    public void Diagnose(string incidentId, int version) => _diagnoses.Add((incidentId, version));

    /// <summary>Check for a storm after commit; kept once per incident, the latest (a group commit may change one incident many times).</summary>
    public void CheckStorm(Incident incident)
    {
        _stormChecks.RemoveAll(i => i.Id == incident.Id);
        _stormChecks.Add(incident);
    }

    /// <summary>The storm check put this incident under a parent after its notices were written.</summary>
    public void RolledUp(string incidentId) => _rolledUp.Add(incidentId);

    /// <summary>
    /// The notices in commit order. One written before a storm check rolled its incident up still holds the incident
    /// without its parent: it is marked to be read again, so that the news goes where the storm rule sends it.
    /// </summary>
    public IEnumerable<IncidentNotice> NoticesInCommitOrder() =>
        _notices.Select(n => !n.OwnCard && n.Incident.RollupOf is null && _rolledUp.Contains(n.Incident.Id) ? n with { Reload = true } : n);

    public void Record(BotMetrics metrics)
    {
        _events.ForEach(metrics.Incident);
        if (DiagnosedAs is { } cause)
        {
            metrics.Diagnosed(cause);
        }
    }
}
