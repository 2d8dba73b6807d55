namespace ChatOpsPull.Core.Digest;

/// <summary>
/// The few statistics a digest needs, defined once so every number on a card means the same thing.
/// <list type="bullet">
/// <item>Percentiles use the nearest-rank method: the p-th percentile of n sorted values is the value at rank
/// ceil(p/100 × n) (1-based). It is always one of the observed values: "p95 = 41 s" means some pull really took 41 s.</item>
/// <item>The median of an even count is the mean of the two middle values (what people expect of "median").</item>
/// </list>
/// </summary>
public static class DigestStatistics
{
    /// <summary>Nearest-rank percentile of values already sorted ascending. <paramref name="percent"/> in (0, 100].</summary>
    public static long Percentile(IReadOnlyList<long> sorted, double percent)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        if (sorted.Count == 0)
        {
            throw new ArgumentException("no values", nameof(sorted));
        }

        if (percent is <= 0 or > 100 || double.IsNaN(percent))
        {
            throw new ArgumentOutOfRangeException(nameof(percent), percent, "a percentile is in (0, 100]");
        }

        var rank = (int)Math.Ceiling(percent / 100.0 * sorted.Count);
        return sorted[Math.Clamp(rank, 1, sorted.Count) - 1];
    }

    /// <summary>Median of values already sorted ascending (mean of the middle two for an even count).</summary>
    public static double Median(IReadOnlyList<long> sorted)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        if (sorted.Count == 0)
        {
            throw new ArgumentException("no values", nameof(sorted));
        }

        var middle = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + (double)sorted[middle]) / 2;
    }

    /// <summary>Median of durations (any order).</summary>
    public static TimeSpan Median(IEnumerable<TimeSpan> durations)
    {
        var ticks = durations.Select(d => d.Ticks).Order().ToArray();
        return TimeSpan.FromTicks((long)Math.Round(Median(ticks)));
    }
}
