using System.Text.Json.Nodes;

namespace ChatOpsPull.Tests.Manifests;

/// <summary>What the manifests promise: least privilege, probes, non-root, no secrets, and the PostgreSQL overlay's shape.</summary>
public sealed class ManifestContentTests
{
    [Fact]
    public async Task The_base_runs_one_non_root_replica_on_sqlite_with_probes_and_limits()
    {
        var objects = await RenderedManifests.ObjectsAsync("manifests");
        var deployment = Single(objects, "Deployment");
        var spec = deployment["spec"]!;
        var pod = spec["template"]!["spec"]!;
        var container = pod["containers"]![0]!;

        Assert.Equal(1, spec["replicas"]!.GetValue<int>());
        Assert.Equal("Recreate", spec["strategy"]!["type"]!.GetValue<string>());
        Assert.Equal("chatopspull", pod["serviceAccountName"]!.GetValue<string>());
        Assert.True(pod["securityContext"]!["runAsNonRoot"]!.GetValue<bool>());
        Assert.NotEqual(0, pod["securityContext"]!["runAsUser"]!.GetValue<long>());
        Assert.True(container["securityContext"]!["readOnlyRootFilesystem"]!.GetValue<bool>());
        Assert.False(container["securityContext"]!["allowPrivilegeEscalation"]!.GetValue<bool>());
        Assert.Equal(["ALL"], container["securityContext"]!["capabilities"]!["drop"]!.AsArray().Select(c => c!.GetValue<string>()));
        Assert.Equal("/healthz", container["livenessProbe"]!["httpGet"]!["path"]!.GetValue<string>());
        Assert.Equal("/readyz", container["readinessProbe"]!["httpGet"]!["path"]!.GetValue<string>());
        Assert.NotNull(container["resources"]!["requests"]!["memory"]);
        Assert.NotNull(container["resources"]!["limits"]!["memory"]);
        Assert.Contains(pod["volumes"]!.AsArray(), v => v!["persistentVolumeClaim"]?["claimName"]?.GetValue<string>() == "chatopspull-data");
        Assert.Contains(objects, o => o.Kind == "PersistentVolumeClaim" && o.Name == "chatopspull-data");
        Assert.Equal(8080, container["ports"]![0]!["containerPort"]!.GetValue<int>());
        Assert.Contains(container["env"]!.AsArray(), e => e!["name"]!.GetValue<string>() == "CHATOPSPULL__Urls" && e["value"]!.GetValue<string>().EndsWith(":8080", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_postgres_overlay_runs_two_rolling_replicas_without_a_volume_claim()
    {
        var objects = await RenderedManifests.ObjectsAsync("manifests/overlays/postgres");
        var spec = Single(objects, "Deployment")["spec"]!;
        var container = spec["template"]!["spec"]!["containers"]![0]!;
        var env = container["env"]!.AsArray();

        Assert.Equal(2, spec["replicas"]!.GetValue<int>());
        Assert.Equal("RollingUpdate", spec["strategy"]!["type"]!.GetValue<string>());
        Assert.Equal(0, spec["strategy"]!["rollingUpdate"]!["maxUnavailable"]!.GetValue<int>());
        Assert.DoesNotContain(objects, o => o.Kind == "PersistentVolumeClaim");
        Assert.DoesNotContain(spec["template"]!["spec"]!["volumes"]!.AsArray(), v => v!["persistentVolumeClaim"] is not null);
        Assert.Contains(env, e => e!["name"]!.GetValue<string>() == "CHATOPSPULL__Storage__Provider" && e["value"]!.GetValue<string>() == "Postgres");
        var connection = env.Single(e => e!["name"]!.GetValue<string>() == "CHATOPSPULL__Storage__ConnectionString")!;
        Assert.Null(connection["value"]);
        Assert.Equal("chatopspull-postgres", connection["valueFrom"]!["secretKeyRef"]!["name"]!.GetValue<string>());
        Assert.Equal(1, Single(objects, "PodDisruptionBudget")["spec"]!["minAvailable"]!.GetValue<int>());
        Assert.Contains(Single(objects, "NetworkPolicy")["spec"]!["egress"]!.AsArray().SelectMany(r => r!["ports"]!.AsArray()), p => p!["port"]!.GetValue<int>() == 5432);
    }

    [Theory]
    [MemberData(nameof(RenderedManifests.AllKustomizations), MemberType = typeof(RenderedManifests))]
    public async Task Applying_a_kustomization_never_overwrites_a_secret(string kustomization)
    {
        Assert.DoesNotContain(await RenderedManifests.ObjectsAsync(kustomization), o => o.Kind == "Secret");
    }

    [Fact]
    public void Secret_templates_hold_no_values_and_name_what_the_deployments_read()
    {
        var templates = RenderedManifests.Templates();

        Assert.Equal(["chatopspull-postgres", "chatopspull-secrets"], templates.Select(t => t.Name).Order());
        Assert.All(templates, s =>
        {
            Assert.Equal("Secret", s.Kind);
            Assert.Equal("chatopspull", s.Json["metadata"]!["namespace"]!.GetValue<string>());
            Assert.Null(s.Json["data"]);
            Assert.All(s.Json["stringData"]!.AsObject(), pair => Assert.Equal(string.Empty, pair.Value!.GetValue<string>()));
        });
        Assert.All(
            templates.Single(t => t.Name == "chatopspull-secrets").Json["stringData"]!.AsObject(),
            pair => Assert.StartsWith("CHATOPSPULL__", pair.Key, StringComparison.Ordinal));
        Assert.True(templates.Single(t => t.Name == "chatopspull-postgres").Json["stringData"]!.AsObject().ContainsKey("connection-string"));
    }

    [Theory]
    [MemberData(nameof(RenderedManifests.AllKustomizations), MemberType = typeof(RenderedManifests))]
    public async Task Rbac_grants_no_wildcards_and_secrets_only_by_name(string kustomization)
    {
        var objects = await RenderedManifests.ObjectsAsync(kustomization);
        var rules = objects.Where(o => o.Kind is "ClusterRole" or "Role").SelectMany(o => o.Json["rules"]!.AsArray().Select(r => (Role: o, Rule: r!))).ToList();

        Assert.NotEmpty(rules);
        foreach (var (role, rule) in rules)
        {
            var all = rule["verbs"]!.AsArray().Concat(rule["resources"]!.AsArray()).Concat(rule["apiGroups"]!.AsArray()).Select(n => n!.GetValue<string>()).ToList();
            Assert.DoesNotContain("*", all);
            Assert.DoesNotContain("escalate", all);
            Assert.DoesNotContain("bind", all);
            Assert.DoesNotContain("impersonate", all);
            Assert.DoesNotContain("deletecollection", all);
            var resources = rule["resources"]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
            var verbs = rule["verbs"]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
            if (resources.Contains("secrets"))
            {
                // Read by name to resolve pull secrets like kubelet; written only by the remediation. Never list, watch, patch or delete.
                Assert.Empty(verbs.Except(["get", "create", "update"]));
                Assert.True(
                    verbs.SequenceEqual(["get"]) ? role.Name is "chatopspull-read" or "chatopspull-credential-sources" : role.Name == "chatopspull-remediate",
                    $"{role} grants {string.Join(", ", verbs)} on secrets");
            }

            if (resources.Contains("leases"))
            {
                Assert.Equal("Role", role.Kind); // only in the bot's own namespace
            }
        }
    }

    private static JsonObject Single(IReadOnlyList<RenderedObject> objects, string kind) => objects.Single(o => o.Kind == kind).Json;
}
