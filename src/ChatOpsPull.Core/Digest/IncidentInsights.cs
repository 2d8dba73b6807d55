using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;

namespace ChatOpsPull.Core.Digest;

/// <summary>What the digest needs of one incident (no pods, no diagnosis).</summary>
/// <param name="Pods">Pod containers the incident has seen (resolved or not).</param>
public sealed record IncidentFacts(
    string Id,
    string Cluster,
    string Namespace,
    string Subject,
    string Image,
    PullCause Cause,
    IncidentState State,
    DateTimeOffset OpenedAt,
    DateTimeOffset? ResolvedAt,
    int Pods)
{
    public bool IsClosed => State is IncidentState.Resolved or IncidentState.Failed;
}

/// <summary>How many incidents and pods one image (or cause) accounts for.</summary>
public sealed record FailureCount<T>(T Key, int Incidents, int Pods);

/// <summary>Incidents over a period.</summary>
/// <param name="Opened">Opened inside the period.</param>
/// <param name="Resolved">Resolved inside the period (state resolved, resolved_at inside).</param>
/// <param name="Failed">Given up on inside the period (state failed).</param>
/// <param name="StillOpen">Open now, whenever they opened, newest first.</param>
/// <param name="MedianTimeToResolve">Over the incidents resolved inside the period: resolved_at − opened_at.</param>
/// <param name="WorstResolved">The incident resolved inside the period that took longest.</param>
/// <param name="TopImages">Images of the incidents active in the period (opened, resolved or still open), most incidents first.</param>
/// <param name="Causes">Causes of the same incidents, most first.</param>
public sealed record IncidentSummary(
    int Opened,
    int Resolved,
    int Failed,
    IReadOnlyList<IncidentFacts> StillOpen,
    TimeSpan? MedianTimeToResolve,
    IncidentFacts? WorstResolved,
    IReadOnlyList<FailureCount<string>> TopImages,
    IReadOnlyList<FailureCount<PullCause>> Causes)
{
    public TimeSpan? WorstTimeToResolve => WorstResolved is { ResolvedAt: { } at } worst ? at - worst.OpenedAt : null;

    public bool IsQuiet => Opened == 0 && Resolved == 0 && Failed == 0 && StillOpen.Count == 0;
}

public static class IncidentInsights
{
    /// <param name="incidents">Every incident opened, closed in, or open during the period (more is fine: filtered here).</param>
    public static IncidentSummary Summarize(IEnumerable<IncidentFacts> incidents, DateTimeOffset from, DateTimeOffset to, int top = 5)
    {
        ArgumentNullException.ThrowIfNull(incidents);
        bool Inside(DateTimeOffset? at) => at is { } t && t >= from && t < to;

        var all = incidents.DistinctBy(i => i.Id, StringComparer.Ordinal).ToList();
        var opened = all.Count(i => Inside(i.OpenedAt));
        var resolved = all.Where(i => i.State == IncidentState.Resolved && Inside(i.ResolvedAt)).ToList();
        var failed = all.Count(i => i.State == IncidentState.Failed && Inside(i.ResolvedAt));
        var open = all.Where(i => !i.IsClosed && i.OpenedAt < to)
            .OrderByDescending(i => i.OpenedAt).ThenBy(i => i.Id, StringComparer.Ordinal)
            .ToList();
        var active = all.Where(i => Inside(i.OpenedAt) || Inside(i.ResolvedAt) || (!i.IsClosed && i.OpenedAt < to)).ToList();

        TimeSpan? median = resolved.Count == 0 ? null : DigestStatistics.Median(resolved.Select(i => i.ResolvedAt!.Value - i.OpenedAt));
        var worst = resolved
            .OrderByDescending(i => i.ResolvedAt!.Value - i.OpenedAt).ThenBy(i => i.Id, StringComparer.Ordinal)
            .FirstOrDefault();

        var images = active.GroupBy(i => i.Image, StringComparer.Ordinal)
            .Select(g => new FailureCount<string>(g.Key, g.Count(), g.Sum(i => i.Pods)))
            .OrderByDescending(c => c.Incidents).ThenByDescending(c => c.Pods).ThenBy(c => c.Key, StringComparer.Ordinal)
            .Take(top)
            .ToList();
        var causes = active.GroupBy(i => i.Cause)
            .Select(g => new FailureCount<PullCause>(g.Key, g.Count(), g.Sum(i => i.Pods)))
            .OrderByDescending(c => c.Incidents).ThenByDescending(c => c.Pods).ThenBy(c => c.Key)
            .ToList();

        return new IncidentSummary(opened, resolved.Count, failed, open, median, worst, images, causes);
    }
}
