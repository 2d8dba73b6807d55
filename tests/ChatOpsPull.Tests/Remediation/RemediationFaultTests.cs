using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using ChatOpsPull.Approvals;
using ChatOpsPull.Chat;
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
/// What goes wrong on real clusters: another writer in between (409), missing RBAC (403), a flaky API server (503),
/// the bot stopped in the middle of a job, two replicas clicked at once, and credentials the registry rejects.
/// </summary>
[Collection(RemediationParts.Name)]
public sealed class RemediationFaultTests(PostgresFixture postgres, RegistryFixture registry)
{
    private static int EffectivePatches(FakeKubernetesApi api, string deployment) =>
        api.Requests.Count(r => r.StartsWith($"PATCH /apis/apps/v1/namespaces/shop/deployments/{deployment}", StringComparison.Ordinal) && !r.Contains("dryRun=All", StringComparison.Ordinal));

    private static async Task<(Incident Incident, RemediationPlan Plan, string Image)> FailingTagAsync(RemediationBed bed, RegistryFixture registry, int replicas = 2)
    {
        var image = $"{registry.Anonymous}/team/app:1.4.3";
        bed.SeedFailingDeployment("api", image, replicas);
        var incident = await bed.OpenIncidentAsync("api", image, Facts.TagMissing(["1.4.2"]));
        return (incident, Facts.Plan(incident, RemediationKind.SetImageTag), image);
    }

    [Fact]
    public async Task A_conflict_from_a_concurrent_writer_is_read_again_and_applied_again_keeping_both_changes()
    {
        using var storage = TestStorage.Sqlite();
        await using var bed = await RemediationBed.StartAsync(storage, registry);
        var (incident, plan, _) = await FailingTagAsync(bed, registry);
        await bed.ClickAsync(People.Alice, CardVerb.Request, incident.Id, plan.Key);
        var approvalId = await bed.PendingIdAsync(incident.Id, RemediationKind.SetImageTag);
        var interfered = 0;
        bed.Api.BeforeServing = request =>
        {
            if (request is { Verb: "patch", Resource: "deployments", DryRun: false } && Interlocked.Exchange(ref interfered, 1) == 0)
            {
                // Someone else edits the Deployment between the bot's read and its write.
                bed.Api.Store.Patch(ResourceType.Of("deployments"), "shop", "api", d =>
                {
                    d["metadata"]!["annotations"] ??= new JsonObject();
                    d["metadata"]!["annotations"]!["team.example.com/owner"] = "payments";
                    return d;
                });
            }

            return Task.CompletedTask;
        };

        await bed.ClickAsync(People.Bob, CardVerb.Approve, approvalId);
        await bed.WaitForRunAsync(approvalId, r => r.Run.Status == RunStatus.VerifyingRollout);

        var deployment = bed.DeploymentObject("api");
        Assert.Equal($"{registry.Anonymous}/team/app:1.4.2", RemediationBed.ImageOf(deployment));
        Assert.Equal("payments", deployment["metadata"]!["annotations"]!["team.example.com/owner"]!.GetValue<string>());
        Assert.Equal(2, EffectivePatches(bed.Api, "api")); // the first met 409 Conflict, the second (after a fresh read) applied
        bed.Api.MarkPodsReady("shop", "app=api");
        Assert.Equal(RunStatus.Succeeded, (await bed.WaitForRunAsync(approvalId)).Run.Status);
    }

    [Fact]
    public async Task A_forbidden_dry_run_names_the_missing_rbac_verb_and_requests_nothing()
    {
        using var storage = TestStorage.Sqlite();
        await using var bed = await RemediationBed.StartAsync(storage, registry);
        var (incident, plan, image) = await FailingTagAsync(bed, registry);
        bed.Api.Deny("patch", "deployments", "shop");

        var reply = await bed.ClickAsync(People.Alice, CardVerb.Request, incident.Id, plan.Key);

        Assert.Equal(
            "The dry run shows \"Set tag to 1.4.2\" cannot work: the bot's ServiceAccount may not patch deployments in namespace shop: add verb patch on deployments.apps. Nothing was requested.",
            reply.Text);
        Assert.Empty(await bed.Get<IApprovalQueries>().ListForIncidentAsync(incident.Id, CancellationToken.None));
        Assert.Equal(image, RemediationBed.ImageOf(bed.DeploymentObject("api")));
        Assert.Equal(IncidentState.Diagnosed, (await bed.Get<IncidentStore>().GetAsync(incident.Id))!.State);
        Assert.Contains(await bed.Get<AuditLog>().ForIncidentAsync(incident.Id), a => a.Action == ApprovalAuditActions.Refused && a.Outcome == AuditOutcome.Refused && a.Actor.Name == "alice");
    }

