using System.Text.Json.Nodes;
using ChatOpsPull.Simulation.KubernetesApi;

namespace ChatOpsPull.Tests.Kubernetes.Kubectl;

/// <summary>
/// The workload-shape fixtures (tests/fixtures/kubernetes/shape-*.json) served by the stand-in, whose StatefulSet,
/// DaemonSet and Job controllers move them the way the real ones do, read through kubectl. Expected outputs:
/// k8s.io/kubectl v0.33 rollout_status.go (StatefulSetStatusViewer, DaemonSetStatusViewer), pkg/cmd/create/create_job.go;
/// controller behaviour: https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#partitions and
/// #on-delete, https://kubernetes.io/docs/tasks/manage-daemon/update-daemon-set/, and the OnDelete currentRevision that
/// is never promoted in 1.33 (kubernetes/kubernetes#73492, fixed only by #136833).
/// </summary>
[Collection(KubectlConformance.Name)]
public sealed class KubectlWorkloadShapeTests(KubectlStandIn kubectl)
{
    private static readonly ResourceType StatefulSets = ResourceType.Of("statefulsets");
    private static readonly ResourceType DaemonSets = ResourceType.Of("daemonsets");
    private static readonly ResourceType Pods = ResourceType.Of("pods");

    [Fact]
    public async Task A_partitioned_statefulset_updates_only_ordinals_at_or_above_the_partition()
    {
        var ns = kubectl.Namespace("partition");
        KubeFixtures.SeedShape(kubectl.Api, "shape-statefulset-partition.json", ns);

        var stuck = await kubectl.RunAsync("rollout", "status", "statefulset/ledger", "-n", ns, "--timeout=1s");
        kubectl.Api.MarkPodsReady(ns, "statefulset.kubernetes.io/pod-name=ledger-2");
        var partitioned = await kubectl.RunAsync("rollout", "status", "sts/ledger", "-n", ns, "--timeout=5s");

        Assert.Equal("Waiting for 1 pods to be ready...\n", stuck.StdOut);
        Assert.Equal((0, "partitioned roll out complete: 1 new pods have been updated...\n"), (partitioned.ExitCode, partitioned.StdOut));
        var status = kubectl.Api.Store.Get(StatefulSets, ns, "ledger")!["status"]!;
        Assert.Equal(("ledger-7b9d6c5f8", "ledger-5c8f7d9b4", 1L, 2L, 3L), (
            status["currentRevision"]!.GetValue<string>(), status["updateRevision"]!.GetValue<string>(),
            ObjectStore.Number(status["updatedReplicas"]), ObjectStore.Number(status["currentReplicas"]), ObjectStore.Number(status["readyReplicas"])));
        Assert.Equal(["ledger-7b9d6c5f8", "ledger-7b9d6c5f8", "ledger-5c8f7d9b4"], RevisionsOf(ns, "ledger", 3));

        // Moving the partition to 0 rolls ledger-1, then ledger-0, each once the others are Ready; then the update revision becomes current.
        var patched = await kubectl.RunAsync("patch", "sts", "ledger", "-n", ns, "-p", """{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}""");
        Assert.Equal("statefulset.apps/ledger patched\n", patched.StdOut);
        Assert.Equal(["ledger-7b9d6c5f8", "ledger-5c8f7d9b4", "ledger-5c8f7d9b4"], RevisionsOf(ns, "ledger", 3));
        kubectl.Api.MarkPodsReady(ns, "app=ledger");
        var done = await kubectl.RunAsync("rollout", "status", "sts/ledger", "-n", ns, "--timeout=5s");
        Assert.Equal("partitioned roll out complete: 3 new pods have been updated...\n", done.StdOut);
        status = kubectl.Api.Store.Get(StatefulSets, ns, "ledger")!["status"]!;
        Assert.Equal(("ledger-5c8f7d9b4", "ledger-5c8f7d9b4", 3L, 3L), (
            status["currentRevision"]!.GetValue<string>(), status["updateRevision"]!.GetValue<string>(),
            ObjectStore.Number(status["updatedReplicas"]), ObjectStore.Number(status["currentReplicas"])));
    }

