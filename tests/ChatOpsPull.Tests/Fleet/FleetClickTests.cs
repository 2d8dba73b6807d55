using System.Text.Json.Nodes;
using ChatOpsPull.Approvals;
using ChatOpsPull.Chat;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Core.Approvals;
using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Fleet;
using ChatOpsPull.Incidents;
using ChatOpsPull.Remediation;
using ChatOpsPull.Storage;
using ChatOpsPull.Tests.Incidents;
using ChatOpsPull.Simulation.KubernetesApi;
using ChatOpsPull.Tests.Remediation;
using ChatOpsPull.Tests.Storage;
using Hangfire;

namespace ChatOpsPull.Tests.Fleet;

/// <summary>
/// A fleet in one test process: bots of clusters prod-a and prod-b (and a chat replica with no cluster), each the real host
/// with its own Kubernetes API stand-in, all on one real PostgreSQL database and its Hangfire tables. A click on prod-b's
/// card is decided wherever it lands and runs on prod-b's bot, once; with prod-b's bot gone the work waits on its queue and
/// says so, runs when the bot is back, or gives up when the request's time is up.
/// </summary>
[Collection(UsesPostgres.Name)]
public sealed class FleetClickTests(PostgresFixture postgres)
{
    private const string Image = "registry.example.test/team/app:1.4.2";

    [Fact]
    public async Task Click_on_cluster_b_card_delivered_to_other_bots_runs_on_b_exactly_once()
    {
        using var storage = await TestStorage.PostgresAsync(postgres);
        await using var fleet = new FleetOfBots(storage);
        var a = await fleet.StartAsync("prod-a");
        var b = await fleet.StartAsync("prod-b");
        var chat = await fleet.StartAsync("chat", chatReplica: true);
        a.SeedFailingDeployment("api", Image, replicas: 2);
        b.SeedFailingDeployment("api", Image, replicas: 2);
        var generationA = RemediationBed.Generation(a.DeploymentObject("api"));
        var generationB = RemediationBed.Generation(b.DeploymentObject("api"));
        var incident = await b.OpenIncidentAsync("api", Image, Facts.PullableNow(), cluster: "prod-b");
        var plan = Facts.Plan(incident, RemediationKind.RestartWorkload);

        // Asked on the chat replica: it cannot dry-run prod-b, so prod-b's bot does, on its queue.
        var asked = await chat.ClickAsync(People.Alice, CardVerb.Request, incident.Id, plan.Key);

        Assert.Contains("alice asked to run", asked.Text, StringComparison.Ordinal);
        Assert.Contains("Dry run: waiting for cluster prod-b", asked.Text, StringComparison.Ordinal);
        var card = Assert.IsType<Card>(asked.UpdatedCard);
        Assert.Contains(card.Facts, f => f.Label == "Cluster" && f.Value == "prod-b");
        var approvalId = RemediationBed.ApprovalIdOn(card, plan.Title);
        var dryRun = await Eventually.ValueAsync(
            () => a.Get<ApprovalStore>().GetAsync(approvalId), r => r is not null && !ApprovalWorkflow.DryRunIsWaiting(r), "prod-b's bot to make the dry run");
        Assert.Contains("kubectl.kubernetes.io/restartedAt", dryRun!.DryRun, StringComparison.Ordinal);

        // Two approvers click at once on two other bots: one approval, one run, on prod-b.
        var clicks = await Task.WhenAll(
            a.ClickAsync(People.Bob, CardVerb.Approve, approvalId),
            chat.ClickAsync(People.Dave, CardVerb.Approve, approvalId));

        Assert.Single(clicks, c => c.Text.Contains("approved \"", StringComparison.Ordinal) && c.Text.Contains("Running it now.", StringComparison.Ordinal));
        await b.WaitForRunAsync(approvalId, r => r.Run.Status == RunStatus.VerifyingRollout);
        Assert.NotNull(b.DeploymentObject("api")["spec"]!["template"]!["metadata"]!["annotations"]?["kubectl.kubernetes.io/restartedAt"]);
        b.Api.MarkPodsReady(RemediationBed.Namespace, "app=api");
        var run = await b.WaitForRunAsync(approvalId);

        Assert.Equal(RunStatus.Succeeded, run.Run.Status);
        Assert.Equal("prod-b", run.Cluster);
        Assert.Equal(generationB + 1, RemediationBed.Generation(b.DeploymentObject("api")));
        Assert.Equal(generationA, RemediationBed.Generation(a.DeploymentObject("api")));
        Assert.Null(a.DeploymentObject("api")["spec"]!["template"]!["metadata"]!["annotations"]?["kubectl.kubernetes.io/restartedAt"]);
        Assert.Empty(Writes(a.Api));
        Assert.Empty(chat.Api.Requests); // the chat replica has no cluster connection at all
        var audit = (await a.Get<AuditLog>().ForApprovalAsync(approvalId)).Select(e => e.Action).ToList();
        Assert.Single(audit, x => x == ApprovalAuditActions.Approved);
        Assert.Single(audit, x => x == RemediationAuditActions.JobStarted);
        Assert.Single(audit, x => x == RemediationAuditActions.JobFinished);
    }

