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

        var merged = LatestIncidents.Merge(all, [Pod("b", 2, "manifest unknown"), Pod("e", 5), Pod("c", 4)]);

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
            expected = LatestIncidents.Merge(expected, changed);
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
}
