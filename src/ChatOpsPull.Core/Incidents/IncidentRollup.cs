using ChatOpsPull.Core.Failures;

namespace ChatOpsPull.Core.Incidents;

/// <summary>Which incident carries the card for a storm, and which ones hang under it.</summary>
/// <param name="Children">Incidents whose RollupOf must be set to the parent (already rolled-up ones are left out).</param>
public sealed record RollupPlan(Incident Parent, IReadOnlyList<Incident> Children);

/// <summary>
/// A storm: several workloads failing on the same image for the same cause within a window. Once at least
/// <c>threshold</c> distinct subjects are open, the one opened first carries the card and the others roll up under it.
/// </summary>
public static class IncidentRollup
{
    /// <summary>The image and cause a storm is recognised by ("docker.io/library/app:1.4.3 image_not_found").</summary>
    public static string StormKey(string cluster, string image, PullCause cause) =>
        cluster + " " + IncidentGrouping.ImageSubject(image) + " " + cause.ToSnakeCase();

    /// <param name="candidates">Open incidents of one cluster with the same image and cause.</param>
    public static RollupPlan? Plan(IReadOnlyList<Incident> candidates, DateTimeOffset now, TimeSpan window, int threshold)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threshold, 2);
        var open = candidates.Where(i => !i.IsClosed).ToList();
        if (open.Count == 0)
        {
            return null;
        }

        // An existing parent keeps the card for as long as it is open.
        var parent = open
            .Where(i => i.RollupOf is null && open.Exists(c => c.RollupOf == i.Id))
            .OrderBy(i => i.OpenedAt)
            .ThenBy(i => i.Id, StringComparer.Ordinal)
            .FirstOrDefault();

        if (parent is null)
        {
            var recent = open.Where(i => now - i.OpenedAt <= window).ToList();
            var subjects = recent.Select(i => (i.Key.Namespace, i.Key.Subject)).Distinct().Count();
            if (subjects < threshold)
            {
                return null;
            }

            parent = recent.OrderBy(i => i.OpenedAt).ThenBy(i => i.Id, StringComparer.Ordinal).First();
        }

        var children = open
            .Where(i => i.Id != parent.Id && i.RollupOf != parent.Id && now - i.OpenedAt <= window)
            .OrderBy(i => i.OpenedAt)
            .ThenBy(i => i.Id, StringComparer.Ordinal)
            .ToList();
        return children.Count == 0 ? null : new RollupPlan(parent, children);
    }
}
