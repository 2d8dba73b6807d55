using System.ComponentModel.DataAnnotations;
using ChatOpsPull.Approvals;
using ChatOpsPull.Chat.Actions;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Core.Approvals;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Incidents;
using ChatOpsPull.Remediation;
using ChatOpsPull.Tests.Incidents;
using ChatOpsPull.Simulation.KubernetesApi;
using ChatOpsPull.Tests.Registry;
using ChatOpsPull.Tests.Remediation;
using ChatOpsPull.Tests.Slack.FakeSlack;
using ChatOpsPull.Tests.Storage;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Tests.Approvals;

/// <summary>
/// What people see: the incident card in its routed Slack channel (the fake Slack server), updated in place as a fix
/// is asked for, approved and verified; fixes that run alone by policy; requests that stand alone; and the settings.
/// </summary>
[Collection(RemediationParts.Name)]
public sealed class ApprovalSurfaceTests(RegistryFixture registry)
{
    [Fact]
    public async Task The_incident_card_is_posted_once_to_its_channel_and_updated_in_place_as_the_fix_goes()
    {
        await using var slack = await FakeSlackServer.StartAsync();
        slack.RatePerSecond = 50;
        slack.Burst = 50;
        using var storage = TestStorage.Sqlite();
        await using var bed = await RemediationBed.StartAsync(storage, registry, new()
        {
            ["Slack:SigningSecret"] = "e3b0c44298fc1c149afbf4c8996fb924",
            ["Slack:BotToken"] = FakeSlackServer.BotToken,
            ["Slack:ApiBaseUrl"] = slack.ApiUrl.ToString(),
            ["Routing:DefaultSlackChannel"] = "C0SHOP",
            ["Outbox:MessageInterval"] = "00:00:00.020",
            ["Outbox:PollInterval"] = "00:00:00.100",
        });
        var image = $"{registry.Anonymous}/team/app:1.4.3";
        bed.SeedFailingDeployment("api", image);
        var incident = await bed.OpenIncidentAsync("api", image, Facts.TagMissing(["1.4.2"]));
        await Card(slack, "Set tag to 1.4.2");

        var plan = Facts.Plan(incident, RemediationKind.SetImageTag);
        await bed.ClickAsync(People.Alice, CardVerb.Request, incident.Id, plan.Key);
        var waiting = await Card(slack, "waiting for approval (0/1");
        Assert.Contains("Approve: Set tag to 1.4.2", waiting, StringComparison.Ordinal);
        Assert.Contains("Dry run: spec.template.spec.containers[app].image:", waiting, StringComparison.Ordinal);

        var approvalId = await bed.PendingIdAsync(incident.Id, RemediationKind.SetImageTag);
        await bed.ClickAsync(People.Bob, CardVerb.Approve, approvalId);
        await bed.WaitForRunAsync(approvalId, r => r.Run.Status == RunStatus.VerifyingRollout);
        bed.Api.MarkPodsReady("shop", "app=api");
        await bed.WaitForRunAsync(approvalId);
        var done = await Card(slack, "done: pods are Ready");
        Assert.Contains("approved by bob", done, StringComparison.Ordinal);
        Assert.DoesNotContain("Approve: Set tag", done, StringComparison.Ordinal);

        await slack.WaitUntilAsync(
            calls => calls.Any(c => c.Method == "chat.postMessage" && c.Body["thread_ts"] is not null && c.Body["text"]!.GetValue<string>().Contains("\"Set tag to 1.4.2\" worked", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(20),
            "the thread reply saying the fix worked");
        var posts = slack.CallsTo("chat.postMessage").Where(c => c.Ok).ToList();
        Assert.Single(posts, c => c.Body["thread_ts"] is null); // one card, never re-posted
        Assert.True(slack.Messages.Single(m => m.Channel == "C0SHOP" && m.Content.ToJsonString().Contains(incident.Id, StringComparison.Ordinal)).Updates >= 2);
        var thread = posts.Where(c => c.Body["thread_ts"] is not null).Select(c => c.Body["text"]!.GetValue<string>()).ToList();
        Assert.Contains(thread, t => t.Contains("alice asked to run", StringComparison.Ordinal));
        Assert.Contains(thread, t => t.Contains("\"Set tag to 1.4.2\" worked", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Auto_run_deletes_the_stuck_pods_once_the_registry_confirms_the_image_and_only_then()
    {
        using var storage = TestStorage.Sqlite();
        await using var bed = await RemediationBed.StartAsync(storage, registry, new() { ["Approvals:AutoRun:0"] = "delete_backoff_pods" });
        var image = $"{registry.Anonymous}/team/app:1.4.2";
        var unsure = bed.SeedFailingDeployment("web", image);
        var unconfirmed = await bed.OpenIncidentAsync("web", image, Facts.PullableNow(manifestPassed: false), RemediationFlowTests.Backoff(image));
        var pods = bed.SeedFailingDeployment("api", image);

        var incident = await bed.OpenIncidentAsync("api", image, Facts.PullableNow(manifestPassed: true), RemediationFlowTests.Backoff(image));

        var request = await Eventually.ValueAsync(
            () => bed.Get<IApprovalQueries>().ListForIncidentAsync(incident.Id, CancellationToken.None), r => r.Count == 1, "the auto-run request");
        Assert.Equal((RemediationKind.DeleteBackoffPods, ApprovalStatus.Approved, "system"), (request[0].Plan.Kind, request[0].Status, request[0].RequestedBy.Platform));
        await bed.WaitForRunAsync(request[0].Id, r => r.Run.Status == RunStatus.VerifyingRollout);
        Assert.DoesNotContain(bed.PodsOf("api").Select(ObjectStore.Name), pods.Contains);
        bed.Api.MarkPodsReady("shop", "app=api");
        Assert.Equal(RunStatus.Succeeded, (await bed.WaitForRunAsync(request[0].Id)).Run.Status);
        Assert.Contains(await bed.Get<AuditLog>().ForApprovalAsync(request[0].Id), a => a.Action == ApprovalAuditActions.Approved && a.Detail!.Contains("by Approvals:AutoRun", StringComparison.Ordinal));

        // Without confirming evidence nothing ran; and a second diagnosis of the fixed incident does not run it again.
        Assert.Empty(await bed.Get<IApprovalQueries>().ListForIncidentAsync(unconfirmed.Id, CancellationToken.None));
        Assert.Equal(unsure, bed.PodsOf("web").Select(ObjectStore.Name).ToList());
        var reopened = await bed.Get<IncidentEngine>().TransitionAsync(incident.Id, IncidentState.Open, AuditActor.Bot, IncidentChange.Reopened, "test");
        Assert.Equal(IncidentUpdateOutcome.Changed, reopened.Outcome);
        await bed.Get<IncidentEngine>().RequestDiagnosisAsync(incident.Id, AuditActor.Bot);
        await Eventually.ValueAsync(() => bed.Get<AuditLog>().ForIncidentAsync(incident.Id), a => a.Count(l => l.Action == AuditActions.IncidentDiagnosed) == 2, "the second diagnosis");
        await Drained.WaitAsync(bed.Host.Services); // an auto-run the second diagnosis started would be queued or done
        Assert.Single(await bed.Get<IApprovalQueries>().ListForIncidentAsync(incident.Id, CancellationToken.None));
    }

    [Fact]
    public async Task A_request_standing_alone_shows_its_own_card_with_buttons_and_runs_when_approved()
    {
        using var storage = TestStorage.Sqlite();
        await using var bed = await RemediationBed.StartAsync(storage, registry);
        bed.Api.Seed(RemediationBed.Deployment("web", $"{registry.Anonymous}/team/app:1.4.2", replicas: 2));
        bed.Api.MarkPodsReady("shop", "app=web");
        var plan = new RemediationPlan(RemediationKind.RestartWorkload, "shop", "Deployment", "web", "Restart deployment/web",
            "Sets the pod template's kubectl.kubernetes.io/restartedAt annotation, rolling every pod.", RemediationRisk.Medium, new Dictionary<string, string>());
        var requests = bed.Get<IRemediationRequests>();

        var elsewhere = await requests.RequestAsync(People.Alice, null, "staging", plan, CancellationToken.None);
        Assert.Equal("This is about cluster staging, and this bot acts on cluster prod. Nothing was requested.", elsewhere.Text);

        var asked = await requests.RequestAsync(People.Alice, null, "prod", plan, CancellationToken.None);
        Assert.False(asked.Ephemeral);
        var card = Assert.IsType<Card>(asked.Card);
        Assert.StartsWith("approval:apr-", card.Key, StringComparison.Ordinal);
        var approve = Assert.Single(card.Actions, a => a.Payload.Verb == CardVerb.Approve);
        Assert.NotNull(approve.Confirm);
        Assert.Contains(card.Actions, a => a.Payload.Verb == CardVerb.Deny);
        Assert.Contains(card.Sections, s => s.Heading == "Dry run" && s.Text.Contains("kubectl.kubernetes.io/restartedAt", StringComparison.Ordinal));
        Assert.Single(await bed.Get<IApprovalQueries>().ListPendingAsync("shop", CancellationToken.None));

        var again = await requests.RequestAsync(People.Mallory, null, "prod", plan, CancellationToken.None);
        Assert.StartsWith("alice already asked to run \"Restart deployment/web\"", again.Text, StringComparison.Ordinal);

        var approved = await bed.ClickAsync(People.Carol, CardVerb.Approve, approve.Payload.Target);
        Assert.StartsWith("carol approved \"Restart deployment/web\". Running it now.", approved.Text, StringComparison.Ordinal);
        Assert.Equal(card.Key, approved.UpdatedCard!.Key);
        Assert.DoesNotContain(approved.UpdatedCard.Actions, a => a.Payload.Verb == CardVerb.Approve);
        await bed.WaitForRunAsync(approve.Payload.Target, r => r.Run.Status == RunStatus.VerifyingRollout);
        bed.Api.MarkPodsReady("shop", "app=web");
        var run = await bed.WaitForRunAsync(approve.Payload.Target);
        Assert.Equal(RunStatus.Succeeded, run.Run.Status);
        Assert.Empty(await bed.Get<IApprovalQueries>().ListPendingAsync("shop", CancellationToken.None));
        var view = await bed.Get<ChatApprovals>().CardAsync(null, await bed.Get<ApprovalStore>().GetAsync(approve.Payload.Target), CancellationToken.None);
        Assert.Equal(CardTone.Good, view!.Tone);
    }

    [Fact]
    public async Task In_teams_only_the_policys_teams_approvers_are_shown_approve_and_deny()
    {
        using var storage = TestStorage.Sqlite();
        await using var bed = await RemediationBed.StartAsync(storage, registry, new()
        {
            ["Approvals:Rules:0:ApproverGroups:1"] = "teams:oncall",
            ["Approvals:GroupMembers:1:Group"] = "teams:oncall",
            ["Approvals:GroupMembers:1:Members:0"] = "8a0c3d11-0000-4000-8000-0000000000aa",
        });
        var image = $"{registry.Anonymous}/team/app:1.4.3";
        bed.SeedFailingDeployment("api", image);
        var incident = await bed.OpenIncidentAsync("api", image, Facts.TagMissing(["1.4.2"]));
        var card = await bed.Get<ChatOpsPull.Chat.IncidentCardPublisher>().BuildAsync(incident, CancellationToken.None);
        var approvers = bed.Get<ChatOpsPull.Chat.Teams.ITeamsCardApprovers>();

        Assert.Equal([People.Carol.Id, "8a0c3d11-0000-4000-8000-0000000000aa"], await approvers.ApproversForAsync("19:shop@thread.tacv2", card, CancellationToken.None));
        Assert.Null(await approvers.ApproversForAsync("19:shop@thread.tacv2", card with { Key = "digest:shop:2026-11-25" }, CancellationToken.None));
    }

    [Theory]
    [InlineData("Approvals:Rules:0:Approvers:0", "U012AB3CD", "Approvals:Rules:0 names \"U012AB3CD\"; write approvers as platform:id")]
    [InlineData("Approvals:AutoRun:0", "set_tag", "Approvals:AutoRun may only name kinds that change no spec and no credentials (delete_backoff_pods); \"set_tag\" is not one: it changes what runs")]
    [InlineData("Approvals:AutoRun:0", "restart", "\"restart\" is not one: a restart changes the pod template (kubectl.kubernetes.io/restartedAt) and rolls every pod, so it always needs approval")]
    [InlineData("Approvals:AutoRun:0", "reboot_cluster", "Approvals:AutoRun names \"reboot_cluster\", which is not a remediation kind")]
    [InlineData("Approvals:RequestLifetime", "00:00:00", "Approvals:RequestLifetime must be between 1 second and 7 days")]
    [InlineData("Remediation:CredentialSources:0:Registry", "https://ghcr.io", "Remediation:CredentialSources:0:Registry must be a registry host as image names write it")]
    [InlineData("Remediation:RolloutDeadline", "00:00:00", "Remediation:RolloutDeadline must be between 1 second and 2 hours")]
    public void Bad_approval_and_remediation_settings_stop_the_host_with_a_sentence(string key, string value, string expected)
    {
        using var storage = TestStorage.Sqlite();
        using var host = new BotTestHost(storage, new() { [key] = value });

        var thrown = Assert.ThrowsAny<Exception>(() => host.Services);
        var error = thrown as OptionsValidationException
            ?? (thrown as AggregateException)?.Flatten().InnerExceptions.OfType<OptionsValidationException>().FirstOrDefault();
        Assert.True(error is not null, $"expected an options validation failure, got {thrown}");
        Assert.Contains(expected, error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_rule_needing_more_approvals_than_it_has_approvers_is_refused()
    {
        var options = new ApprovalOptions { Rules = [new ApprovalRuleOptions { Namespace = "shop", Approvers = ["slack:U1"], Required = 2 }] };

        var problems = options.Validate(new ValidationContext(options)).Select(r => r.ErrorMessage).ToList();

        Assert.Equal(["Approvals:Rules:0 needs 2 approvals but names only 1 approver(s) and no group, so nothing it covers could ever be approved."], problems);
    }

    [Fact]
    public void Settings_map_to_the_policy_the_clicks_are_checked_against()
    {
        var options = new ApprovalOptions
        {
            Rules = [new ApprovalRuleOptions { Cluster = "prod-*", Namespace = "shop", Approvers = ["slack:U1"], ApproverGroups = ["slack:S1"], Required = 1, AllowSelfApproval = true }],
            RequestLifetime = TimeSpan.FromMinutes(30),
            AutoRun = ["DeleteBackoffPods"],
        };

        var policy = options.ToPolicy();

        Assert.Equal(TimeSpan.FromMinutes(30), policy.RequestLifetime);
        Assert.True(policy.MayAutoRun(RemediationKind.DeleteBackoffPods));
        Assert.False(policy.MayAutoRun(RemediationKind.RestartWorkload));
        Assert.True(policy.IsApprover("prod-eu", "shop", new Actor("slack", "U2", "x", ["S1"])));
        Assert.False(policy.IsApprover("staging", "shop", new Actor("slack", "U1", "x", [])));
        Assert.True(policy.RuleFor("prod-eu", "shop")!.AllowSelfApproval);
    }

    /// <summary>Waits until the card in C0SHOP contains <paramref name="text"/>; returns the card's JSON.</summary>
    private static async Task<string> Card(FakeSlackServer slack, string text) =>
        (await Eventually.ValueAsync(
            () => Task.FromResult(slack.Messages.Where(m => m.Channel == "C0SHOP").Select(m => m.Content.ToJsonString(new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
                .FirstOrDefault(c => c.Contains(text, StringComparison.Ordinal))),
            card => card is not null,
            $"a card in C0SHOP that says \"{text}\"",
            describe: _ => "calls: " + string.Join(", ", slack.Calls.Select(c => c.Method + (c.Error is null ? string.Empty : ":" + c.Error)))))!;
}
