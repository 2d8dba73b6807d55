using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Incidents;
using ChatOpsPull.Incidents.Engine;
using ChatOpsPull.Storage;
using ChatOpsPull.Tests.Infrastructure;
using ChatOpsPull.Tests.Slack.FakeSlack;
using ChatOpsPull.Tests.Storage;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace ChatOpsPull.Tests.Incidents;

/// <summary>
/// News stored and not told — the host died between the commit and the card — is owed in the store and told again by the
/// next host, once, to the same card; silent writes and silenced incidents owe nothing that is ever told.
/// </summary>
[Collection(UsesPostgres.Name)]
public sealed class NewsRetellTests(PostgresFixture postgres)
{
    private const string Channel = "C0RETELL";
    private static readonly TimeSpan PastGrace = TimeSpan.FromSeconds(31);

    /// <summary>The diagnosis the crash tests store.</summary>
    private const string Summary = "tag 9.9.9 is not in registry.example.com/shop/api";

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_host_that_dies_after_storing_a_diagnosis_and_before_its_card_leaves_it_owed_and_the_next_host_updates_the_same_card_once(DatabaseProvider provider)
    {
        await using var slack = await StartSlackAsync();
        using var storage = await Engines.StorageAsync(provider, postgres);

        // The first host: its card publisher is never told the diagnosis (a notifier before it hangs, as a host that
        // dies there), then it stops.
        var (incidentId, cardTs) = await DieTellingADiagnosisAsync(storage, slack, Summary, hangBeforeTheCard: true);

        Assert.DoesNotContain(Summary, CardText(slack, cardTs), StringComparison.Ordinal);
        Assert.Equal(1, await OwedCountAsync(storage, incidentId));

        // The next host on the same database tells it from the store: the same card, updated in place, once.
        await using var second = SlackHost(storage.Replica(), slack);
        await Eventually.HoldsAsync(
            () => CardText(slack, cardTs).Contains(Summary, StringComparison.Ordinal),
            "the card to say the diagnosis",
            TimeSpan.FromSeconds(60),
            () => CardText(slack, cardTs));
        await Eventually.ValueAsync(() => OwedCountAsync(storage, incidentId), n => n == 0, "the news to be marked told", TimeSpan.FromSeconds(30));
        await Task.Delay(TimeSpan.FromSeconds(2.5)); // two more sweeps of the 1 s grace: nothing is told again

        var cardPosts = slack.CallsTo("chat.postMessage").Where(c => c.Ok && c.Body["thread_ts"] is null).ToList();
        Assert.Single(cardPosts);
        Assert.Single(slack.CallsTo("chat.update"), c => c.Ok && c.Body["ts"]?.GetValue<string>() == cardTs);
        Assert.Single(slack.CallsTo("chat.postMessage"), c => c.Ok && c.Body["thread_ts"]?.GetValue<string>() == cardTs && (c.Body["text"]?.GetValue<string>() ?? string.Empty).Contains(Summary, StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_host_killed_after_queueing_a_diagnosis_line_and_before_marking_it_told_leaves_the_next_host_nothing_to_post_again(DatabaseProvider provider)
    {
        await using var slack = await StartSlackAsync();
        using var storage = await Engines.StorageAsync(provider, postgres);

        // Told after the card publisher: the card's update and the thread line are in the outbox, then the telling never
        // ends (the news is never marked told) and the host stops.
        var (incidentId, cardTs) = await DieTellingADiagnosisAsync(storage, slack, Summary, hangBeforeTheCard: false);

        Assert.Equal(1, await OwedCountAsync(storage, incidentId));

        await using var second = SlackHost(storage.Replica(), slack);
        await Eventually.ValueAsync(() => OwedCountAsync(storage, incidentId), n => n == 0, "the news to be retold and marked told", TimeSpan.FromSeconds(60));
        await Eventually.HoldsAsync(() => SummaryLines(slack, cardTs, Summary) > 0, "the thread to say the diagnosis", TimeSpan.FromSeconds(30));
        await Task.Delay(TimeSpan.FromSeconds(2.5)); // the outbox sends what the retell queued, and two more sweeps run

        Assert.Contains(Summary, CardText(slack, cardTs), StringComparison.Ordinal);
        Assert.Single(slack.CallsTo("chat.postMessage"), c => c.Ok && c.Body["thread_ts"] is null);
        Assert.Equal(1, SummaryLines(slack, cardTs, Summary));
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_host_killed_after_its_diagnosis_line_was_delivered_and_every_host_down_longer_than_the_outbox_keeps_delivered_lines_leaves_nothing_to_post_again(DatabaseProvider provider)
    {
        await using var slack = await StartSlackAsync();
        using var storage = await Engines.StorageAsync(provider, postgres);

        // The line is delivered, the news is never marked told, and the host dies.
        var (incidentId, cardTs) = await DieTellingADiagnosisAsync(storage, slack, Summary, hangBeforeTheCard: false, dieOnceTheLineIsDelivered: true);
        Assert.Equal(1, SummaryLines(slack, cardTs, Summary));
        Assert.Equal(1, await OwedCountAsync(storage, incidentId));

        // Every host stays down two days, longer than Outbox:KeepDelivered (one day): the delivered rows are that old.
        await using (var database = await storage.OpenMigratedAsync())
        await using (var connection = await database.OpenAsync())
        {
            var twoDays = (long)TimeSpan.FromDays(2).TotalMilliseconds;
            Assert.True(await connection.ExecuteAsync("UPDATE chat_outbox SET updated_at = updated_at - @twoDays WHERE state = 'delivered'", new { twoDays }) > 0);
        }

        // The next host retells the news before its outbox purges the delivered line's key: the line is not posted again.
        await using var second = SlackHost(storage.Replica(), slack);
        await Eventually.ValueAsync(() => OwedCountAsync(storage, incidentId), n => n == 0, "the news to be retold and marked told", TimeSpan.FromSeconds(60));
        await Task.Delay(TimeSpan.FromSeconds(2.5)); // the outbox sends what the retell queued, and two more sweeps run

        Assert.Equal(1, SummaryLines(slack, cardTs, Summary));
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task News_owed_keeps_the_version_that_made_its_weightiest_change_so_a_retell_has_the_key_of_the_first_telling(DatabaseProvider provider)
    {
        using var storage = await Engines.StorageAsync(provider, postgres);
        await using var database = await storage.OpenMigratedAsync(IncidentSchema.Incidents, IncidentSchema.NewsOwed, IncidentSchema.AnnouncementsOwed, IncidentSchema.NewsOwedChangeVersion);

        // Diagnosed at version 3, then pods changed at 4 and 5 (lighter news owed on top), each in its own write.
        await OweAsync(database, new OwedNews("inc-kept", 3, IncidentChange.Diagnosed, "found", false, Failures.Start) { ChangeVersion = 3 });
        await OweAsync(database, new OwedNews("inc-kept", 4, IncidentChange.PodsChanged, "api-2 joined", false, Failures.Start) { ChangeVersion = 4 });
        await OweAsync(database, new OwedNews("inc-kept", 5, IncidentChange.PodsChanged, "api-3 joined", false, Failures.Start) { ChangeVersion = 5 });
        await OweAsync(database, new OwedNews("inc-pods", 7, IncidentChange.PodsChanged, "api-4 joined", false, Failures.Start) { ChangeVersion = 7 });
        await OweAsync(database, new OwedNews("inc-pods", 8, IncidentChange.PodsChanged, "api-5 joined", false, Failures.Start) { ChangeVersion = 8 });

        await using (var connection = await database.OpenAsync())
        {
            var rows = (await connection.QueryAsync<(string Id, long Version, string Change, string? Detail, long ChangeVersion)>(
                "SELECT incident_id, version, change, detail, change_version FROM incident_news_owed")).ToDictionary(r => r.Id);
            Assert.Equal((5L, "Diagnosed", "found", 3L), (rows["inc-kept"].Version, rows["inc-kept"].Change, rows["inc-kept"].Detail, rows["inc-kept"].ChangeVersion));
            Assert.Equal((8L, "PodsChanged", 8L), (rows["inc-pods"].Version, rows["inc-pods"].Change, rows["inc-pods"].ChangeVersion));
        }

        // In one write the same: the diagnosis keeps its version under the pods changes owed after it.
        var incident = new Incident("inc-1", new IncidentKey("prod", "shop", "deployment/api", PullCause.ImageNotFound), "img", IncidentState.Open, Failures.Start, Failures.Start, [], 3);
        var merged = Assert.Single(AfterCommit.Owed(
            [
                new IncidentNotice(incident with { Version = 3 }, IncidentChange.Diagnosed, "found", false, false),
                new IncidentNotice(incident with { Version = 4 }, IncidentChange.PodsChanged, "api-2 joined", false, false),
            ],
            Failures.Start));
        Assert.Equal((4, (int?)3), (merged.Version, merged.ChangeVersion));
        Assert.Equal(IncidentNewsKeys.Of("inc-1", 3, IncidentChange.Diagnosed), new IncidentNotice(incident with { Version = 3 }, IncidentChange.Diagnosed, "found", false, false) { OwedVersion = 3 }.NewsKey);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task The_writer_and_another_replicas_retell_telling_one_announcement_at_once_post_its_line_once_and_a_new_one_with_the_same_text_is_still_posted(DatabaseProvider provider)
    {
        await using var slack = await StartSlackAsync();
        using var storage = await Engines.StorageAsync(provider, postgres);
        await using var writer = SlackHost(storage.Replica(), slack);
        await using var other = SlackHost(storage.Replica(), slack);
        var engine = writer.Services.GetRequiredService<IncidentEngine>();
        await engine.ReportAsync(Failures.Pod("api-1"), default);
        var incidentId = Assert.Single(await writer.Services.GetRequiredService<IncidentStore>().ListOpenAsync()).Id;
        var cardTs = (await ChatWiring.WaitForSlackCardAsync(slack, Channel, incidentId, incidentId, TimeSpan.FromSeconds(30))).Ts;
        const string line = "Running \"Set tag to 1.4.2\"…";

        // The run's start is owed; its writer is slow to tell it (past the grace), so the other replica's retell tells it too.
        var started = new OwedAnnouncement("run:apr-slow0001:started", incidentId, IncidentChange.RemediationStarted, line, MoveTo: null, AuditActor.Bot, DateTimeOffset.UtcNow.AddSeconds(-5));
        await OweAsync(storage, started);
        await Task.WhenAll(engine.TellAsync(started), other.Services.GetServices<IHostedService>().OfType<NewsRetell>().Single().SweepAsync(default));
        await engine.TellAsync(started); // and once more, as a writer retrying after the other replica's retell

        // A second run of the same plan: the same text, new news.
        var again = started with { Key = "run:apr-slow0002:started", OwedAt = DateTimeOffset.UtcNow };
        await OweAsync(storage, again);
        await engine.TellAsync(again);

        await Eventually.HoldsAsync(() => Lines(slack, cardTs, line) >= 2, "both runs' lines in the thread", TimeSpan.FromSeconds(30), () => $"{Lines(slack, cardTs, line)} lines");
        await Eventually.ValueAsync(() => AnnouncementRetellTests.OwedCountAsync(storage, incidentId), n => n == 0, "the announcements to be marked told", TimeSpan.FromSeconds(30));
        await Task.Delay(TimeSpan.FromSeconds(2.5)); // the outbox sends anything else queued, and two more sweeps run

        Assert.Equal(2, Lines(slack, cardTs, line));
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_silent_write_owes_no_news_and_nothing_is_told_again(DatabaseProvider provider)
    {
        await using var rig = await EngineRig.StartAsync(provider, postgres, Grace);
        await rig.Engine.ReportAsync(Failures.Pod("api-1"), default);
        var incident = Assert.Single(await rig.Store.ListOpenAsync());
        await Eventually.ValueAsync(() => OwedCountAsync(rig.Storage, incident.Id), n => n == 0, "the opened news to be marked told", TimeSpan.FromSeconds(30));

        // The same pod seen again a minute later: only last_seen moves (a new version, no news).
        await rig.Engine.ReportAsync(Failures.Pod("api-1", at: Failures.Start + IncidentGrouping.SeenResolution), default);
        var seen = (await rig.Store.GetAsync(incident.Id))!;
        Assert.True(seen.Version > incident.Version);
        Assert.Equal(0, await OwedCountAsync(rig.Storage, incident.Id));

        var toldBefore = rig.Notifier.ChangesFor(incident.Id).Count;
        rig.Time.Advance(PastGrace);
        Assert.Equal(0, await SweepAsync(rig));
        Assert.Equal(toldBefore, rig.Notifier.ChangesFor(incident.Id).Count);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task News_owed_by_a_dead_host_about_an_incident_muted_since_is_not_told_and_no_longer_owed(DatabaseProvider provider)
    {
        using var storage = await Engines.StorageAsync(provider, postgres);
        var incidentId = await DieOwingPodsChangedAsync(storage);

        var next = await EngineRig.StartOnAsync(storage.Replica(), Grace);
        await using var nextHost = next.Host;
        Assert.NotNull(await next.Engine.MuteImageOfAsync(incidentId, null, AuditActor.Bot));
        next.Time.Advance(PastGrace);
        await SweepAsync(next);

        await Eventually.ValueAsync(() => OwedCountAsync(storage, incidentId), n => n == 0, "the silenced news to be no longer owed", TimeSpan.FromSeconds(30));
        Assert.Empty(next.Notifier.ChangesFor(incidentId));
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Two_replicas_sweeping_at_once_tell_news_a_dead_host_owed_once(DatabaseProvider provider)
    {
        using var storage = await Engines.StorageAsync(provider, postgres);
        var incidentId = await DieOwingPodsChangedAsync(storage);

        var one = await EngineRig.StartOnAsync(storage.Replica(), Grace);
        await using var oneHost = one.Host;
        var two = await EngineRig.StartOnAsync(storage.Replica(), Grace);
        await using var twoHost = two.Host;
        one.Time.Advance(PastGrace); // both replicas' own sweeps run on their clocks' tick, and the two below at once
        two.Time.Advance(PastGrace);
        var taken = await Task.WhenAll(SweepAsync(one), SweepAsync(two));
        Assert.InRange(taken.Sum(), 0, 1);

        await Eventually.ValueAsync(() => OwedCountAsync(storage, incidentId), n => n == 0, "the retold news to be marked told", TimeSpan.FromSeconds(30));
        var told = one.Notifier.Calls.Concat(two.Notifier.Calls).Where(c => c.Incident.Id == incidentId).ToList();
        var retold = Assert.Single(told);
        Assert.Equal(IncidentChange.PodsChanged, retold.Change);
        Assert.Equal(2, retold.Incident.Pods.Count); // the incident as stored, not as the dead host had it in memory
    }

    [Fact]
    public void News_owed_by_one_write_is_one_row_per_incident_at_its_newest_version_and_pods_changed_never_hides_a_weightier_change()
    {
        var incident = new Incident("inc-1", new IncidentKey("prod", "shop", "deployment/api", PullCause.ImageNotFound), "img", IncidentState.Open, Failures.Start, Failures.Start, [], 3);
        IncidentNotice Notice(int version, IncidentChange change, string detail) => new(incident with { Version = version }, change, detail, false, false);

        var owed = AfterCommit.Owed([Notice(3, IncidentChange.Diagnosed, "found"), Notice(4, IncidentChange.PodsChanged, "api-2 joined"), Notice(5, IncidentChange.PodsChanged, "api-3 joined")], Failures.Start).ToList();

        var row = Assert.Single(owed);
        Assert.Equal((5, IncidentChange.Diagnosed, "found"), (row.Version, row.Change, row.Detail));
        var later = Assert.Single(AfterCommit.Owed([Notice(6, IncidentChange.PodsChanged, "a"), Notice(7, IncidentChange.Resolved, "done")], Failures.Start));
        Assert.Equal((7, IncidentChange.Resolved), (later.Version, later.Change));
    }

    private static Dictionary<string, string?> Grace => new() { ["Incidents:NewsRetellGrace"] = "00:00:30" };

    /// <summary>A host reports two pods of one workload; the second's "pods changed" is stored and never told (a notifier hangs there, the host stops).</summary>
    private static async Task<string> DieOwingPodsChangedAsync(TestStorage storage)
    {
        var hang = new HangingNotifier(IncidentChange.PodsChanged);
        var dead = await EngineRig.StartOnAsync(storage.Replica(), Grace, s => s.AddSingleton<IIncidentNotifier>(hang));
        await using var stops = dead.Host; // the host stops; the storage stays for the next one
        await dead.Engine.ReportAsync(Failures.Pod("api-1"), default);
        var incident = Assert.Single(await dead.Store.ListOpenAsync());
        await Eventually.ValueAsync(() => OwedCountAsync(storage, incident.Id), n => n == 0, "the opened news to be marked told", TimeSpan.FromSeconds(30));

        // A report's round runs to its end whoever waits for it: its telling never ends (the host is gone before).
        _ = dead.Engine.ReportAsync(Failures.Pod("api-2"), default);
        await hang.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1, await OwedCountAsync(storage, incident.Id));
        return incident.Id;
    }

    private static Task<int> SweepAsync(EngineRig rig) =>
        rig.Host.Services.GetServices<IHostedService>().OfType<NewsRetell>().Single().SweepAsync(default);

    /// <param name="toldFirst">A notifier told before the card publisher (a host dying before the card).</param>
    /// <param name="toldLast">A notifier told after the card publisher (a host dying after the card's outbox rows, before the news is marked told).</param>
    /// <summary>
    /// A host that opens an incident, posts its card and stores a diagnosis whose telling hangs — before the card publisher
    /// (<paramref name="hangBeforeTheCard"/>: nothing of it reaches Slack) or after every notifier (the card's update and
    /// the thread line are queued, the news is never marked told) — and then dies; the diagnosis is stored either way.
    /// </summary>
    /// <param name="dieOnceTheLineIsDelivered">Dies only once the thread line (queued before the hang) has reached Slack.</param>
    private static async Task<(string IncidentId, string CardTs)> DieTellingADiagnosisAsync(TestStorage storage, FakeSlackServer slack, string summary, bool hangBeforeTheCard, bool dieOnceTheLineIsDelivered = false)
    {
        var hang = new HangingNotifier(IncidentChange.Diagnosed);
        await using var first = hangBeforeTheCard ? SlackHost(storage, slack, toldFirst: hang) : SlackHost(storage, slack, toldLast: hang);
        var engine = first.Services.GetRequiredService<IncidentEngine>();
        await engine.ReportAsync(Failures.Pod("api-1"), default);
        var incident = Assert.Single(await first.Services.GetRequiredService<IncidentStore>().ListOpenAsync());
        var cardTs = (await ChatWiring.WaitForSlackCardAsync(slack, Channel, incident.Id, incident.Id, TimeSpan.FromSeconds(30))).Ts;

        using var dying = new CancellationTokenSource();
        var applying = engine.ApplyDiagnosisAsync(incident, 1, new Diagnosis(PullCause.ImageNotFound, 0.9, summary, [], "x", []), dying.Token); // PostgreSQL: the one-command path
        await hang.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        if (dieOnceTheLineIsDelivered)
        {
            await Eventually.HoldsAsync(() => SummaryLines(slack, cardTs, summary) == 1, "the thread line to reach Slack", TimeSpan.FromSeconds(30));
        }

        await dying.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => applying);
        Assert.Equal(IncidentState.Diagnosed, (await first.Services.GetRequiredService<IncidentStore>().GetAsync(incident.Id))!.State);
        return (incident.Id, cardTs);
    }

    /// <summary>A Slack stand-in that lets two hosts' cards and lines through at once (50 calls a second).</summary>
    private static async Task<FakeSlackServer> StartSlackAsync()
    {
        var slack = await FakeSlackServer.StartAsync();
        slack.RatePerSecond = 50;
        slack.Burst = 50;
        return slack;
    }

    private static BotTestHost SlackHost(TestStorage storage, FakeSlackServer slack, IIncidentNotifier? toldFirst = null, IIncidentNotifier? toldLast = null)
    {
        var settings = ChatWiring.Settings(slack, "shop", Channel);
        settings["Incidents:NewsRetellGrace"] = "00:00:01";
        var host = new BotTestHost(storage, settings, s =>
        {
            s.RemoveAll<IDiagnosisScheduler>();
            s.AddSingleton<IDiagnosisScheduler>(new RecordingScheduler()); // this test stores the diagnosis itself
            if (toldFirst is not null)
            {
                HangingNotifier.RegisterFirst(s, toldFirst);
            }

            if (toldLast is not null)
            {
                s.AddSingleton(toldLast);
            }
        });
        _ = host.Services;
        return host;
    }

    private static int SummaryLines(FakeSlackServer slack, string cardTs, string summary) =>
        slack.CallsTo("chat.postMessage").Count(c => c.Ok && c.Body["thread_ts"]?.GetValue<string>() == cardTs && (c.Body["text"]?.GetValue<string>() ?? string.Empty).Contains(summary, StringComparison.Ordinal));

    private static int Lines(FakeSlackServer slack, string cardTs, string line) =>
        slack.CallsTo("chat.postMessage").Count(c => c.Ok && c.Body["thread_ts"]?.GetValue<string>() == cardTs && c.Body["text"]?.GetValue<string>() == line);

    private static async Task OweAsync(BotDatabase database, OwedNews owed) =>
        await database.InTransactionAsync(async (connection, transaction) =>
        {
            var batch = new StatementBatch();
            IncidentStore.OweNews(batch, owed);
            await batch.ExecuteAsync(connection, transaction);
            return true;
        });

    /// <summary>Owes the announcement in a transaction of its own, as the approval or run write it belongs to does.</summary>
    private static async Task OweAsync(TestStorage storage, OwedAnnouncement owed)
    {
        await using var database = await storage.OpenMigratedAsync();
        await database.InTransactionAsync(async (connection, transaction) =>
        {
            await OwedAnnouncements.OweAsync(connection, transaction, owed);
            return true;
        });
    }

    private static string CardText(FakeSlackServer slack, string ts) =>
        slack.Messages.FirstOrDefault(m => m.Channel == Channel && m.Ts == ts)?.Content.ToJsonString(ChatWiring.Readable) ?? string.Empty;

    private static async Task<long> OwedCountAsync(TestStorage storage, string incidentId)
    {
        await using var database = await storage.OpenMigratedAsync();
        await using var connection = await database.OpenAsync();
        return await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM incident_news_owed WHERE incident_id = @incidentId", new { incidentId });
    }
}
