using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Incidents.Engine;

namespace ChatOpsPull.Tests.Incidents;

public sealed class LatestIncidentsTests
{
    private static AffectedPod Pod(string name, int second, string message = "not found") =>
        new(name, "app", "ErrImagePull", message, Failures.Start.AddSeconds(second), Failures.Start.AddSeconds(second));

    [Fact]
    public void A_changed_pod_is_written_over_in_place_and_new_pods_go_where_the_database_lists_them()
    {
        var all = new[] { Pod("a", 1), Pod("b", 2), Pod("d", 4) };

        var merged = WholePods.Of(all).With([Pod("b", 2, "manifest unknown"), Pod("e", 5), Pod("c", 4)]).Pods;

        Assert.Equal(["a", "b", "c", "d", "e"], merged.Select(p => p.Pod));
        Assert.Equal("manifest unknown", merged[1].Message);
        Assert.Equal(3, all.Length);
    }

    [Fact]
    public void Reports_merged_one_after_another_give_the_list_the_database_lists()
    {
        var random = new Random(16);
        var whole = WholePods.Of([Pod("p0000", 0)]);
        IReadOnlyList<AffectedPod> expected = whole.Pods;
        var second = 1;
        for (var round = 0; round < 300; round++)
        {
            var changed = new List<AffectedPod>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            for (var k = random.Next(1, 6); k > 0; k--)
            {
                // Mostly new pods failing now; some failing again with a new message; a few first seen earlier (listed before others).
                var pick = random.Next(10);
                var pod = pick < 6 ? Pod($"p{second:D4}", second++)
                    : pick < 9 ? expected[random.Next(expected.Count)] with { Message = $"manifest unknown {round}" }
                    : Pod($"early{round:D3}", random.Next(second));
                if (names.Add(pod.Pod))
                {
                    changed.Add(pod);
                }
            }

            whole = whole.With(changed);
            expected = ReferenceMerge(expected, changed);
            Assert.Equal(expected, whole.Pods);
        }
    }

    [Fact]
    public void A_version_keeps_its_pods_when_newer_versions_change_them()
    {
        var first = WholePods.Of([Pod("a", 1), Pod("b", 2)]);
        var second = first.With([Pod("b", 2, "manifest unknown"), Pod("c", 3)]);
        _ = second.With([Pod("a", 1, "unauthorized"), Pod("d", 4)]);

        Assert.Equal([Pod("a", 1), Pod("b", 2)], first.Pods);
        Assert.Equal([Pod("a", 1), Pod("b", 2, "manifest unknown"), Pod("c", 3)], second.Pods);
    }

    [Fact]
    public void Merging_on_an_older_version_gives_its_own_list_and_the_newest_still_merges_right()
    {
        var first = WholePods.Of([Pod("a", 1), Pod("b", 2)]);
        var newest = first.With([Pod("c", 3)]);

        var fromOlder = first.With([Pod("b", 2, "manifest unknown"), Pod("x", 9)]);
        var fromNewest = newest.With([Pod("c", 3, "unauthorized"), Pod("d", 4)]);

        Assert.Equal([Pod("a", 1), Pod("b", 2, "manifest unknown"), Pod("x", 9)], fromOlder.Pods);
        Assert.Equal([Pod("a", 1), Pod("b", 2), Pod("c", 3, "unauthorized"), Pod("d", 4)], fromNewest.Pods);
    }

    /// <summary>
    /// The rule <see cref="WholePods.With"/> follows, written the plain way as the reference it is checked against:
    /// <paramref name="all"/> with <paramref name="changed"/> written over it by pod and container; a new pod goes where
    /// the database would list it (by first seen, pod, container), which for a pod that has just failed is the end.
    /// </summary>
    private static List<AffectedPod> ReferenceMerge(IReadOnlyList<AffectedPod> all, List<AffectedPod> changed)
    {
        // One pass over the whole incident, looking each pod up among the changed ones (a few), not the other way round:
        // an incident of 10,000 pods taking a round of 100 reports costs 10,000 look-ups, not a million comparisons.
        var byPod = new Dictionary<(string Pod, string Container), int>(changed.Count);
        for (var i = 0; i < changed.Count; i++)
        {
            byPod[(changed[i].Pod, changed[i].Container)] = i;
        }

        var placed = new bool[changed.Count];
        var pods = new List<AffectedPod>(all.Count + changed.Count);
        foreach (var pod in all)
        {
            if (byPod.TryGetValue((pod.Pod, pod.Container), out var index))
            {
                pods.Add(changed[index]);
                placed[index] = true;
            }
            else
            {
                pods.Add(pod);
            }
        }

        for (var i = 0; i < changed.Count; i++)
        {
            if (placed[i] || byPod[(changed[i].Pod, changed[i].Container)] != i)
            {
                continue;
            }

            var pod = changed[i];
            var at = pods.Count;
            while (at > 0 && WholePods.ListedAfter(pods[at - 1], pod))
            {
                at--;
            }

            pods.Insert(at, pod);
        }

        return pods;
    }
}
