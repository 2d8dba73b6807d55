using ChatOpsPull.Approvals;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Core.Approvals;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Incidents;
using ChatOpsPull.Remediation;
using ChatOpsPull.Storage;
using ChatOpsPull.Tests.Incidents;
using ChatOpsPull.Tests.Observability;
using ChatOpsPull.Tests.Registry;
using ChatOpsPull.Tests.Remediation;
using ChatOpsPull.Tests.Storage;

namespace ChatOpsPull.Tests.Approvals;

/// <summary>
/// The approval policy through the real button handler, store and host, on SQLite and PostgreSQL: who may approve,
/// how many approvals, self-approval, a denial's veto, double clicks and expiry. Every refused click changes nothing
/// and is in the audit log.
/// </summary>
[Collection(RemediationParts.Name)]
public sealed class ApprovalPolicyEndToEndTests(PostgresFixture postgres, RegistryFixture registry)
{
    private static readonly Dictionary<string, string?> TwoApprovals = new() { ["Approvals:Rules:0:Required"] = "2" };

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Approver_non_approver_double_click_and_second_approval_are_decided_on_the_server(DatabaseProvider provider)
    {
        using var storage = await Engines.StorageAsync(provider, postgres);
        await using var bed = await RemediationBed.StartAsync(storage, registry, TwoApprovals);
        var image = $"{registry.Anonymous}/team/app:1.4.3";
        bed.SeedFailingDeployment("api", image);
        var incident = await bed.OpenIncidentAsync("api", image, Facts.TagMissing(["1.4.2"]));
        var plan = Facts.Plan(incident, RemediationKind.SetImageTag);
        var store = bed.Get<ApprovalStore>();

        var asked = await bed.ClickAsync(People.Alice, CardVerb.Request, incident.Id, plan.Key);
        Assert.StartsWith("alice asked to run \"Set tag to 1.4.2\". It needs 2 approvals before ", asked.Text, StringComparison.Ordinal);
        var id = RemediationBed.ApprovalIdOn(asked.UpdatedCard!, plan.Title);
        var pending = (await store.GetAsync(id))!;

        var stranger = await bed.ClickAsync(People.Mallory, CardVerb.Approve, id);
        Assert.Equal("You are not an approver for namespace shop in cluster prod. Nothing changed.", stranger.Text);
        Assert.Equal(pending.Version, (await store.GetAsync(id))!.Version);

        var first = await bed.ClickAsync(People.Bob, CardVerb.Approve, id);
        Assert.Equal("bob approved \"Set tag to 1.4.2\". 1 more approval is needed.", first.Text);
        Assert.Contains(first.UpdatedCard!.Sections.Single(s => s.Heading == "Remediation").Lines, l => l.Text.Contains("waiting for approval (1/2", StringComparison.Ordinal) && l.Text.Contains("approved by bob", StringComparison.Ordinal));

        var again = await bed.ClickAsync(People.Bob, CardVerb.Approve, id);
        Assert.Equal("You have already voted on this request. Nothing changed.", again.Text);
        Assert.Empty(await bed.Get<RemediationRunStore>().ListForIncidentsAsync([incident.Id]));

        using var client = bed.Host.CreateClient();
        var beforeDecision = await PrometheusScrape.TakeAsync(client);
        var second = await bed.ClickAsync(People.Dave, CardVerb.Approve, id); // a web user, approver through the group web:oncall
        Assert.StartsWith("dave approved \"Set tag to 1.4.2\". Running it now.", second.Text, StringComparison.Ordinal);
        Assert.Contains($"It will change: spec.template.spec.containers[app].image: {image} →", second.Text, StringComparison.Ordinal);

        var late = await bed.ClickAsync(People.Carol, CardVerb.Approve, id);
        Assert.Equal("This request was already approved; the job is running or has run. Nothing changed.", late.Text);
        var lateDeny = await bed.ClickAsync(People.Carol, CardVerb.Deny, id);
        Assert.Equal("This request was already approved; the job is running or has run. Nothing changed.", lateDeny.Text);

        var decided = (await store.GetAsync(id))!;
        Assert.Equal(ApprovalStatus.Approved, decided.Status);
        Assert.Equal(["bob", "dave"], decided.Votes.Select(v => v.By.Name));
        var afterDecision = await PrometheusScrape.TakeAsync(client);
        Assert.True(
            afterDecision.Value("chatopspull_approval_latency_seconds_count") > beforeDecision.Value("chatopspull_approval_latency_seconds_count"),
            "the decision is counted in the approval latency histogram:\n" + afterDecision);
        Assert.Single(await bed.Get<RemediationRunStore>().ListForIncidentsAsync([incident.Id]));
        var audit = await bed.Get<AuditLog>().ForApprovalAsync(id);
        Assert.Equal(4, audit.Count(a => a.Action == ApprovalAuditActions.Refused && a.Outcome == AuditOutcome.Refused));
        Assert.Equal(["mallory", "bob", "carol", "carol"], audit.Where(a => a.Action == ApprovalAuditActions.Refused).Select(a => a.Actor.Name));
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Self_approval_is_refused_and_one_denial_vetoes(DatabaseProvider provider)
    {
        using var storage = await Engines.StorageAsync(provider, postgres);
        await using var bed = await RemediationBed.StartAsync(storage, registry, TwoApprovals);
        var image = $"{registry.Anonymous}/team/app:1.4.3";
        bed.SeedFailingDeployment("api", image);
        var incident = await bed.OpenIncidentAsync("api", image, Facts.TagMissing(["1.4.2"]));
        var plan = Facts.Plan(incident, RemediationKind.SetImageTag);

        var asked = await bed.ClickAsync(People.Bob, CardVerb.Request, incident.Id, plan.Key);
        Assert.StartsWith("bob asked to run", asked.Text, StringComparison.Ordinal);
        var id = await bed.PendingIdAsync(incident.Id, RemediationKind.SetImageTag);
        var self = await bed.ClickAsync(People.Bob, CardVerb.Approve, id);
        Assert.Equal("You asked for this change, and approving your own request is not allowed here. Another approver must approve it.", self.Text);

        Assert.Equal("carol approved \"Set tag to 1.4.2\". 1 more approval is needed.", (await bed.ClickAsync(People.Carol, CardVerb.Approve, id)).Text);
        var denied = await bed.ClickAsync(People.Dave, CardVerb.Deny, id);
        Assert.Equal("dave denied \"Set tag to 1.4.2\".", denied.Text);
        var afterDenial = await bed.ClickAsync(People.Bob, CardVerb.Approve, id);
        Assert.Equal("This request was already denied. Nothing changed.", afterDenial.Text);

        Assert.Equal(ApprovalStatus.Denied, (await bed.Get<ApprovalStore>().GetAsync(id))!.Status);
        Assert.Empty(await bed.Get<RemediationRunStore>().ListForIncidentsAsync([incident.Id]));
        Assert.Equal(IncidentState.Diagnosed, (await bed.Get<IncidentStore>().GetAsync(incident.Id))!.State);
        var card = denied.UpdatedCard!;
        Assert.DoesNotContain(card.Actions, a => a.Payload.Verb is CardVerb.Approve or CardVerb.Deny);
        Assert.Contains(card.Actions, a => a.Payload.Verb == CardVerb.Request && a.Payload.Argument == plan.Key); // it can be asked for again
        Assert.Contains(card.Sections.Single(s => s.Heading == "Remediation").Lines, l => l.Text.Contains("denied — approved by carol, denied by dave", StringComparison.Ordinal));
        Assert.Contains(await bed.Get<AuditLog>().ForApprovalAsync(id), a => a.Action == ApprovalAuditActions.Denied && a.Actor.Name == "dave");
    }

    [Fact]
    public async Task Self_approval_where_allowed_counts_the_request_as_the_approval()
    {
        using var storage = TestStorage.Sqlite();
        await using var bed = await RemediationBed.StartAsync(storage, registry, new() { ["Approvals:Rules:0:AllowSelfApproval"] = "true" });
        var image = $"{registry.Anonymous}/team/app:1.4.3";
        bed.SeedFailingDeployment("api", image);
        var incident = await bed.OpenIncidentAsync("api", image, Facts.TagMissing(["1.4.2"]));

        var asked = await bed.ClickAsync(People.Bob, CardVerb.Request, incident.Id, Facts.Plan(incident, RemediationKind.SetImageTag).Key);

        Assert.StartsWith("bob approved \"Set tag to 1.4.2\". Running it now.", asked.Text, StringComparison.Ordinal);
        var request = Assert.Single(await bed.Get<IApprovalQueries>().ListForIncidentAsync(incident.Id, CancellationToken.None));
        Assert.Equal(ApprovalStatus.Approved, request.Status);
        await bed.WaitForRunAsync(request.Id, r => r.Run.Status == RunStatus.VerifyingRollout);
    }

    [Fact]
    public async Task An_expired_request_cannot_be_approved_and_the_sweep_expires_the_others()
    {
        using var storage = TestStorage.Sqlite();
        await using var bed = await RemediationBed.StartAsync(storage, registry, new() { ["Approvals:RequestLifetime"] = "00:00:01" });
        var image = $"{registry.Anonymous}/team/app:1.4.3";
        bed.SeedFailingDeployment("api", image);
        bed.SeedFailingDeployment("web", image);
        var api = await bed.OpenIncidentAsync("api", image, Facts.TagMissing(["1.4.2"]));
        var web = await bed.OpenIncidentAsync("web", image, Facts.TagMissing(["1.4.2"]));
        await bed.ClickAsync(People.Alice, CardVerb.Request, api.Id, Facts.Plan(api, RemediationKind.SetImageTag).Key);
        await bed.ClickAsync(People.Alice, CardVerb.Request, web.Id, Facts.Plan(web, RemediationKind.SetImageTag).Key);
        var apiRequest = await bed.PendingIdAsync(api.Id, RemediationKind.SetImageTag);
        var webRequest = await bed.PendingIdAsync(web.Id, RemediationKind.SetImageTag);
        var expiries = new List<DateTimeOffset>();
        foreach (var id in new[] { apiRequest, webRequest })
        {
            expiries.Add((await bed.Get<ApprovalStore>().GetAsync(id))!.ExpiresAt);
        }

        await Eventually.HoldsAsync(() => DateTimeOffset.UtcNow > expiries.Max(), "both requests' lifetimes (1 s) to end", seen: () => $"now {DateTimeOffset.UtcNow:O}, expiries {string.Join(", ", expiries)}");

        var click = await bed.ClickAsync(People.Bob, CardVerb.Approve, apiRequest);
        Assert.Equal("This request has expired. Ask again from the incident card.", click.Text);
        Assert.Equal(ApprovalStatus.Expired, (await bed.Get<ApprovalStore>().GetAsync(apiRequest))!.Status);
        Assert.Equal(IncidentState.Diagnosed, (await bed.Get<IncidentStore>().GetAsync(api.Id))!.State);

        await bed.Get<ApprovalWorkflow>().ExpireDueAsync(CancellationToken.None); // what the recurring sweep does
        Assert.Equal(ApprovalStatus.Expired, (await bed.Get<ApprovalStore>().GetAsync(webRequest))!.Status);
        Assert.Empty(await bed.Get<IApprovalQueries>().ListPendingAsync("shop", CancellationToken.None));
        Assert.Empty(await bed.Get<RemediationRunStore>().ListForIncidentsAsync([api.Id, web.Id]));
        foreach (var id in new[] { apiRequest, webRequest })
        {
            Assert.Single(await bed.Get<AuditLog>().ForApprovalAsync(id), a => a.Action == ApprovalAuditActions.Expired);
        }
    }

    [Fact]
    public async Task Unknown_ids_other_clusters_closed_incidents_and_outdated_cards_change_nothing()
    {
        using var storage = TestStorage.Sqlite();
        await using var bed = await RemediationBed.StartAsync(storage, registry);
        var image = $"{registry.Anonymous}/team/app:1.4.3";
        bed.SeedFailingDeployment("api", image);
        var incident = await bed.OpenIncidentAsync("api", image, Facts.TagMissing(["1.4.2"]));
        var engine = bed.Get<IncidentEngine>();

        Assert.Equal("There is no approval request apr-zzzzzzzz; the card may come from another bot. Nothing changed.", (await bed.ClickAsync(People.Bob, CardVerb.Approve, "apr-zzzzzzzz")).Text);
        Assert.Equal("There is no incident inc-zzzzzzzz; the card may come from another bot. Nothing changed.", (await bed.ClickAsync(People.Bob, CardVerb.Request, "inc-zzzzzzzz", "SetImageTag:x=y")).Text);
        Assert.Equal("This button's id is not one the bot issued. Nothing changed.", (await bed.ClickAsync(People.Bob, CardVerb.Approve, "inc-zzzzzzzz")).Text);

        var outdated = await bed.ClickAsync(People.Alice, CardVerb.Request, incident.Id, "SetImageTag:container=app,image=example.com/app:0.0.1");
        Assert.Equal("This card is out of date; here is the current one. Nothing was requested.", outdated.Text);
        Assert.Contains(outdated.UpdatedCard!.Actions, a => a.Payload.Verb == CardVerb.Request && a.Payload.Argument == Facts.Plan(incident, RemediationKind.SetImageTag).Key);

        await engine.ReportAsync(new Core.Failures.PullFailure(Core.Failures.FailureSource.Alertmanager, "staging", "shop", "api-1", "app", Core.Failures.ContainerKind.Regular, image, "ErrImagePull", "not found", DateTimeOffset.UtcNow), CancellationToken.None);
        var elsewhere = (await bed.Get<IncidentStore>().ListOpenAsync("staging")).Single();
        Assert.Equal($"Incident {elsewhere.Id} is in cluster staging, and this bot acts on cluster prod. Nothing changed.", (await bed.ClickAsync(People.Bob, CardVerb.Snooze, elsewhere.Id, "1h")).Text);
        Assert.Null((await bed.Get<IncidentStore>().GetAsync(elsewhere.Id))!.SnoozedUntil);

        await engine.TransitionAsync(incident.Id, IncidentState.Resolved, AuditActor.Bot, IncidentChange.Resolved, "test");
        var closed = await bed.ClickAsync(People.Alice, CardVerb.Request, incident.Id, Facts.Plan(incident, RemediationKind.SetImageTag).Key);
        Assert.Equal($"Incident {incident.Id} is resolved; there is nothing to do on it. Nothing changed.", closed.Text);
        Assert.Empty(await bed.Get<IApprovalQueries>().ListForIncidentAsync(incident.Id, CancellationToken.None));
    }

    [Fact]
    public async Task Snooze_rediagnose_and_mute_go_through_the_incident_engine_and_mute_needs_an_approver()
    {
        using var storage = TestStorage.Sqlite();
        await using var bed = await RemediationBed.StartAsync(storage, registry);
        var image = $"{registry.Anonymous}/team/app:1.4.3";
        bed.SeedFailingDeployment("api", image);
        var incident = await bed.OpenIncidentAsync("api", image, Facts.TagMissing(["1.4.2"]));
        var incidents = bed.Get<IncidentStore>();

        var snoozed = await bed.ClickAsync(People.Alice, CardVerb.Snooze, incident.Id, "1h");
        Assert.StartsWith($"Snoozed {incident.Id} until ", snoozed.Text, StringComparison.Ordinal);
        Assert.InRange((await incidents.GetAsync(incident.Id))!.SnoozedUntil!.Value, DateTimeOffset.UtcNow.AddMinutes(59), DateTimeOffset.UtcNow.AddMinutes(61));
        Assert.StartsWith("\"8d\" is not a snooze duration the bot issued", (await bed.ClickAsync(People.Alice, CardVerb.Snooze, incident.Id, "8d")).Text, StringComparison.Ordinal);

        bed.Diagnoser.Script = Facts.TagMissing(["1.4.2", "1.5.0"]);
        var again = await bed.ClickAsync(People.Alice, CardVerb.Rediagnose, incident.Id);
        Assert.StartsWith($"Diagnosing {incident.Id} again", again.Text, StringComparison.Ordinal);
        await Eventually.ValueAsync(async () => (await incidents.GetAsync(incident.Id))!, i => i.Diagnosis!.Remediations.Count(p => p.Kind == RemediationKind.SetImageTag) == 2, "the new diagnosis");

        var refused = await bed.ClickAsync(People.Mallory, CardVerb.MuteImage, incident.Id);
        Assert.Equal("Only approvers for namespace shop may mute an image. Nothing changed.", refused.Text);
        Assert.Empty(await incidents.ListMutesAsync(DateTimeOffset.UtcNow));
        var muted = await bed.ClickAsync(People.Bob, CardVerb.MuteImage, incident.Id);
        Assert.StartsWith($"Muted {registry.Anonymous}/team/app in cluster prod (mut-", muted.Text, StringComparison.Ordinal);
        Assert.Single(await incidents.ListMutesAsync(DateTimeOffset.UtcNow));
    }
}
