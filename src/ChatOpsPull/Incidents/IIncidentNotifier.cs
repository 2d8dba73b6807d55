using ChatOpsPull.Core.Incidents;

namespace ChatOpsPull.Incidents;

/// <summary>What happened to an incident, for the card and the thread.</summary>
public enum IncidentChange
{
    Opened,
    PodsChanged,
    Diagnosed,
    ApprovalRequested,
    ApprovalDecided,
    RemediationStarted,
    RemediationFinished,
    Snoozed,
    Resolved,
    Reopened,
}

/// <summary>
/// Told after an incident changed and the change is stored. Chat surfaces implement it to post or update
/// the incident's card (one card per incident per channel). Must be idempotent: it may be told twice — a host that died
/// after telling and before the news was marked told leaves it to be told again, and a replica may retell what its writer
/// is still telling. The same news told twice carries the same <c>newsKey</c>.
/// </summary>
public interface IIncidentNotifier
{
    /// <param name="detail">One line for the thread ("3 more pods joined", "job #12 finished: pods Ready"), or null.</param>
    /// <param name="newsKey">
    /// The identity of this piece of news for good, from what owed it, not from its text (see <see cref="IncidentNewsKeys"/>):
    /// told again, it is the same key, and a line already sent with it must not be sent again; a new piece of news with
    /// the same text (a second vote, a second run) has another key. Null for news nobody owed (never retold).
    /// </param>
    Task IncidentChangedAsync(Incident incident, IncidentChange change, string? detail, string? newsKey, CancellationToken cancellationToken);
}

/// <summary>The identities of news (the <c>newsKey</c> the <see cref="IIncidentNotifier"/>s hear).</summary>
public static class IncidentNewsKeys
{
    /// <summary>
    /// The engine's own news: the incident, the version that wrote the change, and the change (a retell of the news owed
    /// says the weightiest change at the version that wrote it, so it has the key the first telling had).
    /// </summary>
    public static string Of(string incidentId, int version, IncidentChange change) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"incident:{incidentId}:v{version}:{change}");

    /// <summary>An announcement another capability owed (<see cref="OwedAnnouncement.Key"/>: <c>approval:{id}:v{version}</c>, <c>run:{id}:started</c> …).</summary>
    public static string OfAnnouncement(string announcementKey) => "announcement:" + announcementKey;
}