    [Fact]
    public async Task Dry_run_made_on_the_clusters_bot_carries_who_manages_the_workload_onto_the_card_and_a_plain_click_asks_for_confirmation()
    {
        using var storage = await TestStorage.PostgresAsync(postgres);
        await using var fleet = new FleetOfBots(storage);
        var b = await fleet.StartAsync("prod-b");
        var chat = await fleet.StartAsync("chat", chatReplica: true);
        var deployment = RemediationBed.Deployment("api", Image, replicas: 1);
        deployment["metadata"]!["annotations"] = new JsonObject { [WorkloadOwnership.ArgoCdTrackingAnnotation] = "storefront:apps/Deployment:shop/api" };
        b.Api.Seed(deployment);
        foreach (var pod in b.PodsOf("api"))
        {
            b.Api.SetContainerWaiting(RemediationBed.Namespace, ObjectStore.Name(pod), "app", "ImagePullBackOff", RemediationFlowTests.Backoff(Image));
        }

        var generation = RemediationBed.Generation(b.DeploymentObject("api"));
        var owner = WorkloadOwnership.Detect(null, new Dictionary<string, string> { [WorkloadOwnership.ArgoCdTrackingAnnotation] = "storefront:apps/Deployment:shop/api" }, null)!;
        var incident = await b.OpenIncidentAsync("api", Image, PullableNowManagedBy(owner), cluster: "prod-b");
        var plan = Facts.Plan(incident, RemediationKind.RestartWorkload);
        const string Note = "(managed by Argo CD application storefront: Argo CD puts the declared spec back at its next sync";

        // Asked on the chat replica, which cannot read prod-b: the owner the diagnosis read decides, as on one bot.
        var plain = await chat.ClickAsync(People.Alice, CardVerb.Request, incident.Id, plan.Key);
        Assert.Contains($"To ask for \"{plan.Title}\" all the same, confirm it", plain.Text, StringComparison.Ordinal);
        Assert.Empty(await chat.Get<IApprovalQueries>().ListForIncidentAsync(incident.Id, CancellationToken.None));
        var asked = await chat.ClickAsync(People.Alice, CardVerb.RequestAnyway, incident.Id, plan.Key);
        Assert.Contains("Dry run: waiting for cluster prod-b", asked.Text, StringComparison.Ordinal);
        Assert.Contains(Note, asked.Text, StringComparison.Ordinal);
        var approvalId = RemediationBed.ApprovalIdOn(asked.UpdatedCard!, plan.Title);

        // prod-b's bot makes the dry run from the live object, and the note stays with it.
        var request = await Eventually.ValueAsync(
            () => chat.Get<ApprovalStore>().GetAsync(approvalId), r => r is not null && !ApprovalWorkflow.DryRunIsWaiting(r), "prod-b's bot to make the dry run");
        Assert.Contains("kubectl.kubernetes.io/restartedAt", request!.DryRun, StringComparison.Ordinal);
        Assert.Contains(Note, request.DryRun, StringComparison.Ordinal);
        var card = await chat.Get<IncidentCardPublisher>().BuildAsync((await chat.Get<IncidentStore>().GetAsync(incident.Id))!, CancellationToken.None);
        var line = Assert.Single(card.Sections.Single(s => s.Heading == "Remediation").Lines, l => l.Text.Contains("kubectl.kubernetes.io/restartedAt", StringComparison.Ordinal));
        Assert.Contains(Note, line.Text, StringComparison.Ordinal);
        Assert.Contains(await chat.Get<AuditLog>().ForApprovalAsync(approvalId), a => a.Detail?.Contains("dry run on cluster prod-b", StringComparison.Ordinal) == true && a.Detail.Contains(Note, StringComparison.Ordinal));
        Assert.Equal(generation, RemediationBed.Generation(b.DeploymentObject("api"))); // a dry run (dryRun=All) changed nothing
        Assert.Empty(chat.Api.Requests);
    }

