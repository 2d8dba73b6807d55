using System.Text.Json.Nodes;
using ChatOpsPull.Kubernetes;
using ChatOpsPull.Tests.Incidents;
using ChatOpsPull.Tests.Kubernetes;
using ChatOpsPull.Tests.Kubernetes.FakeApi;
using ChatOpsPull.Tests.Storage;
using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;

namespace ChatOpsPull.Tests.Manifests;

/// <summary>
/// The rendered manifests against the in-process Kubernetes API server (tests/ChatOpsPull.Tests/Kubernetes/FakeApi):
/// the kinds it serves are created through the API and the Deployment rolls out; and every call the bot makes while it
/// watches and inspects a failing pod is allowed by the rendered ClusterRoles and Role.
/// </summary>
public sealed class FakeApiManifestTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("chatopspull-manifests-").FullName;

    [Theory]
    [InlineData("manifests")]
    [InlineData("manifests/overlays/postgres")]
    public async Task The_served_kinds_apply_and_the_deployment_gets_a_replicaset_with_the_pod_template(string kustomization)
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        var client = api.CreateClient();
        var objects = (await RenderedManifests.ObjectsAsync(kustomization)).Concat(RenderedManifests.Templates()).ToList();
        var applied = new List<string>();

        foreach (var rendered in objects)
        {
            switch (rendered.Model)
            {
                case V1Namespace ns:
                    await client.CoreV1.CreateNamespaceAsync(ns);
                    break;
                case V1ServiceAccount sa:
                    await client.CoreV1.CreateNamespacedServiceAccountAsync(sa, sa.Metadata.NamespaceProperty);
                    break;
                case V1Secret secret:
                    await client.CoreV1.CreateNamespacedSecretAsync(secret, secret.Metadata.NamespaceProperty);
                    break;
                case V1Deployment deployment:
                    await client.AppsV1.CreateNamespacedDeploymentAsync(deployment, deployment.Metadata.NamespaceProperty);
                    break;
                default:
                    continue; // a kind the fake does not serve (RBAC, Service, ConfigMap, PVC, PDB, NetworkPolicy)
            }

            applied.Add(rendered.ToString());
        }

        Assert.Contains("Deployment/chatopspull", applied);
        Assert.Contains("ServiceAccount/chatopspull", applied);
        Assert.Contains("Secret/chatopspull-secrets", applied);
        var replicaSets = api.Store.List(ResourceType.Of("replicasets"), "chatopspull");
        var template = Assert.Single(replicaSets)["spec"]!["template"]!["spec"]!;
        Assert.Equal("chatopspull", template["serviceAccountName"]!.GetValue<string>());
        Assert.True(template["containers"]![0]!["securityContext"]!["readOnlyRootFilesystem"]!.GetValue<bool>());
        var expectedReplicas = kustomization.EndsWith("postgres", StringComparison.Ordinal) ? 2 : 1;
        Assert.Equal(expectedReplicas, api.Store.List(ResourceType.Of("pods"), "chatopspull").Count);
    }

    [Fact]
    public async Task Every_kubernetes_call_the_bot_makes_is_granted_by_the_rendered_rbac()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        KubeFixtures.SeedWebWorkload(api);
        var pod = KubeFixtures.WebPod("web-6b9f7c5d8-rbac1");
        api.Seed(pod);
        foreach (var seed in new[] { "serviceaccount-default.json", "secret-regcred.json" })
        {
            api.Seed(KubeFixtures.Load(seed));
        }

        api.Seed(KubeFixtures.FailedEventFor(pod));
        api.Seed(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = "chatopspull" } });
        var kubeconfig = api.WriteKubeconfig(Path.Combine(_directory, "kube"), contextNamespace: "chatopspull");
        using var storage = TestStorage.Sqlite();
        await using var host = new BotTestHost(storage, new() { ["Kubernetes:KubeconfigPath"] = kubeconfig });
        using var client = host.CreateClient();

        var incidents = host.Services.GetRequiredService<ChatOpsPull.Incidents.IncidentStore>();
        await Engines.EventuallyAsync(() => incidents.ListOpenAsync(), open => open.Count == 1, "the watcher to open the incident");
        var (inspection, failure) = await host.Services.GetRequiredService<PodInspector>().InspectAsync("shop", "web-6b9f7c5d8-rbac1", CancellationToken.None);
        Assert.True(inspection is not null, failure?.Reason);

        var rbac = Rbac.From(await RenderedManifests.ObjectsAsync("manifests"));
        var calls = api.Requests.Select(ApiCall.Parse).OfType<ApiCall>().Distinct().ToList();

        Assert.Contains(calls, c => c is { Verb: "watch", Resource: "pods" });
        Assert.Contains(calls, c => c is { Verb: "watch", Resource: "events" });
        Assert.Contains(calls, c => c is { Verb: "create" or "update", Resource: "leases" });
        Assert.Contains(calls, c => c is { Verb: "get", Resource: "secrets" });
        Assert.Contains(calls, c => c is { Verb: "get", Resource: "replicasets" });
        Assert.Empty(calls.Where(c => !rbac.Allows(c)).Select(c => c.ToString()));
    }

    /// <summary>
    /// Every typed Kubernetes call in the bot's source (<c>CoreV1.ReadNamespacedSecretAsync</c>, <c>BatchV1.PatchNamespacedCronJobAsync</c>, …),
    /// remediation and digest included, mapped to the verb and resource RBAC checks, is granted by the rendered roles.
    /// The namespace-scoped Role (leases) counts for the bot's own namespace only, so lease calls are checked there.
    /// </summary>
    [Fact]
    public async Task Every_kubernetes_method_the_source_calls_is_granted_by_the_rendered_rbac()
    {
        var rbac = Rbac.From(await RenderedManifests.ObjectsAsync("manifests"));
        var method = new System.Text.RegularExpressions.Regex(@"\b(CoreV1|AppsV1|BatchV1|CoordinationV1)\.(Read|List|WatchList|Patch|Create|Replace|Delete)(Namespaced)?([A-Za-z]+?)(ForAllNamespaces)?Async\b");
        var calls = Directory.EnumerateFiles(RenderedManifests.Path("src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f => method.Matches(File.ReadAllText(f)))
            .Select(m =>
            {
                var group = m.Groups[1].Value switch { "CoreV1" => string.Empty, "AppsV1" => "apps", "BatchV1" => "batch", _ => "coordination.k8s.io" };
                var verb = m.Groups[2].Value switch { "Read" => "get", "List" => "list", "WatchList" => "watch", "Replace" => "update", var v => v.ToLowerInvariant() };
                var kind = m.Groups[4].Value.ToLowerInvariant();
                var resource = kind.EndsWith('s') ? kind + "es" : kind + "s";
                return new ApiCall(verb, group, resource, resource == "leases" ? "chatopspull" : "shop");
            })
            .Distinct()
            .ToList();

        Assert.Contains(calls, c => c is { Verb: "patch", Resource: "cronjobs" });
        Assert.Contains(calls, c => c is { Verb: "delete", Resource: "pods" });
        Assert.Contains(calls, c => c is { Verb: "update", Resource: "secrets" });
        Assert.Empty(calls.Where(c => !rbac.Allows(c)).Select(c => c.ToString()));
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>One request to the API server as RBAC sees it.</summary>
    private sealed record ApiCall(string Verb, string Group, string Resource, string? Namespace)
    {
        /// <summary>"GET /api/v1/namespaces/shop/pods?watch=true" → watch "" pods shop.</summary>
        public static ApiCall? Parse(string request)
        {
            var space = request.IndexOf(' ', StringComparison.Ordinal);
            var method = request[..space];
            var target = new Uri("http://api" + request[(space + 1)..]);
            var query = System.Web.HttpUtility.ParseQueryString(target.Query);
            var segments = target.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
            var (group, rest) = segments[0] == "api" ? (string.Empty, segments[2..]) : (segments[1], segments[3..]);
            string? ns = null;
            if (rest.Length >= 3 && rest[0] == "namespaces")
            {
                ns = rest[1];
                rest = rest[2..];
            }

            if (rest.Length == 0)
            {
                return null;
            }

            var named = rest.Length > 1;
            var verb = (method, named, query["watch"] is "1" or "true") switch
            {
                ("GET", false, true) => "watch",
                ("GET", false, false) => "list",
                ("GET", true, _) => "get",
                ("POST", _, _) => "create",
                ("PUT", _, _) => "update",
                ("PATCH", _, _) => "patch",
                ("DELETE", _, _) => "delete",
                _ => method.ToLowerInvariant(),
            };
            return new ApiCall(verb, group, rest[0], ns);
        }

        public override string ToString() => $"{Verb} {(Group.Length == 0 ? Resource : Resource + "." + Group)}{(Namespace is null ? string.Empty : " in " + Namespace)}";
    }

    /// <summary>The rendered ClusterRoles (bound cluster-wide) and Roles (bound in their namespace) of the bot's account.</summary>
    private sealed record Rbac(IReadOnlyList<(string? Namespace, JsonNode Rule)> Rules)
    {
        public static Rbac From(IReadOnlyList<RenderedObject> objects)
        {
            var rules = new List<(string?, JsonNode)>();
            foreach (var role in objects.Where(o => o.Kind is "ClusterRole" or "Role"))
            {
                var bindingKind = role.Kind == "ClusterRole" ? "ClusterRoleBinding" : "RoleBinding";
                var bound = objects.Any(b => b.Kind == bindingKind
                    && b.Json["roleRef"]!["name"]!.GetValue<string>() == role.Name
                    && b.Json["subjects"]!.AsArray().Any(s => s!["kind"]!.GetValue<string>() == "ServiceAccount" && s["name"]!.GetValue<string>() == "chatopspull"));
                if (bound)
                {
                    var ns = role.Kind == "Role" ? role.Json["metadata"]!["namespace"]!.GetValue<string>() : null;
                    rules.AddRange(role.Json["rules"]!.AsArray().Select(r => (ns, r!)));
                }
            }

            return new Rbac(rules);
        }

        public bool Allows(ApiCall call) => Rules.Any(r =>
            (r.Namespace is null || r.Namespace == call.Namespace)
            && Has(r.Rule["apiGroups"], call.Group)
            && Has(r.Rule["resources"], call.Resource)
            && Has(r.Rule["verbs"], call.Verb));

        private static bool Has(JsonNode? list, string value) => list!.AsArray().Any(n => n!.GetValue<string>() == value);
    }
}