    [Fact]
    public async Task A_forbidden_write_at_run_time_fails_the_run_with_the_missing_verb_on_the_card()
    {
        using var storage = TestStorage.Sqlite();
        await using var bed = await RemediationBed.StartAsync(storage, registry);
        var (incident, plan, image) = await FailingTagAsync(bed, registry);
        await bed.ClickAsync(People.Alice, CardVerb.Request, incident.Id, plan.Key);
        var approvalId = await bed.PendingIdAsync(incident.Id, RemediationKind.SetImageTag);
        bed.Api.Deny("patch", "deployments", "shop"); // RBAC tightened after the request was made

        await bed.ClickAsync(People.Bob, CardVerb.Approve, approvalId);
        var run = await bed.WaitForRunAsync(approvalId);

        Assert.Equal(RunStatus.Failed, run.Run.Status);
        Assert.Equal("the bot's ServiceAccount may not patch deployments in namespace shop: add verb patch on deployments.apps", run.Run.Detail);
        Assert.Equal(image, RemediationBed.ImageOf(bed.DeploymentObject("api")));
        var failed = await Eventually.ValueAsync(async () => (await bed.Get<IncidentStore>().GetAsync(incident.Id))!, i => i.State == IncidentState.Failed, "the incident to be Failed");
        var card = await bed.Get<ChatOpsPull.Chat.IncidentCardPublisher>().BuildAsync(failed, CancellationToken.None);
        Assert.Contains(card.Sections.Single(s => s.Heading == "Remediation").Lines, l => l.Text.EndsWith("failed — approved by bob; the bot's ServiceAccount may not patch deployments in namespace shop: add verb patch on deployments.apps", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Service_unavailable_answers_are_retried_with_backoff_and_the_change_is_made_once()
    {
        using var storage = TestStorage.Sqlite();
        await using var bed = await RemediationBed.StartAsync(storage, registry);
        var (incident, plan, _) = await FailingTagAsync(bed, registry);
        await bed.ClickAsync(People.Alice, CardVerb.Request, incident.Id, plan.Key);
        var approvalId = await bed.PendingIdAsync(incident.Id, RemediationKind.SetImageTag);
        var generation = RemediationBed.Generation(bed.DeploymentObject("api"));
        var failures = 0;
        bed.Api.BeforeServing = request =>
        {
            if (request is { Verb: "patch", Resource: "deployments", DryRun: false } && Interlocked.Increment(ref failures) <= 2)
            {
                throw new ApiStatusException(HttpStatusCode.ServiceUnavailable, "ServiceUnavailable", "the server is currently unable to handle the request");
            }

            return Task.CompletedTask;
        };

        await bed.ClickAsync(People.Bob, CardVerb.Approve, approvalId);
        await bed.WaitForRunAsync(approvalId, r => r.Run.Status == RunStatus.VerifyingRollout);

        Assert.Equal(3, EffectivePatches(bed.Api, "api"));
        Assert.Equal(generation + 1, RemediationBed.Generation(bed.DeploymentObject("api")));
        bed.Api.MarkPodsReady("shop", "app=api");
        Assert.Equal(RunStatus.Succeeded, (await bed.WaitForRunAsync(approvalId)).Run.Status);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_bot_stopped_after_the_patch_but_before_recording_it_resumes_on_restart_and_patches_once(DatabaseProvider provider)
    {
        using var storage = await Engines.StorageAsync(provider, postgres);
        await using var api = await FakeKubernetesApi.StartAsync();
        api.Seed(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "ServiceAccount", ["metadata"] = new JsonObject { ["name"] = "default", ["namespace"] = "shop" } });
        var patched = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        api.AfterWriting = async request =>
        {
            if (request is { Verb: "patch", Resource: "deployments" } && patched.TrySetResult())
            {
                await release.Task; // the server has applied the patch; the bot never hears back
            }
        };

        string approvalId;
        long generation;
        var bed = await RemediationBed.StartAsync(storage, registry, api: api);
        try
        {
            var (incident, plan, _) = await FailingTagAsync(bed, registry);
            generation = RemediationBed.Generation(bed.DeploymentObject("api"));
            await bed.ClickAsync(People.Alice, CardVerb.Request, incident.Id, plan.Key);
            approvalId = await bed.PendingIdAsync(incident.Id, RemediationKind.SetImageTag);
            await bed.ClickAsync(People.Bob, CardVerb.Approve, approvalId);
            await patched.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            await bed.DisposeAsync(); // the bot stops while its patch is in flight
            release.TrySetResult();
        }

        Assert.Equal(generation + 1, RemediationBed.Generation(api.Store.Get(ResourceType.Of("deployments"), "shop", "api")!));
        await using (var database = OpenDatabase(storage))
        {
            var stopped = await new RemediationRunStore(database).GetAsync(approvalId);
            Assert.Equal(RunStatus.Running, stopped!.Run.Status); // not recorded as applied
        }

        await using var restarted = await RemediationBed.StartAsync(storage.Replica(), registry, api: api);
        await restarted.WaitForRunAsync(approvalId, r => r.Run.Status == RunStatus.VerifyingRollout, TimeSpan.FromSeconds(90));
        api.MarkPodsReady("shop", "app=api");
        var run = await restarted.WaitForRunAsync(approvalId);

        Assert.Equal(RunStatus.Succeeded, run.Run.Status);
        Assert.StartsWith($"container app of deployment/api already runs {registry.Anonymous}/team/app:1.4.2; 2/2 pods Ready", run.Run.Detail, StringComparison.Ordinal);
        Assert.Equal(1, EffectivePatches(api, "api"));
        Assert.Equal(generation + 1, RemediationBed.Generation(api.Store.Get(ResourceType.Of("deployments"), "shop", "api")!));
        var audit = await restarted.Get<AuditLog>().ForApprovalAsync(approvalId);
        Assert.Single(audit, a => a.Action == RemediationAuditActions.JobStarted);
        Assert.Single(audit, a => a.Action == RemediationAuditActions.JobFinished);
    }

    [Fact]
    public async Task Two_replicas_sharing_postgres_decide_simultaneous_clicks_once_and_run_one_job()
    {
        using var storage = await TestStorage.PostgresAsync(postgres);
        await using var first = await RemediationBed.StartAsync(storage, registry);
        await using var second = await RemediationBed.StartAsync(storage.Replica(), registry, api: first.Api, replicaOf: first);
        var (incident, plan, _) = await FailingTagAsync(first, registry);

        var asks = await Together(
            () => first.ClickAsync(People.Alice, CardVerb.Request, incident.Id, plan.Key),
            () => second.ClickAsync(People.Mallory, CardVerb.Request, incident.Id, plan.Key));
        Assert.Single(asks, r => r.Text.Contains("asked to run \"Set tag to 1.4.2\". It needs 1 approval", StringComparison.Ordinal));
        Assert.Single(asks, r => r.Text.Contains("already asked to run \"Set tag to 1.4.2\"", StringComparison.Ordinal));
        var approvalId = Assert.Single(await first.Get<IApprovalQueries>().ListForIncidentAsync(incident.Id, CancellationToken.None)).Id;

        var clicks = await Together(
            () => first.ClickAsync(People.Bob, CardVerb.Approve, approvalId),
            () => second.ClickAsync(People.Carol, CardVerb.Approve, approvalId),
            () => second.ClickAsync(People.Bob, CardVerb.Approve, approvalId),
            () => first.ClickAsync(People.Dave, CardVerb.Approve, approvalId));

        Assert.Single(clicks, r => r.Text.Contains("Running it now.", StringComparison.Ordinal));
        Assert.All(clicks.Where(r => !r.Text.Contains("Running it now.", StringComparison.Ordinal)), r => Assert.Contains(
            r.Text,
            new[] { "This request was already approved; the job is running or has run. Nothing changed.", "You have already voted on this request. Nothing changed." }));
        await first.WaitForRunAsync(approvalId, r => r.Run.Status == RunStatus.VerifyingRollout);
        first.Api.MarkPodsReady("shop", "app=api");
        Assert.Equal(RunStatus.Succeeded, (await second.WaitForRunAsync(approvalId)).Run.Status);
        await Drained.WaitAsync(first.Host.Services); // a duplicate job, if there were one, has run (the queue is shared)
        Assert.Equal(1, EffectivePatches(first.Api, "api"));
        var audit = await first.Get<AuditLog>().ForApprovalAsync(approvalId);
        Assert.Single(audit, a => a.Action == ApprovalAuditActions.Approved);
        Assert.Single(audit, a => a.Action == RemediationAuditActions.JobStarted);
        Assert.Single(audit, a => a.Action == ApprovalAuditActions.Voted);
    }

    [Fact]
    public async Task Refreshing_credentials_checks_them_before_and_after_writing_and_never_shows_them()
    {
        using var storage = TestStorage.Sqlite();
        await using var bed = await RemediationBed.StartAsync(storage, registry, CredentialSource(registry));
        bed.Api.Seed(SourceSecret(registry, RegistryFixture.BasicPassword));
        bed.Api.Seed(RemediationFlowTests.ManagedByTheBot(RemediationFlowTests.Secret("regcred", registry.Basic, RegistryFixture.BasicUser, "expired-password-1")));
        var image = $"{registry.Basic}/private/app:1.0";
        bed.SeedFailingDeployment("api", image, replicas: 2, pullSecret: "regcred");
        var incident = await bed.OpenIncidentAsync("api", image, Facts.CredentialsRefused(unattached: null, matching: "regcred", credentialSource: true));
        var plan = Facts.Plan(incident, RemediationKind.RefreshCredentials);
        var before = bed.Api.Store.Get(ResourceType.Of("secrets"), "shop", "regcred")!;

        var asked = await bed.ClickAsync(People.Alice, CardVerb.Request, incident.Id, plan.Key);
        Assert.Contains("Dry run: secret regcred: data..dockerconfigjson: changed (content not shown)", asked.Text, StringComparison.Ordinal);
        Assert.Equal(ObjectStore.Version(before), ObjectStore.Version(bed.Api.Store.Get(ResourceType.Of("secrets"), "shop", "regcred")!));
        var approvalId = await bed.PendingIdAsync(incident.Id, RemediationKind.RefreshCredentials);
        await bed.ClickAsync(People.Bob, CardVerb.Approve, approvalId);
        await bed.WaitForRunAsync(approvalId, r => r.Run.Status == RunStatus.VerifyingRollout);

        var written = bed.Api.Store.Get(ResourceType.Of("secrets"), "shop", "regcred")!;
        var config = JsonNode.Parse(Convert.FromBase64String(written["data"]![".dockerconfigjson"]!.GetValue<string>()))!;
        Assert.Equal(RegistryFixture.BasicPassword, config["auths"]![registry.Basic]!["password"]!.GetValue<string>());
        Assert.Equal("source secret chatopspull/registry-creds", written["metadata"]!["annotations"]![RefreshCredentialsAnnotation]!.GetValue<string>());
        bed.Api.MarkPodsReady("shop", "app=api");
        var run = await bed.WaitForRunAsync(approvalId);
        Assert.Equal(RunStatus.Succeeded, run.Run.Status);
        Assert.StartsWith($"updated the {registry.Basic} entry of secret regcred from the source secret chatopspull/registry-creds; verified against the registry before and after; deleted 2 pod(s) stuck in image-pull back-off; 2/2 pods Ready", run.Run.Detail, StringComparison.Ordinal);
        var steps = await bed.Get<RemediationRunStore>().ListStepsAsync(approvalId);
        Assert.Equal($"{registry.Basic} accepts the credentials in source secret chatopspull/registry-creds", steps.Single(s => s.Step == "1-verify-source").Result);
        Assert.Equal($"{registry.Basic} accepts the credentials now in shop/regcred", steps.Single(s => s.Step == "3-verify-written").Result);

        var everything = string.Join("\n", (await bed.Get<AuditLog>().RecentAsync(500)).Select(a => a.Detail))
            + asked.Text + run.Run.Detail + string.Join("\n", steps.Select(s => s.Result + s.Intent));
        Assert.DoesNotContain(RegistryFixture.BasicPassword, everything, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes($"{RegistryFixture.BasicUser}:{RegistryFixture.BasicPassword}")), everything, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refreshing_a_secret_the_bot_does_not_manage_is_refused_and_says_how_to_let_it()
    {
        using var storage = TestStorage.Sqlite();
        await using var bed = await RemediationBed.StartAsync(storage, registry, CredentialSource(registry));
        bed.Api.Seed(SourceSecret(registry, RegistryFixture.BasicPassword));
        bed.Api.Seed(RemediationFlowTests.Secret("regcred", registry.Basic, RegistryFixture.BasicUser, "expired-password-1"));
        var image = $"{registry.Basic}/private/app:1.0";
        bed.SeedFailingDeployment("api", image, replicas: 1, pullSecret: "regcred");
        var incident = await bed.OpenIncidentAsync("api", image, Facts.CredentialsRefused(unattached: null, matching: "regcred", credentialSource: true));
        var plan = Facts.Plan(incident, RemediationKind.RefreshCredentials);
        var before = bed.Api.Store.Get(ResourceType.Of("secrets"), "shop", "regcred")!;

        var asked = await bed.ClickAsync(People.Alice, CardVerb.Request, incident.Id, plan.Key);

        Assert.Contains("secret shop/regcred was not written by the bot (no label app.kubernetes.io/managed-by=chatopspull)", asked.Text, StringComparison.Ordinal);
        Assert.Contains("kubectl -n shop label secret regcred app.kubernetes.io/managed-by=chatopspull", asked.Text, StringComparison.Ordinal);
        Assert.EndsWith("Nothing was requested.", asked.Text, StringComparison.Ordinal);
        Assert.Empty(await bed.Get<IApprovalQueries>().ListForIncidentAsync(incident.Id, CancellationToken.None));
        Assert.Equal(ObjectStore.Version(before), ObjectStore.Version(bed.Api.Store.Get(ResourceType.Of("secrets"), "shop", "regcred")!));
    }

    [Fact]
    public async Task Credentials_the_registry_rejects_are_never_written()
    {
        using var storage = TestStorage.Sqlite();
        await using var bed = await RemediationBed.StartAsync(storage, registry, CredentialSource(registry));
        bed.Api.Seed(SourceSecret(registry, "not-the-password"));
        bed.Api.Seed(RemediationFlowTests.ManagedByTheBot(RemediationFlowTests.Secret("regcred", registry.Basic, RegistryFixture.BasicUser, "expired-password-1")));
        var image = $"{registry.Basic}/private/app:1.0";
        bed.SeedFailingDeployment("api", image, replicas: 1, pullSecret: "regcred");
        var incident = await bed.OpenIncidentAsync("api", image, Facts.CredentialsRefused(unattached: null, matching: "regcred", credentialSource: true));
        var plan = Facts.Plan(incident, RemediationKind.RefreshCredentials);
        var before = bed.Api.Store.Get(ResourceType.Of("secrets"), "shop", "regcred")!;
        await bed.ClickAsync(People.Alice, CardVerb.Request, incident.Id, plan.Key);
        var approvalId = await bed.PendingIdAsync(incident.Id, RemediationKind.RefreshCredentials);

        await bed.ClickAsync(People.Bob, CardVerb.Approve, approvalId);
        var run = await bed.WaitForRunAsync(approvalId);

        Assert.Equal(RunStatus.Failed, run.Run.Status);
        Assert.StartsWith($"{registry.Basic} rejects the credentials in source secret chatopspull/registry-creds:", run.Run.Detail, StringComparison.Ordinal);
        Assert.EndsWith("; nothing was written", run.Run.Detail, StringComparison.Ordinal);
        Assert.Equal(ObjectStore.Version(before), ObjectStore.Version(bed.Api.Store.Get(ResourceType.Of("secrets"), "shop", "regcred")!));
    }

    private const string RefreshCredentialsAnnotation = "chatopspull.io/credentials-from";

    private static Dictionary<string, string?> CredentialSource(RegistryFixture registry) => new()
    {
        ["Remediation:CredentialSources:0:Registry"] = registry.Basic,
        ["Remediation:CredentialSources:0:Secret"] = "registry-creds",
    };

    private static JsonObject SourceSecret(RegistryFixture registry, string password)
    {
        var secret = RemediationFlowTests.Secret("registry-creds", registry.Basic, RegistryFixture.BasicUser, password);
        secret["metadata"]!["namespace"] = "chatopspull";
        return secret;
    }

    private static BotDatabase OpenDatabase(TestStorage storage) => new(
        Microsoft.Extensions.Options.Options.Create(new StorageOptions { Provider = storage.Provider, ConnectionString = storage.ConnectionString }),
        Microsoft.Extensions.Options.Options.Create(new ChatOpsPull.Configuration.BotOptions { DataDirectory = storage.DataDirectory }),
        []);

    /// <summary>Starts every click at the same moment (on the thread pool) and waits for all answers.</summary>
    private static async Task<ChatReply[]> Together(params Func<Task<ChatReply>>[] clicks)
    {
        using var gate = new ManualResetEventSlim(false);
        using var ready = new CountdownEvent(clicks.Length);
        var tasks = clicks.Select(click => Task.Run(async () =>
        {
            ready.Signal();
            gate.Wait();
            return await click();
        })).ToArray();
        await Task.Run(() => Assert.True(ready.Wait(TimeSpan.FromSeconds(30)), "every click to reach the start line"));
        gate.Set();
        return await Task.WhenAll(tasks);
    }
}
