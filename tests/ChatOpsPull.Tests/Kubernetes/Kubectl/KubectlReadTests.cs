using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ChatOpsPull.Simulation.KubernetesApi;

namespace ChatOpsPull.Tests.Kubernetes.Kubectl;

/// <summary>
/// kubectl reads from the stand-in what it reads from a real API server: discovery (short names, custom resources),
/// server-side printed tables (the columns of https://kubernetes.io/docs/concepts/workloads/controllers/deployment/ and
/// the pod STATUS of https://kubernetes.io/docs/concepts/containers/images/#imagepullbackoff), -o json as kubectl prints
/// it (kind/apiVersion on every item, managedFields only with --show-managed-fields) and watch events as they happen.
/// </summary>
[Collection(KubectlConformance.Name)]
public sealed partial class KubectlReadTests(KubectlStandIn kubectl)
{
    [Fact]
    public async Task Api_resources_lists_the_built_in_and_custom_resources_with_their_short_names()
    {
        kubectl.Api.Seed(KubeFixtures.Load("crd-rollouts-argoproj.json"));

        var result = await kubectl.RunAsync("api-resources");

        Assert.Equal(0, result.ExitCode);
        var rows = KubectlOutput.Rows(result.StdOut);
        Assert.Equal(["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"], rows[0]);
        Assert.Contains(["deployments", "deploy", "apps/v1", "true", "Deployment"], rows);
        Assert.Contains(["pods", "po", "v1", "true", "Pod"], rows);
        Assert.Contains(["statefulsets", "sts", "apps/v1", "true", "StatefulSet"], rows);
        Assert.Contains(["nodes", "no", "v1", "false", "Node"], rows);
        Assert.Contains(["rollouts", "ro", "argoproj.io/v1alpha1", "true", "Rollout"], rows);
        Assert.Contains(["selfsubjectaccessreviews", "authorization.k8s.io/v1", "false", "SelfSubjectAccessReview"], rows);
    }

    [Fact]
    public async Task Get_in_chunks_prints_the_servers_expired_error_when_the_continue_token_expires_between_chunks()
    {
        var ns = kubectl.Namespace("chunks");
        for (var i = 0; i < 5; i++)
        {
            var pod = KubeFixtures.WebPod($"chunk-{i}");
            pod["metadata"]!["namespace"] = ns;
            kubectl.Api.Seed(pod);
        }

        var expired = 0;
        kubectl.Api.BeforeServing = request =>
        {
            if (request is { Verb: "list", Resource: "pods", Continue: not null } && request.Namespace == ns && Interlocked.Exchange(ref expired, 1) == 0)
            {
                kubectl.Api.Store.ExpireContinueTokens(ResourceType.Of("pods"));
            }

            return Task.CompletedTask;
        };
        try
        {
            var result = await kubectl.RunAsync("get", "pods", "-n", ns, "--chunk-size=2");

            // kubectl follows continue tokens itself and stops at the 410, printing the Status as it does against a
            // real API server (no retry, no inconsistent remainder).
            Assert.True(result.ExitCode != 0, result.ToString());
            Assert.Contains("Error from server (Expired): The provided continue parameter is too old to display a consistent list result.", result.StdErr, StringComparison.Ordinal);
            Assert.Equal(1, expired);
        }
        finally
        {
            kubectl.Api.BeforeServing = null;
        }
    }

    [Fact]
    public async Task Get_prints_the_server_side_columns_of_deployments_and_the_waiting_reason_of_pods()
    {
        var ns = kubectl.Namespace("get");
        kubectl.Api.Create(Workloads.Deployment(ns, "web", "registry.example.com/shop/web:1.4.2", replicas: 2));
        kubectl.Api.MarkPodsReady(ns, "app=web");
        kubectl.Api.Create(Workloads.Deployment(ns, "api", "registry.example.com/shop/api:9.9.9", replicas: 1));
        var failing = ObjectStore.Name(kubectl.Api.Store.List(ResourceType.Of("pods"), ns).Single(p => p["metadata"]!["labels"]!["app"]!.GetValue<string>() == "api"));
        kubectl.Api.SetContainerWaiting(ns, failing, "app", "ImagePullBackOff", "Back-off pulling image \"registry.example.com/shop/api:9.9.9\"");

        var deployments = await kubectl.RunAsync("get", "deployments", "-n", ns);
        var pods = await kubectl.RunAsync("get", "po", "-n", ns);

        Assert.Equal(0, deployments.ExitCode);
        var rows = KubectlOutput.Rows(deployments.StdOut);
        Assert.Equal(["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"], rows[0]);
        Assert.Equal(["api", "0/1", "1", "0"], rows.Single(r => r[0] == "api")[..4]);
        Assert.Equal(["web", "2/2", "2", "2"], rows.Single(r => r[0] == "web")[..4]);
        Assert.Matches(AgeRegex(), rows.Single(r => r[0] == "web")[4]);

        var podRows = KubectlOutput.Rows(pods.StdOut);
        Assert.Equal(["NAME", "READY", "STATUS", "RESTARTS", "AGE"], podRows[0]);
        Assert.Equal(["0/1", "ImagePullBackOff", "0"], podRows.Single(r => r[0] == failing)[1..4]);
        Assert.Equal(2, podRows.Count(r => r[0].StartsWith("web-", StringComparison.Ordinal) && r[1] == "1/1" && r[2] == "Running"));
    }