    /// <summary>The image is pullable now (a passing transient failure); the workload's shape as the diagnoser reads it, owned by <paramref name="owner"/>.</summary>
    private static Func<Incident, Core.Diagnoses.Diagnosis> PullableNowManagedBy(WorkloadOwner owner) => incident =>
        DiagnosisPlanner.Plan(
            Facts.For(incident, new RegistryFacts(null, "pullable", [], null, []), reason: "ImagePullBackOff") with { Shape = new WorkloadShape("Deployment", "api") { Owner = owner } },
            [new Evidence("manifest team/app", EvidenceOutcome.Passed, "application/vnd.oci.image.manifest.v1+json")],
            DateTimeOffset.UtcNow);

    /// <summary>
    /// prod-a's bot and prod-b's (on <paramref name="apiB"/>, kept across its stop), a failing Deployment on prod-b with an
    /// incident whose plan restarts it, then prod-b's bot stopped and no longer live: clicks now land on prod-a.
    /// </summary>
    private static async Task<(RemediationBed A, Incident Incident, RemediationPlan Plan, long GenerationB)> OpenRestartOnBThenStopItsBotAsync(FleetOfBots fleet, FakeKubernetesApi apiB)
    {
        var a = await fleet.StartAsync("prod-a");
        var b = await fleet.StartAsync("prod-b", api: apiB);
        b.SeedFailingDeployment("api", Image, replicas: 2);
        var generationB = RemediationBed.Generation(b.DeploymentObject("api"));
        var incident = await b.OpenIncidentAsync("api", Image, Facts.PullableNow(), cluster: "prod-b");
        var plan = Facts.Plan(incident, RemediationKind.RestartWorkload);
        await fleet.StopAsync(b);
        await Eventually.ValueAsync(() => a.Get<FleetRegistry>().IsLiveAsync("prod-b", CancellationToken.None), live => !live, "prod-b to have no live bot");
        return (a, incident, plan, generationB);
    }

