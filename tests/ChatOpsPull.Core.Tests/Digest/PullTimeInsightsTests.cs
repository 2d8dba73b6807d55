using ChatOpsPull.Core.Digest;

namespace ChatOpsPull.Core.Tests.Digest;

public class PullTimeInsightsTests
{
    private static readonly DateTimeOffset From = new(2026, 3, 23, 8, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset To = From.AddHours(24);

    private static PullSample Pull(string registry, string image, long? ms, int hour, long? size = null, string? node = "n1") =>
        new(registry, image, node, ms, size, From.AddHours(hour).AddMinutes(10));

    [Fact]
    public void Groups_per_registry_and_image_with_nearest_rank_percentiles()
    {
        var samples = Enumerable.Range(1, 20).Select(i => Pull("docker.io", "docker.io/library/nginx:1.27", i * 100, 0))
            .Append(Pull("ghcr.io", "ghcr.io/acme/api:1.0.0", 5000, 1))
            .Append(Pull("ghcr.io", "ghcr.io/acme/api:1.0.0", null, 1))
            .ToList();

        var report = PullTimeInsights.Compute(samples, From, To, new PullInsightOptions());

        Assert.Equal(22, report.Pulls);
        Assert.Equal(21, report.TimedPulls);
        var hub = Assert.Single(report.Registries, r => r.Key == "docker.io");
        Assert.Equal((20, 20, 1000L, 1900L, 2000L), (hub.Pulls, hub.TimedPulls, hub.P50Ms!.Value, hub.P95Ms!.Value, hub.MaxMs!.Value));
        var ghcr = Assert.Single(report.Registries, r => r.Key == "ghcr.io");
        Assert.Equal((2, 1, 5000L, 5000L), (ghcr.Pulls, ghcr.TimedPulls, ghcr.P50Ms!.Value, ghcr.P95Ms!.Value));
        Assert.Equal("ghcr.io/acme/api:1.0.0", report.SlowestImages[0].Key);
        Assert.Equal("docker.io/library/nginx:1.27", report.MostPulledImages[0].Key);
    }

    [Fact]
    public void Buckets_are_hours_for_a_day_and_days_for_a_week_starting_at_the_period_start()
    {
        var day = PullTimeInsights.Compute([Pull("r", "r/a:1", 100, 0), Pull("r", "r/a:1", 300, 0), Pull("r", "r/a:1", 900, 5)], From, To, new PullInsightOptions());
        Assert.Equal(TimeSpan.FromHours(1), day.BucketWidth);
        Assert.Equal([From, From.AddHours(5)], day.Buckets.Select(b => b.Start));
        Assert.Equal((2, 100L, 300L), (day.Buckets[0].Pulls, day.Buckets[0].P50Ms, day.Buckets[0].P95Ms));

        var week = PullTimeInsights.Compute([Pull("r", "r/a:1", 100, 0), Pull("r", "r/a:1", 100, 30)], From, From.AddDays(7), new PullInsightOptions());
        Assert.Equal(TimeSpan.FromDays(1), week.BucketWidth);
        Assert.Equal([From, From.AddDays(1)], week.Buckets.Select(b => b.Start));
    }

    [Fact]
    public void Samples_outside_the_period_are_ignored()
    {
        var report = PullTimeInsights.Compute([Pull("r", "r/a:1", 100, -1), Pull("r", "r/a:1", 100, 24)], From, To, new PullInsightOptions());
        Assert.Equal(0, report.Pulls);
        Assert.Empty(report.Buckets);
    }

    [Fact]
    public void Caching_hint_needs_more_than_N_pulls_of_an_image_over_the_size_threshold()
    {
        const long big = 800_000_000;
        var samples = Enumerable.Range(0, 11).Select(i => Pull("r", "r/ml/model:2.1.0", 60_000, i % 24, big, "node-" + (i % 4)))
            .Concat(Enumerable.Range(0, 10).Select(i => Pull("r", "r/exactly-ten:1.0.0", 60_000, i, big)))
            .Concat(Enumerable.Range(0, 50).Select(i => Pull("r", "r/small:1.0.0", 1000, i % 24, 400_000_000)))
            .ToList();

        var report = PullTimeInsights.Compute(samples, From, To, new PullInsightOptions(CachingMinPulls: 10, CachingMinBytes: 500_000_000));

        var hint = Assert.Single(report.CachingHints);
        Assert.Equal(("r/ml/model:2.1.0", 11, 4, big, big * 11), (hint.Image, hint.Pulls, hint.Nodes, hint.SizeBytes, hint.BytesPulled));
    }
}