    [Fact]
    public async Task An_on_delete_statefulset_rolls_nothing_until_a_pod_is_deleted_and_never_promotes_its_current_revision()
    {
        var ns = kubectl.Namespace("sts-ondelete");
        KubeFixtures.SeedShape(kubectl.Api, "shape-statefulset-ondelete.json", ns);

        var status = await kubectl.RunAsync("rollout", "status", "sts/session-cache", "-n", ns);
        var restart = await kubectl.RunAsync("rollout", "restart", "sts/session-cache", "-n", ns);

        Assert.Equal((1, "error: rollout status is only available for RollingUpdate strategy type\n"), (status.ExitCode, status.StdErr));
        Assert.Equal("statefulset.apps/session-cache restarted\n", restart.StdOut);
        var set = kubectl.Api.Store.Get(StatefulSets, ns, "session-cache")!;
        var update = set["status"]!["updateRevision"]!.GetValue<string>();
        Assert.NotEqual("session-cache-79c4d8b6f", update); // the restart made a third revision
        Assert.Equal(["session-cache-79c4d8b6f", "session-cache-6d8b7c9f5"], RevisionsOf(ns, "session-cache", 2)); // and replaced no pod
        Assert.Null(set["status"]!["updatedReplicas"]);

        // OrderedReady: while session-cache-0 cannot pull, a deleted session-cache-1 is not brought back
        // (https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#deployment-and-scaling-guarantees).
        var deleted = await kubectl.RunAsync("delete", "pod", "session-cache-1", "-n", ns, "--wait=false");
        Assert.Equal("pod \"session-cache-1\" deleted\n", deleted.StdOut);
        Assert.Equal(["session-cache-79c4d8b6f", "(none)"], RevisionsOf(ns, "session-cache", 2));

        // Once session-cache-0 runs, session-cache-1 comes back at the update revision; a deleted session-cache-0 too.
        kubectl.Api.MarkPodsReady(ns, "app=session-cache");
        Assert.Equal(["session-cache-79c4d8b6f", update], RevisionsOf(ns, "session-cache", 2));
        kubectl.Api.Store.Delete(Pods, ns, "session-cache-0");
        kubectl.Api.MarkPodsReady(ns, "app=session-cache");
        set = kubectl.Api.Store.Get(StatefulSets, ns, "session-cache")!;
        Assert.Equal([update, update], RevisionsOf(ns, "session-cache", 2));
        Assert.Equal(("session-cache-6d8b7c9f5", update, 2L, null), (
            set["status"]!["currentRevision"]!.GetValue<string>(), set["status"]!["updateRevision"]!.GetValue<string>(),
            ObjectStore.Number(set["status"]!["updatedReplicas"]), ObjectStore.Number(set["status"]!["currentReplicas"])));
    }

    [Fact]
    public async Task An_on_delete_daemonset_keeps_its_old_pod_until_it_is_deleted()
    {
        var ns = kubectl.Namespace("ds-ondelete");
        KubeFixtures.SeedShape(kubectl.Api, "shape-daemonset-ondelete.json", ns);

        var status = await kubectl.RunAsync("rollout", "status", "daemonset/log-shipper", "-n", ns);
        var before = await kubectl.RunAsync("get", "ds", "-n", ns);

        Assert.Equal((1, "error: rollout status is only available for RollingUpdate strategy type\n"), (status.ExitCode, status.StdErr));
        var row = KubectlOutput.Rows(before.StdOut);
        Assert.Equal(["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE", "SELECTOR", "AGE"], row[0]);
        Assert.Equal(["log-shipper", "1", "1", "1", "0", "1", "<none>"], row[1][..7]);

        var pod = ObjectStore.Name(kubectl.Api.Store.List(Pods, ns).Single());
        await kubectl.RunAsync("delete", "pod", pod, "-n", ns, "--wait=false");
        var replacement = kubectl.Api.Store.List(Pods, ns).Single();
        Assert.NotEqual(pod, ObjectStore.Name(replacement));
        Assert.Equal(("8c6d4f7b9", "worker-1", "registry.example.com/observability/log-shipper:1.10.0"), (
            replacement["metadata"]!["labels"]!["controller-revision-hash"]!.GetValue<string>(),
            replacement["spec"]!["nodeName"]!.GetValue<string>(),
            replacement["spec"]!["containers"]![0]!["image"]!.GetValue<string>()));
        Assert.Equal(1L, ObjectStore.Number(kubectl.Api.Store.Get(DaemonSets, ns, "log-shipper")!["status"]!["updatedNumberScheduled"]));
    }

