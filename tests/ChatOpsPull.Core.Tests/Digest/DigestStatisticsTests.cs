using ChatOpsPull.Core.Digest;

namespace ChatOpsPull.Core.Tests.Digest;

public class DigestStatisticsTests
{
    private static readonly long[] OneToTen = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

    [Theory]
    [InlineData(50, 5)]
    [InlineData(95, 10)]
    [InlineData(90, 9)]
    [InlineData(10, 1)]
    [InlineData(100, 10)]
    [InlineData(1, 1)]
    public void Percentile_is_the_nearest_rank_value(double percent, long expected) =>
        Assert.Equal(expected, DigestStatistics.Percentile(OneToTen, percent));

    [Fact]
    public void Percentile_of_one_value_is_that_value() =>
        Assert.Equal(42, DigestStatistics.Percentile([42], 95));

    [Fact]
    public void Percentile_refuses_empty_input_and_out_of_range_percent()
    {
        Assert.Throws<ArgumentException>(() => DigestStatistics.Percentile([], 50));
        Assert.Throws<ArgumentOutOfRangeException>(() => DigestStatistics.Percentile(OneToTen, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => DigestStatistics.Percentile(OneToTen, 101));
    }

    [Fact]
    public void Median_of_even_count_is_the_mean_of_the_middle_two()
    {
        Assert.Equal(5.5, DigestStatistics.Median(OneToTen));
        Assert.Equal(3, DigestStatistics.Median([1, 3, 100]));
    }

    [Fact]
    public void Median_of_durations_ignores_order() =>
        Assert.Equal(TimeSpan.FromMinutes(15), DigestStatistics.Median([TimeSpan.FromMinutes(20), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(10), TimeSpan.FromHours(3)]));
}

public class DigestPeriodTests
{
    [Theory]
    [InlineData("24h", 24 * 60, "24 h")]
    [InlineData("7d", 7 * 24 * 60, "7 days")]
    [InlineData("1d", 24 * 60, "day")]
    [InlineData("2w", 14 * 24 * 60, "2 weeks")]
    [InlineData("90m", 90, "90 min")]
    [InlineData(" 12H ", 12 * 60, "12 h")]
    public void Parses_whole_units(string text, int minutes, string described)
    {
        Assert.True(DigestPeriod.TryParse(text, out var period, out var error), error);
        Assert.Equal(TimeSpan.FromMinutes(minutes), period.Length);
        Assert.Equal(described, period.Describe());
    }

    [Theory]
    [InlineData("")]
    [InlineData("h")]
    [InlineData("24")]
    [InlineData("1.5h")]
    [InlineData("-1d")]
    [InlineData("0h")]
    [InlineData("5m")]
    [InlineData("100d")]
    [InlineData("24x")]
    public void Refuses_anything_else_with_a_sentence(string text)
    {
        Assert.False(DigestPeriod.TryParse(text, out _, out var error));
        Assert.EndsWith(".", error);
        Assert.Contains(text.Trim().Length == 0 ? "\"\"" : text, error, StringComparison.Ordinal);
    }
}
