using ChatOpsPull.Chat.Outbox;

namespace ChatOpsPull.Tests.Outbox;

/// <summary>
/// The outbox purges delivered rows one interval after start and then every interval. (Before, the first purge was
/// "the last purge was at long.MinValue", and now minus that overflowed to a negative number: the purge never ran, so
/// delivered rows and their once keys were never removed.)
/// </summary>
public sealed class PurgeScheduleTests
{
    private static readonly long Start = DateTimeOffset.Parse("2026-12-07T03:00:00Z", System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds();
    private static readonly long IntervalMs = (long)PurgeSchedule.Interval.TotalMilliseconds;

    [Fact]
    public void A_fresh_start_does_not_purge_at_once_so_news_owed_through_a_long_outage_is_retold_while_the_delivered_lines_keys_remain()
    {
        var schedule = new PurgeSchedule(Start);

        Assert.False(schedule.Due(Start));
        Assert.False(schedule.Due(Start + IntervalMs - 1));
    }

    [Fact]
    public void A_running_outbox_purges_one_interval_after_start_and_then_every_interval()
    {
        var schedule = new PurgeSchedule(Start);

        Assert.True(schedule.Due(Start + IntervalMs));
        schedule.Purged(Start + IntervalMs);
        Assert.False(schedule.Due(Start + IntervalMs + 1));
        Assert.True(schedule.Due(Start + (2 * IntervalMs)));
    }
}
