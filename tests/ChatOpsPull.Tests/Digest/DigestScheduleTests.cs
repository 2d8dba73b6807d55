using ChatOpsPull.Digest;
using ChatOpsPull.Tests.Storage;
using Cronos;
using Hangfire;
using Hangfire.Common;
using Hangfire.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ChatOpsPull.Chat.Digest;

namespace ChatOpsPull.Tests.Digest;

/// <summary>Recurring digest jobs as Hangfire stores them: cron, time zone, next execution, removal.</summary>
public sealed class DigestScheduleTests
{
    private static readonly TimeZoneInfo Berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");

    private static List<RecurringJobDto> RecurringJobs(BotTestHost host)
    {
        using var connection = host.Services.GetRequiredService<JobStorage>().GetConnection();
        return connection.GetRecurringJobs();
    }

    [Fact]
    public async Task Each_configured_channel_gets_a_recurring_job_with_its_cron_and_time_zone()
    {
        using var storage = TestStorage.Sqlite();
        await using var host = DigestHosts.Start(
            storage,
            DigestHosts.Merge(
                DigestHosts.Schedule(0, "Slack", "C0BERLIN", cron: "0 9 * * *", zone: "Europe/Berlin", period: "24h"),
                DigestHosts.Schedule(1, "Teams", "19:ops@thread.tacv2", cron: "30 8 * * 1-5", zone: "America/New_York")),
            DigestHosts.WithoutCluster());

        var jobs = RecurringJobs(host);
        var berlin = Assert.Single(jobs, j => j.Id == "digest:slack:C0BERLIN");
        Assert.Equal(("0 9 * * *", "Europe/Berlin"), (berlin.Cron, berlin.TimeZoneId));
        Assert.Equal(nameof(DigestJob.RunAsync), berlin.Job.Method.Name);
        Assert.Equal("digest:slack:C0BERLIN", berlin.Job.Args[0]);
        var expected = CronExpression.Parse("0 9 * * *").GetNextOccurrence(DateTime.UtcNow.AddMinutes(-1), Berlin);
        Assert.Equal(expected, berlin.NextExecution);

        var teams = Assert.Single(jobs, j => j.Id == "digest:teams:19:ops@thread.tacv2");
        Assert.Equal(("30 8 * * 1-5", "America/New_York"), (teams.Cron, teams.TimeZoneId));
        Assert.Contains(jobs, j => j.Id == "diagnosis-sweep");
    }

    /// <summary>Europe/Berlin moves to CEST on 2026-03-29 and back to CET on 2026-10-25: 09:00 local is 08:00 UTC in winter, 07:00 UTC in summer.</summary>
    [Theory]
    [InlineData("2026-03-27T12:00:00Z", "2026-03-28T08:00:00Z")]
    [InlineData("2026-03-28T12:00:00Z", "2026-03-29T07:00:00Z")]
    [InlineData("2026-10-23T12:00:00Z", "2026-10-24T07:00:00Z")]
    [InlineData("2026-10-24T12:00:00Z", "2026-10-25T08:00:00Z")]
    public async Task Next_execution_follows_daylight_saving_in_the_schedule_time_zone(string now, string next)
    {
        var at = DateTime.Parse(now, null, System.Globalization.DateTimeStyles.AdjustToUniversal);
        var expected = DateTime.Parse(next, null, System.Globalization.DateTimeStyles.AdjustToUniversal);
        Assert.Equal(expected, CronExpression.Parse("0 9 * * *").GetNextOccurrence(at, Berlin));

        using var storage = TestStorage.Sqlite();
        await using var host = DigestHosts.Start(
            storage,
            DigestHosts.Merge(DigestHosts.Schedule(0, "Slack", "C0BERLIN", cron: "0 9 * * *", zone: "Europe/Berlin", period: "24h")),
            DigestHosts.WithoutCluster());
        var jobStorage = host.Services.GetRequiredService<JobStorage>();
        var manager = new RecurringJobManager(jobStorage, JobFilterProviders.Providers, new DefaultTimeZoneResolver(), () => at);
        manager.RemoveIfExists("digest:slack:C0BERLIN");
        var registration = new DigestRecurringJobs(manager, jobStorage, host.Services.GetRequiredService<IOptionsMonitor<DigestOptions>>(), NullLogger<DigestRecurringJobs>.Instance);

        registration.Synchronize();

        var job = Assert.Single(RecurringJobs(host), j => j.Id == "digest:slack:C0BERLIN");
        Assert.Equal(expected, job.NextExecution);
        Assert.Equal("Europe/Berlin", job.TimeZoneId);
    }

