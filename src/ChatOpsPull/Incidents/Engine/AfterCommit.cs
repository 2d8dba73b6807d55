using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Observability;

namespace ChatOpsPull.Incidents.Engine;

/// <summary>
/// What a write asks to happen once its transaction committed: news for the notifiers (in commit order), diagnosis
/// requests, storm checks and lifecycle counts. Collected inside the transaction, so a rolled-back attempt leaves none.
/// </summary>
internal sealed class AfterCommit
{
    private readonly List<IncidentNotice> _notices = [];
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
        _notices.Add(new IncidentNotice(incident, change, detail, evenIfSnoozed, OwnCard: false) { Partial = partial });

    /// <summary>News for the incident's own card even when it is rolled up (what the roll-up itself says).</summary>
    public void NotifyOnOwnCard(Incident incident, IncidentChange change, string? detail) =>
        _notices.Add(new IncidentNotice(incident, change, detail, EvenIfSnoozed: false, OwnCard: true));

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