    [Fact]
    public async Task A_rolling_daemonset_replaces_its_pod_and_rollout_status_follows_it()
    {
        var ns = kubectl.Namespace("ds-rolling");
        kubectl.Api.Create(Workloads.DaemonSet(ns, "node-agent", "registry.example.com/infra/node-agent:3.1.0"));
        kubectl.Api.MarkPodsReady(ns, "app=node-agent");
        Assert.Equal("daemon set \"node-agent\" successfully rolled out\n", (await kubectl.RunAsync("rollout", "status", "ds/node-agent", "-n", ns)).StdOut);

        await kubectl.RunAsync("set", "image", "ds/node-agent", "app=registry.example.com/infra/node-agent:3.2.0-missing", "-n", ns);
        var waiting = await kubectl.RunAsync("rollout", "status", "ds/node-agent", "-n", ns, "--timeout=1s");

        Assert.Equal("Waiting for daemon set \"node-agent\" rollout to finish: 0 of 1 updated pods are available...\n", waiting.StdOut);
        Assert.Equal("registry.example.com/infra/node-agent:3.2.0-missing", kubectl.Api.Store.List(Pods, ns).Single()["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_job_created_from_the_cronjob_runs_a_pod_of_its_template()
    {
        var ns = kubectl.Namespace("cronjob");
        KubeFixtures.SeedShape(kubectl.Api, "shape-cronjob-job-pod.json", ns);

        var created = await kubectl.RunAsync("create", "job", "invoice-export-manual", "--from=cronjob/invoice-export", "-n", ns);
        var jobs = await kubectl.RunAsync("get", "jobs", "-n", ns);

        Assert.Equal("job.batch/invoice-export-manual created\n", created.StdOut);
        var rows = KubectlOutput.Rows(jobs.StdOut);
        Assert.Equal(["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"], rows[0]);
        Assert.Equal(["invoice-export-manual", "Running", "0/1"], rows.Single(r => r[0] == "invoice-export-manual")[..3]);
        var job = kubectl.Api.Store.Get(ResourceType.Of("jobs"), ns, "invoice-export-manual")!;
        Assert.Equal("manual", job["metadata"]!["annotations"]!["cronjob.kubernetes.io/instantiate"]!.GetValue<string>());
        Assert.Equal(("CronJob", "invoice-export"), (job["metadata"]!["ownerReferences"]![0]!["kind"]!.GetValue<string>(), job["metadata"]!["ownerReferences"]![0]!["name"]!.GetValue<string>()));
        var pod = kubectl.Api.Store.List(Pods, ns).Single(p => p["metadata"]!["labels"]!["job-name"]?.GetValue<string>() == "invoice-export-manual");
        Assert.Equal("registry.example.com/billing/invoice-export:4.0.0-rc1", pod["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
        Assert.Equal(ObjectStore.Uid(job), pod["metadata"]!["ownerReferences"]![0]!["uid"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("shape-argocd-managed-deployment.json", "argocd.argoproj.io/tracking-id", "storefront-web", "")]
    [InlineData("shape-flux-kustomization-deployment.json", "kustomize.toolkit.fluxcd.io/name", "search-api", "")]
    [InlineData("shape-flux-helmrelease-deployment.json", "helm.toolkit.fluxcd.io/name", "recommendations", "Helm")]
    [InlineData("shape-helm-managed-deployment.json", "app.kubernetes.io/managed-by", "payments-api", "Helm")]
    public async Task Managed_deployments_are_served_with_the_marks_of_their_owner(string file, string mark, string name, string managedBy)
    {
        var ns = kubectl.Namespace("managed");
        KubeFixtures.SeedShape(kubectl.Api, file, ns);

        var json = JsonNode.Parse((await kubectl.RunAsync("get", "deployment", name, "-n", ns, "-o", "json")).StdOut)!;
        var helm = await kubectl.RunAsync("get", "deployments", "-n", ns, "-l", "app.kubernetes.io/managed-by=Helm", "-o", "name");
        var pods = await kubectl.RunAsync("get", "pods", "-n", ns);

        var marks = (json["metadata"]!["labels"]!.AsObject().Select(p => p.Key)).Concat(json["metadata"]!["annotations"]!.AsObject().Select(p => p.Key));
        Assert.Contains(mark, marks);
        Assert.Equal(managedBy.Length == 0 ? string.Empty : $"deployment.apps/{name}\n", helm.StdOut);
        Assert.Matches("^(ErrImagePull|ImagePullBackOff)$", KubectlOutput.Rows(pods.StdOut)[1][2]);
    }

    private List<string> RevisionsOf(string ns, string set, int replicas) =>
        Enumerable.Range(0, replicas)
            .Select(i => kubectl.Api.Store.Get(Pods, ns, $"{set}-{i}")?["metadata"]?["labels"]?["controller-revision-hash"]?.GetValue<string>() ?? "(none)")
            .ToList();
}
