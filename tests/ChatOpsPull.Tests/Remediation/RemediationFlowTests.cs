using System.Text.Json.Nodes;
using ChatOpsPull.Approvals;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Incidents;
using ChatOpsPull.Remediation;
using ChatOpsPull.Storage;
using ChatOpsPull.Tests.Incidents;
using ChatOpsPull.Simulation.KubernetesApi;
using ChatOpsPull.Tests.Registry;
using ChatOpsPull.Tests.Storage;

namespace ChatOpsPull.Tests.Remediation;

/// <summary>
/// Each remediation from the click (the real <see cref="Chat.IChatActionHandler"/>) to the verified rollout, on the real
/// host with real SQLite / PostgreSQL and Hangfire, against the fake Kubernetes API and the real registries.
/// </summary>
[Collection(RemediationParts.Name)]
public sealed class RemediationFlowTests(PostgresFixture postgres, RegistryFixture registry)
{
    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Set_tag_runs_from_click_to_ready_pods_after_a_dry_run_that_changed_nothing(DatabaseProvider provider)
    {
        using var storage = await Engines.StorageAsync(provider, postgres);
        await using var bed = await RemediationBed.StartAsync(storage, registry);
        var image = $"{registry.Anonymous}/team/app:1.4.3";
        bed.SeedFailingDeployment("api", image, replicas: 2);
        var incident = await bed.OpenIncidentAsync("api", image, Facts.TagMissing(["1.4.2"]));
        var plan = Facts.Plan(incident, RemediationKind.SetImageTag);
        var generation = RemediationBed.Generation(bed.DeploymentObject("api"));

        var asked = await bed.ClickAsync(People.Alice, CardVerb.Request, incident.Id, plan.Key);

        var target = $"{registry.Anonymous}/team/app:1.4.2";
        Assert.Contains("alice asked to run \"Set tag to 1.4.2\". It needs 1 approval", asked.Text, StringComparison.Ordinal);
        Assert.Contains($"Dry run: spec.template.spec.containers[app].image: {image} → {target}", asked.Text, StringComparison.Ordinal);
        var card = Assert.IsType<Card>(asked.UpdatedCard);
        var remediation = card.Sections.Single(s => s.Heading == "Remediation");
        Assert.Contains(remediation.Lines, l => l.Text.Contains($"Dry run: spec.template.spec.containers[app].image: {image} → {target}", StringComparison.Ordinal));
        Assert.Equal((generation, image), (RemediationBed.Generation(bed.DeploymentObject("api")), RemediationBed.ImageOf(bed.DeploymentObject("api"))));
        Assert.Equal(IncidentState.AwaitingApproval, (await bed.Get<IncidentStore>().GetAsync(incident.Id))!.State);

        var approvalId = RemediationBed.ApprovalIdOn(card, plan.Title);
        var approved = await bed.ClickAsync(People.Bob, CardVerb.Approve, approvalId);

        Assert.StartsWith("bob approved \"Set tag to 1.4.2\". Running it now.", approved.Text, StringComparison.Ordinal);
        await bed.WaitForRunAsync(approvalId, r => r.Run.Status == RunStatus.VerifyingRollout);
        Assert.Equal(target, RemediationBed.ImageOf(bed.DeploymentObject("api")));
        Assert.Equal(generation + 1, RemediationBed.Generation(bed.DeploymentObject("api")));

        bed.Api.MarkPodsReady(RemediationBed.Namespace, "app=api");
        var run = await bed.WaitForRunAsync(approvalId);

        Assert.Equal(RunStatus.Succeeded, run.Run.Status);
        Assert.Matches(@"^set container app of deployment/api to .*team/app:1\.4\.2; 2/2 pods Ready in \d+ s$", run.Run.Detail);
        var resolved = await Eventually.ValueAsync(async () => (await bed.Get<IncidentStore>().GetAsync(incident.Id))!, i => i.State == IncidentState.Resolved, "the incident to resolve");
        Assert.NotNull(resolved.ResolvedAt);
        var actions = (await bed.Get<AuditLog>().ForApprovalAsync(approvalId)).Select(a => (a.Action, a.Actor.Name)).ToList();
        Assert.Equal(
            [
                (ApprovalAuditActions.Requested, "alice"),
                (ApprovalAuditActions.Voted, "bob"),
                (ApprovalAuditActions.Approved, "ChatOpsPull"),
                (RemediationAuditActions.JobStarted, "ChatOpsPull"),
                (RemediationAuditActions.JobApplied, "ChatOpsPull"),
                (RemediationAuditActions.JobFinished, "ChatOpsPull"),
            ],
            actions);
    }

