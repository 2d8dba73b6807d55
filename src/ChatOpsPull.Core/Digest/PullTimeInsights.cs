namespace ChatOpsPull.Core.Digest;

/// <summary>One successful pull, as the digest reads it from a kubelet Pulled event.</summary>
/// <param name="Registry">Registry host ("docker.io", "ghcr.io"); "(unknown)" when the image did not parse.</param>
/// <param name="DurationMs">How long the pull took; null when kubelet did not say (before 1.21).</param>
/// <param name="SizeBytes">Image size; null when kubelet did not say (before 1.30).</param>
public sealed record PullSample(string Registry, string Image, string? Node, long? DurationMs, long? SizeBytes, DateTimeOffset At);

/// <summary>Pull times of one registry or image over the period.</summary>
/// <param name="Pulls">Every pull seen, timed or not.</param>
/// <param name="TimedPulls">Pulls whose duration kubelet reported: the percentiles are over these.</param>
/// <param name="SizeBytes">Largest size kubelet reported for it (images), or null.</param>
public sealed record PullTimeGroup(string Key, int Pulls, int TimedPulls, long? P50Ms, long? P95Ms, long? MaxMs, long? SizeBytes);

/// <summary>Pull times of one registry in one time bucket (the chart's points).</summary>
public sealed record PullTimeBucket(string Registry, DateTimeOffset Start, int Pulls, long P50Ms, long P95Ms);

/// <summary>A large image pulled again and again: worth pre-pulling or mirroring.</summary>
/// <param name="Nodes">Distinct nodes that pulled it (0 when kubelet's events named none).</param>
/// <param name="BytesPulled">Size × pulls: what the registry served for it.</param>
public sealed record CachingHint(string Image, int Pulls, int Nodes, long SizeBytes, long BytesPulled)
{
    public const string Advice = "pre-pull with a DaemonSet or use a registry mirror";
}

/// <summary>Thresholds for <see cref="PullTimeInsights"/>.</summary>
/// <param name="CachingMinPulls">A caching hint needs more pulls than this in the period.</param>
/// <param name="CachingMinBytes">…of an image larger than this (kubelet's reported size).</param>
/// <param name="Top">How many registries and images to list.</param>
public sealed record PullInsightOptions(int CachingMinPulls = 10, long CachingMinBytes = 500_000_000, int Top = 5);

/// <summary>What the Pulled events of a period say: per registry and per image, buckets for the chart, caching hints.</summary>
/// <param name="BucketWidth">One hour for periods up to 48 h, else one day; buckets start at the period start.</param>
public sealed record PullTimeReport(
    int Pulls,
    int TimedPulls,
    IReadOnlyList<PullTimeGroup> Registries,
    IReadOnlyList<PullTimeGroup> SlowestImages,
    IReadOnlyList<PullTimeGroup> MostPulledImages,
    TimeSpan BucketWidth,
    IReadOnlyList<PullTimeBucket> Buckets,
    IReadOnlyList<CachingHint> CachingHints)
{
    public static PullTimeReport Empty { get; } = new(0, 0, [], [], [], TimeSpan.FromHours(1), [], []);
}

/// <summary>Groups and summarizes pull samples (pure; the digest reads the samples, this does the arithmetic).</summary>
public static class PullTimeInsights
{
    public static TimeSpan BucketWidthFor(TimeSpan period) => period <= TimeSpan.FromHours(48) ? TimeSpan.FromHours(1) : TimeSpan.FromDays(1);

    /// <summary>Summarizes the samples observed in [<paramref name="from"/>, <paramref name="to"/>); others are ignored.</summary>
    public static PullTimeReport Compute(IEnumerable<PullSample> samples, DateTimeOffset from, DateTimeOffset to, PullInsightOptions options)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(options);
        var inPeriod = samples.Where(s => s.At >= from && s.At < to).ToList();
        if (inPeriod.Count == 0)
        {
            return PullTimeReport.Empty with { BucketWidth = BucketWidthFor(to - from) };
        }

        var registries = inPeriod.GroupBy(s => s.Registry, StringComparer.Ordinal)
            .Select(g => Group(g.Key, g.ToList()))
            .OrderByDescending(g => g.Pulls).ThenBy(g => g.Key, StringComparer.Ordinal)
            .ToList();
        var byImage = inPeriod.GroupBy(s => s.Image, StringComparer.Ordinal).Select(g => (g.Key, Samples: g.ToList())).ToList();
        var images = byImage.Select(g => Group(g.Key, g.Samples)).ToList();
        var slowest = images.Where(g => g.P95Ms is not null)
            .OrderByDescending(g => g.P95Ms).ThenByDescending(g => g.Pulls).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Take(options.Top)
            .ToList();
        var mostPulled = images
            .OrderByDescending(g => g.Pulls).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Take(options.Top)
            .ToList();

        var width = BucketWidthFor(to - from);
        var buckets = inPeriod.Where(s => s.DurationMs is not null)
            .GroupBy(s => (s.Registry, Index: (s.At - from).Ticks / width.Ticks))
            .Select(g =>
            {
                var sorted = g.Select(s => s.DurationMs!.Value).Order().ToArray();
                return new PullTimeBucket(g.Key.Registry, from + TimeSpan.FromTicks(width.Ticks * g.Key.Index), sorted.Length,
                    DigestStatistics.Percentile(sorted, 50), DigestStatistics.Percentile(sorted, 95));
            })
            .OrderBy(b => b.Registry, StringComparer.Ordinal).ThenBy(b => b.Start)
            .ToList();

        var hints = byImage
            .Where(g => g.Samples.Count > options.CachingMinPulls)
            .Select(g =>
            {
                var pulls = g.Samples.Count;
                var size = g.Samples.Max(s => s.SizeBytes) ?? 0;
                var nodes = g.Samples.Where(s => s.Node is not null).Select(s => s.Node).Distinct(StringComparer.Ordinal).Count();
                return new CachingHint(g.Key, pulls, nodes, size, size * pulls);
            })
            .Where(h => h.Pulls > options.CachingMinPulls && h.SizeBytes > options.CachingMinBytes)
            .OrderByDescending(h => h.BytesPulled).ThenBy(h => h.Image, StringComparer.Ordinal)
            .ToList();

        return new PullTimeReport(
            inPeriod.Count,
            inPeriod.Count(s => s.DurationMs is not null),
            registries,
            slowest,
            mostPulled,
            width,
            buckets,
            hints);
    }

    private static PullTimeGroup Group(string key, List<PullSample> samples)
    {
        var timed = samples.Where(s => s.DurationMs is not null).Select(s => s.DurationMs!.Value).Order().ToArray();
        var size = samples.Max(s => s.SizeBytes);
        return timed.Length == 0
            ? new PullTimeGroup(key, samples.Count, 0, null, null, null, size)
            : new PullTimeGroup(key, samples.Count, timed.Length, DigestStatistics.Percentile(timed, 50), DigestStatistics.Percentile(timed, 95), timed[^1], size);
    }
}
