using ChatOpsPull.Digest;
using ChatOpsPull.Storage;
using ChatOpsPull.Tests.Slack.FakeSlack;
using ChatOpsPull.Tests.Storage;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ChatOpsPull.Chat.Digest;

namespace ChatOpsPull.Tests.Digest;

/// <summary>The recurring job itself, run by the host's Hangfire server: it posts the digest of the period that ends at its last occurrence.</summary>
public sealed class DigestJobTests
{
    [Fact]
    public async Task Triggered_recurring_job_posts_the_digest_for_the_period_ending_at_its_last_occurrence()
    {
        await using var slack = await FakeSlackServer.StartAsync();
        using var storage = TestStorage.Sqlite();
        await using var host = DigestHosts.Start(
            storage,
            DigestHosts.Merge(
                new()
                {
                    ["Slack:SigningSecret"] = "e3b0c44298fc1c149afbf4c8996fb924",
                    ["Slack:BotToken"] = FakeSlackServer.BotToken,
                    ["Slack:ApiBaseUrl"] = slack.ApiUrl.ToString(),
                    ["Outbox:MessageInterval"] = "00:00:00.050",
                    ["Outbox:PollInterval"] = "00:00:00.200",
                },
                DigestHosts.Schedule(0, "Slack", "C0JOB", cron: "0 9 * * *", zone: "Europe/Berlin", period: "7d")),
            DigestHosts.WithoutCluster());
        var schedule = host.Services.GetRequiredService<IOptionsMonitor<DigestOptions>>().CurrentValue.Schedules[0];
        var occurrence = schedule.LastOccurrence(DateTimeOffset.UtcNow)!.Value;
        Assert.Equal(9, TimeZoneInfo.ConvertTime(occurrence, schedule.Zone).Hour);
        await new DigestSeed(occurrence).WriteAsync(host.Services.GetRequiredService<BotDatabase>());

        host.Services.GetRequiredService<IRecurringJobManager>().Trigger(schedule.Id);

        await slack.WaitUntilAsync(calls => calls.Any(c => c.Method == "chat.postMessage" && c.Ok), TimeSpan.FromSeconds(60), "the scheduled digest");
        var runs = await host.Services.GetRequiredService<DigestRuns>().ListAsync(schedule.Id, CancellationToken.None);
        var run = Assert.Single(runs);
        Assert.Equal((occurrence, occurrence.AddDays(-7)), (run.To, run.From));
        Assert.Equal("digest:slack:C0JOB:" + occurrence.UtcDateTime.ToString("yyyyMMdd'T'HHmm'Z'", System.Globalization.CultureInfo.InvariantCulture), run.CardKey);
        var post = Assert.Single(slack.CallsTo("chat.postMessage"), c => c.Ok);
        Assert.Equal("C0JOB", post.Channel);
        Assert.Contains("Pull digest: prod-eu, last 7 days", post.Body["text"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}