    [Fact]
    public async Task Roll_back_copies_the_old_revisions_template_without_its_hash_label_like_kubectl_rollout_undo()
    {
        using var storage = TestStorage.Sqlite();
        await using var bed = await RemediationBed.StartAsync(storage, registry);
        var good = $"{registry.Anonymous}/team/app:1.4.2";
        var bad = $"{registry.Anonymous}/team/app:1.4.3";
        bed.Api.Seed(RemediationBed.Deployment("api", good, replicas: 2));
        bed.Api.MarkPodsReady(RemediationBed.Namespace, "app=api");
        var deployments = ResourceType.Of("deployments");
        bed.Api.Store.Patch(deployments, RemediationBed.Namespace, "api", d =>
        {
            d["spec"]!["template"]!["spec"]!["containers"]![0]!["image"] = bad;
            return d;
        });
        foreach (var pod in bed.PodsOf("api").Where(p => p["spec"]!["containers"]![0]!["image"]!.GetValue<string>() == bad))
        {
            bed.Api.SetContainerWaiting(RemediationBed.Namespace, ObjectStore.Name(pod), "app", "ImagePullBackOff", "Back-off pulling image");
        }

        Assert.Equal("2", bed.DeploymentObject("api")["metadata"]!["annotations"]![RollBackRevision]!.GetValue<string>());
        var incident = await bed.OpenIncidentAsync("api", bad, Facts.TagMissing([], (1, good)));
        var plan = Facts.Plan(incident, RemediationKind.RollBack);

        var asked = await bed.ClickAsync(People.Alice, CardVerb.Request, incident.Id, plan.Key);
        Assert.Contains($"spec.template.spec.containers[app].image: {bad} → {good}", asked.Text, StringComparison.Ordinal);
        var approvalId = RemediationBed.ApprovalIdOn(asked.UpdatedCard!, plan.Title);
        await bed.ClickAsync(People.Carol, CardVerb.Approve, approvalId);

        // The failed rollout never took the revision-1 pods away (maxUnavailable 0 of 2 replicas), so the rollback is
        // complete as soon as the surge pod of revision 2 is scaled away.
        var run = await bed.WaitForRunAsync(approvalId);
        var deployment = bed.DeploymentObject("api");
        Assert.Equal(good, RemediationBed.ImageOf(deployment));
        Assert.Null(deployment["spec"]!["template"]!["metadata"]!["labels"]!["pod-template-hash"]);
        Assert.Equal("3", deployment["metadata"]!["annotations"]![RollBackRevision]!.GetValue<string>()); // the old template comes back as a new revision
        Assert.Equal(RunStatus.Succeeded, run.Run.Status);
        Assert.StartsWith($"rolled deployment/api back to revision 1 (app={good}); 2/2 pods Ready in", run.Run.Detail, StringComparison.Ordinal);
    }

    private const string RollBackRevision = "deployment.kubernetes.io/revision";