    [Fact]
    public async Task Get_shows_an_init_container_that_cannot_pull_as_Init_reason()
    {
        var ns = kubectl.Namespace("init");
        var pod = KubeFixtures.Load("pod-init-ephemeral.json");
        pod["metadata"]!["namespace"] = ns;
        pod["metadata"]!.AsObject().Remove("ownerReferences");
        kubectl.Api.Seed(pod);

        var result = await kubectl.RunAsync("get", "pods", "-n", ns, "-o", "wide");

        var rows = KubectlOutput.Rows(result.StdOut);
        Assert.Equal(["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED", "NODE", "READINESS", "GATES"], rows[0]);
        Assert.Equal("Init:InvalidImageName", rows[1][2]);
    }

    [Fact]
    public async Task Get_json_prints_the_object_without_managed_fields_unless_asked_and_lists_as_a_v1_List()
    {
        var ns = kubectl.Namespace("json");
        var created = await kubectl.RunAsync("create", "deployment", "web", "--image=registry.example.com/shop/web:1.4.2", "--replicas=2", "-n", ns);
        Assert.Equal(0, created.ExitCode);
        Assert.Equal("deployment.apps/web created\n", created.StdOut);

        var one = JsonNode.Parse((await kubectl.RunAsync("get", "deployment", "web", "-n", ns, "-o", "json")).StdOut)!;
        var withFields = JsonNode.Parse((await kubectl.RunAsync("get", "deployment", "web", "-n", ns, "-o", "json", "--show-managed-fields")).StdOut)!;
        var list = JsonNode.Parse((await kubectl.RunAsync("get", "pods", "-n", ns, "-o", "json")).StdOut)!;

        Assert.Equal(("apps/v1", "Deployment", "web", ns), (one["apiVersion"]!.GetValue<string>(), one["kind"]!.GetValue<string>(), one["metadata"]!["name"]!.GetValue<string>(), one["metadata"]!["namespace"]!.GetValue<string>()));
        Assert.Null(one["metadata"]!["managedFields"]);
        Assert.Equal(kubectl.Api.Store.Get(ResourceType.Of("deployments"), ns, "web")!["metadata"]!["uid"]!.GetValue<string>(), one["metadata"]!["uid"]!.GetValue<string>());

        // What the server defaults on create (SetDefaults_Deployment, _PodSpec, _Container).
        Assert.Equal(("RollingUpdate", "25%", "25%", 10, 600), (
            one["spec"]!["strategy"]!["type"]!.GetValue<string>(),
            one["spec"]!["strategy"]!["rollingUpdate"]!["maxSurge"]!.GetValue<string>(),
            one["spec"]!["strategy"]!["rollingUpdate"]!["maxUnavailable"]!.GetValue<string>(),
            one["spec"]!["revisionHistoryLimit"]!.GetValue<int>(),
            one["spec"]!["progressDeadlineSeconds"]!.GetValue<int>()));
        var container = one["spec"]!["template"]!["spec"]!["containers"]![0]!;
        Assert.Equal(("IfNotPresent", "/dev/termination-log", "File"), (container["imagePullPolicy"]!.GetValue<string>(), container["terminationMessagePath"]!.GetValue<string>(), container["terminationMessagePolicy"]!.GetValue<string>()));
        Assert.Equal("1", one["metadata"]!["annotations"]!["deployment.kubernetes.io/revision"]!.GetValue<string>());

        var managers = withFields["metadata"]!["managedFields"]!.AsArray().Select(m => (m!["manager"]!.GetValue<string>(), m["operation"]!.GetValue<string>(), m["subresource"]?.GetValue<string>())).ToList();
        Assert.Contains(("kubectl-create", "Update", null), managers);
        Assert.Contains(("kube-controller-manager", "Update", "status"), managers);
        var createFields = withFields["metadata"]!["managedFields"]!.AsArray().First(m => m!["manager"]!.GetValue<string>() == "kubectl-create")!["fieldsV1"]!;
        Assert.NotNull(createFields["f:spec"]!["f:replicas"]);
        Assert.NotNull(createFields["f:spec"]!["f:template"]!["f:spec"]!["f:containers"]!["k:{\"name\":\"web\"}"]!["f:image"]);

        Assert.Equal(("v1", "List"), (list["apiVersion"]!.GetValue<string>(), list["kind"]!.GetValue<string>()));
        Assert.Equal(2, list["items"]!.AsArray().Count);
        Assert.All(list["items"]!.AsArray(), p => Assert.Equal(("v1", "Pod"), (p!["apiVersion"]!.GetValue<string>(), p["kind"]!.GetValue<string>())));
    }

