using System.Text.Json.Nodes;
using ChatOpsPull.Kubernetes;
using ChatOpsPull.Tests.Incidents;
using ChatOpsPull.Tests.Kubernetes;
using ChatOpsPull.Simulation.KubernetesApi;
using ChatOpsPull.Tests.Storage;
using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;

namespace ChatOpsPull.Tests.Manifests;

/// <summary>
/// The rendered manifests against the in-process Kubernetes API server (src/ChatOpsPull.Simulation/KubernetesApi):
/// the kinds it serves are created through the API and the Deployment rolls out, for every install profile; every call the
/// bot makes while it watches and inspects a failing pod is allowed by each profile's RBAC; and each profile grants
/// exactly the Kubernetes methods its features call.
/// </summary>
public sealed class FakeApiManifestTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("chatopspull-manifests-").FullName;

    [Theory]
    [MemberData(nameof(RenderedManifests.AllKustomizations), MemberType = typeof(RenderedManifests))]
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

    /// <summary>
    /// The bot watching a namespace and inspecting a failing pod (what every profile does) makes only calls each profile's
    /// rendered RBAC grants; the namespaced profiles are run as their manifests configure the bot (Kubernetes:Namespaces).
    /// </summary>
    [Theory]
    [MemberData(nameof(RenderedManifests.AllKustomizations), MemberType = typeof(RenderedManifests))]
    public async Task Every_kubernetes_call_the_bot_makes_is_granted_by_the_rendered_rbac(string kustomization)
    {
        var objects = await RenderedManifests.ObjectsAsync(kustomization);
        var settings = ProfileSettings(objects);
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
        settings["Kubernetes:KubeconfigPath"] = api.WriteKubeconfig(Path.Combine(_directory, "kube"), contextNamespace: "chatopspull");
        using var storage = TestStorage.Sqlite();
        await using var host = new BotTestHost(storage, settings);
        using var client = host.CreateClient();

        var incidents = host.Services.GetRequiredService<ChatOpsPull.Incidents.IncidentStore>();
        await Eventually.ValueAsync(() => incidents.ListOpenAsync(), open => open.Count == 1, "the watcher to open the incident");
        var (inspection, failure) = await host.Services.GetRequiredService<PodInspector>().InspectAsync("shop", "web-6b9f7c5d8-rbac1", CancellationToken.None);
        Assert.True(inspection is not null, failure?.Reason);

        var rbac = Rbac.From(objects);
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
    /// mapped to the verb and resource RBAC checks, against each profile: the features a profile has (observe: all but
    /// src/ChatOpsPull/Remediation; remediate: all) call exactly what it grants. Every call is granted (in namespace shop,
    /// which the namespaced examples bind; leases in the bot's own), and every granted verb on every resource is called.
    /// </summary>
    [Theory]
    [MemberData(nameof(RenderedManifests.AllKustomizations), MemberType = typeof(RenderedManifests))]
    public async Task Each_profile_grants_exactly_the_kubernetes_methods_its_features_call(string kustomization)
    {
        var objects = await RenderedManifests.ObjectsAsync(kustomization);
        var remediates = ProfileSettings(objects)["Bot:Profile"] == "Remediate";
        var admission = objects.Any(o => o.Kind == "ValidatingWebhookConfiguration");
        var calls = SourceCalls(remediates, admission);
        var rbac = Rbac.From(objects);

        Assert.Contains(calls, c => c is { Verb: "watch", Resource: "pods" });
        Assert.Equal(remediates, calls.Contains(new ApiCall("patch", "batch", "cronjobs", "shop")));
        Assert.Equal(remediates, calls.Contains(new ApiCall("delete", string.Empty, "pods", "shop")));
        Assert.Equal(remediates, calls.Contains(new ApiCall("create", "batch", "jobs", "shop")));
        Assert.Equal(remediates, calls.Contains(new ApiCall("update", string.Empty, "secrets", "shop")));
        Assert.DoesNotContain(calls, c => c is { Verb: "list", Resource: "secrets" });
        Assert.Empty(calls.Where(c => !rbac.Allows(c)).Select(c => c.ToString()));
        var called = calls.Select(c => (c.Verb, c.Group, c.Resource)).ToHashSet();
        Assert.Empty(rbac.Granted().Where(g => !called.Contains(g)).Select(g => $"{g.Verb} {g.Resource}{(g.Group.Length == 0 ? string.Empty : "." + g.Group)}"));
    }

    /// <summary>
    /// The calls the source makes, observe features only or all (remediation too), as RBAC sees them; the admission
    /// check's own webhook configuration (self-managed CA) only where the admission component is installed.
    /// </summary>
    private static List<ApiCall> SourceCalls(bool withRemediation, bool withAdmission)
    {
        var method = new System.Text.RegularExpressions.Regex(@"\b(CoreV1|AppsV1|BatchV1|CoordinationV1|AdmissionregistrationV1)\.(Read|List|WatchList|Patch|Create|Replace|Delete)(Namespaced)?([A-Za-z]+?)(ForAllNamespaces)?Async\b");
        var separator = Path.DirectorySeparatorChar;
        var remediation = $"{separator}ChatOpsPull{separator}Remediation{separator}";
        // The demo verb (chatopspull demo) acts with the person's own kubeconfig, never as the bot's ServiceAccount.
        var demo = $"{separator}ChatOpsPull{separator}Cli{separator}Demo{separator}";
        var calls = Directory.EnumerateFiles(RenderedManifests.Path("src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{separator}obj{separator}", StringComparison.Ordinal))
            .Where(f => !f.Contains(demo, StringComparison.Ordinal))
            .Where(f => withRemediation || !f.Contains(remediation, StringComparison.Ordinal))
            .SelectMany(f => method.Matches(File.ReadAllText(f)))
            .Select(m =>
            {
                var group = m.Groups[1].Value switch
                {
                    "CoreV1" => string.Empty,
                    "AppsV1" => "apps",
                    "BatchV1" => "batch",
                    "AdmissionregistrationV1" => "admissionregistration.k8s.io",
                    _ => "coordination.k8s.io",
                };
                var verb = m.Groups[2].Value switch { "Read" => "get", "List" => "list", "WatchList" => "watch", "Replace" => "update", var v => v.ToLowerInvariant() };
                var kind = m.Groups[4].Value.ToLowerInvariant();
                var resource = kind.EndsWith('s') ? kind + "es" : kind + "s";
                return new ApiCall(verb, group, resource, resource == "leases" ? "chatopspull" : "shop");
            })
            .Where(c => withAdmission || c.Group != "admissionregistration.k8s.io")
            .ToList();

        // Not a typed call in our source: KubernetesClient's LeaseLock creates the Lease the first time (Kubernetes/WatcherLeadership).
        calls.Add(new ApiCall("create", "coordination.k8s.io", "leases", "chatopspull"));
        // Not typed calls either: the watcher lists and watches pods and events with its own slim readers, over one
        // core/v1 list-and-watch (Detection/KubernetesWatch/ApiListWatch, used by PodListWatch and EventListWatch).
        static string Watch(string file) => File.ReadAllText(RenderedManifests.Path(Path.Combine("src", "ChatOpsPull", "Detection", "KubernetesWatch", file)));
        Assert.Contains("api/v1/namespaces/", Watch("ApiListWatch.cs"), StringComparison.Ordinal);
        foreach (var (file, resource) in new[] { ("PodListWatch.cs", "pods"), ("EventListWatch.cs", "events") })
        {
            Assert.Contains($"new(client, \"{resource}\"", Watch(file), StringComparison.Ordinal);
            calls.Add(new ApiCall("list", string.Empty, resource, "shop"));
            calls.Add(new ApiCall("watch", string.Empty, resource, "shop"));
        }
        if (withRemediation)
        {
            // The refresh reads its credential source in the bot's own namespace (Remediation:CredentialSources).
            calls.Add(new ApiCall("get", string.Empty, "secrets", "chatopspull"));
        }

        return calls.Distinct().ToList();
    }

    /// <summary>What a profile's Deployment tells the bot about its RBAC (Bot:Profile, Kubernetes:Namespaces), as settings.</summary>
    private static Dictionary<string, string?> ProfileSettings(IReadOnlyList<RenderedObject> objects)
    {
        var container = objects.Single(o => o.Kind == "Deployment").Json["spec"]!["template"]!["spec"]!["containers"]![0]!;
        return container["env"]!.AsArray()
            .Where(e => e!["name"]!.GetValue<string>().StartsWith("CHATOPSPULL__", StringComparison.Ordinal) && e["value"] is not null)
            .Where(e => e!["name"]!.GetValue<string>() is "CHATOPSPULL__Bot__Profile" || e["name"]!.GetValue<string>().StartsWith("CHATOPSPULL__Kubernetes__Namespaces__", StringComparison.Ordinal))
            .ToDictionary(e => e!["name"]!.GetValue<string>()["CHATOPSPULL__".Length..].Replace("__", ":", StringComparison.Ordinal), e => (string?)e!["value"]!.GetValue<string>());
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

    /// <summary>
    /// What the rendered RBAC grants the bot's ServiceAccount: ClusterRoles through ClusterRoleBindings (everywhere) or
    /// RoleBindings (in the binding's namespace), Roles through RoleBindings (in their namespace).
    /// </summary>
    private sealed record Rbac(IReadOnlyList<(string? Namespace, JsonNode Rule)> Rules)
    {
        public static Rbac From(IReadOnlyList<RenderedObject> objects)
        {
            var rules = new List<(string?, JsonNode)>();
            foreach (var binding in objects.Where(o => o.Kind is "ClusterRoleBinding" or "RoleBinding"))
            {
                var json = binding.Json;
                if (!json["subjects"]!.AsArray().Any(s => s!["kind"]!.GetValue<string>() == "ServiceAccount" && s["name"]!.GetValue<string>() == "chatopspull" && s["namespace"]!.GetValue<string>() == "chatopspull"))
                {
                    continue;
                }

                var bindingNamespace = binding.Kind == "RoleBinding" ? json["metadata"]!["namespace"]!.GetValue<string>() : null;
                var roleKind = json["roleRef"]!["kind"]!.GetValue<string>();
                var roleName = json["roleRef"]!["name"]!.GetValue<string>();
                var role = objects.Single(o => o.Kind == roleKind && o.Name == roleName
                    && (roleKind == "ClusterRole" || o.Json["metadata"]!["namespace"]!.GetValue<string>() == bindingNamespace));
                rules.AddRange(role.Json["rules"]!.AsArray().Select(r => (bindingNamespace, r!)));
            }

            return new Rbac(rules);
        }

        public bool Allows(ApiCall call) => Rules.Any(r =>
            (r.Namespace is null || r.Namespace == call.Namespace)
            && Has(r.Rule["apiGroups"], call.Group)
            && Has(r.Rule["resources"], call.Resource)
            && Has(r.Rule["verbs"], call.Verb));

        /// <summary>Every (verb, group, resource) some rule grants.</summary>
        public IEnumerable<(string Verb, string Group, string Resource)> Granted() =>
            Rules.SelectMany(r =>
                from verb in r.Rule["verbs"]!.AsArray()
                from g in r.Rule["apiGroups"]!.AsArray()
                from resource in r.Rule["resources"]!.AsArray()
                select (verb!.GetValue<string>(), g!.GetValue<string>(), resource!.GetValue<string>()))
            .Distinct();

        private static bool Has(JsonNode? list, string value) => list!.AsArray().Any(n => n!.GetValue<string>() == value);
    }
}
