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
using ChatOpsPull.Tests.Kubernetes.FakeApi;
using ChatOpsPull.Tests.Registry;
using ChatOpsPull.Tests.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ChatOpsPull.Tests.Remediation;

/// <summary>
/// Each fix on each workload shape from end to end, on SQLite and PostgreSQL: pods on the Kubernetes API stand-in fail
/// to pull from the real registry, the real diagnoser reads the workload, the card says before anyone approves what is
/// offered, what is not and why, a request and an approval run the job, and the outcome is verified on the pods. Where
/// the stand-in has no controller for a kind yet (StatefulSet, DaemonSet, Job), the test does what that controller does
/// at the point it would (a deleted pod comes back, status.observedGeneration follows the spec), each step named so.
/// </summary>
[Collection(RemediationParts.Name)]
public sealed class WorkloadShapeFlowTests(PostgresFixture postgres, RegistryFixture registry)
{
    private const string Ns = RemediationBed.Namespace;
    private static readonly ResourceType PodType = ResourceType.Of("pods");
    private static readonly ResourceType Deployments = ResourceType.Of("deployments");
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
        var deployment = RemediationBed.Deployment("api", Pullable, replicas: 2);
        deployment["spec"]!["paused"] = true;
        var stuck = SeedDeploymentPods(bed, deployment, Backoff(Pullable));
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

        var retry = Plan(incident, RemediationKind.DeleteBackoffPods);
        var approvalId = await RequestAndApproveAsync(bed, incident, retry);
        await bed.WaitForRunAsync(approvalId, r => r.Run.Status == RunStatus.VerifyingRollout);
        Assert.DoesNotContain(bed.PodsOf("api").Select(ObjectStore.Name), stuck.Contains);
        bed.Api.MarkPodsReady(Ns, "app=api");
        var run = await bed.WaitForRunAsync(approvalId);

        Assert.Equal(RunStatus.Succeeded, run.Run.Status);
        Assert.Contains("2/2 pods Ready", run.Run.Detail, StringComparison.Ordinal);
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
        var uid = Seed(bed, StatefulSet("db", Missing, replicas: 3, "RollingUpdate", partition: 2, ready: 2, updated: 1));
        var owner = Controller("apps/v1", "StatefulSet", "db", uid);
        var kept = new[] { Seed(bed, Pod("db-0", Good, "db", owner, stuck: null)), Seed(bed, Pod("db-1", Good, "db", owner, stuck: null)) };
        Seed(bed, Pod("db-2", Missing, "db", owner, stuck: NotFound(Missing)));
        var incident = await OpenAsync(bed, new WorkloadRef("StatefulSet", "db"), Missing, ["db-2"], "ErrImagePull", NotFound(Missing));
        var plan = Plan(incident, RemediationKind.SetImageTag);

        var card = await CardAsync(bed, incident);
        Assert.Contains(incident.Diagnosis!.Evidence, e => e.Detail.Contains("statefulset/db has partition 2", StringComparison.Ordinal));
        Assert.Contains(plan.Title, Buttons(card));
        Assert.Contains("With partition 2 only pods with ordinal 2 and above take the new template", plan.Description, StringComparison.Ordinal);

        var generation = RemediationBed.Generation(bed.Api.Store.Get(StatefulSets, Ns, "db")!);
        var approvalId = await RequestAndApproveAsync(bed, incident, plan, dryRun: d =>
        {
            Assert.Contains("then delete pod db-2", d, StringComparison.Ordinal);
            Assert.DoesNotContain("delete pod db-0", d, StringComparison.Ordinal);
        });
        await ObserveGenerationAsync(bed, StatefulSets, "db", expected: generation + 1); // the statefulset controller sees the new template
        await Engines.EventuallyAsync(() => Task.FromResult(bed.Api.Store.Get(PodType, Ns, "db-2")), p => p is null, "the stuck pod db-2 to be deleted");
        Assert.Equal(kept, new[] { "db-0", "db-1" }.Select(n => Uid(bed.Api.Store.Get(PodType, Ns, n)!)));
        Seed(bed, Pod("db-2", plan.Parameters["image"], "db", owner, stuck: null)); // … and recreates it from the update revision
        WriteStatus(bed, StatefulSets, "db", s => StatefulSetStatus(s, replicas: 3, ready: 3, updated: 1));
        var run = await bed.WaitForRunAsync(approvalId);

