using System.Text.Json.Nodes;
using ChatOpsPull.Simulation.KubernetesApi;

namespace ChatOpsPull.Tests.Kubernetes.Kubectl;

/// <summary>
/// kubectl changes things on the stand-in as on a real API server. Expected outputs are kubectl's own
/// (k8s.io/kubectl v0.33 pkg/cmd/patch, delete, apply, auth/cani) and the API server's documented behaviour
/// (https://kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/,
/// https://kubernetes.io/docs/reference/using-api/server-side-apply/, https://kubernetes.io/docs/reference/access-authn-authz/rbac/).
/// </summary>
[Collection(KubectlConformance.Name)]
public sealed class KubectlWriteTests(KubectlStandIn kubectl)
{
    private static readonly ResourceType Deployments = ResourceType.Of("deployments");

    [Fact]
    public async Task Patch_strategic_merges_containers_by_name_and_a_repeat_is_no_change()
    {
        var ns = kubectl.Namespace("patch-sm");
        kubectl.Api.Create(SidecarDeployment(ns));
        const string patch = """{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"registry.example.com/shop/web:1.4.2"}]}}}}""";

        var first = await kubectl.RunAsync("patch", "deployment", "web", "-n", ns, "--type", "strategic", "-p", patch);
        var again = await kubectl.RunAsync("patch", "deployment", "web", "-n", ns, "-p", patch);

        Assert.Equal("deployment.apps/web patched\n", first.StdOut);
        Assert.Equal("deployment.apps/web patched (no change)\n", again.StdOut);
        var containers = Containers(ns);
        Assert.Equal([("app", "registry.example.com/shop/web:1.4.2"), ("proxy", "registry.example.com/infra/envoy:1.31.0")], containers);
        Assert.Equal(2L, ObjectStore.Number(kubectl.Api.Store.Get(Deployments, ns, "web")!["metadata"]!["generation"]));
    }

    [Fact]
    public async Task Patch_merge_replaces_the_container_list_and_json_patch_edits_by_pointer()
    {
        var ns = kubectl.Namespace("patch-mj");
        kubectl.Api.Create(SidecarDeployment(ns));

        var merge = await kubectl.RunAsync("patch", "deployment", "web", "-n", ns, "--type", "merge", "-p",
            """{"metadata":{"labels":{"tier":"frontend"}},"spec":{"template":{"spec":{"containers":[{"name":"app","image":"registry.example.com/shop/web:1.4.2"}]}}}}""");
        var json = await kubectl.RunAsync("patch", "deployment", "web", "-n", ns, "--type", "json", "-p",
            """[{"op":"replace","path":"/spec/replicas","value":3},{"op":"add","path":"/spec/template/metadata/annotations","value":{"team":"shop"}}]""");
        var failedTest = await kubectl.RunAsync("patch", "deployment", "web", "-n", ns, "--type", "json", "-p",
            """[{"op":"test","path":"/spec/replicas","value":5},{"op":"replace","path":"/spec/replicas","value":9}]""");

        Assert.Equal("deployment.apps/web patched\n", merge.StdOut);
        Assert.Equal("deployment.apps/web patched\n", json.StdOut);
        var deployment = kubectl.Api.Store.Get(Deployments, ns, "web")!;
        Assert.Equal([("app", "registry.example.com/shop/web:1.4.2")], Containers(ns)); // a merge patch replaces lists whole (RFC 7386)
        Assert.Equal("frontend", deployment["metadata"]!["labels"]!["tier"]!.GetValue<string>());
        Assert.Equal(3L, ObjectStore.Number(deployment["spec"]!["replicas"]));
        Assert.Equal("shop", deployment["spec"]!["template"]!["metadata"]!["annotations"]!["team"]!.GetValue<string>());
        Assert.NotEqual(0, failedTest.ExitCode);
        Assert.Contains("test", failedTest.StdErr, StringComparison.Ordinal);
        Assert.Equal(3L, ObjectStore.Number(kubectl.Api.Store.Get(Deployments, ns, "web")!["spec"]!["replicas"]));
    }

    [Fact]
    public async Task Strategic_merge_patch_on_a_custom_resource_is_refused_as_the_real_server_does()
    {
        var ns = kubectl.Namespace("patch-cr");
        kubectl.Api.Seed(KubeFixtures.Load("crd-rollouts-argoproj.json"));
        KubeFixtures.SeedShape(kubectl.Api, "shape-rollout-owned-replicasets.json", ns);

        var strategic = await kubectl.RunAsync("patch", "rollout", "checkout", "-n", ns, "-p", """{"spec":{"replicas":4}}""");
        var merge = await kubectl.RunAsync("patch", "rollout", "checkout", "-n", ns, "--type", "merge", "-p", """{"spec":{"replicas":4}}""");

        Assert.NotEqual(0, strategic.ExitCode);
        Assert.Contains("application/strategic-merge-patch+json is not supported by argoproj.io/v1alpha1, Kind=Rollout", strategic.StdErr, StringComparison.Ordinal);
        Assert.Equal("rollout.argoproj.io/checkout patched\n", merge.StdOut);
    }

