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
}