        Assert.Equal(RunStatus.Succeeded, run.Run.Status);
        Assert.Contains("3/3 pods Ready", run.Run.Detail, StringComparison.Ordinal);
        Assert.Equal(plan.Parameters["image"], TemplateImage(bed.Api.Store.Get(StatefulSets, Ns, "db")!));
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task OnDelete_statefulset_card_withholds_the_restart_and_the_retry_is_judged_by_the_incidents_pods(DatabaseProvider provider)
    {
        using var storage = await Engines.StorageAsync(provider, postgres);
        await using var bed = await StartAsync(storage);
        var uid = Seed(bed, StatefulSet("db", Pullable, replicas: 2, "OnDelete", partition: null, ready: 1, updated: 2));
        var owner = Controller("apps/v1", "StatefulSet", "db", uid);
        Seed(bed, Pod("db-0", Pullable, "db", owner, stuck: null));
        var stuckUid = Seed(bed, Pod("db-1", Pullable, "db", owner, stuck: Backoff(Pullable)));
        var incident = await OpenAsync(bed, new WorkloadRef("StatefulSet", "db"), Pullable, ["db-1"], "ImagePullBackOff", Backoff(Pullable));
        var generation = RemediationBed.Generation(bed.Api.Store.Get(StatefulSets, Ns, "db")!);

        var card = await CardAsync(bed, incident);
        Assert.Contains(incident.Diagnosis!.Evidence, e => e.Detail.Contains("statefulset/db has updateStrategy OnDelete", StringComparison.Ordinal));
        Assert.Contains("Retry the pull now", Buttons(card));
        Assert.DoesNotContain(Buttons(card), b => b.StartsWith("Restart", StringComparison.Ordinal));
        Assert.Contains(NotOffered(card), l => l.StartsWith("*Restart statefulset/db*", StringComparison.Ordinal) && l.Contains("updateStrategy OnDelete: a restart changes its template and replaces no pod", StringComparison.Ordinal));

        var approvalId = await RequestAndApproveAsync(bed, incident, Plan(incident, RemediationKind.DeleteBackoffPods));
        await Engines.EventuallyAsync(() => Task.FromResult(bed.Api.Store.Get(PodType, Ns, "db-1")), p => p is null, "the stuck pod db-1 to be deleted");
        Assert.Equal(RunStatus.VerifyingRollout, (await bed.WaitForRunAsync(approvalId, r => r.Run.Status == RunStatus.VerifyingRollout)).Run.Status);
        var replacement = Seed(bed, Pod("db-1", Pullable, "db", owner, stuck: null)); // the statefulset controller recreates it
        var run = await bed.WaitForRunAsync(approvalId);

        Assert.Equal(RunStatus.Succeeded, run.Run.Status);
        Assert.Contains("2/2 pods Ready", run.Run.Detail, StringComparison.Ordinal);
        Assert.NotEqual(stuckUid, replacement);
        Assert.Equal(generation, RemediationBed.Generation(bed.Api.Store.Get(StatefulSets, Ns, "db")!));
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task OnDelete_daemonset_tag_change_deletes_its_stuck_pods_and_is_judged_by_the_pods_that_come_back(DatabaseProvider provider)
    {
        using var storage = await Engines.StorageAsync(provider, postgres);
        await using var bed = await StartAsync(storage);
        var uid = Seed(bed, DaemonSet("agent", Missing, desired: 2));
        var owner = Controller("apps/v1", "DaemonSet", "agent", uid);
        Seed(bed, Pod("agent-7xk2p", Missing, "agent", owner, stuck: NotFound(Missing)));
        Seed(bed, Pod("agent-9qw4m", Missing, "agent", owner, stuck: NotFound(Missing)));
        var incident = await OpenAsync(bed, new WorkloadRef("DaemonSet", "agent"), Missing, ["agent-7xk2p", "agent-9qw4m"], "ErrImagePull", NotFound(Missing));
        var plan = Plan(incident, RemediationKind.SetImageTag);

        var card = await CardAsync(bed, incident);
        Assert.Contains(incident.Diagnosis!.Evidence, e => e.Detail.Contains("daemonset/agent has updateStrategy OnDelete", StringComparison.Ordinal));
        Assert.Contains(plan.Title, Buttons(card));
        Assert.Contains("With updateStrategy OnDelete no pod is replaced by itself, so the pods stuck in image-pull back-off are deleted afterwards", plan.Description, StringComparison.Ordinal);

        var generation = RemediationBed.Generation(bed.Api.Store.Get(DaemonSets, Ns, "agent")!);
        var approvalId = await RequestAndApproveAsync(bed, incident, plan, dryRun: d => Assert.Contains("then delete pod agent-7xk2p", d, StringComparison.Ordinal));
        await ObserveGenerationAsync(bed, DaemonSets, "agent", expected: generation + 1); // the daemonset controller sees the new template
        await Engines.EventuallyAsync(() => Task.FromResult(bed.Api.Store.List(PodType, Ns).Count(p => ObjectStore.Name(p).StartsWith("agent-", StringComparison.Ordinal))), n => n == 0, "both stuck pods to be deleted");
        Seed(bed, Pod("agent-b5n8r", plan.Parameters["image"], "agent", owner, stuck: null)); // … and creates one pod per node from the new template
        Seed(bed, Pod("agent-c6v2t", plan.Parameters["image"], "agent", owner, stuck: null));
        var run = await bed.WaitForRunAsync(approvalId);

        Assert.Equal(RunStatus.Succeeded, run.Run.Status);
        Assert.Contains("2/2 pods Ready", run.Run.Detail, StringComparison.Ordinal);
        Assert.Equal(plan.Parameters["image"], TemplateImage(bed.Api.Store.Get(DaemonSets, Ns, "agent")!));
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task CronJob_card_offers_no_restart_and_run_now_creates_a_job_as_kubectl_create_job_from_and_waits_for_its_pod(DatabaseProvider provider)
    {
        using var storage = await Engines.StorageAsync(provider, postgres);
        await using var bed = await StartAsync(storage);
        var (cronUid, jobUid) = SeedCronJob(bed);
        var incident = await OpenAsync(bed, new WorkloadRef("CronJob", "nightly"), Pullable, ["nightly-29012340-4xkzq"], "ImagePullBackOff", Backoff(Pullable));
        var plan = Plan(incident, RemediationKind.RunCronJobNow);

        var card = await CardAsync(bed, incident);
        Assert.Contains("Retry the pull now", Buttons(card));
        Assert.Contains("Run cronjob/nightly now", Buttons(card));
        Assert.DoesNotContain(Buttons(card), b => b.StartsWith("Restart", StringComparison.Ordinal));
        Assert.Contains(NotOffered(card), l => l.StartsWith("*Restart cronjob/nightly*", StringComparison.Ordinal) && l.Contains("\"restarting is not supported\"", StringComparison.Ordinal));

        var approvalId = await RequestAndApproveAsync(bed, incident, plan, dryRun: d => Assert.Contains("create job nightly-manual-<run> from cronjob/nightly", d, StringComparison.Ordinal));
        var job = await Engines.EventuallyAsync(
            () => Task.FromResult(bed.Api.Store.List(Jobs, Ns).FirstOrDefault(j => Uid(j) != jobUid)),
            j => j is not null,
            "the Job run from the CronJob");
        Assert.StartsWith("nightly-manual-", ObjectStore.Name(job!), StringComparison.Ordinal);
        Assert.Equal("manual", job!["metadata"]!["annotations"]![ManualJob.InstantiateAnnotation]!.GetValue<string>());
        var reference = Assert.Single(job["metadata"]!["ownerReferences"]!.AsArray())!;
        Assert.Equal(("CronJob", "nightly", cronUid), (reference["kind"]!.GetValue<string>(), reference["name"]!.GetValue<string>(), reference["uid"]!.GetValue<string>()));
        Assert.Null(reference["controller"]); // kubectl create job --from sets no controller flag
        Assert.Equal(Pullable, job["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
        Seed(bed, JobPod(ObjectStore.Name(job) + "-m2x7c", ObjectStore.Name(job), Uid(job), stuck: null)); // the job controller starts its pod
        var run = await bed.WaitForRunAsync(approvalId);

        Assert.Equal(RunStatus.Succeeded, run.Run.Status);
        Assert.Contains("1/1 pods Ready or Succeeded", run.Run.Detail, StringComparison.Ordinal);
        Assert.Equal(1L, RemediationBed.Generation(bed.Api.Store.Get(ResourceType.Of("cronjobs"), Ns, "nightly")!));
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task CronJob_retry_deletes_the_stuck_pods_of_its_current_job_and_is_judged_by_that_job(DatabaseProvider provider)
    {
        using var storage = await Engines.StorageAsync(provider, postgres);
        await using var bed = await StartAsync(storage);
        var (_, jobUid) = SeedCronJob(bed);
        var incident = await OpenAsync(bed, new WorkloadRef("CronJob", "nightly"), Pullable, ["nightly-29012340-4xkzq"], "ImagePullBackOff", Backoff(Pullable));
        var plan = Plan(incident, RemediationKind.DeleteBackoffPods);

        Assert.Contains("each deleted pod counts as one failure toward the Job's backoffLimit", plan.Description, StringComparison.Ordinal);
        var approvalId = await RequestAndApproveAsync(bed, incident, plan, dryRun: d => Assert.Contains("delete pod nightly-29012340-4xkzq", d, StringComparison.Ordinal));
        await Engines.EventuallyAsync(() => Task.FromResult(bed.Api.Store.Get(PodType, Ns, "nightly-29012340-4xkzq")), p => p is null, "the stuck pod to be deleted");
        await bed.WaitForRunAsync(approvalId, r => r.Run.Status == RunStatus.VerifyingRollout);
        Seed(bed, JobPod("nightly-29012340-h8s2d", "nightly-29012340", jobUid, stuck: null)); // the job controller replaces it
        var run = await bed.WaitForRunAsync(approvalId);

        Assert.Equal(RunStatus.Succeeded, run.Run.Status);
        Assert.Contains("1/1 pods Ready or Succeeded", run.Run.Detail, StringComparison.Ordinal);
        Assert.Equal(jobUid, Uid(Assert.Single(bed.Api.Store.List(Jobs, Ns))));
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

        var approvalId = await RequestAndApproveAsync(bed, incident, Plan(incident, RemediationKind.DeleteBackoffPods));
        await bed.WaitForRunAsync(approvalId, r => r.Run.Status == RunStatus.VerifyingRollout);
        Assert.DoesNotContain(bed.Api.Store.List(PodType, Ns).Select(ObjectStore.Name), stuck.Contains);
        bed.Api.MarkPodsReady(Ns, "app=legacy");
        var run = await bed.WaitForRunAsync(approvalId);

        Assert.Equal(RunStatus.Succeeded, run.Run.Status);
        Assert.Contains("2/2 pods Ready", run.Run.Detail, StringComparison.Ordinal);
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

        var approvalId = await RequestAndApproveAsync(bed, incident, Plan(incident, RemediationKind.DeleteBackoffPods));
        await bed.WaitForRunAsync(approvalId, r => r.Run.Status == RunStatus.VerifyingRollout);
        Assert.DoesNotContain(bed.Api.Store.List(PodType, Ns).Select(ObjectStore.Name), stuck.Contains);
        bed.Api.MarkPodsReady(Ns, "app=web-6d4f8b9c7");
        var run = await bed.WaitForRunAsync(approvalId);

        Assert.Equal(RunStatus.Succeeded, run.Run.Status);
        Assert.Contains("2/2 pods Ready", run.Run.Detail, StringComparison.Ordinal);
        var rs = bed.Api.Store.Get(ReplicaSets, Ns, "web-6d4f8b9c7")!;
        Assert.Equal((Pullable, 1L), (TemplateImage(rs), RemediationBed.Generation(rs)));
        Assert.DoesNotContain(bed.Api.Requests, r => r.StartsWith("PATCH /apis/apps/v1/namespaces/shop/replicasets", StringComparison.Ordinal));
    }

    // ---- the bed: the real diagnoser on a RemediationBed ----

    private async Task<RemediationBed> StartAsync(TestStorage storage, Dictionary<string, string?>? settings = null) =>
        await RemediationBed.StartAsync(storage, registry, settings, services: s =>
        {
            s.RemoveAll<IIncidentDiagnoser>();
            s.AddSingleton<IIncidentDiagnoser>(sp => sp.GetRequiredService<EvidenceDiagnoser>());
        });

    /// <summary>Reports each stuck pod as the watcher would and waits for the real diagnosis (registry and cluster evidence).</summary>
    private static async Task<Incident> OpenAsync(RemediationBed bed, WorkloadRef workload, string image, IReadOnlyList<string> pods, string reason, string message)
    {
        var engine = bed.Get<IncidentEngine>();
        foreach (var pod in pods)
        {
            await engine.ReportAsync(
                new PullFailure(FailureSource.KubernetesWatch, RemediationBed.Cluster, Ns, pod, "app", ContainerKind.Regular, image, reason, message, DateTimeOffset.UtcNow) { Workload = workload },
                CancellationToken.None);
        }

        var store = bed.Get<IncidentStore>();
        var id = (await store.ListOpenAsync(RemediationBed.Cluster, Ns)).Single(i => i.Workload == workload).Id;
        return await Engines.EventuallyAsync(async () => (await store.GetAsync(id))!, i => i.Diagnosis is not null, $"{id} to be diagnosed", TimeSpan.FromSeconds(60));
    }

    private static async Task<Card> CardAsync(RemediationBed bed, Incident incident) =>
        (await bed.Get<IncidentCardPublisher>().BuildAsync(incident.Id, CancellationToken.None))!;

    private static List<string> Buttons(Card card) => card.Actions.Select(a => a.Label).ToList();

    private static List<string> NotOffered(Card card) =>
        card.Sections.SingleOrDefault(s => s.Heading == "Not offered")?.Lines.Select(l => l.Text).ToList() ?? [];

    private static RemediationPlan Plan(Incident incident, RemediationKind kind) =>
        incident.Diagnosis!.Remediations.FirstOrDefault(p => p.Kind == kind)
        ?? throw new Xunit.Sdk.XunitException($"{kind} not offered: {string.Join(", ", incident.Diagnosis.Remediations.Select(p => p.Title))}; withheld: {string.Join(", ", incident.Diagnosis.Withheld.Select(w => w.Title))}; {incident.Diagnosis.Summary}");

    /// <summary>A set-tag plan as a forged click or a stale card would carry it (not one the diagnosis offered).</summary>
    private RemediationPlan SetTag(string kind, string name) => new(
        RemediationKind.SetImageTag, Ns, kind, name, "Set tag to 1.4.2", "Sets container app to 1.4.2.", RemediationRisk.Medium,
        new Dictionary<string, string>(StringComparer.Ordinal) { ["container"] = "app", ["image"] = Good });

    /// <summary>Alice asks (through the card's button), the dry run is shown, Bob approves; returns the approval id.</summary>
    private static async Task<string> RequestAndApproveAsync(RemediationBed bed, Incident incident, RemediationPlan plan, CardVerb verb = CardVerb.Request, Action<string>? dryRun = null)
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
    private static List<string> SeedDeploymentPods(RemediationBed bed, JsonObject deployment, string message)
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
    private static (string Described, string Meets) MarkManaged(JsonObject deployment, string tool)
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

    private static JsonObject Controller(string apiVersion, string kind, string name, string uid) => new()
    {
        ["apiVersion"] = apiVersion,
        ["blockOwnerDeletion"] = true,
        ["controller"] = true,
        ["kind"] = kind,
        ["name"] = name,
        ["uid"] = uid,
    };

    private static JsonObject Template(string app, string image, string restartPolicy = "Always") => new()
    {
        ["metadata"] = new JsonObject { ["labels"] = new JsonObject { ["app"] = app } },
        ["spec"] = new JsonObject
        {
            ["containers"] = new JsonArray(new JsonObject { ["image"] = image, ["imagePullPolicy"] = "IfNotPresent", ["name"] = "app" }),
            ["restartPolicy"] = restartPolicy,
            ["serviceAccountName"] = "default",
        },
    };

    private static JsonObject Workload(string apiVersion, string kind, string name, JsonObject spec, JsonObject? status, JsonObject? owner = null)
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

    private static JsonObject StatefulSet(string name, string image, int replicas, string strategy, int? partition, int ready, int updated)
    {
        var updateStrategy = new JsonObject { ["type"] = strategy };
        if (partition is not null)
        {
            updateStrategy["rollingUpdate"] = new JsonObject { ["partition"] = partition };
        }

        var spec = new JsonObject
        {
            ["podManagementPolicy"] = "OrderedReady",
            ["replicas"] = replicas,
            ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = name } },
            ["serviceName"] = name,
            ["template"] = Template(name, image),
            ["updateStrategy"] = updateStrategy,
        };
        return Workload("apps/v1", "StatefulSet", name, spec, StatefulSetStatus(null, replicas, ready, updated));
    }

    private static JsonObject StatefulSetStatus(JsonObject? statefulSet, int replicas, int ready, int updated) => new()
    {
        ["availableReplicas"] = ready,
        ["currentReplicas"] = replicas - updated,
        ["currentRevision"] = "db-5d8f7b9c4",
        ["observedGeneration"] = statefulSet is null ? 1 : RemediationBed.Generation(statefulSet),
        ["readyReplicas"] = ready,
        ["replicas"] = replicas,
        ["updateRevision"] = "db-6c9d8f7b5",
        ["updatedReplicas"] = updated,
    };

    private static JsonObject DaemonSet(string name, string image, int desired) => Workload(
        "apps/v1",
        "DaemonSet",
        name,
        new JsonObject
        {
            ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = name } },
            ["template"] = Template(name, image),
            ["updateStrategy"] = new JsonObject { ["type"] = "OnDelete" },
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

    private static JsonObject ReplicaSet(string name, string image, JsonObject? owner) => Workload(
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

    /// <summary>CronJob nightly → its Job nightly-29012340 (selector by controller-uid, as the API server defaults it) → one pod stuck in back-off.</summary>
    private (string CronUid, string JobUid) SeedCronJob(RemediationBed bed)
    {
        var cron = Workload("batch/v1", "CronJob", "nightly", new JsonObject
        {
            ["concurrencyPolicy"] = "Forbid",
            ["jobTemplate"] = new JsonObject
            {
                ["metadata"] = new JsonObject { ["labels"] = new JsonObject { ["app"] = "nightly" } },
                ["spec"] = new JsonObject { ["backoffLimit"] = 6, ["template"] = Template("nightly", Pullable, restartPolicy: "OnFailure") },
            },
            ["schedule"] = "0 2 * * *",
            ["suspend"] = false,
        }, null);
        var cronUid = Seed(bed, cron);
        var jobUid = Guid.NewGuid().ToString();
        var template = Template("nightly", Pullable, restartPolicy: "OnFailure");
        template["metadata"]!["labels"]!["batch.kubernetes.io/controller-uid"] = jobUid;
        template["metadata"]!["labels"]!["batch.kubernetes.io/job-name"] = "nightly-29012340";
        var job = Workload("batch/v1", "Job", "nightly-29012340", new JsonObject
        {
            ["backoffLimit"] = 6,
            ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["batch.kubernetes.io/controller-uid"] = jobUid } },
            ["template"] = template,
        }, new JsonObject { ["active"] = 1, ["startTime"] = ObjectStore.Timestamp(DateTimeOffset.UtcNow) }, Controller("batch/v1", "CronJob", "nightly", cronUid));
        job["metadata"]!["uid"] = jobUid;
        Seed(bed, job);
        Seed(bed, JobPod("nightly-29012340-4xkzq", "nightly-29012340", jobUid, stuck: Backoff(Pullable)));
        return (cronUid, jobUid);
    }

    /// <summary>A pod the job controller made for Job <paramref name="job"/>: its owner and its controller-uid label.</summary>
    private JsonObject JobPod(string name, string job, string jobUid, string? stuck)
    {
        var pod = Pod(name, Pullable, "nightly", Controller("batch/v1", "Job", job, jobUid), stuck);
        pod["metadata"]!["labels"]!["batch.kubernetes.io/controller-uid"] = jobUid;
        pod["metadata"]!["labels"]!["batch.kubernetes.io/job-name"] = job;
        pod["spec"]!["restartPolicy"] = "OnFailure";
        return pod;
    }

    private static string Uid(JsonObject obj) => obj["metadata"]!["uid"]!.GetValue<string>();

    /// <summary>A pod of <paramref name="owner"/>: Ready, or waiting in ImagePullBackOff/ErrImagePull with <paramref name="stuck"/> as kubelet's message.</summary>
    private static JsonObject Pod(string name, string image, string app, JsonObject owner, string? stuck)
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

    private static string TemplateImage(JsonObject workload) => workload["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>();

    /// <summary>What a workload controller does when it sees a new generation: status.observedGeneration follows it.</summary>
    private static async Task ObserveGenerationAsync(RemediationBed bed, ResourceType type, string name, long expected)
    {
        await Engines.EventuallyAsync(() => Task.FromResult(bed.Api.Store.Get(type, Ns, name)!), o => RemediationBed.Generation(o) == expected, $"{name} to reach generation {expected}");
        WriteStatus(bed, type, name, o =>
        {
            var status = (JsonObject)(o["status"]?.DeepClone() ?? new JsonObject());
            status["observedGeneration"] = expected;
            return status;
        });
    }

    private static void WriteStatus(RemediationBed bed, ResourceType type, string name, Func<JsonObject, JsonObject> status)
    {
        var current = (JsonObject)bed.Api.Store.Get(type, Ns, name)!.DeepClone();
        current["status"] = status(current);
        bed.Api.Store.Replace(type, Ns, name, current, "status");
    }
}
