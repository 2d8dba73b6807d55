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
}