    [Fact]
    public async Task Click_for_a_cluster_whose_bot_is_down_waits_says_so_and_runs_once_when_it_is_back()
    {
        using var storage = await TestStorage.PostgresAsync(postgres);
        await using var fleet = new FleetOfBots(storage);
        await using var apiB = await FleetOfBots.StartApiAsync();
        var (a, incident, plan, generationB) = await OpenRestartOnBThenStopItsBotAsync(fleet, apiB);

        var asked = await a.ClickAsync(People.Alice, CardVerb.Request, incident.Id, plan.Key);
        var approvalId = RemediationBed.ApprovalIdOn(asked.UpdatedCard!, plan.Title);
        var approved = await a.ClickAsync(People.Bob, CardVerb.Approve, approvalId);

        Assert.Contains("Dry run: waiting for cluster prod-b", asked.Text, StringComparison.Ordinal);
        Assert.Contains("Waiting for cluster prod-b: no bot of it is running now.", asked.Text, StringComparison.Ordinal);
        Assert.Contains("Waiting for cluster prod-b: no bot of it is running now. The work runs when one is back", approved.Text, StringComparison.Ordinal);
        var updated = await a.Get<IncidentCardPublisher>().BuildAsync((await a.Get<IncidentStore>().GetAsync(incident.Id))!, CancellationToken.None);
        Assert.Contains(updated.Sections.SelectMany(s => s.Lines), l => l.Text.Contains("waiting for cluster prod-b", StringComparison.Ordinal));
        // The dry run and the fix wait on prod-b's own queue; nothing took them.
        Assert.Equal(2, a.Get<JobStorage>().GetMonitoringApi().EnqueuedCount(ClusterQueues.QueueName("prod-b")));
        Assert.Equal(RunStatus.Queued, (await a.Get<RemediationRunStore>().GetAsync(approvalId))!.Run.Status);
        Assert.Equal(generationB, RemediationBed.Generation(apiB.Store.Get(ResourceType.Of("deployments"), RemediationBed.Namespace, "api")!));

        var back = await fleet.StartAsync("prod-b", api: apiB);
        await back.WaitForRunAsync(approvalId, r => r.Run.Status == RunStatus.VerifyingRollout);
        apiB.MarkPodsReady(RemediationBed.Namespace, "app=api");
        var run = await back.WaitForRunAsync(approvalId);

        Assert.Equal(RunStatus.Succeeded, run.Run.Status);
        Assert.Equal(generationB + 1, RemediationBed.Generation(back.DeploymentObject("api")));
        Assert.Empty(Writes(a.Api));
        var audit = (await a.Get<AuditLog>().ForApprovalAsync(approvalId)).Select(e => e.Action).ToList();
        Assert.Single(audit, x => x == RemediationAuditActions.JobStarted);
        var request = await Eventually.ValueAsync(() => a.Get<ApprovalStore>().GetAsync(approvalId), r => !ApprovalWorkflow.DryRunIsWaiting(r!), "the dry run made on return");
        Assert.Contains("kubectl.kubernetes.io/restartedAt", request!.DryRun, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fix_that_runs_before_its_waiting_dry_run_makes_that_dry_run_first_so_it_shows_the_change()
    {
        using var storage = await TestStorage.PostgresAsync(postgres);
        await using var fleet = new FleetOfBots(storage);
        await using var apiB = await FleetOfBots.StartApiAsync();
        var (a, incident, plan, _) = await OpenRestartOnBThenStopItsBotAsync(fleet, apiB);
        var asked = await a.ClickAsync(People.Alice, CardVerb.Request, incident.Id, plan.Key);
        var approvalId = RemediationBed.ApprovalIdOn(asked.UpdatedCard!, plan.Title);
        await a.ClickAsync(People.Bob, CardVerb.Approve, approvalId);
        // The fix is taken first: the dry-run job queued before it never runs (the order two workers take them in is not fixed).
        var jobs = a.Get<JobStorage>();
        var queued = jobs.GetMonitoringApi().EnqueuedJobs(ClusterQueues.QueueName("prod-b"), 0, 10);
        var dryRunJob = Assert.Single(queued, j => j.Value.Job?.Type == typeof(DryRunJob)).Key;
        Assert.True(new BackgroundJobClient(jobs).Delete(dryRunJob));

        var back = await fleet.StartAsync("prod-b", api: apiB);
        await back.WaitForRunAsync(approvalId, r => r.Run.Status == RunStatus.VerifyingRollout);
        apiB.MarkPodsReady(RemediationBed.Namespace, "app=api");
        var run = await back.WaitForRunAsync(approvalId);

        Assert.Equal(RunStatus.Succeeded, run.Run.Status);
        var request = (await a.Get<ApprovalStore>().GetAsync(approvalId))!;
        Assert.False(ApprovalWorkflow.DryRunIsWaiting(request));
        Assert.Contains("kubectl.kubernetes.io/restartedAt", request.DryRun, StringComparison.Ordinal); // made before the restart, so it shows one
        var audit = (await a.Get<AuditLog>().ForApprovalAsync(approvalId)).ToList();
        var dryRunLine = audit.FindIndex(e => e.Detail?.Contains("dry run on cluster prod-b", StringComparison.Ordinal) == true);
        var appliedLine = audit.FindIndex(e => e.Action == RemediationAuditActions.JobApplied);
        Assert.InRange(dryRunLine, 0, appliedLine - 1);
    }

    [Fact]
    public async Task Fix_approved_while_its_cluster_is_down_expires_with_the_request_and_changes_nothing_when_the_bot_returns_later()
    {
        using var storage = await TestStorage.PostgresAsync(postgres);
        await using var fleet = new FleetOfBots(storage, new() { ["Approvals:RequestLifetime"] = "00:00:04" });
        await using var apiB = await FleetOfBots.StartApiAsync();
        var (a, incident, plan, generationB) = await OpenRestartOnBThenStopItsBotAsync(fleet, apiB);
        var asked = await a.ClickAsync(People.Alice, CardVerb.Request, incident.Id, plan.Key);
        var approvalId = RemediationBed.ApprovalIdOn(asked.UpdatedCard!, plan.Title);
        await a.ClickAsync(People.Bob, CardVerb.Approve, approvalId);
        var expires = (await a.Get<ApprovalStore>().GetAsync(approvalId))!.ExpiresAt;
        await Eventually.ValueAsync(() => Task.FromResult(DateTimeOffset.UtcNow), now => now > expires, "the request's time to pass");

        var back = await fleet.StartAsync("prod-b", api: apiB);
        var run = await back.WaitForRunAsync(approvalId);

        Assert.Equal(RunStatus.Failed, run.Run.Status);
        Assert.StartsWith("not run: no bot of cluster prod-b took it before", run.Run.Detail, StringComparison.Ordinal);
        Assert.Equal(generationB, RemediationBed.Generation(back.DeploymentObject("api")));
        Assert.Null(back.DeploymentObject("api")["spec"]!["template"]!["metadata"]!["annotations"]?["kubectl.kubernetes.io/restartedAt"]);
        Assert.DoesNotContain(await a.Get<AuditLog>().ForApprovalAsync(approvalId), e => e.Action == RemediationAuditActions.JobApplied);
    }

    [Fact]
    public async Task Commands_name_the_cluster_or_find_the_only_one_and_status_lists_the_fleet()
    {
        using var storage = await TestStorage.PostgresAsync(postgres);
        await using var fleet = new FleetOfBots(storage);
        var a = await fleet.StartAsync("prod-a");
        var b = await fleet.StartAsync("prod-b");
        b.SeedFailingDeployment("api", Image, replicas: 1);
        var incident = await b.OpenIncidentAsync("api", Image, Facts.PullableNow(), cluster: "prod-b");
        var commands = a.Get<IChatCommandHandler>();
        Task<ChatReply> Say(string text) => commands.HandleAsync(new ChatCommandRequest(People.Alice, text, "C0SHOP"), CancellationToken.None);

        var unambiguous = await Say("retry shop/api");
        var ambiguous = await Say("retry shop/web");
        var unknown = await Say("retry prod-x/shop/web");
        var named = await Say("retry prod-a/shop/web");
        var status = await Say("status --cluster prod-b");
        var everything = await Say("status");
        var globbed = await Say("status --cluster *-b");
        var diagnose = await Say("diagnose prod-b/shop/" + incident.Pods[0].Pod);

        Assert.Contains("Dry run: waiting for cluster prod-b", unambiguous.Text, StringComparison.Ordinal);
        var requests = await a.Get<IApprovalQueries>().ListPendingAsync(null, CancellationToken.None);
        Assert.Contains(requests, r => r.Cluster == "prod-b" && r.IncidentId == incident.Id && r.Plan.Kind == RemediationKind.RestartWorkload);
        Assert.Equal("Which cluster? the fleet has clusters prod-a, prod-b and none has an open incident for shop/deployment/web: write it first, e.g. `retry prod-a/shop/deployment/web` or `retry prod-b/shop/deployment/web`. Nothing was changed.", ambiguous.Text);
        Assert.Equal("No cluster prod-x has joined this fleet (clusters: prod-a, prod-b). Nothing was changed.", unknown.Text);
        Assert.Equal("There is no deployment `web` in namespace shop of cluster prod-a. Nothing was changed.", named.Text);
        Assert.Contains("*prod-b* · 1 bot live · fixes run", status.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("prod-a", status.Text, StringComparison.Ordinal);
        Assert.Contains($"`{incident.Id}` prod-b/shop/", status.Text, StringComparison.Ordinal);
        Assert.Contains("*prod-b* · 1 bot live", globbed.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("prod-a", globbed.Text, StringComparison.Ordinal);
        Assert.Contains("*prod-a* · 1 bot live", everything.Text, StringComparison.Ordinal);
        Assert.Contains("*prod-b* · 1 bot live", everything.Text, StringComparison.Ordinal);
        Assert.StartsWith("Read live by cluster prod-b's bot: ", diagnose.Text, StringComparison.Ordinal);
        Assert.NotNull(diagnose.Card);
        Assert.Contains(diagnose.Card.Facts, f => f.Value.Contains(incident.Pods[0].Pod, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Diagnose_of_another_clusters_pod_is_read_live_by_that_clusters_bot_or_waits_for_it_when_it_is_down()
    {
        using var storage = await TestStorage.PostgresAsync(postgres);
        await using var fleet = new FleetOfBots(storage);
        await using var apiB = await FleetOfBots.StartApiAsync();
        var a = await fleet.StartAsync("prod-a");
        var chat = await fleet.StartAsync("chat", chatReplica: true);
        var b = await fleet.StartAsync("prod-b", api: apiB);
        var pod = b.SeedFailingDeployment("api", Image, replicas: 1)[0];
        var podPath = $"GET /api/v1/namespaces/shop/pods/{pod}";
        Task<ChatReply> Ask(RemediationBed bot) => bot.Get<IChatCommandHandler>().HandleAsync(new ChatCommandRequest(People.Alice, $"diagnose prod-b/shop/{pod}", "C0SHOP"), CancellationToken.None);

        var fromA = await Ask(a);
        var fromChat = await Ask(chat);

        foreach (var reply in new[] { fromA, fromChat })
        {
            Assert.StartsWith("Read live by cluster prod-b's bot: ", reply.Text, StringComparison.Ordinal);
            var card = Assert.IsType<Card>(reply.Card);
            Assert.Contains(card.Facts, f => f.Value.Contains(pod, StringComparison.Ordinal));
            Assert.Contains(Image, card.FallbackText + string.Join(' ', card.Facts.Select(f => f.Value)), StringComparison.Ordinal);
        }

        Assert.True(apiB.Requests.Count(r => r.StartsWith(podPath, StringComparison.Ordinal)) >= 2, "prod-b's bot read the pod for each question");
        Assert.DoesNotContain(a.Api.Requests, r => r.Contains(pod, StringComparison.Ordinal));
        Assert.Empty(chat.Api.Requests);

        await fleet.StopAsync(b);
        await Eventually.ValueAsync(() => a.Get<FleetRegistry>().IsLiveAsync("prod-b", CancellationToken.None), live => !live, "prod-b to have no live bot");
        var reads = apiB.Requests.Count;
        var down = await Ask(a);

        Assert.StartsWith($"I cannot read prod-b/shop/{pod} live: waiting for cluster prod-b: no bot of it is running now", down.Text, StringComparison.Ordinal);
        Assert.Null(down.Card);
        Assert.Equal(0, a.Get<JobStorage>().GetMonitoringApi().EnqueuedCount(ClusterQueues.QueueName("prod-b")));
        Assert.Equal(reads, apiB.Requests.Count);
    }

    [Fact]
    public async Task Buttons_or_commands_follow_the_cards_cluster_profile_not_the_drawing_bots()
    {
        using var storage = await TestStorage.PostgresAsync(postgres);
        await using var fleet = new FleetOfBots(storage);
        var watcher = await fleet.StartAsync("prod-a", settings: new() { ["Bot:Profile"] = "Observe" });
        var fixer = await fleet.StartAsync("prod-b");
        var chat = await fleet.StartAsync("chat", chatReplica: true);
        watcher.SeedFailingDeployment("api", Image, replicas: 1);
        fixer.SeedFailingDeployment("api", Image, replicas: 1);
        var observed = await watcher.OpenIncidentAsync("api", Image, Facts.PullableNow(), cluster: "prod-a");
        var fixable = await fixer.OpenIncidentAsync("api", Image, Facts.PullableNow(), cluster: "prod-b");

        foreach (var bot in new[] { watcher, fixer, chat })
        {
            var cards = bot.Get<IncidentCardPublisher>();
            var observedCard = (await cards.BuildAsync(observed.Id, CancellationToken.None))!;
            var fixableCard = (await cards.BuildAsync(fixable.Id, CancellationToken.None))!;

            Assert.DoesNotContain(observedCard.Actions, a => a.Payload.Verb == CardVerb.Request);
            Assert.Contains(observedCard.Sections, s => s.Heading?.StartsWith("Fix by hand: ", StringComparison.Ordinal) == true);

            // The sentence under the commands names the observing cluster's bot, not the bot that drew the card.
            Assert.Contains(observedCard.Sections, s => s.Text == "The bot of cluster prod-a only observes (install profile Observe): it runs no fix there. The commands above do what each fix would do; run them yourself.");
            Assert.DoesNotContain(observedCard.Sections, s => s.Text.Contains("This bot", StringComparison.Ordinal));
            Assert.Contains(fixableCard.Actions, a => a.Payload.Verb == CardVerb.Request);
            Assert.DoesNotContain(fixableCard.Sections, s => s.Heading?.StartsWith("Fix by hand: ", StringComparison.Ordinal) == true);
        }

        // A forged click on the observe-only cluster's fix is refused wherever it lands, and changes nothing.
        var plan = Facts.Plan(observed, RemediationKind.RestartWorkload);
        var forged = await fixer.ClickAsync(People.Alice, CardVerb.Request, observed.Id, plan.Key);
        Assert.Contains("The bot of cluster prod-a only observes", forged.Text, StringComparison.Ordinal);
        Assert.Empty(await chat.Get<IApprovalQueries>().ListForIncidentAsync(observed.Id, CancellationToken.None));
    }

    [Fact]
    public async Task Approval_rules_by_cluster_glob_decide_each_clusters_clicks_wherever_they_land()
    {
        using var storage = await TestStorage.PostgresAsync(postgres);
        await using var fleet = new FleetOfBots(storage, new()
        {
            ["Approvals:Rules:0:Cluster"] = "prod-a",
            ["Approvals:Rules:1:Cluster"] = "prod-b*",
            ["Approvals:Rules:1:Namespace"] = RemediationBed.Namespace,
            ["Approvals:Rules:1:Approvers:0"] = "slack:" + People.Mallory.Id,
            ["Approvals:Rules:1:Required"] = "1",
        });
        var a = await fleet.StartAsync("prod-a");
        var b = await fleet.StartAsync("prod-b");
        var chat = await fleet.StartAsync("chat", chatReplica: true);
        b.SeedFailingDeployment("api", Image, replicas: 1);
        var incident = await b.OpenIncidentAsync("api", Image, Facts.PullableNow(), cluster: "prod-b");
        var plan = Facts.Plan(incident, RemediationKind.RestartWorkload);
        var asked = await chat.ClickAsync(People.Alice, CardVerb.Request, incident.Id, plan.Key);
        var approvalId = RemediationBed.ApprovalIdOn(asked.UpdatedCard!, plan.Title);

        // Bob approves prod-a's fixes, not prod-b's: refused on every bot, nothing changes.
        foreach (var bot in new[] { a, b, chat })
        {
            var refused = await bot.ClickAsync(People.Bob, CardVerb.Approve, approvalId);
            Assert.Equal("You are not an approver for namespace shop in cluster prod-b. Nothing changed.", refused.Text);
        }

        Assert.Equal(ApprovalStatus.Pending, (await chat.Get<ApprovalStore>().GetAsync(approvalId))!.Status);

        // Mallory, prod-b*'s approver, approves it on prod-a's bot; it runs on prod-b.
        var approved = await a.ClickAsync(People.Mallory, CardVerb.Approve, approvalId);
        Assert.Contains("Running it now.", approved.Text, StringComparison.Ordinal);
        await b.WaitForRunAsync(approvalId, r => r.Run.Status == RunStatus.VerifyingRollout);
        b.Api.MarkPodsReady(RemediationBed.Namespace, "app=api");
        Assert.Equal(RunStatus.Succeeded, (await b.WaitForRunAsync(approvalId)).Run.Status);
        Assert.Empty(Writes(a.Api));
    }

    [Fact]
    public async Task Bot_claiming_a_live_cluster_name_from_another_api_server_refuses_to_start()
    {
        using var storage = await TestStorage.PostgresAsync(postgres);
        await using var fleet = new FleetOfBots(storage);
        await fleet.StartAsync("prod-b");

        var error = await Record.ExceptionAsync(() => fleet.StartAsync("prod-b"));

        Assert.NotNull(error);
        Assert.Contains("already claims cluster \"prod-b\" for another API server", Flatten(error), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cluster_names_that_map_to_one_queue_are_refused_at_start()
    {
        using var storage = await TestStorage.PostgresAsync(postgres);
        await using var fleet = new FleetOfBots(storage);
        await fleet.StartAsync("prod-b");

        var error = await Record.ExceptionAsync(() => fleet.StartAsync("prod.b"));

        Assert.NotNull(error);
        Assert.Contains("Cluster names \"prod.b\" and \"prod-b\" both become the job queue \"cluster_prod_b\"", Flatten(error), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fleet_mode_on_sqlite_refuses_to_start()
    {
        using var storage = TestStorage.Sqlite();
        await using var fleet = new FleetOfBots(storage);

        var error = await Record.ExceptionAsync(() => fleet.StartAsync("prod-a", replica: false));

        Assert.NotNull(error);
        Assert.Contains("Fleet:Enabled is true, but Storage:Provider is not Postgres", Flatten(error), StringComparison.Ordinal);
    }

    [Fact]
    public void Queue_names_are_lowercase_letters_digits_and_underscores()
    {
        Assert.Equal("cluster_prod_eu_1", ClusterQueues.QueueName("Prod-EU.1"));
        Assert.Matches("^[a-z0-9_]+$", ClusterQueues.QueueName("a.B-c_9"));
    }

    private static IEnumerable<string> Writes(FakeKubernetesApi api) => api.Requests.Where(r => !r.StartsWith("GET ", StringComparison.Ordinal));

    private static string Flatten(Exception error)
    {
        var messages = new List<string>();
        for (var e = error; e is not null; e = e.InnerException)
        {
            messages.Add(e.Message);
            if (e is AggregateException aggregate)
            {
                messages.AddRange(aggregate.InnerExceptions.Select(Flatten));
            }
        }

        return string.Join(" | ", messages);
    }
}
