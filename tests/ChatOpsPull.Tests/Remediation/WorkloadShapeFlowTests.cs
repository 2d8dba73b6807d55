using System.Text.Json.Nodes;
using ChatOpsPull.Approvals;
using ChatOpsPull.Chat;
using ChatOpsPull.Chat.Actions;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Diagnosing;
using ChatOpsPull.Incidents;
using ChatOpsPull.Remediation;
using ChatOpsPull.Storage;
using ChatOpsPull.Tests.Incidents;
using ChatOpsPull.Tests.Kubernetes;
using ChatOpsPull.Simulation.KubernetesApi;
using ChatOpsPull.Tests.Registry;
using ChatOpsPull.Tests.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ChatOpsPull.Tests.Remediation;

/// <summary>
/// Each fix on each workload shape from end to end, on SQLite and PostgreSQL: pods on the Kubernetes API stand-in fail
/// to pull from the real registry, the real diagnoser reads the workload, the card says before anyone approves what is
/// offered, what is not and why, a request and an approval run the job, and the outcome is verified on the pods. The
/// stand-in's workload controllers do what the cluster's do (observedGeneration follows the spec, a deleted pod comes
/// back from the update revision, a Job replaces its pod after the backoff); the tests only say when an image pulls
/// (<see cref="FakeKubernetesApi.MarkPodsReady"/>). Shapes come from tests/fixtures/kubernetes/shape-*.json where one fits.
/// </summary>
[Collection(RemediationParts.Name)]
public sealed class WorkloadShapeFlowTests(PostgresFixture postgres, RegistryFixture registry)
{
    private const string Ns = RemediationBed.Namespace;
    private static readonly ResourceType PodType = ResourceType.Of("pods");
    private static readonly ResourceType StatefulSets = ResourceType.Of("statefulsets");
    private static readonly ResourceType DaemonSets = ResourceType.Of("daemonsets");
    private static readonly ResourceType ReplicaSets = ResourceType.Of("replicasets");
    private static readonly ResourceType Jobs = ResourceType.Of("jobs");

    public static TheoryData<DatabaseProvider, string> BothWithOwners()
    {
        var data = new TheoryData<DatabaseProvider, string>();
        foreach (var provider in new[] { DatabaseProvider.Sqlite, DatabaseProvider.Postgres })
        {
            foreach (var owner in new[] { "argocd", "flux-kustomization", "flux-helmrelease", "helm" })
            {
                data.Add(provider, owner);
            }
        }

        return data;
    }

    private string Missing => $"{registry.Anonymous}/team/app:1.4.3";

    private string Good => $"{registry.Anonymous}/team/app:1.4.2";

    private string Pullable => $"{registry.Anonymous}/team/multi:1.0";

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Paused_deployment_card_withholds_the_restart_the_server_refuses_a_template_change_and_the_retry_runs_without_touching_the_spec(DatabaseProvider provider)
    {
        using var storage = await Engines.StorageAsync(provider, postgres);
        await using var bed = await StartAsync(storage);
        var stuck = SeedDeploymentPods(bed, RemediationBed.Deployment("api", Pullable, replicas: 2), Backoff(Pullable));
        var paused = (JsonObject)bed.DeploymentObject("api").DeepClone();
        paused["spec"]!["paused"] = true;
        bed.Api.Seed(paused); // kubectl rollout pause: a Deployment created paused gets no ReplicaSet, so no pods to fail
        var incident = await OpenAsync(bed, new WorkloadRef("Deployment", "api"), Pullable, stuck, "ImagePullBackOff", Backoff(Pullable));
        var generation = RemediationBed.Generation(bed.DeploymentObject("api"));

        var card = await CardAsync(bed, incident);
        Assert.Contains(incident.Diagnosis!.Evidence, e => e.Detail.Contains("deployment/api is paused (spec.paused)", StringComparison.Ordinal));
        Assert.Contains("Retry the pull now", Buttons(card));
        Assert.DoesNotContain(Buttons(card), b => b.StartsWith("Restart", StringComparison.Ordinal));
        var withheld = Assert.Single(NotOffered(card), l => l.StartsWith("*Restart deployment/api*", StringComparison.Ordinal));
        Assert.Contains("can't restart paused deployment", withheld, StringComparison.Ordinal);
        Assert.Contains("kubectl -n shop rollout resume deployment/api", withheld, StringComparison.Ordinal);

        var forged = await bed.Get<IRemediationRequests>().RequestAsync(People.Alice, incident.Id, RemediationBed.Cluster, SetTag("Deployment", "api"), CancellationToken.None);
        Assert.Contains("is paused: a change to its pod template would not roll out until someone resumes it", forged.Text, StringComparison.Ordinal);
        Assert.Contains("Nothing was requested", forged.Text, StringComparison.Ordinal);

        await RetryRunsToReadyPodsAsync(bed, incident, stuck, "app=api");
        var after = bed.DeploymentObject("api");
        Assert.Equal((generation, Pullable, true), (RemediationBed.Generation(after), RemediationBed.ImageOf(after), after["spec"]!["paused"]!.GetValue<bool>()));
    }

