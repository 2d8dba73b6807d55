using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Chat.Slack.BlockKit;
using ChatOpsPull.Chat.Teams.Cards;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Digest;
using ChatOpsPull.Storage;
using ChatOpsPull.Tests.Slack.FakeSlack;
using ChatOpsPull.Tests.Storage;
using ChatOpsPull.Chat;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Extensions.Options;
using ChatOpsPull.Chat.Digest;

namespace ChatOpsPull.Tests.Digest;

/// <summary>The digest of a seeded week, number by number (the same on SQLite and PostgreSQL).</summary>
public abstract class DigestContentTests
{
    /// <summary>Monday 09:00 in Berlin (CET, UTC+1).</summary>
    protected static readonly DateTimeOffset To = new(2026, 3, 23, 8, 0, 0, TimeSpan.Zero);

    protected abstract Task<TestStorage> StorageAsync();

    private static async Task<(BotTestHost Host, DigestSchedule Schedule)> SeededAsync(TestStorage storage, string ns = "*", Dictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        var approvals = new ListedApprovals();
        approvals.Requests.Add(ListedApprovals.Pending("apr-wait", "inc-d1", "shop", To.AddHours(-20), To.AddHours(4)));
        approvals.Requests.Add(ListedApprovals.Pending("apr-staging", "inc-g1", "shop", To.AddHours(-2), To.AddHours(20)));
        approvals.Requests.Add(ListedApprovals.Pending("apr-expired", "inc-d1", "shop", To.AddDays(-3), To.AddDays(-2)));
        var host = DigestHosts.Start(
            storage,
            DigestHosts.Merge(DigestHosts.Schedule(0, "Slack", "C0DIGEST", ns: ns), settings ?? []),
            DigestHosts.WithoutCluster(approvals, s =>
            {
                s.AddSingleton<TimeProvider>(new FakeTimeProvider(To));
                services?.Invoke(s);
            }));
        await new DigestSeed(To).WriteAsync(host.Services.GetRequiredService<BotDatabase>());
        var schedule = host.Services.GetRequiredService<IOptionsMonitor<DigestOptions>>().CurrentValue.Schedules[0];
        return (host, schedule);
    }

    [Fact]
    public async Task Seeded_week_gives_exact_incident_numbers()
    {
        using var storage = await StorageAsync();
        var (host, schedule) = await SeededAsync(storage);
        await using var _ = host;

        var report = await host.Services.GetRequiredService<DigestBuilder>().BuildAsync(schedule, To, CancellationToken.None);

        var incidents = report.Incidents;
        Assert.Equal((5, 4, 1), (incidents.Opened, incidents.Resolved, incidents.Failed));
        Assert.Equal(["inc-d1", "inc-e1"], incidents.StillOpen.Select(i => i.Id));
        Assert.Equal(TimeSpan.FromMinutes(105), incidents.MedianTimeToResolve);
        Assert.Equal("inc-c1", incidents.WorstResolved!.Id);
        Assert.Equal(TimeSpan.FromHours(49), incidents.WorstTimeToResolve);
        Assert.Equal(
            [("ghcr.io/acme/api:1.4.3", 3, 9), ("registry.example.com/shop/worker:2.0.0", 1, 5), ("quay.io/x/proxy:1.0.0", 1, 2), ("docker.io/library/nginx:1.99", 1, 1), ("docker.io/library/redis:7", 1, 1)],
            incidents.TopImages.Select(c => (c.Key, c.Incidents, c.Pods)));
        Assert.Equal(
            [(PullCause.AuthFailed, 3), (PullCause.Network, 1), (PullCause.Tls, 1), (PullCause.ImageNotFound, 1), (PullCause.RateLimited, 1)],
            incidents.Causes.Select(c => (c.Key, c.Incidents)));
        Assert.Equal(["apr-wait"], report.WaitingApprovals.Select(a => a.Id));
        Assert.Equal([("incident.snoozed", 2), ("approval.approved", 1)], report.Actions.Select(a => (a.Action, a.Done)));
    }

    [Fact]
    public async Task Seeded_week_gives_exact_pull_times_and_one_caching_hint()
    {
        using var storage = await StorageAsync();
        var (host, schedule) = await SeededAsync(storage);
        await using var _ = host;

        var report = await host.Services.GetRequiredService<DigestBuilder>().BuildAsync(schedule, To, CancellationToken.None);

        var pulls = report.Pulls;
        Assert.Equal((91, 90), (pulls.Pulls, pulls.TimedPulls));
        Assert.Equal(
            [("docker.io", 70, 70, 1800L, 2800L), ("ghcr.io", 20, 20, 41000L, 50000L), ("registry.example.com", 1, 0, -1L, -1L)],
            pulls.Registries.Select(r => (r.Key, r.Pulls, r.TimedPulls, r.P50Ms ?? -1, r.P95Ms ?? -1)));
        Assert.Equal(TimeSpan.FromDays(1), pulls.BucketWidth);
        Assert.Equal(7, pulls.Buckets.Count(b => b.Registry == "docker.io"));
        Assert.Equal(70, pulls.Buckets.Where(b => b.Registry == "docker.io").Sum(b => b.Pulls));
        var hint = Assert.Single(pulls.CachingHints);
        Assert.Equal(("ghcr.io/acme/ml-model:3.0.0", 12, 3, 900_000_000L), (hint.Image, hint.Pulls, hint.Nodes, hint.SizeBytes));
        Assert.Equal("ghcr.io/acme/ml-model:3.0.0", pulls.SlowestImages[0].Key);
        Assert.Equal(51_000, pulls.SlowestImages[0].P95Ms);
    }

