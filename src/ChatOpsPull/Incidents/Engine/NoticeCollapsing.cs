namespace ChatOpsPull.Incidents.Engine;

/// <summary>
/// While a slow notifier is busy, further reports are stored and their "pods changed" notices pile up in the incident's
/// mailbox. Consecutive ones are told once, carrying the newest incident ("12 changes; latest: …"), so a 1,000-pod storm
/// is not 1,000 card updates. Any other notice, and news for the incident's own card during a storm, keeps its place:
/// what comes before it is told before it, and nothing after it is merged into what came before.
/// </summary>
internal static class NoticeCollapsing
{
    public static List<IncidentNotice> Collapse(IReadOnlyList<IncidentNotice> batch)
    {
        var result = new List<IncidentNotice>(batch.Count);
        foreach (var notice in batch)
        {
            if (result.Count > 0 && IsMergeable(notice) && IsMergeable(result[^1]))
            {
                var previous = result[^1];
                var merged = previous.Merged + notice.Merged;
                var newest = notice.Incident.Version >= previous.Incident.Version ? notice : previous;
                result[^1] = newest with
                {
                    Merged = merged,
                    Detail = $"{merged} changes; latest: {notice.Detail}",
                    Reload = previous.Reload || notice.Reload,
                    Partial = newest.Partial,
                    OwedVersion = previous.OwedVersion is { } a && notice.OwedVersion is { } b ? Math.Max(a, b) : previous.OwedVersion ?? notice.OwedVersion,
                    ChangeVersion = null, // the merged "pods changed" is the news of the newest version it stands for
                    Owed = previous.Owed is null || notice.Owed is null ? null : previous.Owed.Union(notice.Owed).Order().ToList(),
                };
            }
            else
            {
                result.Add(notice);
            }
        }

        return result;
    }

    private static bool IsMergeable(IncidentNotice notice) => notice is { Change: IncidentChange.PodsChanged, OwnCard: false, AnnouncementKey: null };
}
