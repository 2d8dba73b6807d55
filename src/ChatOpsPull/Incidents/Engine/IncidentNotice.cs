using ChatOpsPull.Core.Incidents;

namespace ChatOpsPull.Incidents.Engine;

/// <summary>
/// One piece of news about an incident, waiting in its mailbox for the notifiers.
/// </summary>
/// <param name="EvenIfSnoozed">Told although the incident is snoozed (the "snoozed" news itself).</param>
/// <param name="OwnCard">Told on the incident's own card even when it is rolled up under a storm (the roll-up news itself).</param>
internal sealed record IncidentNotice(Incident Incident, IncidentChange Change, string? Detail, bool EvenIfSnoozed, bool OwnCard)
{
    /// <summary>The incident in the notice may be stale (a storm just took it in): read it again before telling.</summary>
    public bool Reload { get; init; }

    /// <summary>The incident holds only the pods its report changed: made whole (<see cref="LatestIncidents"/>) before telling.</summary>
    public bool Partial { get; init; }

    /// <summary>How many consecutive "pods changed" notices this one stands for (see <see cref="NoticeCollapsing"/>).</summary>
    public int Merged { get; init; } = 1;

    /// <summary>
    /// The notifiers (by their place in the dispatch) still owed this notice after the others were told and these could
    /// not be, the store being unavailable; null: all of them.
    /// </summary>
    public IReadOnlyList<int>? Owed { get; init; }

    /// <summary>
    /// The incident version whose news (owed in the store: <see cref="OwedNews"/>) this notice tells: once it is told (or
    /// silenced), the row is removed up to this version (<see cref="ToldNews"/>). Null for an announcement, which is owed by its key instead (<see cref="AnnouncementKey"/>).
    /// </summary>
    public int? OwedVersion { get; init; }

    /// <summary>
    /// The announcement (owed in the store by its writer: <see cref="OwedAnnouncement"/>) this notice tells: once it is
    /// told (or silenced), the row is removed (<see cref="ToldNews"/>). Null for the engine's own news.
    /// </summary>
    public string? AnnouncementKey { get; init; }
}