    [Fact]
    public async Task Delete_without_waiting_removes_the_deployment_and_the_garbage_collector_takes_its_pods()
    {
        var ns = kubectl.Namespace("delete");
        kubectl.Api.Create(Workloads.Deployment(ns, "web", "registry.example.com/shop/web:1.4.2", replicas: 2));
        Assert.Equal(2, kubectl.Api.Store.List(ResourceType.Of("pods"), ns).Count);

        var result = await kubectl.RunAsync("delete", "deployment", "web", "-n", ns, "--wait=false");
        var missing = await kubectl.RunAsync("delete", "deployment", "web", "-n", ns, "--wait=false");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("deployment.apps \"web\" deleted\n", result.StdOut);
        Assert.Null(kubectl.Api.Store.Get(Deployments, ns, "web"));
        Assert.Empty(kubectl.Api.Store.List(ResourceType.Of("replicasets"), ns));
        Assert.Empty(kubectl.Api.Store.List(ResourceType.Of("pods"), ns));
        Assert.Equal(1, missing.ExitCode);
        Assert.Equal("Error from server (NotFound): deployments.apps \"web\" not found\n", missing.StdErr);
    }

    [Fact]
    public async Task Server_side_apply_dry_run_changes_nothing_and_a_conflict_names_the_other_manager()
    {
        var ns = kubectl.Namespace("apply");
        var created = await kubectl.RunAsync("create", "deployment", "web", "--image=registry.example.com/shop/web:1.4.2", "--replicas=2", "-n", ns);
        Assert.Equal(0, created.ExitCode);
        var before = kubectl.Api.Store.Get(Deployments, ns, "web")!;
        var yaml = $$"""
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: web
              namespace: {{ns}}
            spec:
              replicas: 5
              selector:
                matchLabels:
                  app: web
              template:
                metadata:
                  labels:
                    app: web
                spec:
                  containers:
                  - name: web
                    image: registry.example.com/shop/web:1.4.2
            """;
        var manifest = kubectl.WriteFile($"{ns}.yaml", yaml);
        var fresh = kubectl.WriteFile($"{ns}-api.yaml", yaml.Replace("  name: web\n", "  name: api\n", StringComparison.Ordinal));

        var conflict = await kubectl.RunAsync("apply", "--server-side", "--dry-run=server", "-f", manifest);
        var forced = await kubectl.RunAsync("apply", "--server-side", "--dry-run=server", "--force-conflicts", "-f", manifest);
        var newOne = await kubectl.RunAsync("apply", "--server-side", "--dry-run=server", "-f", fresh);

        Assert.Equal(1, conflict.ExitCode);
        Assert.StartsWith("error: Apply failed with 1 conflict: conflict with \"kubectl-create\" using apps/v1: .spec.replicas", conflict.StdErr, StringComparison.Ordinal);
        Assert.Equal("deployment.apps/web serverside-applied (server dry run)\n", forced.StdOut);
        Assert.Equal("deployment.apps/api serverside-applied (server dry run)\n", newOne.StdOut);
        var after = kubectl.Api.Store.Get(Deployments, ns, "web")!;
        Assert.Equal(ObjectStore.Version(before), ObjectStore.Version(after));
        Assert.Equal(2L, ObjectStore.Number(after["spec"]!["replicas"]));
        Assert.Null(kubectl.Api.Store.Get(Deployments, ns, "api"));

        var applied = await kubectl.RunAsync("apply", "--server-side", "--force-conflicts", "-f", manifest);
        Assert.Equal("deployment.apps/web serverside-applied\n", applied.StdOut);
        var owned = kubectl.Api.Store.Get(Deployments, ns, "web")!;
        Assert.Equal(5L, ObjectStore.Number(owned["spec"]!["replicas"]));
        var apply = owned["metadata"]!["managedFields"]!.AsArray().Single(m => m!["manager"]!.GetValue<string>() == "kubectl" && m["operation"]!.GetValue<string>() == "Apply")!;
        Assert.NotNull(apply["fieldsV1"]!["f:spec"]!["f:replicas"]);
        Assert.Null(owned["metadata"]!["managedFields"]!.AsArray().Single(m => m!["manager"]!.GetValue<string>() == "kubectl-create")!["fieldsV1"]!["f:spec"]!["f:replicas"]);
    }

