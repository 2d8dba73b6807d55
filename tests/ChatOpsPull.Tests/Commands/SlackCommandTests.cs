using System.Net;
using System.Text.Json.Nodes;
using ChatOpsPull.Chat;
using ChatOpsPull.Chat.Commands;
using ChatOpsPull.Chat.Slack;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Digest;
using ChatOpsPull.Incidents;
using ChatOpsPull.Kubernetes;
using ChatOpsPull.Tests.Slack;
using ChatOpsPull.Tests.Slack.FakeSlack;
using Microsoft.Extensions.DependencyInjection;
using ChatOpsPull.Chat.Digest;

namespace ChatOpsPull.Tests.Commands;

/// <summary>The real command handler behind the real Slack endpoints: signed slash commands, the fake Slack server for follow-ups and cards.</summary>
public sealed class SlackCommandTests : IAsyncLifetime
{
    private const string Channel = "C0123ABCD";
    private const string Requester = "U2CERLKJA";
    private const string Approver = "U0APPROVER";
    private readonly InMemoryApprovals _approvals = InMemoryApprovals.For("slack:" + Approver);
    private readonly RecordingDigestPublisher _digest = new();
    private FakeSlackServer _fake = null!;
    private SlackTestHost? _host;

    public async Task InitializeAsync() => _fake = await FakeSlackServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
            SlackTestHost.DeleteDirectory(_host.DataDirectory);
        }

        await _fake.DisposeAsync();
    }

    private SlackTestHost Start(bool approvals = true, bool digest = false, Dictionary<string, string?>? settings = null, Action<IServiceCollection>? more = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["Slack:InlineReplyBudget"] = "00:00:02",
            ["Bot:Cluster"] = CommandTestKit.Cluster,
            ["Kubernetes:WatchEnabled"] = "false",
        };
        foreach (var (key, value) in settings ?? [])
        {
            all[key] = value;
        }

        _host = SlackTestHost.Start(_fake, all, services: services =>
        {
            if (approvals)
            {
                _approvals.Register(services);
            }

            if (digest)
            {
                services.AddSingleton<IDigestPublisher>(_digest);
            }

            more?.Invoke(services);
        });
        return _host;
    }

    /// <summary>Sends a slash command and returns the answer, whether it came in the acknowledgement or followed through response_url.</summary>
    private async Task<JsonObject> AskAsync(string text)
    {
        var responseUrl = _fake.NewResponseUrl();
        var before = _fake.CallsTo("response_url").Count;
        using var response = await _host!.PostCommandAsync(SlackCommandEndpointTests.Form(text, responseUrl));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var ack = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        if (ack["text"]?.GetValue<string>() != SlackInbound.WorkingOnIt)
        {
            return ack;
        }

        await _fake.WaitUntilAsync(calls => calls.Count(c => c.Method == "response_url") > before, TimeSpan.FromSeconds(30), "the follow-up of " + text);
        return _fake.CallsTo("response_url")[before].Body;
    }

    [Fact]
    public async Task Status_lists_open_incidents_waiting_approvals_and_recent_actions_only_to_the_asker()
    {
        var host = Start();
        var web = await CommandTestKit.ReportAsync(host.Services, "shop", "web", "web-6b9f7c5d8-x7kq2");
        await CommandTestKit.ReportAsync(host.Services, "billing", "invoicer", "invoicer-5d4c-abcde");
        var request = _approvals.Seed(web.Id, RetryCommand.Plan(new ChatCommand.Retry("shop", "Deployment", "web")), requestedBy: "carol");

        var answer = await AskAsync("status");

        Assert.Equal("ephemeral", answer["response_type"]!.GetValue<string>());
        Assert.Empty(BlockKitRules.Check(answer));
        var texts = CommandTestKit.BlockTexts(answer);
        Assert.Contains("2 open incidents in all namespaces", texts, StringComparison.Ordinal);
        Assert.Contains($"`{web.Id}` shop/deployment/web · Image or tag not found · 1 pod(s) · ", texts, StringComparison.Ordinal);
        Assert.Contains("billing/deployment/invoicer", texts, StringComparison.Ordinal);
        Assert.Contains($"`{request.Id}` *Restart deployment/web* in shop for `{web.Id}`, asked by carol · 0/1 approvals (no votes yet) · expires ", texts, StringComparison.Ordinal);
        Assert.Contains("incident.opened", texts, StringComparison.Ordinal);
        Assert.Contains("2 open incidents", answer["text"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_of_one_namespace_leaves_the_others_out()
    {
        var host = Start();
        var web = await CommandTestKit.ReportAsync(host.Services, "shop", "web", "web-6b9f7c5d8-x7kq2");
        var invoicer = await CommandTestKit.ReportAsync(host.Services, "billing", "invoicer", "invoicer-5d4c-abcde");

        var texts = CommandTestKit.BlockTexts(await AskAsync("status billing"));

        Assert.Contains("1 open incident in namespace billing", texts, StringComparison.Ordinal);
        Assert.Contains(invoicer.Id, texts, StringComparison.Ordinal);
        Assert.DoesNotContain(web.Id, texts, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("deploy shop/api", "I don't know `deploy`.")]
    [InlineData("diagnose api", "`diagnose` needs `[cluster/]<namespace>/<pod>`")]
    [InlineData("snooze inc-4f2a9c forever", "`forever` is not a duration")]
    [InlineData("", "`status [namespace] [--cluster GLOB]`")]
    public async Task Unknown_or_malformed_input_gets_help_naming_what_was_wrong(string text, string expected)
    {
        Start();

        var answer = await AskAsync(text);

        Assert.Equal("ephemeral", answer["response_type"]!.GetValue<string>());
        var reply = WebUtility.HtmlDecode(answer["text"]!.GetValue<string>()); // Slack's mrkdwn escapes < > &
        Assert.Contains(expected, reply, StringComparison.Ordinal);
        Assert.Contains("`check <image>`", reply, StringComparison.Ordinal);
        Assert.Empty(_approvals.Asked);
    }

    [Fact]
    public async Task Snooze_is_told_to_the_channel_stored_and_audited_and_an_unknown_incident_changes_nothing()
    {
        var host = Start();
        var web = await CommandTestKit.ReportAsync(host.Services, "shop", "web", "web-6b9f7c5d8-x7kq2");

        var snoozed = await AskAsync($"snooze {web.Id} 2h");
        var unknown = await AskAsync("snooze inc-0000ffff 2h");

        Assert.Equal("in_channel", snoozed["response_type"]!.GetValue<string>());
        Assert.Contains($"roadrunner snoozed `{web.Id}` (shop/deployment/web) until ", snoozed["text"]!.GetValue<string>(), StringComparison.Ordinal);
        var stored = await host.Get<IncidentStore>().GetAsync(web.Id);
        Assert.InRange(stored!.SnoozedUntil!.Value, DateTimeOffset.UtcNow.AddMinutes(115), DateTimeOffset.UtcNow.AddMinutes(121));
        var line = Assert.Single(await host.Get<AuditLog>().ForIncidentAsync(web.Id), e => e.Action == AuditActions.IncidentSnoozed);
        Assert.Equal(new AuditActor("slack", Requester, "roadrunner"), line.Actor);

        Assert.Equal("ephemeral", unknown["response_type"]!.GetValue<string>());
        Assert.Equal("There is no incident `inc-0000ffff`. `status` lists the open ones.", unknown["text"]!.GetValue<string>());
        Assert.DoesNotContain(await host.Get<AuditLog>().RecentAsync(50), e => e.IncidentId == "inc-0000ffff");
    }

    [Fact]
    public async Task Digest_in_a_channel_without_a_schedule_says_so_and_posts_nothing()
    {
        Start();

        var answer = await AskAsync("digest");

        Assert.StartsWith("This channel has no digest schedule", answer["text"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(_digest.Published);
        Assert.Empty(_fake.CallsTo("chat.postMessage"));
    }

    [Fact]
    public async Task Digest_asks_the_publisher_for_this_channel()
    {
        Start(digest: true);

        var answer = await AskAsync("digest");

        Assert.Equal("Digest posted in this channel.", answer["text"]!.GetValue<string>());
        Assert.Equal((ChatPlatform.Slack, Channel), Assert.Single(_digest.Published));
    }

    [Fact]
    public async Task Retry_asks_through_the_approval_service_and_posts_the_card_with_approve_and_deny_in_the_channel()
    {
        var host = Start();
        var web = await CommandTestKit.ReportAsync(host.Services, "shop", "web", "web-6b9f7c5d8-x7kq2");

        var answer = await AskAsync("retry shop/web");

        var asked = Assert.Single(_approvals.Asked);
        Assert.Equal((ChatPlatform.Slack, Requester, web.Id, CommandTestKit.Cluster), (asked.User.Platform, asked.User.Id, asked.IncidentId, asked.Cluster));
        Assert.Equal(("shop", "Deployment", "web", Core.Remediation.RemediationKind.RestartWorkload), (asked.Plan.Namespace, asked.Plan.WorkloadKind, asked.Plan.WorkloadName, asked.Plan.Kind));
        Assert.Contains("roadrunner asked to run \"Restart deployment/web\"", answer["text"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains($"incident `{web.Id}` in this channel", answer["text"]!.GetValue<string>(), StringComparison.Ordinal);

        var request = Assert.Single(_approvals.Requests);
        await _fake.WaitUntilAsync(calls => calls.Any(c => c.Method == "chat.postMessage" && c.Channel == Channel), TimeSpan.FromSeconds(20), "the card in the channel");
        var post = _fake.CallsTo("chat.postMessage").Single(c => c.Channel == Channel);
        Assert.True(post.Ok, post.Error);
        var texts = CommandTestKit.BlockTexts(post.Body);
        Assert.Contains($"approve|{request.Id}", texts, StringComparison.Ordinal);
        Assert.Contains($"deny|{request.Id}", texts, StringComparison.Ordinal);
        Assert.Contains("*Restart deployment/web* asked by roadrunner: waiting for approval (0/1", texts, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retry_of_a_job_or_where_no_approval_rule_covers_the_namespace_changes_nothing()
    {
        // The bot's own approval service, with no Approvals:Rules configured.
        Start(approvals: false);

        var noRule = await AskAsync("retry shop/web");
        var job = await AskAsync("retry shop/job/nightly");

        Assert.StartsWith("No approval rule covers namespace shop", noRule["text"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("A job cannot be restarted that way", job["text"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(_fake.CallsTo("chat.postMessage"));
    }

    [Fact]
    public async Task Diagnose_without_a_cluster_says_so()
    {
        Start(more: services => services.AddSingleton(KubernetesConnection.None("No kubeconfig was found, so the Kubernetes watcher is off.")));

        var answer = await AskAsync("diagnose shop/web-6b9f7c5d8-x7kq2");

        Assert.Equal("ephemeral", answer["response_type"]!.GetValue<string>());
        Assert.StartsWith("I cannot diagnose shop/web-6b9f7c5d8-x7kq2: this bot is not connected to a Kubernetes cluster.", answer["text"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Incident_state_shows_in_status_after_changes()
    {
        var host = Start();
        var web = await CommandTestKit.ReportAsync(host.Services, "shop", "web", "web-6b9f7c5d8-x7kq2");
        await host.Get<IncidentEngine>().TransitionAsync(web.Id, IncidentState.Resolved, AuditActor.Bot, IncidentChange.Resolved, "pods Ready");

        var texts = CommandTestKit.BlockTexts(await AskAsync("status shop"));

        Assert.Contains("All clear in namespace shop", texts, StringComparison.Ordinal);
        Assert.DoesNotContain($"`{web.Id}` shop", texts, StringComparison.Ordinal);
    }
}
