using ChatOpsPull.Digest;

namespace ChatOpsPull.Tests.Digest;

/// <summary>The fast reader of pull_events.observed_at agrees with the general parser, and falls back to it.</summary>
public sealed class PullEventTimeTests
{
    [Theory]
    [InlineData("2026-03-23T08:00:00.000Z")]
    [InlineData("2026-12-31T23:59:59.999Z")]
    [InlineData("2028-02-29T12:34:56.789Z")]
    public void Watcher_timestamps_read_exactly_as_the_general_parser_reads_them(string text)
    {
        var expected = DateTimeOffset.Parse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal | System.Globalization.DateTimeStyles.AdjustToUniversal);

        var read = DigestDataReader.ParseObservedAt(text);

        Assert.Equal(expected, read);
        Assert.Equal(TimeSpan.Zero, read.Offset);
    }

    [Fact]
    public void Other_iso_forms_fall_back_to_the_general_parser()
    {
        Assert.Equal(new DateTimeOffset(2026, 3, 23, 6, 0, 0, TimeSpan.Zero), DigestDataReader.ParseObservedAt("2026-03-23T08:00:00+02:00"));
    }

    [Fact]
    public void An_impossible_date_in_the_fast_shape_is_refused_not_misread()
    {
        Assert.Throws<FormatException>(() => DigestDataReader.ParseObservedAt("2026-02-30T08:00:00.000Z"));
    }
}