    [Fact]
    public async Task Restart_stamps_restartedAt_on_the_pod_template_and_waits_for_the_new_pods()
    {
        using var storage = TestStorage.Sqlite();
        await using var bed = await RemediationBed.StartAsync(storage, registry);
        var image = $"{registry.Anonymous}/team/app:1.4.2";
        bed.SeedFailingDeployment("api", image, replicas: 3);
        var incident = await bed.OpenIncidentAsync("api", image, Facts.PullableNow(), Backoff(image));
        var plan = Facts.Plan(incident, RemediationKind.RestartWorkload);
        var oldPods = bed.PodsOf("api").Select(ObjectStore.Name).ToHashSet();

        var asked = await bed.ClickAsync(People.Alice, CardVerb.Request, incident.Id, plan.Key);
        Assert.Matches(@"Dry run: spec\.template\.metadata\.annotations: \(none\) → \{""kubectl\.kubernetes\.io/restartedAt"":""\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ""\}", asked.Text);
        var approvalId = await bed.PendingIdAsync(incident.Id, RemediationKind.RestartWorkload);
        await bed.ClickAsync(People.Dave, CardVerb.Approve, approvalId);
        await bed.WaitForRunAsync(approvalId, r => r.Run.Status == RunStatus.VerifyingRollout);

        var stamped = bed.DeploymentObject("api")["spec"]!["template"]!["metadata"]!["annotations"]!["kubectl.kubernetes.io/restartedAt"]!.GetValue<string>();
        Assert.True(DateTimeOffset.TryParse(stamped, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var at));
        Assert.InRange(at, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddSeconds(1));

        // A rolling restart of 3 replicas (maxSurge 1, maxUnavailable 0 by default): one new pod first; the old ones go
        // only as new ones become available, as the deployment controller does it.
        var during = bed.PodsOf("api").Select(ObjectStore.Name).ToList();
        Assert.Equal(3, during.Count(oldPods.Contains));
        Assert.Single(during, p => !oldPods.Contains(p));
        bed.Api.MarkPodsReady(RemediationBed.Namespace, "app=api");
        var run = await bed.WaitForRunAsync(approvalId);
        Assert.Equal(RunStatus.Succeeded, run.Run.Status);
        Assert.Contains("3/3 pods Ready", run.Run.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(bed.PodsOf("api").Select(ObjectStore.Name), oldPods.Contains);
    }

    [Fact]
    public async Task Retry_deletes_only_the_pods_stuck_in_back_off()
    {
        using var storage = TestStorage.Sqlite();
        await using var bed = await RemediationBed.StartAsync(storage, registry);
        var image = $"{registry.Anonymous}/team/app:1.4.2";
        var pods = bed.SeedFailingDeployment("api", image, replicas: 3);
        bed.Api.MarkPodsReady(RemediationBed.Namespace, $"app=api");
        bed.Api.SetContainerWaiting(RemediationBed.Namespace, pods[0], "app", "ImagePullBackOff", "Back-off pulling image");
        bed.Api.SetContainerWaiting(RemediationBed.Namespace, pods[1], "app", "ErrImagePull", "rpc error: code = Unknown desc = failed to pull");
        var incident = await bed.OpenIncidentAsync("api", image, Facts.PullableNow(), Backoff(image));
        var plan = Facts.Plan(incident, RemediationKind.DeleteBackoffPods);

        var asked = await bed.ClickAsync(People.Alice, CardVerb.Request, incident.Id, plan.Key);
        Assert.Contains($"Dry run: delete pod {pods[0]} (ImagePullBackOff); delete pod {pods[1]} (ErrImagePull)", asked.Text, StringComparison.Ordinal);
        Assert.Equal(3, bed.PodsOf("api").Count(p => pods.Contains(ObjectStore.Name(p))));

        var approvalId = await bed.PendingIdAsync(incident.Id, RemediationKind.DeleteBackoffPods);
        await bed.ClickAsync(People.Bob, CardVerb.Approve, approvalId);
        await bed.WaitForRunAsync(approvalId, r => r.Run.Status == RunStatus.VerifyingRollout);

        var now = bed.PodsOf("api").Select(ObjectStore.Name).ToList();
        Assert.Equal(3, now.Count);
        Assert.Contains(pods[2], now); // the healthy pod was left alone
        Assert.DoesNotContain(pods[0], now);
        Assert.DoesNotContain(pods[1], now);
        bed.Api.MarkPodsReady(RemediationBed.Namespace, "app=api");
        var run = await bed.WaitForRunAsync(approvalId);
        Assert.Equal(RunStatus.Succeeded, run.Run.Status);
        Assert.StartsWith("deleted 2 pod(s) stuck in image-pull back-off; 3/3 pods Ready in", run.Run.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Attaching_a_secret_to_the_service_account_adds_it_once_then_recreates_the_stuck_pods()
    {
        using var storage = TestStorage.Sqlite();
        await using var bed = await RemediationBed.StartAsync(storage, registry);
        bed.Api.Seed(new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "ServiceAccount",
            ["metadata"] = new JsonObject { ["name"] = "default", ["namespace"] = RemediationBed.Namespace },
            ["imagePullSecrets"] = new JsonArray(new JsonObject { ["name"] = "other-registry" }),
        });
        bed.Api.Seed(Secret("regcred", registry.Basic, RegistryFixture.BasicUser, RegistryFixture.BasicPassword));
        var image = $"{registry.Basic}/private/app:1.0";
        var pods = bed.SeedFailingDeployment("api", image, replicas: 2);
        var incident = await bed.OpenIncidentAsync("api", image, Facts.CredentialsRefused(unattached: "regcred"));
        var plan = Facts.Plan(incident, RemediationKind.AttachPullSecretToServiceAccount);

        var asked = await bed.ClickAsync(People.Alice, CardVerb.Request, incident.Id, plan.Key);
        Assert.Contains("serviceaccount default: imagePullSecrets[regcred]: added", asked.Text, StringComparison.Ordinal);
        var approvalId = await bed.PendingIdAsync(incident.Id, RemediationKind.AttachPullSecretToServiceAccount);
        await bed.ClickAsync(People.Bob, CardVerb.Approve, approvalId);
        await bed.WaitForRunAsync(approvalId, r => r.Run.Status == RunStatus.VerifyingRollout);

        var account = bed.Api.Store.Get(ResourceType.Of("serviceaccounts"), RemediationBed.Namespace, "default")!;
        Assert.Equal(["other-registry", "regcred"], account["imagePullSecrets"]!.AsArray().Select(s => s!["name"]!.GetValue<string>()));
        Assert.DoesNotContain(bed.PodsOf("api").Select(ObjectStore.Name), pods.Contains);
        bed.Api.MarkPodsReady(RemediationBed.Namespace, "app=api");
        var run = await bed.WaitForRunAsync(approvalId);
        Assert.Equal(RunStatus.Succeeded, run.Run.Status);
        Assert.StartsWith("attached regcred to serviceaccount default; deleted 2 pod(s)", run.Run.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Attaching_a_secret_to_the_workload_adds_it_to_the_pod_template()
    {
        using var storage = TestStorage.Sqlite();
        await using var bed = await RemediationBed.StartAsync(storage, registry);
        bed.Api.Seed(Secret("regcred", registry.Basic, RegistryFixture.BasicUser, RegistryFixture.BasicPassword));
        var image = $"{registry.Basic}/private/app:1.0";
        bed.SeedFailingDeployment("api", image, replicas: 1);
        var incident = await bed.OpenIncidentAsync("api", image, Facts.CredentialsRefused(unattached: "regcred"));
        var plan = Facts.Plan(incident, RemediationKind.AttachPullSecretToWorkload);

        var asked = await bed.ClickAsync(People.Alice, CardVerb.Request, incident.Id, plan.Key);
        Assert.Contains("spec.template.spec.imagePullSecrets: (none) → [regcred]", asked.Text, StringComparison.Ordinal);
        var approvalId = await bed.PendingIdAsync(incident.Id, RemediationKind.AttachPullSecretToWorkload);
        await bed.ClickAsync(People.Bob, CardVerb.Approve, approvalId);
        await bed.WaitForRunAsync(approvalId, r => r.Run.Status == RunStatus.VerifyingRollout);

        Assert.Equal("regcred", bed.DeploymentObject("api")["spec"]!["template"]!["spec"]!["imagePullSecrets"]![0]!["name"]!.GetValue<string>());
        bed.Api.MarkPodsReady(RemediationBed.Namespace, "app=api");
        Assert.Equal(RunStatus.Succeeded, (await bed.WaitForRunAsync(approvalId)).Run.Status);
    }

    [Fact]
    public async Task Pods_not_ready_by_the_deadline_end_the_run_as_timed_out_and_the_card_says_so()
    {
        using var storage = TestStorage.Sqlite();
        await using var bed = await RemediationBed.StartAsync(storage, registry, new() { ["Remediation:RolloutDeadline"] = "00:00:02" });
        var image = $"{registry.Anonymous}/team/app:1.4.3";
        bed.SeedFailingDeployment("api", image, replicas: 2);
        var incident = await bed.OpenIncidentAsync("api", image, Facts.TagMissing(["1.4.2"]));
        var plan = Facts.Plan(incident, RemediationKind.SetImageTag);
        await bed.ClickAsync(People.Alice, CardVerb.Request, incident.Id, plan.Key);
        var approvalId = await bed.PendingIdAsync(incident.Id, RemediationKind.SetImageTag);

        await bed.ClickAsync(People.Bob, CardVerb.Approve, approvalId);
        var run = await bed.WaitForRunAsync(approvalId);

        Assert.Equal(RunStatus.RolloutTimedOut, run.Run.Status);
        // The rolling update got as far as its one surge pod (maxSurge 1, maxUnavailable 0 of 2 replicas), which never pulls.
        Assert.Matches(@"; 0/2 pods Ready when the 2 s deadline passed; 1 of 2 new replicas updated$", run.Run.Detail);
        var after = await Eventually.ValueAsync(async () => (await bed.Get<IncidentStore>().GetAsync(incident.Id))!, i => i.State == IncidentState.Diagnosed, "the incident back to Diagnosed");
        var card = await bed.Get<ChatOpsPull.Chat.IncidentCardPublisher>().BuildAsync(after, CancellationToken.None);
        Assert.Contains(card.Sections.Single(s => s.Heading == "Remediation").Lines, l => l.Text.Contains("applied, but pods were not Ready by the deadline", StringComparison.Ordinal));
        Assert.Single(await bed.Get<AuditLog>().ForApprovalAsync(approvalId), a => a.Action == RemediationAuditActions.JobFinished && a.Outcome == AuditOutcome.Failed);
    }

    public static string Backoff(string image) => $"Back-off pulling image \"{image}\"";

    /// <summary>Labels a secret the way the bot labels the ones it writes (the only ones it may update).</summary>
    public static JsonObject ManagedByTheBot(JsonObject secret)
    {
        secret["metadata"]!["labels"] = new JsonObject { [global::ChatOpsPull.Remediation.Actions.RefreshCredentialsAction.ManagedByLabel] = global::ChatOpsPull.Remediation.Actions.RefreshCredentialsAction.ManagedByValue };
        return secret;
    }

    public static JsonObject Secret(string name, string host, string user, string password) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Secret",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = RemediationBed.Namespace },
        ["type"] = "kubernetes.io/dockerconfigjson",
        ["data"] = new JsonObject
        {
            [".dockerconfigjson"] = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(
                new JsonObject { ["auths"] = new JsonObject { [host] = new JsonObject { ["username"] = user, ["password"] = password, ["auth"] = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{user}:{password}")) } } }.ToJsonString())),
        },
    };
}