    [Fact]
    public async Task A_schedule_removed_from_configuration_loses_its_recurring_job()
    {
        using var storage = TestStorage.Sqlite();
        await using (var first = DigestHosts.Start(
            storage,
            DigestHosts.Merge(DigestHosts.Schedule(0, "Slack", "C0KEEP"), DigestHosts.Schedule(1, "Slack", "C0DROP")),
            DigestHosts.WithoutCluster()))
        {
            Assert.Equal(2, RecurringJobs(first).Count(j => j.Id.StartsWith("digest:", StringComparison.Ordinal)));
        }

        await using var second = DigestHosts.Start(TestStorage.SqliteIn(storage.DataDirectory), DigestHosts.Merge(DigestHosts.Schedule(0, "Slack", "C0KEEP")), DigestHosts.WithoutCluster());

        var jobs = RecurringJobs(second);
        Assert.Contains(jobs, j => j.Id == "digest:slack:C0KEEP");
        Assert.DoesNotContain(jobs, j => j.Id == "digest:slack:C0DROP");
        Assert.Contains(jobs, j => j.Id == "diagnosis-sweep");
    }

    /// <summary>
    /// The same binding and validation AddDigest registers (ValidateDataAnnotations + ValidateOnStart), without starting a
    /// host: a host that fails to start would leave Hangfire's process-wide log provider pointing at its disposed logger factory.
    /// </summary>
    private static string ValidationError(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddOptions<DigestOptions>().Bind(configuration.GetSection(DigestOptions.Section)).ValidateDataAnnotations();
        using var provider = services.BuildServiceProvider();
        return Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<DigestOptions>>().Value).Message;
    }

    [Theory]
    [InlineData("Cron", "0 25 * * *", "Digest:Schedules:0:Cron \"0 25 * * *\" is not a valid cron expression")]
    [InlineData("Cron", "0 9 * *", "must have five fields")]
    [InlineData("TimeZone", "Mars/Olympus_Mons", "Digest:Schedules:0:TimeZone \"Mars/Olympus_Mons\" is not a time zone this machine knows")]
    [InlineData("Period", "soon", "Digest:Schedules:0:Period \"soon\" is not a period")]
    [InlineData("Channel", "", "Digest:Schedules:0:Channel must be the channel id")]
    public void Bad_schedule_is_refused_with_a_sentence(string key, string value, string sentence)
    {
        var settings = DigestHosts.Merge(DigestHosts.Schedule(0, "Slack", "C0BAD"), new() { [$"Digest:Schedules:{0}:{key}"] = value });

        Assert.Contains(sentence, ValidationError(settings), StringComparison.Ordinal);
    }

    [Fact]
    public void Two_schedules_for_one_channel_are_refused()
    {
        var settings = DigestHosts.Merge(DigestHosts.Schedule(0, "Slack", "C0SAME"), DigestHosts.Schedule(1, "Slack", "C0SAME", cron: "0 17 * * *"));

        Assert.Contains("channel C0SAME already has a digest schedule", ValidationError(settings), StringComparison.Ordinal);
    }

    [Fact]
    public void A_valid_schedule_passes()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(DigestHosts.Merge(DigestHosts.Schedule(0, "Slack", "C0OK"))).Build();
        var services = new ServiceCollection();
        services.AddOptions<DigestOptions>().Bind(configuration.GetSection(DigestOptions.Section)).ValidateDataAnnotations();
        using var provider = services.BuildServiceProvider();

        var schedule = Assert.Single(provider.GetRequiredService<IOptions<DigestOptions>>().Value.Schedules);
        Assert.Equal(("digest:slack:C0OK", "Europe/Berlin", "prod-eu"), (schedule.Id, schedule.Zone.Id, schedule.Scope));
    }
}
