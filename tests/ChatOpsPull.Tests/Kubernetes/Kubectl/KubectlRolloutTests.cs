using System.Text.Json.Nodes;
using ChatOpsPull.Simulation.KubernetesApi;
using k8s;
using k8s.Models;

namespace ChatOpsPull.Tests.Kubernetes.Kubectl;

/// <summary>
/// `kubectl rollout status|restart|undo|resume` against the stand-in's deployment controller. Expected outputs are those
/// of k8s.io/kubectl v0.33 pkg/polymorphichelpers (rollout_status.go, objectrestarter.go, rollback.go) and
/// pkg/cmd/rollout; the rolling update follows pkg/controller/deployment/rolling.go.
/// </summary>
[Collection(KubectlConformance.Name)]
public sealed class KubectlRolloutTests(KubectlStandIn kubectl)
{
    private static readonly ResourceType Deployments = ResourceType.Of("deployments");
    private static readonly ResourceType ReplicaSets = ResourceType.Of("replicasets");
    private static readonly ResourceType Pods = ResourceType.Of("pods");

    [Fact]
    public async Task Rollout_status_waits_for_a_rolling_update_that_cannot_pull_and_reports_success_once_pods_are_ready()
    {
        var ns = kubectl.Namespace("status");
        kubectl.Api.Create(Workloads.Deployment(ns, "web", "registry.example.com/shop/web:1.4.2", replicas: 2));
        kubectl.Api.MarkPodsReady(ns, "app=web");
        Assert.Equal("deployment \"web\" successfully rolled out\n", (await kubectl.RunAsync("rollout", "status", "deployment/web", "-n", ns)).StdOut);

        var set = await kubectl.RunAsync("set", "image", "deployment/web", "app=registry.example.com/shop/web:1.4.3-typo", "-n", ns);
        var waiting = await kubectl.RunAsync("rollout", "status", "deployment/web", "-n", ns, "--timeout=2s");

        Assert.Equal("deployment.apps/web image updated\n", set.StdOut);
        Assert.Equal(1, waiting.ExitCode);
        Assert.Equal("Waiting for deployment \"web\" rollout to finish: 1 out of 2 new replicas have been updated...\n", waiting.StdOut);
        Assert.Contains("timed out waiting for the condition", waiting.StdErr, StringComparison.Ordinal);

        // The surge pod is the one that cannot pull; both old pods keep serving (maxUnavailable 0 of 2 replicas).
        var pods = kubectl.Api.Store.List(Pods, ns);
        Assert.Equal(3, pods.Count);
        Assert.Equal(2, pods.Count(WorkloadControllers.IsReady));

        kubectl.Api.MarkPodsReady(ns, "app=web");
        var done = await kubectl.RunAsync("rollout", "status", "deployment/web", "-n", ns, "--timeout=10s");
        Assert.Equal((0, "deployment \"web\" successfully rolled out\n"), (done.ExitCode, done.StdOut));
        Assert.All(kubectl.Api.Store.List(Pods, ns), p => Assert.Equal("registry.example.com/shop/web:1.4.3-typo", p["spec"]!["containers"]![0]!["image"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Rollout_restart_stamps_the_template_and_undo_brings_the_previous_revision_back_as_a_new_one()
    {
        var ns = kubectl.Namespace("restart");
        kubectl.Api.Create(Workloads.Deployment(ns, "web", "registry.example.com/shop/web:1.4.2", replicas: 2));
        kubectl.Api.MarkPodsReady(ns, "app=web");

        var restart = await kubectl.RunAsync("rollout", "restart", "deployment/web", "-n", ns);
        kubectl.Api.MarkPodsReady(ns, "app=web");
        var history = await kubectl.RunAsync("rollout", "history", "deployment/web", "-n", ns);
        var undo = await kubectl.RunAsync("rollout", "undo", "deployment/web", "-n", ns);
        var missing = await kubectl.RunAsync("rollout", "undo", "deployment/web", "-n", ns, "--to-revision=7");

        Assert.Equal("deployment.apps/web restarted\n", restart.StdOut);
        Assert.Equal(["REVISION", "CHANGE-CAUSE"], KubectlOutput.Rows(history.StdOut)[1]);
        Assert.Equal([["1", "<none>"], ["2", "<none>"]], KubectlOutput.Rows(history.StdOut)[2..]);
        Assert.Equal("deployment.apps/web rolled back\n", undo.StdOut);
        Assert.Equal((1, "error: unable to find specified revision 7 in history\n"), (missing.ExitCode, missing.StdErr));

        var deployment = kubectl.Api.Store.Get(Deployments, ns, "web")!;
        Assert.Null(deployment["spec"]!["template"]!["metadata"]!["annotations"]?["kubectl.kubernetes.io/restartedAt"]);
        Assert.Equal("3", deployment["metadata"]!["annotations"]!["deployment.kubernetes.io/revision"]!.GetValue<string>());
        var sets = kubectl.Api.Store.List(ReplicaSets, ns);
        Assert.Equal(2, sets.Count);
        var back = sets.Single(rs => rs["metadata"]!["annotations"]!["deployment.kubernetes.io/revision"]!.GetValue<string>() == "3");
        Assert.Equal("1", back["metadata"]!["annotations"]!["deployment.kubernetes.io/revision-history"]!.GetValue<string>());
        Assert.Null(back["spec"]!["template"]!["metadata"]!["annotations"]?["kubectl.kubernetes.io/restartedAt"]);
    }

    [Fact]
    public async Task A_paused_deployment_rolls_nothing_kubectl_refuses_to_restart_it_and_resume_starts_the_rollout()
    {
        var ns = kubectl.Namespace("paused");
        KubeFixtures.SeedShape(kubectl.Api, "shape-paused-deployment.json", ns);

        var status = await kubectl.RunAsync("rollout", "status", "deployment/cart", "-n", ns, "--timeout=1s");
        var restart = await kubectl.RunAsync("rollout", "restart", "deployment/cart", "-n", ns);
        var undo = await kubectl.RunAsync("rollout", "undo", "deployment/cart", "-n", ns);

        Assert.Equal("Waiting for deployment \"cart\" rollout to finish: 0 of 3 updated replicas are available...\n", status.StdOut);
        Assert.Equal((1, "error: deployments.apps \"cart\" can't restart paused deployment (run rollout resume first)\n"), (restart.ExitCode, restart.StdErr));
        Assert.Equal((1, "error: no rollout history found for deployment \"cart\"\n"), (undo.ExitCode, undo.StdErr));

        // What a restart through the API does to a paused Deployment (the patch kubectl would send): the template changes,
        // the controller observes it, and no ReplicaSet or pod appears.
        var client = kubectl.Api.CreateClient(FakeKubernetesApi.AdminToken);
        await client.AppsV1.PatchNamespacedDeploymentAsync(new V1Patch(
            """{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-11-26T10:00:00Z"}}}}}""", V1Patch.PatchType.StrategicMergePatch), "cart", ns);
        var pausedStatus = await kubectl.RunAsync("rollout", "status", "deployment/cart", "-n", ns, "--timeout=1s");
        var deployment = kubectl.Api.Store.Get(Deployments, ns, "cart")!;
        Assert.Single(kubectl.Api.Store.List(ReplicaSets, ns));
        Assert.Equal(3, kubectl.Api.Store.List(Pods, ns).Count);
        Assert.Equal(ObjectStore.Number(deployment["metadata"]!["generation"]), ObjectStore.Number(deployment["status"]!["observedGeneration"]));
        Assert.Equal(("Unknown", "DeploymentPaused"), ProgressingOf(deployment));
        Assert.Equal("Waiting for deployment \"cart\" rollout to finish: 0 out of 3 new replicas have been updated...\n", pausedStatus.StdOut);

        var resume = await kubectl.RunAsync("rollout", "resume", "deployment/cart", "-n", ns);
        Assert.Equal("deployment.apps/cart resumed\n", resume.StdOut);
        Assert.Equal(2, kubectl.Api.Store.List(ReplicaSets, ns).Count);
        Assert.Equal(4, kubectl.Api.Store.List(Pods, ns).Count); // one surge pod (25% of 3, rounded up); none of the old may go: none is available
        Assert.Equal(("True", "ReplicaSetUpdated"), ProgressingOf(kubectl.Api.Store.Get(Deployments, ns, "cart")!)); // created, then its pod appeared
    }

    private static (string, string) ProgressingOf(JsonObject deployment)
    {
        var condition = deployment["status"]!["conditions"]!.AsArray().Single(c => c!["type"]!.GetValue<string>() == "Progressing")!;
        return (condition["status"]!.GetValue<string>(), condition["reason"]!.GetValue<string>());
    }
}