    [Fact]
    public async Task Card_has_each_section_with_something_to_say_and_fits_Slack_and_Teams()
    {
        using var storage = await StorageAsync();
        var (host, schedule) = await SeededAsync(storage);
        await using var _ = host;

        var report = await host.Services.GetRequiredService<DigestBuilder>().BuildAsync(schedule, To, CancellationToken.None);
        var card = DigestCardBuilder.Build(report, 5);

        Assert.Equal("digest:slack:C0DIGEST:20260323T0800Z", card.Key);
        Assert.Equal("Pull digest: prod-eu, last 7 days", card.Title);
        Assert.Equal(CardTone.Bad, card.Tone);
        Assert.Equal(
            ["Incidents", "Still open", "Top failing images", "Approvals waiting", "Pull times (p50 / p95)", "Caching", "Actions (audit log)"],
            card.Sections.Select(s => s.Heading));
        Assert.Contains("Mon 16 Mar 09:00 – Mon 23 Mar 09:00 (Europe/Berlin)", card.Facts.Select(f => f.Value));
        var incidents = card.Sections.Single(s => s.Heading == "Incidents").Text;
        Assert.Contains("*5* opened, *4* resolved, *1* given up.", incidents, StringComparison.Ordinal);
        Assert.Contains("median 1 h 45 min, worst 2 d 1 h (`inc-c1` shop/deployment/worker)", incidents, StringComparison.Ordinal);
        Assert.Contains(card.Sections.Single(s => s.Heading == "Caching").Lines, l => l.Text.Contains("pulled 12 times on 3 nodes, 10.8 GB in all: pre-pull with a DaemonSet or use a registry mirror.", StringComparison.Ordinal));
        Assert.Contains(card.Sections.Single(s => s.Heading == "Pull times (p50 / p95)").Lines, l => l.Text == "*docker.io*: 70 pulls, p50 1.8 s, p95 2.8 s");

        var slack = BlockKitRenderer.Render(card);
        Assert.Empty(BlockKitRules.Check(slack.ToJson()));
        var teams = AdaptiveCardRenderer.Render(card, CardView.Everyone);
        Assert.True(AdaptiveCardRenderer.Utf16Bytes(teams) <= AdaptiveCardRenderer.MaxCardUtf16Bytes);
    }

    [Fact]
    public async Task A_scope_with_nothing_to_say_is_one_line()
    {
        using var storage = await StorageAsync();
        var (host, schedule) = await SeededAsync(storage, ns: "quiet");
        await using var _ = host;

        var report = await host.Services.GetRequiredService<DigestBuilder>().BuildAsync(schedule, To, CancellationToken.None);
        var card = DigestCardBuilder.Build(report, 5);

        Assert.True(report.IsEmpty);
        Assert.Equal("Nothing to report for prod-eu, namespace quiet in the last 7 days: no pull failures, no waiting approvals.", card.Title);
        Assert.Empty(card.Sections);
        Assert.Empty(card.Facts);
        Assert.Null(DigestChart.RenderPng(report, 900, 420));
    }

    [Fact]
    public async Task Charts_older_than_the_retention_are_deleted_and_forgotten()
    {
        using var storage = await StorageAsync();
        var time = new FakeTimeProvider(To);
        var surface = new RecordingSurface(ChatPlatform.Slack);
        var (host, schedule) = await SeededAsync(storage, settings: new() { ["Digest:ChartRetention"] = "01:00:00" }, services: s =>
        {
            s.AddSingleton<TimeProvider>(time);
            s.RemoveAll<IChatSurface>();
            s.AddSingleton<IChatSurface>(surface);
        });
        await using var _ = host;
        var publisher = host.Services.GetRequiredService<DigestPublisher>();

        var first = await publisher.PublishAsync(schedule, To, CancellationToken.None);
        Assert.True(File.Exists(first.ChartFile));
        time.Advance(TimeSpan.FromHours(2));
        var second = await publisher.PublishAsync(schedule, To.AddHours(2), CancellationToken.None);

        Assert.False(File.Exists(first.ChartFile));
        Assert.True(File.Exists(second.ChartFile));
        var runs = await host.Services.GetRequiredService<DigestRuns>().ListAsync(schedule.Id, CancellationToken.None);
        Assert.Equal([Path.GetFileName(second.ChartFile), null], runs.Select(r => r.ChartFile));
        Assert.Equal(2, surface.Published.Count);
    }

    [Fact]
    public async Task Chart_is_a_png_of_the_asked_size()
    {
        using var storage = await StorageAsync();
        var (host, schedule) = await SeededAsync(storage);
        await using var _ = host;

        var report = await host.Services.GetRequiredService<DigestBuilder>().BuildAsync(schedule, To, CancellationToken.None);
        var path = await host.Services.GetRequiredService<DigestChart>().SaveAsync(report, DigestChart.SlackWidth, DigestChart.SlackHeight, CancellationToken.None);

        Assert.NotNull(path);
        Assert.StartsWith(Path.Combine(storage.DataDirectory, DigestChart.DirectoryName), path, StringComparison.Ordinal);
        Assert.True(DigestChart.IsChartFileName(Path.GetFileName(path)));
        var bytes = await File.ReadAllBytesAsync(path);
        Assert.Equal((900, 420), Png.Size(bytes));
        Assert.InRange(bytes.Length, 8_000, 400_000);
    }
}

public sealed class DigestContentSqliteTests : DigestContentTests
{
    protected override Task<TestStorage> StorageAsync() => Task.FromResult(TestStorage.Sqlite());
}

[Collection(UsesPostgres.Name)]
public sealed class DigestContentPostgresTests(PostgresFixture postgres) : DigestContentTests
{
    protected override Task<TestStorage> StorageAsync() => TestStorage.PostgresAsync(postgres);
}
