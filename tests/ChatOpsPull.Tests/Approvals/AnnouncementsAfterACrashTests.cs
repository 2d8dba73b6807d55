using System.Net;
using System.Text.Json.Nodes;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Incidents;
using ChatOpsPull.Remediation;
using ChatOpsPull.Storage;
using ChatOpsPull.Tests.Incidents;
using ChatOpsPull.Tests.Infrastructure;
using ChatOpsPull.Tests.Registry;
using ChatOpsPull.Tests.Remediation;
using ChatOpsPull.Tests.Slack.FakeSlack;
using ChatOpsPull.Tests.Storage;
using ChatOpsPull.Tests.Teams;
using ChatOpsPull.Tests.Teams.FakeConnector;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ChatOpsPull.Tests.Approvals;

/// <summary>
/// A host that stores an approval or a remediation run's result and dies before the incident's card hears of it (a
/// notifier ahead of the card publisher hangs there, then the host stops): the next host on the same database tells it
/// from the store, once — the card, updated in place, shows the approval or run as stored, its thread has the line once,
/// and no second card is posted. Real host, real store (SQLite file, PostgreSQL), the Slack stand-in.
/// </summary>
[Collection(RemediationParts.Name)]
public sealed class AnnouncementsAfterACrashTests(PostgresFixture postgres, RegistryFixture registry)
{
    private const string Channel = "C0ANNOUNCE";
    private const string TeamsChannel = TeamsTestHost.GeneralChannel;
    private const string PlanTitle = "Set tag to 1.4.2";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_host_killed_after_recording_an_approval_vote_and_before_its_card_line_leaves_it_to_the_next_host_which_tells_it_once(DatabaseProvider provider)
    {
        await using var slack = await StartSlackAsync();
        using var storage = await Engines.StorageAsync(provider, postgres);
        var settings = Settings(slack);
        settings["Approvals:Rules:0:Required"] = "2"; // Bob's vote keeps the request pending: news that moves nothing
        var (incidentId, cardTs) = await DieTellingBobsVoteAsync(storage, slack, settings, hangBeforeTheCard: true);

        Assert.DoesNotContain("approved by bob", CardText(slack, cardTs), StringComparison.Ordinal);
        Assert.Equal(1, await AnnouncementsOwedAsync(storage, incidentId));

        await using var second = await RemediationBed.StartAsync(storage.Replica(), registry, settings);
        await Eventually.HoldsAsync(() => CardText(slack, cardTs).Contains("approved by bob", StringComparison.Ordinal), "the card to show Bob's vote", Patience, () => CardText(slack, cardTs));
        Assert.Contains("waiting for approval (1/2", CardText(slack, cardTs), StringComparison.Ordinal);
        await Eventually.ValueAsync(() => AnnouncementsOwedAsync(storage, incidentId), n => n == 0, "the announcement to be marked told", Patience);
        await Task.Delay(TimeSpan.FromSeconds(2.5)); // two more sweeps of the 1 s grace: nothing is told again

        Assert.Single(CardPosts(slack));
        Assert.Single(ThreadLines(slack, cardTs), l => l.Contains("bob approved", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_host_killed_after_finishing_a_remediation_run_and_before_its_card_lines_leaves_them_to_the_next_host_which_tells_each_once(DatabaseProvider provider)
    {
        await using var slack = await StartSlackAsync();
        using var storage = await Engines.StorageAsync(provider, postgres);
        var settings = Settings(slack);
        string incidentId;
        string cardTs;

        // The run is driven here, step by step, as the job would (no job runs: the scheduler only records).
        var hang = new HangingNotifier(IncidentChange.RemediationStarted);
        var first = await RemediationBed.StartAsync(storage.Replica(), registry, settings, services: s =>
        {
            HangingNotifier.RegisterFirst(s, hang);
            s.RemoveAll<IRemediationScheduler>();
            s.AddSingleton<IRemediationScheduler, NoJobs>();
        });
        await using (first)
        {
            (incidentId, cardTs) = await OpenIncidentAsync(first, slack);
            var plan = Facts.Plan((await first.Get<IncidentStore>().GetAsync(incidentId))!, RemediationKind.SetImageTag);
            await first.ClickAsync(People.Alice, CardVerb.Request, incidentId, plan.Key);
            var approvalId = await first.PendingIdAsync(incidentId, RemediationKind.SetImageTag);
            await first.ClickAsync(People.Bob, CardVerb.Approve, approvalId);
            await ChatWiring.WaitForSlackCardAsync(slack, Channel, incidentId, "queued", Patience);

            var runs = first.Get<RemediationRunStore>();
            Assert.True(await runs.TryClaimAsync(approvalId, "dying-worker", DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5)));
            var record = (await runs.GetAsync(approvalId))!;
            var progress = first.Get<RemediationProgress>();

            // "Running …" is stored and its telling never ends; the result is stored behind it (its move commits, its
            // news waits in the incident's busy mailbox); then the host stops.
            _ = progress.RecordStartedAsync(record, "dying-worker", CancellationToken.None);
            await hang.Entered.Task.WaitAsync(Patience);
            Assert.True(await progress.RecordFinishedAsync(record, "dying-worker", RunStatus.Succeeded, "deployment/api rolled out", CancellationToken.None));
            Assert.Equal(IncidentState.Resolved, (await first.Get<IncidentStore>().GetAsync(incidentId))!.State);
        }

        Assert.DoesNotContain("done: pods are Ready", CardText(slack, cardTs), StringComparison.Ordinal);
        Assert.Equal(1, await AnnouncementsOwedAsync(storage, incidentId)); // "Running …"; the result's line is the move's news

        await using var second = await RemediationBed.StartAsync(storage.Replica(), registry, settings);
        await Eventually.HoldsAsync(() => CardText(slack, cardTs).Contains("done: pods are Ready", StringComparison.Ordinal), "the card to show the run done", Patience, () => CardText(slack, cardTs));
        await Eventually.HoldsAsync(() => ThreadLines(slack, cardTs).Any(l => l.StartsWith("Running ", StringComparison.Ordinal)), "the thread to say the run started", Patience, () => string.Join("\n", ThreadLines(slack, cardTs)));
        await Eventually.ValueAsync(() => AnnouncementsOwedAsync(storage, incidentId), n => n == 0, "the announcement to be marked told", Patience);
        await Task.Delay(TimeSpan.FromSeconds(2.5)); // two more sweeps of the 1 s grace: nothing is told again

        Assert.Single(CardPosts(slack));
        var lines = ThreadLines(slack, cardTs);
        Assert.Single(lines, l => l.StartsWith("Running ", StringComparison.Ordinal));
        Assert.Single(lines, l => l.Contains("worked: deployment/api rolled out", StringComparison.Ordinal));
        var started = lines.ToList().FindIndex(l => l.StartsWith("Running ", StringComparison.Ordinal));
        var finished = lines.ToList().FindIndex(l => l.Contains("worked: deployment/api rolled out", StringComparison.Ordinal));
        Assert.True(started < finished, $"the thread tells the run's start before its result: {string.Join(" | ", lines)}");
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_host_killed_after_queueing_an_approval_votes_thread_lines_and_before_marking_them_told_leaves_the_next_host_nothing_to_post_again_in_slack_or_teams(DatabaseProvider provider)
    {
        await using var slack = await StartSlackAsync();
        await using var teams = await BotConnectorStandIn.StartAsync();
        teams.AddConversation(TeamsChannel);
        teams.EnforceRateLimits = false;
        using var storage = await Engines.StorageAsync(provider, postgres);
        var settings = ChatWiring.Settings(slack, RemediationBed.Namespace, Channel, teams, TeamsChannel);
        settings["Incidents:NewsRetellGrace"] = "00:00:01";
        settings["Approvals:Rules:0:Required"] = "2"; // Bob's vote keeps the request pending: news that moves nothing
        // Told after the card publisher: the vote's card update and thread lines are in the outbox, then the telling
        // never ends — the announcement is never marked told — and the host stops (killed after the outbox row).
        var (incidentId, cardTs) = await DieTellingBobsVoteAsync(storage, slack, settings, hangBeforeTheCard: false, teams);

        Assert.Equal(1, await AnnouncementsOwedAsync(storage, incidentId));

        // The next host retells the announcement: the card is updated in place, and each thread has Bob's line once.
        await using var second = await RemediationBed.StartAsync(storage.Replica(), registry, settings);
        await Eventually.ValueAsync(() => AnnouncementsOwedAsync(storage, incidentId), n => n == 0, "the announcement to be retold and marked told", Patience);
        await Eventually.HoldsAsync(() => ThreadLines(slack, cardTs).Any(l => l.Contains("bob approved", StringComparison.Ordinal)), "Bob's line in the Slack thread", Patience, () => string.Join("\n", ThreadLines(slack, cardTs)));
        await Eventually.HoldsAsync(() => TeamsLines(teams).Any(l => l.Contains("bob approved", StringComparison.Ordinal)), "Bob's line in the Teams thread", Patience, () => string.Join("\n", TeamsLines(teams)));
        await Task.Delay(TimeSpan.FromSeconds(2.5)); // the outbox sends what the retell queued, and two more sweeps run

        Assert.Contains("approved by bob", CardText(slack, cardTs), StringComparison.Ordinal);
        Assert.Single(CardPosts(slack));
        Assert.Single(ThreadLines(slack, cardTs), l => l.Contains("bob approved", StringComparison.Ordinal));
        Assert.Single(TeamsLines(teams), l => l.Contains("bob approved", StringComparison.Ordinal));
    }

    /// <summary>
    /// A host that opens an incident (its card in Slack, and in Teams when <paramref name="teams"/> is given: the bot is
    /// added to the team first), takes Alice's request and stores Bob's vote, whose telling hangs — before the card
    /// publisher (<paramref name="hangBeforeTheCard"/>: nothing of the vote reaches chat) or after every notifier (the
    /// card's update and the thread lines are queued, the announcement is never marked told) — and then dies.
    /// </summary>
    private async Task<(string IncidentId, string CardTs)> DieTellingBobsVoteAsync(
        TestStorage storage, FakeSlackServer slack, Dictionary<string, string?> settings, bool hangBeforeTheCard, BotConnectorStandIn? teams = null)
    {
        var hang = new HangingNotifier(IncidentChange.ApprovalDecided);
        await using var first = await RemediationBed.StartAsync(storage.Replica(), registry, settings, services: s =>
        {
            if (hangBeforeTheCard)
            {
                HangingNotifier.RegisterFirst(s, hang);
            }
            else
            {
                s.AddSingleton<IIncidentNotifier>(hang);
            }
        });
        if (teams is not null)
        {
            using var added = await ChatWiring.SendToBotAsync(first.Host, teams, TeamsActivities.BotAddedToTeam(teams.ServiceUrl));
            Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        }

        var (incidentId, cardTs) = await OpenIncidentAsync(first, slack);
        var plan = Facts.Plan((await first.Get<IncidentStore>().GetAsync(incidentId))!, RemediationKind.SetImageTag);
        await first.ClickAsync(People.Alice, CardVerb.Request, incidentId, plan.Key);
        await ChatWiring.WaitForSlackCardAsync(slack, Channel, incidentId, "waiting for approval", Patience);
        var approvalId = await first.PendingIdAsync(incidentId, RemediationKind.SetImageTag);

        // Bob's vote is stored; telling it never ends (its reply never comes), and the host stops.
        _ = first.ClickAsync(People.Bob, CardVerb.Approve, approvalId);
        await hang.Entered.Task.WaitAsync(Patience);
        return (incidentId, cardTs);
    }

    private static async Task<FakeSlackServer> StartSlackAsync()
    {
        var slack = await FakeSlackServer.StartAsync();
        slack.RatePerSecond = 50;
        slack.Burst = 50;
        return slack;
    }

    private static Dictionary<string, string?> Settings(FakeSlackServer slack)
    {
        var settings = ChatWiring.Settings(slack, RemediationBed.Namespace, Channel);
        settings["Incidents:NewsRetellGrace"] = "00:00:01";
        return settings;
    }

    /// <summary>A failing Deployment diagnosed "tag 1.4.3 missing, 1.4.2 exists", its card in Slack offering the fix.</summary>
    private async Task<(string IncidentId, string CardTs)> OpenIncidentAsync(RemediationBed bed, FakeSlackServer slack)
    {
        var image = $"{registry.Anonymous}/team/app:1.4.3";
        bed.SeedFailingDeployment("api", image);
        var incident = await bed.OpenIncidentAsync("api", image, Facts.TagMissing(["1.4.2"]));
        var card = await ChatWiring.WaitForSlackCardAsync(slack, Channel, incident.Id, PlanTitle, Patience);
        return (incident.Id, card.Ts);
    }

    private static string CardText(FakeSlackServer slack, string ts) =>
        slack.Messages.FirstOrDefault(m => m.Channel == Channel && m.Ts == ts)?.Content.ToJsonString(ChatWiring.Readable) ?? string.Empty;

    private static List<FakeSlackCall> CardPosts(FakeSlackServer slack) =>
        slack.CallsTo("chat.postMessage").Where(c => c.Ok && c.Body["thread_ts"] is null).ToList();

    private static List<string> ThreadLines(FakeSlackServer slack, string cardTs) =>
        slack.CallsTo("chat.postMessage")
            .Where(c => c.Ok && c.Body["thread_ts"]?.GetValue<string>() == cardTs)
            .Select(c => c.Body["text"]?.GetValue<string>() ?? string.Empty)
            .ToList();

    /// <summary>The text messages the Teams stand-in accepted (thread replies: the card is an attachment, not text).</summary>
    private static List<string> TeamsLines(BotConnectorStandIn teams) =>
        teams.Calls
            .Where(c => c.Method == "POST" && c.Status is 200 or 201 && c.Body?["text"] is JsonValue)
            .Select(c => c.Body!["text"]!.GetValue<string>())
            .ToList();

    private static async Task<long> AnnouncementsOwedAsync(TestStorage storage, string incidentId)
    {
        await using var database = await storage.OpenMigratedAsync();
        await using var connection = await database.OpenAsync();
        return await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM incident_announcements_owed WHERE incident_id = @incidentId", new { incidentId });
    }

    /// <summary>Runs no remediation job: the test drives the run's steps itself.</summary>
    private sealed class NoJobs : IRemediationScheduler
    {
        public void Enqueue(string approvalId, string cluster)
        {
        }
    }
}
