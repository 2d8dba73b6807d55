using ChatOpsPull.Core.Failures;
using ChatOpsPull.Detection.Webhooks;

namespace ChatOpsPull.Tests.Alerts;

public sealed class SeenAlertsTests
{
    [Fact]
    public void Past_the_capacity_the_oldest_keys_are_forgotten()
    {
        var seen = new SeenAlerts(capacity: 3);
        foreach (var key in new[] { "a", "b", "c", "d" })
        {
            seen.Add(key);
        }

        Assert.False(seen.Contains("a"));
        Assert.True(seen.Contains("b"));
        Assert.True(seen.Contains("d"));
        Assert.Equal(3, seen.Count);
    }

    [Fact]
    public void Adding_a_key_twice_keeps_one_entry()
    {
        var seen = new SeenAlerts(capacity: 2);
        seen.Add("a");
        seen.Add("a");
        seen.Add("b");

        Assert.True(seen.Contains("a"));
        Assert.Equal(2, seen.Count);
    }

    [Fact]
    public void Capacity_zero_remembers_nothing()
    {
        var seen = new SeenAlerts(capacity: 0);
        seen.Add("a");

        Assert.False(seen.Contains("a"));
    }

    [Fact]
    public void A_request_s_alerts_are_looked_up_and_remembered_together_within_the_capacity()
    {
        var seen = new SeenAlerts(capacity: 2);
        seen.AddAll([Alert("p1", "k1"), Alert("p2", key: null), Alert("p3", "k3"), Alert("p4", "k4")]);

        Assert.Equal([false, false, true, true, false], seen.ContainsEach([Alert("p1", "k1"), Alert("p2", key: null), Alert("p3", "k3"), Alert("p4", "k4"), Alert("p5", "k5")])!);
        Assert.Equal(2, seen.Count);
        Assert.Null(new SeenAlerts(capacity: 0).ContainsEach([Alert("p1", "k1")]));
    }

    [Fact]
    public void A_plan_leaves_out_alerts_delivered_before_and_repeats_within_the_request()
    {
        var seen = new SeenAlerts(capacity: 10);
        seen.AddAll([Alert("p1", "k1")]);

        var plan = AlertDelivery.Plan(new PullAlertBatch([Alert("p1", "k1"), Alert("p2", "k2"), Alert("p2", "k2"), Alert("p3", key: null)], 4, 0), seen);

        Assert.Equal(["p2", "p3"], plan.ToApply.Select(a => a.Failure.Pod));
        Assert.Equal(2, plan.Receipt.Duplicates);
        Assert.Equal(2, plan.Receipt.Reported);
    }

    private static PullAlert Alert(string pod, string? key) => new(
        AlertStatus.Firing,
        new PullFailure(FailureSource.Alertmanager, "prod", "shop", pod, "app", ContainerKind.Regular, "registry.example/shop/app:1", "ErrImagePull", "not found", DateTimeOffset.UnixEpoch),
        key);
}