    [Fact]
    public async Task Get_watch_prints_each_change_as_it_happens()
    {
        var ns = kubectl.Namespace("watch");
        kubectl.Api.Create(Workloads.Deployment(ns, "web", "registry.example.com/shop/web:1.4.3-typo", replicas: 1));
        var pod = ObjectStore.Name(kubectl.Api.Store.List(ResourceType.Of("pods"), ns).Single());

        await using var watch = kubectl.Start("get", "pods", "-n", ns, "-w", "--output-watch-events");
        await Eventually.HoldsAsync(() => watch.Output.Contains(pod, StringComparison.Ordinal), "the initial row", seen: () => $"kubectl printed:\n{watch.Output}", giveUpWhen: () => watch.HasExited);
        kubectl.Api.SetContainerWaiting(ns, pod, "app", "ErrImagePull", "failed to pull and unpack image");
        await Eventually.HoldsAsync(() => watch.Output.Contains("ErrImagePull", StringComparison.Ordinal), "the ErrImagePull row", seen: () => $"kubectl printed:\n{watch.Output}", giveUpWhen: () => watch.HasExited);
        kubectl.Api.SetContainerWaiting(ns, pod, "app", "ImagePullBackOff", "Back-off pulling image");
        await Eventually.HoldsAsync(() => watch.Output.Contains("ImagePullBackOff", StringComparison.Ordinal), "the ImagePullBackOff row", seen: () => $"kubectl printed:\n{watch.Output}", giveUpWhen: () => watch.HasExited);
        kubectl.Api.Store.Delete(ResourceType.Of("pods"), ns, pod);
        await Eventually.HoldsAsync(() => watch.Output.Contains("DELETED", StringComparison.Ordinal), "the DELETED row", seen: () => $"kubectl printed:\n{watch.Output}", giveUpWhen: () => watch.HasExited);

        var rows = KubectlOutput.Rows(watch.Output);
        Assert.Equal(["EVENT", "NAME", "READY", "STATUS", "RESTARTS", "AGE"], rows[0]);
        Assert.Equal(["ADDED", pod, "0/1", "ContainerCreating"], rows[1][..4]);
        Assert.Equal(["MODIFIED", pod, "0/1", "ErrImagePull"], rows.First(r => r.Contains("ErrImagePull"))[..4]);
        Assert.Equal(["MODIFIED", pod, "0/1", "ImagePullBackOff"], rows.First(r => r.Contains("ImagePullBackOff"))[..4]);
        Assert.Equal(["DELETED", pod], rows.First(r => r[0] == "DELETED")[..2]);
        Assert.Single(rows, r => r[0] == "EVENT");
    }

    [Fact]
    public async Task Get_shows_custom_resources_with_the_printer_columns_of_their_definition()
    {
        var ns = kubectl.Namespace("crd");
        kubectl.Api.Seed(KubeFixtures.Load("crd-rollouts-argoproj.json"));
        KubeFixtures.SeedShape(kubectl.Api, "shape-rollout-owned-replicasets.json", ns);

        var rollouts = await kubectl.RunAsync("get", "ro", "-n", ns);
        var sets = await kubectl.RunAsync("get", "rs", "-n", ns, "-o", "wide");

        Assert.Equal(0, rollouts.ExitCode);
        var rows = KubectlOutput.Rows(rollouts.StdOut);
        Assert.Equal(["NAME", "DESIRED", "CURRENT", "UP-TO-DATE", "AVAILABLE", "AGE"], rows[0]);
        Assert.Equal(["checkout", "3", "4", "1", "3"], rows[1][..5]);
        var rsRows = KubectlOutput.Rows(sets.StdOut);
        Assert.Equal(["NAME", "DESIRED", "CURRENT", "READY", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"], rsRows[0]);
        Assert.Equal(["checkout-6fd8b9c7d4", "3", "3", "3"], rsRows.Single(r => r[0] == "checkout-6fd8b9c7d4")[..4]);
        Assert.Equal("app=checkout,rollouts-pod-template-hash=84f9d7c5b", rsRows.Single(r => r[0] == "checkout-84f9d7c5b")[^1]);
    }

    [GeneratedRegex("^[0-9]+(s|m[0-9]*s?)$")]
    private static partial Regex AgeRegex();
}