    [Fact]
    public async Task Auth_can_i_answers_from_the_roles_bound_to_the_user()
    {
        var ns = kubectl.Namespace("rbac");
        const string bot = "system:serviceaccount:chatopspull:chatopspull";
        kubectl.Api.Seed(Role(ns, "restarter", ["get", "list", "watch", "patch"], ["apps"], ["deployments"]));
        kubectl.Api.Seed(Role(ns, "pod-reader", ["get", "list", "watch"], [""], ["pods", "pods/log"]));
        kubectl.Api.Seed(Binding(ns, "bot-restarts", "restarter", "chatopspull", "chatopspull"));
        kubectl.Api.Seed(Binding(ns, "bot-reads-pods", "pod-reader", "chatopspull", "chatopspull"));

        var patch = await kubectl.RunAsync("auth", "can-i", "patch", "deployments", "-n", ns, "--as", bot);
        var patchElsewhere = await kubectl.RunAsync("auth", "can-i", "patch", "deployments", "-n", "default", "--as", bot);
        var deletePods = await kubectl.RunAsync("auth", "can-i", "delete", "pods", "-n", ns, "--as", bot);
        var log = await kubectl.RunAsync("auth", "can-i", "get", "pods", "--subresource=log", "-n", ns, "--as", bot);
        var admin = await kubectl.RunAsync("auth", "can-i", "delete", "nodes");
        var whoami = await kubectl.RunAsync("auth", "whoami", "--as", bot, "-o", "json");

        Assert.Equal((0, "yes\n"), (patch.ExitCode, patch.StdOut));
        Assert.Equal((1, "no\n"), (patchElsewhere.ExitCode, patchElsewhere.StdOut));
        Assert.Equal((1, "no\n"), (deletePods.ExitCode, deletePods.StdOut));
        Assert.Equal((0, "yes\n"), (log.ExitCode, log.StdOut));
        Assert.Equal((0, "yes\n"), (admin.ExitCode, admin.StdOut));
        var user = JsonNode.Parse(whoami.StdOut)!["status"]!["userInfo"]!;
        Assert.Equal(bot, user["username"]!.GetValue<string>());
        Assert.Contains("system:serviceaccounts:chatopspull", user["groups"]!.AsArray().Select(g => g!.GetValue<string>()));

        // And the server enforces what it answers: the bot's own token may patch here and not delete pods.
        kubectl.Api.Create(Workloads.Deployment(ns, "web", "registry.example.com/shop/web:1.4.2", replicas: 1));
        var client = kubectl.Api.CreateClient();
        await k8s.AppsV1OperationsExtensions.PatchNamespacedDeploymentAsync(client.AppsV1, new k8s.Models.V1Patch("""{"metadata":{"labels":{"checked":"yes"}}}""", k8s.Models.V1Patch.PatchType.MergePatch), "web", ns);
        var pod = ObjectStore.Name(kubectl.Api.Store.List(ResourceType.Of("pods"), ns).Single());
        var denied = await Assert.ThrowsAsync<k8s.Autorest.HttpOperationException>(() => k8s.CoreV1OperationsExtensions.DeleteNamespacedPodAsync(client.CoreV1, pod, ns));
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, denied.Response.StatusCode);
        Assert.Contains($"pods \\\"{pod}\\\" is forbidden: User \\\"{bot}\\\" cannot delete resource \\\"pods\\\" in API group \\\"\\\" in the namespace \\\"{ns}\\\"", denied.Response.Content, StringComparison.Ordinal);
    }

    private List<(string, string)> Containers(string ns) =>
        kubectl.Api.Store.Get(Deployments, ns, "web")!["spec"]!["template"]!["spec"]!["containers"]!.AsArray()
            .Select(c => (c!["name"]!.GetValue<string>(), c["image"]!.GetValue<string>())).ToList();

    private static JsonObject SidecarDeployment(string ns)
    {
        var deployment = Workloads.Deployment(ns, "web", "registry.example.com/shop/web:1.4.3-typo", replicas: 1);
        deployment["spec"]!["template"]!["spec"]!["containers"]!.AsArray().Add(new JsonObject { ["name"] = "proxy", ["image"] = "registry.example.com/infra/envoy:1.31.0" });
        return deployment;
    }

    private static JsonObject Role(string ns, string name, string[] verbs, string[] groups, string[] resources) => new()
    {
        ["apiVersion"] = "rbac.authorization.k8s.io/v1",
        ["kind"] = "Role",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
        ["rules"] = new JsonArray(new JsonObject
        {
            ["apiGroups"] = new JsonArray([.. groups.Select(g => (JsonNode)JsonValue.Create(g))]),
            ["resources"] = new JsonArray([.. resources.Select(r => (JsonNode)JsonValue.Create(r))]),
            ["verbs"] = new JsonArray([.. verbs.Select(v => (JsonNode)JsonValue.Create(v))]),
        }),
    };

    private static JsonObject Binding(string ns, string name, string role, string saNamespace, string sa) => new()
    {
        ["apiVersion"] = "rbac.authorization.k8s.io/v1",
        ["kind"] = "RoleBinding",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
        ["roleRef"] = new JsonObject { ["apiGroup"] = "rbac.authorization.k8s.io", ["kind"] = "Role", ["name"] = role },
        ["subjects"] = new JsonArray(new JsonObject { ["kind"] = "ServiceAccount", ["name"] = sa, ["namespace"] = saNamespace }),
    };
}
