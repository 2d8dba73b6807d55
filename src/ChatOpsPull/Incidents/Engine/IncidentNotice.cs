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

    /// <summary>
    /// The version whose write made <see cref="IncidentNotice.Change"/>, when it is not <see cref="OwedVersion"/>: a retell of
    /// news owed, whose row holds the newest version and the weightiest change (<see cref="OwedNews.ChangeVersion"/>).
    /// </summary>
    public int? ChangeVersion { get; init; }

    /// <summary>
    /// The identity of this news for good (<see cref="IncidentNewsKeys"/>): the announcement's key, or the incident, the
    /// version that made the change and the change — the same when the news is told again after a crash or by another
    /// replica, so its thread line is sent once. Null for news nobody owes (an announcement without a row).
    /// </summary>
    public string? NewsKey =>
        AnnouncementKey is { } key ? IncidentNewsKeys.OfAnnouncement(key)
        : (ChangeVersion ?? OwedVersion) is { } version ? IncidentNewsKeys.Of(Incident.Id, version, Change)
        : null;
}