    [Theory]
    [MemberData(nameof(BothWithOwners))]
    public async Task Managed_deployment_card_names_its_owner_and_a_tag_change_runs_only_when_confirmed(DatabaseProvider provider, string owner)
    {
        using var storage = await Engines.StorageAsync(provider, postgres);
        await using var bed = await StartAsync(storage);
        var deployment = RemediationBed.Deployment("api", Missing, replicas: 2);
        var (described, meets) = MarkManaged(deployment, owner);
        var stuck = SeedDeploymentPods(bed, deployment, NotFound(Missing));
        var incident = await OpenAsync(bed, new WorkloadRef("Deployment", "api"), Missing, stuck, "ErrImagePull", NotFound(Missing));
        var plan = Plan(incident, RemediationKind.SetImageTag);
        var generation = RemediationBed.Generation(bed.DeploymentObject("api"));

        var card = await CardAsync(bed, incident);
        var ownedBy = Assert.Single(card.Sections, s => s.Heading == "Owned by");
        Assert.Contains(described, ownedBy.Text, StringComparison.Ordinal);
        Assert.Contains(meets, ownedBy.Text, StringComparison.Ordinal);
        var anyway = Assert.Single(card.Actions, a => a.Label == $"{plan.Title} anyway");
        Assert.Equal(CardVerb.RequestAnyway, anyway.Payload.Verb);
        Assert.Contains(meets, Assert.IsType<CardConfirm>(anyway.Confirm).Text, StringComparison.Ordinal);
        Assert.DoesNotContain(plan.Title, Buttons(card));

        var plain = await bed.ClickAsync(People.Alice, CardVerb.Request, incident.Id, plan.Key);
        Assert.Contains($"To ask for \"{plan.Title}\" all the same, confirm it", plain.Text, StringComparison.Ordinal);
        Assert.Contains("Nothing was requested", plain.Text, StringComparison.Ordinal);
        Assert.Empty(await bed.Get<IApprovalQueries>().ListForIncidentAsync(incident.Id, CancellationToken.None));

        var approvalId = await RequestAndApproveAsync(bed, incident, plan, CardVerb.RequestAnyway);
        await bed.WaitForRunAsync(approvalId, r => r.Run.Status == RunStatus.VerifyingRollout);
        Assert.Equal(plan.Parameters["image"], RemediationBed.ImageOf(bed.DeploymentObject("api")));
        bed.Api.MarkPodsReady(Ns, "app=api");
        var run = await bed.WaitForRunAsync(approvalId);

        Assert.Equal(RunStatus.Succeeded, run.Run.Status);
        Assert.Equal(generation + 1, RemediationBed.Generation(bed.DeploymentObject("api")));
        var requested = Assert.Single(await bed.Get<AuditLog>().ForApprovalAsync(approvalId), a => a.Action == ApprovalAuditActions.Requested);
        Assert.Contains($"confirmed by alice although deployment/api is managed by {described}", requested.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Managed_deployment_under_policy_refuse_lists_the_tag_change_as_not_offered_and_a_confirmed_click_changes_nothing(DatabaseProvider provider)
    {
        using var storage = await Engines.StorageAsync(provider, postgres);
        await using var bed = await StartAsync(storage, new() { ["Approvals:ManagedWorkloads"] = "Refuse" });
        var deployment = RemediationBed.Deployment("api", Missing, replicas: 1);
        MarkManaged(deployment, "argocd");
        var stuck = SeedDeploymentPods(bed, deployment, NotFound(Missing));
        var incident = await OpenAsync(bed, new WorkloadRef("Deployment", "api"), Missing, stuck, "ErrImagePull", NotFound(Missing));
        var plan = Plan(incident, RemediationKind.SetImageTag);
        var generation = RemediationBed.Generation(bed.DeploymentObject("api"));

        var card = await CardAsync(bed, incident);
        Assert.Contains(NotOffered(card), l => l.StartsWith($"*{plan.Title}*", StringComparison.Ordinal) && l.Contains("Approvals:ManagedWorkloads is Refuse", StringComparison.Ordinal));
        Assert.DoesNotContain(Buttons(card), b => b.StartsWith(plan.Title, StringComparison.Ordinal));

        var forced = await bed.ClickAsync(People.Alice, CardVerb.RequestAnyway, incident.Id, plan.Key);

        Assert.Contains("Approvals:ManagedWorkloads is Refuse, so the bot does not change it. Nothing was requested.", forced.Text, StringComparison.Ordinal);
        Assert.Empty(await bed.Get<IApprovalQueries>().ListForIncidentAsync(incident.Id, CancellationToken.None));
        Assert.Equal((generation, Missing), (RemediationBed.Generation(bed.DeploymentObject("api")), RemediationBed.ImageOf(bed.DeploymentObject("api"))));
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Partitioned_statefulset_tag_change_deletes_only_the_stuck_pod_above_the_partition_and_is_done_as_kubectl_rollout_status(DatabaseProvider provider)
    {
        using var storage = await Engines.StorageAsync(provider, postgres);
        await using var bed = await StartAsync(storage);

        // tests/fixtures/kubernetes/shape-statefulset-partition.json: ledger-0 and ledger-1 run the current revision below
        // partition 2, ledger-2 took the update revision and cannot pull it. Its container is "ledger", as the watcher reports it.
        SeedShape(bed, "shape-statefulset-partition.json", ("registry.example.com/payments/ledger:3.2.0", Missing), ("registry.example.com/payments/ledger:3.1.4", Good));
        bed.Api.SetContainerWaiting(Ns, "ledger-2", "ledger", "ErrImagePull", NotFound(Missing));
        var kept = new[] { "ledger-0", "ledger-1" }.Select(n => Uid(bed.Api.Store.Get(PodType, Ns, n)!)).ToList();
        var (reason, message, stuckUid) = Waiting(bed, "ledger-2");
        var incident = await OpenAsync(bed, new WorkloadRef("StatefulSet", "ledger"), Missing, ["ledger-2"], reason, message, container: "ledger");
        var plan = Plan(incident, RemediationKind.SetImageTag);

        var card = await CardAsync(bed, incident);
        Assert.Contains(incident.Diagnosis!.Evidence, e => e.Detail.Contains("statefulset/ledger has partition 2", StringComparison.Ordinal));
        Assert.Contains(plan.Title, Buttons(card));
        Assert.Contains("With partition 2 only pods with ordinal 2 and above take the new template", plan.Description, StringComparison.Ordinal);

        var approvalId = await RequestAndApproveAsync(bed, incident, plan, dryRun: d =>
        {
            Assert.Contains("then delete pod ledger-2", d, StringComparison.Ordinal);
            Assert.DoesNotContain("delete pod ledger-0", d, StringComparison.Ordinal);
        });
        var replacement = await Eventually.ValueAsync(() => Task.FromResult(bed.Api.Store.Get(PodType, Ns, "ledger-2")), p => p is not null && Uid(p) != stuckUid, "the statefulset controller to recreate ledger-2");
        Assert.Equal(plan.Parameters["image"], PodImage(replacement!)); // from the update revision
        Assert.Equal(kept, new[] { "ledger-0", "ledger-1" }.Select(n => Uid(bed.Api.Store.Get(PodType, Ns, n)!)));
        bed.Api.MarkPodsReady(Ns, "statefulset.kubernetes.io/pod-name=ledger-2"); // its image pulls now
        var run = await bed.WaitForRunAsync(approvalId);

        Assert.Equal(RunStatus.Succeeded, run.Run.Status);
        Assert.Contains("3/3 pods Ready", run.Run.Detail, StringComparison.Ordinal);
        var after = bed.Api.Store.Get(StatefulSets, Ns, "ledger")!;
        Assert.Equal(plan.Parameters["image"], TemplateImage(after));
        Assert.Equal(RemediationBed.Generation(after), ObjectStore.Number(after["status"]!["observedGeneration"]) ?? 0);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task OnDelete_statefulset_card_withholds_the_restart_and_the_retry_is_judged_by_the_incidents_pods(DatabaseProvider provider)
    {
        using var storage = await Engines.StorageAsync(provider, postgres);
        await using var bed = await StartAsync(storage);
        SeedShape(bed, "shape-statefulset-ondelete.json", ("registry.example.com/shop/session-cache:7.2.6-rc", Pullable), ("registry.example.com/shop/session-cache:7.2.5", Good));
        bed.Api.SetContainerWaiting(Ns, "session-cache-0", "session-cache", "ImagePullBackOff", Backoff(Pullable)); // the tag was pushed since; kubelet is in back-off
        var (reason, message, stuckUid) = Waiting(bed, "session-cache-0");
        var incident = await OpenAsync(bed, new WorkloadRef("StatefulSet", "session-cache"), Pullable, ["session-cache-0"], reason, message);
        var generation = RemediationBed.Generation(bed.Api.Store.Get(StatefulSets, Ns, "session-cache")!);

        var card = await CardAsync(bed, incident);
        Assert.Contains(incident.Diagnosis!.Evidence, e => e.Detail.Contains("statefulset/session-cache has updateStrategy OnDelete", StringComparison.Ordinal));
        Assert.Contains("Retry the pull now", Buttons(card));
        Assert.DoesNotContain(Buttons(card), b => b.StartsWith("Restart", StringComparison.Ordinal));
        Assert.Contains(NotOffered(card), l => l.StartsWith("*Restart statefulset/session-cache*", StringComparison.Ordinal) && l.Contains("updateStrategy OnDelete: a restart changes its template and replaces no pod", StringComparison.Ordinal));

        var approvalId = await RequestAndApproveAsync(bed, incident, Plan(incident, RemediationKind.DeleteBackoffPods));
        var replacement = await Eventually.ValueAsync(() => Task.FromResult(bed.Api.Store.Get(PodType, Ns, "session-cache-0")), p => p is not null && Uid(p) != stuckUid, "the statefulset controller to recreate session-cache-0");
        Assert.Equal(RunStatus.VerifyingRollout, (await bed.WaitForRunAsync(approvalId, r => r.Run.Status == RunStatus.VerifyingRollout)).Run.Status);
        bed.Api.MarkPodsReady(Ns, "statefulset.kubernetes.io/pod-name=session-cache-0"); // its image pulls now
        var run = await bed.WaitForRunAsync(approvalId);

        Assert.Equal(RunStatus.Succeeded, run.Run.Status);
        Assert.Contains("2/2 pods Ready", run.Run.Detail, StringComparison.Ordinal);
        Assert.Equal(Pullable, PodImage(replacement!));
        Assert.Equal(generation, RemediationBed.Generation(bed.Api.Store.Get(StatefulSets, Ns, "session-cache")!));
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task OnDelete_daemonset_tag_change_deletes_its_stuck_pods_and_is_judged_by_the_pods_that_come_back(DatabaseProvider provider)
    {
        using var storage = await Engines.StorageAsync(provider, postgres);
        await using var bed = await StartAsync(storage);
        var daemonSet = DaemonSet("agent", Missing, desired: 2);
        var owner = Controller("apps/v1", "DaemonSet", "agent", Uid(daemonSet));
        var stuck = new[] { ("agent-7xk2p", "worker-1"), ("agent-9qw4m", "worker-2") };
        bed.Api.SeedAll([Node("worker-1"), Node("worker-2"), daemonSet, .. stuck.Select(p => Pod(p.Item1, Missing, "agent", owner, stuck: NotFound(Missing), node: p.Item2))]);
        var incident = await OpenAsync(bed, new WorkloadRef("DaemonSet", "agent"), Missing, [.. stuck.Select(p => p.Item1)], "ErrImagePull", NotFound(Missing));
        var plan = Plan(incident, RemediationKind.SetImageTag);

        var card = await CardAsync(bed, incident);
        Assert.Contains(incident.Diagnosis!.Evidence, e => e.Detail.Contains("daemonset/agent has updateStrategy OnDelete", StringComparison.Ordinal));
        Assert.Contains(plan.Title, Buttons(card));
        Assert.Contains("With updateStrategy OnDelete no pod is replaced by itself, so the pods stuck in image-pull back-off are deleted afterwards", plan.Description, StringComparison.Ordinal);

        var generation = RemediationBed.Generation(bed.Api.Store.Get(DaemonSets, Ns, "agent")!);
        var approvalId = await RequestAndApproveAsync(bed, incident, plan, dryRun: d => Assert.Contains("then delete pod agent-7xk2p", d, StringComparison.Ordinal));
        var replacements = await Eventually.ValueAsync(
            () => Task.FromResult(bed.Api.Store.List(PodType, Ns).Where(p => ObjectStore.Name(p).StartsWith("agent-", StringComparison.Ordinal)).ToList()),
            pods => pods.Count == 2 && pods.All(p => !stuck.Any(s => s.Item1 == ObjectStore.Name(p))),
            "the daemonset controller to replace both deleted pods");
        Assert.All(replacements, p => Assert.Equal(plan.Parameters["image"], PodImage(p)));
        Assert.Equal(new[] { "worker-1", "worker-2" }, replacements.Select(p => p["spec"]!["nodeName"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        bed.Api.MarkPodsReady(Ns, "app=agent"); // their image pulls
        var run = await bed.WaitForRunAsync(approvalId);

        Assert.Equal(RunStatus.Succeeded, run.Run.Status);
        Assert.Contains("2/2 pods Ready", run.Run.Detail, StringComparison.Ordinal);
        var after = bed.Api.Store.Get(DaemonSets, Ns, "agent")!;
        Assert.Equal((generation + 1, plan.Parameters["image"]), (RemediationBed.Generation(after), TemplateImage(after)));
        Assert.Equal(generation + 1, ObjectStore.Number(after["status"]!["observedGeneration"]) ?? 0);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task CronJob_card_offers_no_restart_and_run_now_creates_a_job_as_kubectl_create_job_from_and_waits_for_its_pod(DatabaseProvider provider)
    {
        using var storage = await Engines.StorageAsync(provider, postgres);
        await using var bed = await StartAsync(storage);
        var (cronUid, jobUid, stuckPod) = SeedCronJob(bed);
        var incident = await OpenAsync(bed, new WorkloadRef("CronJob", "invoice-export"), Pullable, [stuckPod], "ImagePullBackOff", Backoff(Pullable));
        var plan = Plan(incident, RemediationKind.RunCronJobNow);
        var generation = RemediationBed.Generation(bed.Api.Store.Get(ResourceType.Of("cronjobs"), Ns, "invoice-export")!);

        var card = await CardAsync(bed, incident);
        Assert.Contains("Retry the pull now", Buttons(card));
        Assert.Contains("Run cronjob/invoice-export now", Buttons(card));
        Assert.DoesNotContain(Buttons(card), b => b.StartsWith("Restart", StringComparison.Ordinal));
        Assert.Contains(NotOffered(card), l => l.StartsWith("*Restart cronjob/invoice-export*", StringComparison.Ordinal) && l.Contains("\"restarting is not supported\"", StringComparison.Ordinal));

        var approvalId = await RequestAndApproveAsync(bed, incident, plan, dryRun: d => Assert.Contains("create job invoice-export-manual-<run> from cronjob/invoice-export", d, StringComparison.Ordinal));
        var job = await Eventually.ValueAsync(
            () => Task.FromResult(bed.Api.Store.List(Jobs, Ns).FirstOrDefault(j => Uid(j) != jobUid)),
            j => j is not null,
            "the Job run from the CronJob");
        Assert.StartsWith("invoice-export-manual-", ObjectStore.Name(job!), StringComparison.Ordinal);
        Assert.Equal("manual", job!["metadata"]!["annotations"]![ManualJob.InstantiateAnnotation]!.GetValue<string>());
        var reference = Assert.Single(job["metadata"]!["ownerReferences"]!.AsArray())!;
        Assert.Equal(("CronJob", "invoice-export", cronUid), (reference["kind"]!.GetValue<string>(), reference["name"]!.GetValue<string>(), reference["uid"]!.GetValue<string>()));
        Assert.Null(reference["controller"]); // kubectl create job --from sets no controller flag
        Assert.Equal(Pullable, job["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
        var started = Assert.Single(JobPods(bed, Uid(job))); // the job controller starts its pod
        bed.Api.MarkPodsReady(Ns, $"batch.kubernetes.io/job-name={ObjectStore.Name(job)}"); // its image pulls
        var run = await bed.WaitForRunAsync(approvalId);

        Assert.Equal(RunStatus.Succeeded, run.Run.Status);
        Assert.Contains("1/1 pods Ready or Succeeded", run.Run.Detail, StringComparison.Ordinal);
        Assert.Equal(Pullable, PodImage(started));
        Assert.Equal(generation, RemediationBed.Generation(bed.Api.Store.Get(ResourceType.Of("cronjobs"), Ns, "invoice-export")!));
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task CronJob_retry_deletes_the_stuck_pods_of_its_current_job_and_is_judged_by_that_job(DatabaseProvider provider)
    {
        using var storage = await Engines.StorageAsync(provider, postgres);
        await using var bed = await StartAsync(storage);
        var (_, jobUid, stuckPod) = SeedCronJob(bed);
        var incident = await OpenAsync(bed, new WorkloadRef("CronJob", "invoice-export"), Pullable, [stuckPod], "ImagePullBackOff", Backoff(Pullable));
        var plan = Plan(incident, RemediationKind.DeleteBackoffPods);

        Assert.Contains("each deleted pod counts as one failure toward the Job's backoffLimit", plan.Description, StringComparison.Ordinal);
        var approvalId = await RequestAndApproveAsync(bed, incident, plan, dryRun: d => Assert.Contains($"delete pod {stuckPod}", d, StringComparison.Ordinal));
        var replacement = await Eventually.ValueAsync(
            () => Task.FromResult(JobPods(bed, jobUid)),
            pods => pods.Count == 1 && ObjectStore.Name(pods[0]) != stuckPod,
            "the job controller to replace the deleted pod after its backoff");
        Assert.Null(bed.Api.Store.Get(PodType, Ns, stuckPod)); // its job-tracking finalizer released
        bed.Api.MarkPodsReady(Ns, $"batch.kubernetes.io/controller-uid={jobUid}"); // its image pulls
        var run = await bed.WaitForRunAsync(approvalId);

        Assert.Equal(RunStatus.Succeeded, run.Run.Status);
        Assert.Contains("1/1 pods Ready or Succeeded", run.Run.Detail, StringComparison.Ordinal);
        var job = Assert.Single(bed.Api.Store.List(Jobs, Ns));
        Assert.Equal((jobUid, 1L), (Uid(job), ObjectStore.Number(job["status"]!["failed"]) ?? 0));
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task ReplicaSet_without_deployment_gets_no_template_change_and_its_retry_runs_to_ready_pods(DatabaseProvider provider)
    {
        using var storage = await Engines.StorageAsync(provider, postgres);
        await using var bed = await StartAsync(storage);
        var uid = Seed(bed, ReplicaSet("legacy", Pullable, owner: null));
        var owner = Controller("apps/v1", "ReplicaSet", "legacy", uid);
        var stuck = new[] { "legacy-5kq8z", "legacy-7mn2x" };
        foreach (var name in stuck)
        {
            Seed(bed, Pod(name, Pullable, "legacy", owner, stuck: Backoff(Pullable)));
        }

        var incident = await OpenAsync(bed, new WorkloadRef("ReplicaSet", "legacy"), Pullable, stuck, "ImagePullBackOff", Backoff(Pullable));

        var card = await CardAsync(bed, incident);
        Assert.Contains("Retry the pull now", Buttons(card));
        Assert.DoesNotContain(Buttons(card), b => b.StartsWith("Restart", StringComparison.Ordinal) || b.StartsWith("Set tag", StringComparison.Ordinal));
        Assert.Contains(NotOffered(card), l => l.StartsWith("*Restart replicaset/legacy*", StringComparison.Ordinal) && l.Contains("has no Deployment, and a ReplicaSet does not replace its pods when its template changes", StringComparison.Ordinal));
        var forged = await bed.Get<IRemediationRequests>().RequestAsync(People.Alice, incident.Id, RemediationBed.Cluster, SetTag("ReplicaSet", "legacy"), CancellationToken.None);
        Assert.Contains("the bot changes only Deployments, StatefulSets, DaemonSets and CronJobs, not ReplicaSet objects", forged.Text, StringComparison.Ordinal);

        await RetryRunsToReadyPodsAsync(bed, incident, stuck, "app=legacy");
        Assert.Equal(Pullable, TemplateImage(bed.Api.Store.Get(ReplicaSets, Ns, "legacy")!));
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Rollout_owned_replicaset_names_the_rollout_never_patches_the_replicaset_and_its_retry_runs_to_ready_pods(DatabaseProvider provider)
    {
        using var storage = await Engines.StorageAsync(provider, postgres);
        await using var bed = await StartAsync(storage);
        var rolloutOwner = Controller("argoproj.io/v1alpha1", "Rollout", "web", Guid.NewGuid().ToString());
        var uid = Seed(bed, ReplicaSet("web-6d4f8b9c7", Pullable, rolloutOwner));
        var owner = Controller("apps/v1", "ReplicaSet", "web-6d4f8b9c7", uid);
        var stuck = new[] { "web-6d4f8b9c7-2xk9p", "web-6d4f8b9c7-8qm4z" };
        foreach (var name in stuck)
        {
            Seed(bed, Pod(name, Pullable, "web-6d4f8b9c7", owner, stuck: Backoff(Pullable)));
        }

        var incident = await OpenAsync(bed, new WorkloadRef("Rollout", "web"), Pullable, stuck, "ImagePullBackOff", Backoff(Pullable));

        var card = await CardAsync(bed, incident);
        Assert.Contains("Argo Rollouts Rollout web", Assert.Single(card.Sections, s => s.Heading == "Owned by").Text, StringComparison.Ordinal);
        Assert.Contains(NotOffered(card), l => l.StartsWith("*Restart rollout/web*", StringComparison.Ordinal) && l.Contains("the bot never patches them and does not change Rollouts", StringComparison.Ordinal) && l.Contains("kubectl argo rollouts restart web", StringComparison.Ordinal));
        var forged = await bed.Get<IRemediationRequests>().RequestAsync(People.Alice, incident.Id, RemediationBed.Cluster, SetTag("ReplicaSet", "web-6d4f8b9c7"), CancellationToken.None);
        Assert.Contains("Nothing was requested", forged.Text, StringComparison.Ordinal);

        await RetryRunsToReadyPodsAsync(bed, incident, stuck, "app=web-6d4f8b9c7");
        var rs = bed.Api.Store.Get(ReplicaSets, Ns, "web-6d4f8b9c7")!;
        Assert.Equal((Pullable, 1L), (TemplateImage(rs), RemediationBed.Generation(rs)));
        Assert.DoesNotContain(bed.Api.Requests, r => r.StartsWith("PATCH /apis/apps/v1/namespaces/shop/replicasets", StringComparison.Ordinal));
    }

    /// <summary>
    /// Pods an operator owns: a StatefulSet whose controller owner is an operator's custom resource (RabbitmqCluster), and
    /// a pod whose owner is the custom resource itself (kind Foo). The card names the owner, offers no change to a spec
    /// the operator writes (not even "… anyway"), and the retry deletes the stuck pods, which the owner brings back
    /// (the stand-in's StatefulSet controller; for kind Foo the test acts as that operator).
    /// </summary>
    [Theory]
    [MemberData(nameof(BothWithOperatorShapes))]
    public async Task Operator_owned_pods_card_names_the_owner_offers_no_spec_change_and_the_retry_runs_to_ready_pods(DatabaseProvider provider, string shape)
    {
        using var storage = await Engines.StorageAsync(provider, postgres);
        await using var bed = await StartAsync(storage);
        var cr = Controller("rabbitmq.com/v1beta1", shape == "statefulset" ? "RabbitmqCluster" : "Foo", "rabbit", Guid.NewGuid().ToString());
        WorkloadRef workload;
        string[] stuck;
        if (shape == "statefulset")
        {
            bed.Api.Seed(Workload("apps/v1", "StatefulSet", "rabbit-server", new JsonObject
            {
                ["podManagementPolicy"] = "Parallel",
                ["replicas"] = 2,
                ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = "rabbit-server" } },
                ["serviceName"] = "rabbit-nodes",
                ["template"] = Template("rabbit-server", Pullable),
                ["updateStrategy"] = new JsonObject { ["type"] = "RollingUpdate" },
            }, status: null, cr));
            stuck = ["rabbit-server-0", "rabbit-server-1"];
            workload = new WorkloadRef("StatefulSet", "rabbit-server");
        }
        else
        {
            stuck = ["rabbit-0"];
            Seed(bed, Pod("rabbit-0", Pullable, "rabbit-server", cr, stuck: Backoff(Pullable)));
            workload = new WorkloadRef("Foo", "rabbit");
        }

        foreach (var pod in stuck)
        {
            bed.Api.SetContainerWaiting(Ns, pod, "app", "ImagePullBackOff", Backoff(Pullable));
        }

        var stuckUids = stuck.Select(n => Uid(bed.Api.Store.Get(PodType, Ns, n)!)).ToList();
        var incident = await OpenAsync(bed, workload, Pullable, stuck, "ImagePullBackOff", Backoff(Pullable));
        var owner = shape == "statefulset" ? "RabbitmqCluster rabbit" : "Foo rabbit";

        var card = await CardAsync(bed, incident);
        var ownedBy = Assert.Single(card.Sections, s => s.Heading == "Owned by").Text;
        Assert.Contains($"managed by *{owner}* (controller owner {owner} (rabbitmq.com/v1beta1))", ownedBy, StringComparison.Ordinal);
        Assert.Contains("Fixes that change its pod template are not offered (its controller would undo them)", ownedBy, StringComparison.Ordinal);
        Assert.Contains("Retry the pull now", Buttons(card));
        Assert.DoesNotContain(Buttons(card), b => b.StartsWith("Restart", StringComparison.Ordinal) || b.EndsWith(" anyway", StringComparison.Ordinal));
        var withheld = Assert.Single(NotOffered(card), l => l.StartsWith($"*Restart {workload}*", StringComparison.Ordinal));
        Assert.Contains(shape == "statefulset" ? $"belongs to {owner}" : $"The pods belong to {owner}, a controller the bot does not change", withheld, StringComparison.Ordinal);
        Assert.DoesNotContain(incident.Diagnosis!.Remediations, p => RemediationPlan.ChangesPodTemplate(p.Kind));

        // Asked for all the same (a forged click, confirmed): refused before anything is written, whatever the policy says.
        var forged = await bed.Get<IRemediationRequests>().RequestAsync(People.Alice, incident.Id, RemediationBed.Cluster, SetTag(workload.Kind, workload.Name), ownerConfirmed: true, CancellationToken.None);
        Assert.Contains("Nothing was requested", forged.Text, StringComparison.Ordinal);
        Assert.Empty(await bed.Get<IApprovalQueries>().ListForIncidentAsync(incident.Id, CancellationToken.None));

        await RetryRunsToReadyPodsAsync(bed, incident, stuck, "app=rabbit-server", async () =>
        {
            if (shape != "statefulset")
            {
                Assert.Null(bed.Api.Store.Get(PodType, Ns, "rabbit-0"));
                Seed(bed, Pod("rabbit-0", Pullable, "rabbit-server", cr, stuck: null)); // the operator makes its pod again, and it pulls
            }

            await Eventually.ValueAsync(
                () => Task.FromResult(bed.Api.Store.List(PodType, Ns).Where(p => p["metadata"]?["deletionTimestamp"] is null).Select(Uid).ToList()),
                uids => uids.Count == stuck.Length && !uids.Intersect(stuckUids).Any(),
                "the owner to bring its pods back");
        });
        Assert.DoesNotContain(bed.Api.Requests, r => r.StartsWith("PATCH ", StringComparison.Ordinal));
    }

    public static TheoryData<DatabaseProvider, string> BothWithOperatorShapes()
    {
        var data = new TheoryData<DatabaseProvider, string>();
        foreach (var provider in new[] { DatabaseProvider.Sqlite, DatabaseProvider.Postgres })
        {
            data.Add(provider, "statefulset");
            data.Add(provider, "pod");
        }

        return data;
    }

    // ---- the bed: the real diagnoser on a RemediationBed ----

    private async Task<RemediationBed> StartAsync(TestStorage storage, Dictionary<string, string?>? settings = null) =>
        await RemediationBed.StartAsync(storage, registry, settings, services: s =>
        {
            s.RemoveAll<IIncidentDiagnoser>();
            s.AddSingleton<IIncidentDiagnoser>(sp => sp.GetRequiredService<EvidenceDiagnoser>());
        });

    /// <summary>Reports each stuck pod as the watcher would and waits for the real diagnosis (registry and cluster evidence).</summary>
    internal static async Task<Incident> OpenAsync(RemediationBed bed, WorkloadRef workload, string image, IReadOnlyList<string> pods, string reason, string message, string container = "app")
    {
        var engine = bed.Get<IncidentEngine>();
        foreach (var pod in pods)
        {
            await engine.ReportAsync(
                new PullFailure(FailureSource.KubernetesWatch, RemediationBed.Cluster, Ns, pod, container, ContainerKind.Regular, image, reason, message, DateTimeOffset.UtcNow) { Workload = workload },
                CancellationToken.None);
        }

        var store = bed.Get<IncidentStore>();
        var id = (await store.ListOpenAsync(RemediationBed.Cluster, Ns)).Single(i => i.Workload == workload).Id;
        return await Eventually.ValueAsync(async () => (await store.GetAsync(id))!, i => i.Diagnosis is not null, $"{id} to be diagnosed", TimeSpan.FromSeconds(60));
    }

    internal static async Task<Card> CardAsync(RemediationBed bed, Incident incident) =>
        (await bed.Get<IncidentCardPublisher>().BuildAsync(incident.Id, CancellationToken.None))!;

    internal static List<string> Buttons(Card card) => card.Actions.Select(a => a.Label).ToList();

    internal static List<string> NotOffered(Card card) =>
        card.Sections.SingleOrDefault(s => s.Heading == "Not offered")?.Lines.Select(l => l.Text).ToList() ?? [];

    internal static RemediationPlan Plan(Incident incident, RemediationKind kind) =>
        incident.Diagnosis!.Remediations.FirstOrDefault(p => p.Kind == kind)
        ?? throw new Xunit.Sdk.XunitException($"{kind} not offered: {string.Join(", ", incident.Diagnosis.Remediations.Select(p => p.Title))}; withheld: {string.Join(", ", incident.Diagnosis.Withheld.Select(w => w.Title))}; {incident.Diagnosis.Summary}");

    /// <summary>A set-tag plan as a forged click or a stale card would carry it (not one the diagnosis offered).</summary>
    private RemediationPlan SetTag(string kind, string name) => new(
        RemediationKind.SetImageTag, Ns, kind, name, "Set tag to 1.4.2", "Sets container app to 1.4.2.", RemediationRisk.Medium,
        new Dictionary<string, string>(StringComparer.Ordinal) { ["container"] = "app", ["image"] = Good });

    /// <summary>
    /// The retry ("Retry the pull now") asked for and approved, run to the end: once the run verifies the rollout,
    /// <paramref name="replaced"/> waits for the stuck pods' replacements (by default: none of the stuck pods is left),
    /// then the pods under <paramref name="readySelector"/> pull their image and the run succeeds with every pod Ready.
    /// </summary>
    private static async Task RetryRunsToReadyPodsAsync(RemediationBed bed, Incident incident, IReadOnlyCollection<string> stuck, string readySelector, Func<Task>? replaced = null)
    {
        var approvalId = await RequestAndApproveAsync(bed, incident, Plan(incident, RemediationKind.DeleteBackoffPods));
        await bed.WaitForRunAsync(approvalId, r => r.Run.Status == RunStatus.VerifyingRollout);
        if (replaced is null)
        {
            Assert.DoesNotContain(bed.Api.Store.List(PodType, Ns).Select(ObjectStore.Name), stuck.Contains);
        }
        else
        {
            await replaced();
        }

        bed.Api.MarkPodsReady(Ns, readySelector);
        var run = await bed.WaitForRunAsync(approvalId);

        Assert.Equal(RunStatus.Succeeded, run.Run.Status);
        Assert.Contains($"{stuck.Count}/{stuck.Count} pods Ready", run.Run.Detail, StringComparison.Ordinal);
    }

    /// <summary>Alice asks (through the card's button), the dry run is shown, Bob approves; returns the approval id.</summary>
    internal static async Task<string> RequestAndApproveAsync(RemediationBed bed, Incident incident, RemediationPlan plan, CardVerb verb = CardVerb.Request, Action<string>? dryRun = null)
    {
        var asked = await bed.ClickAsync(People.Alice, verb, incident.Id, plan.Key);
        Assert.Contains($"alice asked to run \"{plan.Title}\". It needs 1 approval", asked.Text, StringComparison.Ordinal);
        Assert.Contains("Dry run: ", asked.Text, StringComparison.Ordinal);
        dryRun?.Invoke(asked.Text);
        var approvalId = await bed.PendingIdAsync(incident.Id, plan.Kind);
        var approved = await bed.ClickAsync(People.Bob, CardVerb.Approve, approvalId);
        Assert.StartsWith($"bob approved \"{plan.Title}\". Running it now.", approved.Text, StringComparison.Ordinal);
        return approvalId;
    }

    // ---- the shapes, as kubectl get -o json prints them (trimmed to what the bot and the stand-in read) ----

    private static string NotFound(string image) =>
        $"Failed to pull image \"{image}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": {image}: not found";

    private static string Backoff(string image) => $"Back-off pulling image \"{image}\"";

    private static string Seed(RemediationBed bed, JsonObject obj) => Uid(bed.Api.Seed(obj));

    /// <summary>Seeds the Deployment (the stand-in's controller makes its ReplicaSet and pods) and makes its pods fail to pull.</summary>
    internal static List<string> SeedDeploymentPods(RemediationBed bed, JsonObject deployment, string message)
    {
        bed.Api.Seed(deployment);
        var name = ObjectStore.Name(deployment);
        var pods = bed.PodsOf(name).Select(ObjectStore.Name).ToList();
        foreach (var pod in pods)
        {
            bed.Api.SetContainerWaiting(Ns, pod, "app", message.StartsWith("Back-off", StringComparison.Ordinal) ? "ImagePullBackOff" : "ErrImagePull", message);
        }

        return pods;
    }

    /// <summary>Labels and annotates the Deployment as the tool sets them; returns how the card names the owner and what a patch meets.</summary>
    internal static (string Described, string Meets) MarkManaged(JsonObject deployment, string tool)
    {
        var metadata = (JsonObject)deployment["metadata"]!;
        var labels = (JsonObject)metadata["labels"]!;
        var annotations = new JsonObject();
        metadata["annotations"] = annotations;
        switch (tool)
        {
            case "argocd":
                annotations[WorkloadOwnership.ArgoCdTrackingAnnotation] = "storefront:apps/Deployment:shop/api";
                return ("Argo CD application storefront", "Argo CD puts the declared spec back at its next sync");
            case "flux-kustomization":
                labels[WorkloadOwnership.FluxKustomizationName] = "apps";
                labels[WorkloadOwnership.FluxKustomizationNamespace] = "flux-system";
                return ("Flux Kustomization flux-system/apps", "Flux applies the manifests from its source again at its next reconciliation");
            case "flux-helmrelease":
                labels[WorkloadOwnership.FluxHelmReleaseName] = "api";
                labels[WorkloadOwnership.FluxHelmReleaseNamespace] = "shop";
                labels[WorkloadOwnership.ManagedByLabel] = "Helm";
                annotations[WorkloadOwnership.HelmReleaseName] = "api";
                annotations[WorkloadOwnership.HelmReleaseNamespace] = "shop";
                return ("Flux HelmRelease shop/api", "the workload drifts from its chart: Flux's helm-controller corrects the drift");
            case "helm":
                labels[WorkloadOwnership.ManagedByLabel] = "Helm";
                annotations[WorkloadOwnership.HelmReleaseName] = "api";
                annotations[WorkloadOwnership.HelmReleaseNamespace] = "shop";
                return ("Helm release shop/api", "the workload drifts from its chart until the next `helm upgrade`");
            default:
                throw new ArgumentOutOfRangeException(nameof(tool), tool, "unknown owner tool");
        }
    }

    internal static JsonObject Controller(string apiVersion, string kind, string name, string uid) => new()
    {
        ["apiVersion"] = apiVersion,
        ["blockOwnerDeletion"] = true,
        ["controller"] = true,
        ["kind"] = kind,
        ["name"] = name,
        ["uid"] = uid,
    };

    internal static JsonObject Template(string app, string image, string restartPolicy = "Always") => new()
    {
        ["metadata"] = new JsonObject { ["labels"] = new JsonObject { ["app"] = app } },
        ["spec"] = new JsonObject
        {
            ["containers"] = new JsonArray(new JsonObject { ["image"] = image, ["imagePullPolicy"] = "IfNotPresent", ["name"] = "app" }),
            ["restartPolicy"] = restartPolicy,
            ["serviceAccountName"] = "default",
        },
    };

    internal static JsonObject Workload(string apiVersion, string kind, string name, JsonObject spec, JsonObject? status, JsonObject? owner = null)
    {
        var metadata = new JsonObject { ["name"] = name, ["namespace"] = Ns, ["uid"] = Guid.NewGuid().ToString(), ["labels"] = new JsonObject { ["app"] = name } };
        if (owner is not null)
        {
            metadata["ownerReferences"] = new JsonArray(owner.DeepClone());
        }

        var obj = new JsonObject { ["apiVersion"] = apiVersion, ["kind"] = kind, ["metadata"] = metadata, ["spec"] = spec };
        if (status is not null)
        {
            obj["status"] = status;
        }

        return obj;
    }

    internal static JsonObject DaemonSet(string name, string image, int desired, string strategy = "OnDelete") => Workload(
        "apps/v1",
        "DaemonSet",
        name,
        new JsonObject
        {
            ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = name } },
            ["template"] = Template(name, image),
            ["updateStrategy"] = new JsonObject { ["type"] = strategy },
        },
        new JsonObject
        {
            ["currentNumberScheduled"] = desired,
            ["desiredNumberScheduled"] = desired,
            ["numberAvailable"] = 0,
            ["numberMisscheduled"] = 0,
            ["numberReady"] = 0,
            ["numberUnavailable"] = desired,
            ["observedGeneration"] = 1,
            ["updatedNumberScheduled"] = desired,
        });

    internal static JsonObject ReplicaSet(string name, string image, JsonObject? owner) => Workload(
        "apps/v1",
        "ReplicaSet",
        name,
        new JsonObject
        {
            ["replicas"] = 2,
            ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = name } },
            ["template"] = Template(name, image),
        },
        new JsonObject { ["fullyLabeledReplicas"] = 2, ["observedGeneration"] = 1, ["replicas"] = 2 },
        owner);

    /// <summary>
    /// CronJob invoice-export → its Job invoice-export-29927670 → one pod in back-off (shape-cronjob-job-pod.json, its
    /// image in the test registry, pushed since the pull failed). Returns the CronJob's and Job's uids and the pod's name.
    /// </summary>
    private (string CronUid, string JobUid, string Pod) SeedCronJob(RemediationBed bed)
    {
        var objects = SeedShape(bed, "shape-cronjob-job-pod.json", ("registry.example.com/billing/invoice-export:4.0.0-rc1", Pullable));
        bed.Api.Controllers.JobBackoff = TimeSpan.FromMilliseconds(100); // the job controller's 10 s before replacing a failed pod, shortened
        var pod = objects.Single(o => o["kind"]!.GetValue<string>() == "Pod");
        bed.Api.SetContainerWaiting(Ns, ObjectStore.Name(pod), pod["spec"]!["containers"]![0]!["name"]!.GetValue<string>(), "ImagePullBackOff", Backoff(Pullable));
        return (Uid(objects.Single(o => o["kind"]!.GetValue<string>() == "CronJob")), Uid(objects.Single(o => o["kind"]!.GetValue<string>() == "Job")), ObjectStore.Name(pod));
    }

    /// <summary>The pods Job <paramref name="jobUid"/> controls that are not being deleted.</summary>
    private static List<JsonObject> JobPods(RemediationBed bed, string jobUid) => bed.Api.Store.List(PodType, Ns)
        .Where(p => p["metadata"]?["deletionTimestamp"] is null && p["metadata"]?["ownerReferences"] is JsonArray refs && refs.Any(r => r?["uid"]?.GetValue<string>() == jobUid))
        .ToList();

    /// <summary>
    /// Seeds a workload-shape fixture (as one restore, so the stand-in's controllers carry on from it) in the bed's
    /// namespace, each fixture image replaced by one of the test registry's.
    /// </summary>
    internal static IReadOnlyList<JsonObject> SeedShape(RemediationBed bed, string file, params (string Fixture, string Test)[] images)
    {
        var objects = KubeFixtures.Shape(file, Ns).Select(o =>
        {
            var text = o.ToJsonString();
            foreach (var (fixture, test) in images)
            {
                text = text.Replace(fixture, test, StringComparison.Ordinal);
            }

            return (JsonObject)JsonNode.Parse(text)!;
        }).ToList();
        return bed.Api.SeedAll(objects);
    }

    /// <summary>How the pod's first container waits (as kubelet reported it) and the pod's uid.</summary>
    private static (string Reason, string Message, string Uid) Waiting(RemediationBed bed, string pod)
    {
        var stored = bed.Api.Store.Get(PodType, Ns, pod)!;
        var waiting = stored["status"]!["containerStatuses"]![0]!["state"]!["waiting"]!;
        return (waiting["reason"]!.GetValue<string>(), waiting["message"]!.GetValue<string>(), Uid(stored));
    }

    internal static string PodImage(JsonObject pod) => pod["spec"]!["containers"]![0]!["image"]!.GetValue<string>();

    internal static JsonObject Node(string name) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Node",
        ["metadata"] = new JsonObject
        {
            ["name"] = name,
            ["labels"] = new JsonObject { ["kubernetes.io/arch"] = "amd64", ["kubernetes.io/hostname"] = name, ["kubernetes.io/os"] = "linux" },
        },
        ["status"] = new JsonObject
        {
            ["conditions"] = new JsonArray(new JsonObject { ["message"] = "kubelet is posting ready status", ["reason"] = "KubeletReady", ["status"] = "True", ["type"] = "Ready" }),
            ["nodeInfo"] = new JsonObject { ["architecture"] = "amd64", ["operatingSystem"] = "linux" },
        },
    };

    internal static string Uid(JsonObject obj) => obj["metadata"]!["uid"]!.GetValue<string>();

    /// <summary>A pod of <paramref name="owner"/>: Ready, or waiting in ImagePullBackOff/ErrImagePull with <paramref name="stuck"/> as kubelet's message.</summary>
    internal static JsonObject Pod(string name, string image, string app, JsonObject owner, string? stuck, string? node = null)
    {
        var pod = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject
            {
                ["name"] = name,
                ["namespace"] = Ns,
                ["uid"] = Guid.NewGuid().ToString(),
                ["labels"] = new JsonObject { ["app"] = app },
                ["ownerReferences"] = new JsonArray(owner.DeepClone()),
            },
            ["spec"] = Template(app, image)["spec"]!.DeepClone(),
        };
        if (node is not null)
        {
            pod["spec"]!["nodeName"] = node;
        }

        if (stuck is null)
        {
            pod["status"] = WorkloadControllers.ReadyStatus(pod, DateTimeOffset.UtcNow);
            return pod;
        }

        pod["status"] = new JsonObject
        {
            ["containerStatuses"] = new JsonArray(new JsonObject
            {
                ["image"] = image,
                ["imageID"] = string.Empty,
                ["lastState"] = new JsonObject(),
                ["name"] = "app",
                ["ready"] = false,
                ["restartCount"] = 0,
                ["started"] = false,
                ["state"] = new JsonObject
                {
                    ["waiting"] = new JsonObject
                    {
                        ["message"] = stuck,
                        ["reason"] = stuck.StartsWith("Back-off", StringComparison.Ordinal) ? "ImagePullBackOff" : "ErrImagePull",
                    },
                },
            }),
            ["phase"] = "Pending",
            ["qosClass"] = "BestEffort",
            ["startTime"] = ObjectStore.Timestamp(DateTimeOffset.UtcNow),
        };
        return pod;
    }

    internal static string TemplateImage(JsonObject workload) => workload["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>();
}
