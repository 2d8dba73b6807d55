using System.Text.Json;
using System.Text.Json.Nodes;
using ChatOpsPull.Prevention;
using ChatOpsPull.Tests.Infrastructure;
using YamlDotNet.Serialization;

namespace ChatOpsPull.Tests.Manifests;

/// <summary>
/// The admission check's manifests (manifests/components/admission, overlays/admission, the cert-manager variant): the
/// webhook can never hold the cluster up (Ignore, 3 s, not the bot's namespace or kube-system), it reaches the port the
/// bot serves reviews on, the self-managed CA's RBAC names its one object, the component composes with the observe
/// profile, and cert-manager's variant injects its CA and mounts its Secret where the bot reads it.
/// </summary>
public sealed class AdmissionManifestTests
{
    private static readonly AdmissionOptions Defaults = new();

    [Fact]
    public async Task The_webhook_never_holds_the_cluster_up_and_reaches_the_port_the_bot_serves_reviews_on()
    {
        var objects = await RenderedManifests.ObjectsAsync("manifests/overlays/admission");
        var configuration = objects.Single(o => o.Kind == "ValidatingWebhookConfiguration").Json;
        var webhook = Assert.Single(configuration["webhooks"]!.AsArray())!;
        var service = objects.Single(o => o.Kind == "Service").Json;
        var container = objects.Single(o => o.Kind == "Deployment").Json["spec"]!["template"]!["spec"]!["containers"]![0]!;
        var env = container["env"]!.AsArray().Where(e => e!["value"] is not null).ToDictionary(e => e!["name"]!.GetValue<string>(), e => e!["value"]!.GetValue<string>());

        Assert.Equal(Defaults.WebhookConfiguration, configuration["metadata"]!["name"]!.GetValue<string>());
        Assert.Null(configuration["metadata"]!["namespace"]);
        Assert.Equal("Ignore", webhook["failurePolicy"]!.GetValue<string>());
        Assert.InRange(webhook["timeoutSeconds"]!.GetValue<int>(), 1, (int)AdmissionOptions.WebhookTimeout.TotalSeconds);
        Assert.True(Defaults.Budget < TimeSpan.FromSeconds(webhook["timeoutSeconds"]!.GetValue<int>()));
        Assert.Equal("NoneOnDryRun", webhook["sideEffects"]!.GetValue<string>());
        Assert.Equal(["v1"], webhook["admissionReviewVersions"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Null(webhook["clientConfig"]!["caBundle"]);
        var target = webhook["clientConfig"]!["service"]!;
        Assert.Equal(("chatopspull", Defaults.ServiceName, "/admission/validate"), (target["namespace"]!.GetValue<string>(), target["name"]!.GetValue<string>(), target["path"]!.GetValue<string>()));
        var port = service["spec"]!["ports"]!.AsArray().Single(p => p!["port"]!.GetValue<int>() == target["port"]!.GetValue<int>())!;
        var containerPort = container["ports"]!.AsArray().Single(p => p!["name"]!.GetValue<string>() == port["targetPort"]!.GetValue<string>())!["containerPort"]!.GetValue<int>();
        Assert.Equal(env["CHATOPSPULL__Admission__Port"], containerPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Contains($"https://0.0.0.0:{containerPort}", env["CHATOPSPULL__Urls"], StringComparison.Ordinal);
        Assert.Equal("true", env["CHATOPSPULL__Admission__Enabled"]);
        Assert.Contains(objects.Single(o => o.Kind == "NetworkPolicy").Json["spec"]!["ingress"]![0]!["ports"]!.AsArray(), p => p!["port"]!.GetValue<int>() == containerPort);

        var excluded = webhook["namespaceSelector"]!["matchExpressions"]!.AsArray().Single(e => e!["key"]!.GetValue<string>() == "kubernetes.io/metadata.name")!;
        Assert.Equal("NotIn", excluded["operator"]!.GetValue<string>());
        Assert.Equal(["chatopspull", AdmissionReviewer.SystemNamespace], excluded["values"]!.AsArray().Select(v => v!.GetValue<string>()));
        var rules = webhook["rules"]!.AsArray().SelectMany(r => r!["resources"]!.AsArray().Select(res => $"{r["apiGroups"]![0]!.GetValue<string>()}/{res!.GetValue<string>()}")).Order().ToList();
        Assert.Equal(["/pods", "apps/daemonsets", "apps/deployments", "apps/replicasets", "apps/statefulsets", "batch/cronjobs", "batch/jobs"], rules);
        Assert.All(webhook["rules"]!.AsArray(), r => Assert.Equal(["CREATE", "UPDATE"], r!["operations"]!.AsArray().Select(o => o!.GetValue<string>())));
    }

    [Fact]
    public async Task The_self_managed_ca_may_read_and_patch_only_its_own_webhook_configuration()
    {
        var objects = await RenderedManifests.ObjectsAsync("manifests/overlays/admission");
        var rules = objects.Where(o => o.Kind is "ClusterRole" or "Role")
            .SelectMany(o => o.Json["rules"]!.AsArray())
            .Where(r => r!["resources"]!.AsArray().Any(x => x!.GetValue<string>() == "validatingwebhookconfigurations"))
            .ToList();

        var rule = Assert.Single(rules)!;
        Assert.Equal(["get", "patch"], rule["verbs"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Equal([Defaults.WebhookConfiguration], rule["resourceNames"]!.AsArray().Select(v => v!.GetValue<string>()));
    }

    [Fact]
    public async Task The_admission_component_composes_with_the_observe_profile()
    {
        var directory = Directory.CreateTempSubdirectory("chatopspull-admission-observe-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(directory, "kustomization.yaml"), $"""
                apiVersion: kustomize.config.k8s.io/v1beta1
                kind: Kustomization
                resources:
                  - {Path.GetRelativePath(directory, RenderedManifests.Path("manifests/profiles/observe"))}
                components:
                  - {Path.GetRelativePath(directory, RenderedManifests.Path("manifests/components/admission"))}
                """);
            var yaml = await ExternalProcess.RunAsync("kubectl", ["kustomize", directory], RenderedManifests.RepositoryRoot, TimeSpan.FromMinutes(1));
            var objects = RenderedManifests.Parse(yaml);

            Assert.Contains(objects, o => o.Kind == "ValidatingWebhookConfiguration");
            Assert.DoesNotContain(objects, o => o.Kind == "ValidatingAdmissionPolicy");
            var env = objects.Single(o => o.Kind == "Deployment").Json["spec"]!["template"]!["spec"]!["containers"]![0]!["env"]!.AsArray();
            Assert.Contains(env, e => e!["name"]!.GetValue<string>() == "CHATOPSPULL__Bot__Profile" && e["value"]!.GetValue<string>() == "Observe");
            Assert.Contains(env, e => e!["name"]!.GetValue<string>() == "CHATOPSPULL__Admission__Enabled");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task With_cert_manager_its_ca_is_injected_and_its_secret_mounted_where_the_bot_reads_it()
    {
        var yaml = await RenderedManifests.RenderAsync("manifests/overlays/admission-cert-manager");
        var deserializer = new DeserializerBuilder().Build();
        var objects = yaml.Split("\n---\n")
            .Select(d => d.Trim())
            .Where(d => d.Length > 0)
            .Select(d => JsonNode.Parse(JsonSerializer.Serialize(deserializer.Deserialize<object>(d)))!.AsObject())
            .ToList();
        JsonObject Single(string kind) => objects.Single(o => o["kind"]!.GetValue<string>() == kind);

        var certificate = Single("Certificate");
        var configuration = Single("ValidatingWebhookConfiguration");
        var pod = Single("Deployment")["spec"]!["template"]!["spec"]!;
        var container = pod["containers"]![0]!;
        var secretName = certificate["spec"]!["secretName"]!.GetValue<string>();
        var volume = pod["volumes"]!.AsArray().Single(v => v!["secret"]?["secretName"]?.GetValue<string>() == secretName)!;
        var mount = container["volumeMounts"]!.AsArray().Single(m => m!["name"]!.GetValue<string>() == volume["name"]!.GetValue<string>())!;

        Assert.Equal(
            $"{certificate["metadata"]!["namespace"]}/{certificate["metadata"]!["name"]}",
            configuration["metadata"]!["annotations"]!["cert-manager.io/inject-ca-from"]!.GetValue<string>());
        Assert.Contains("chatopspull.chatopspull.svc", certificate["spec"]!["dnsNames"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(Path.GetDirectoryName(Defaults.CertificateFile), mount["mountPath"]!.GetValue<string>());
        Assert.Equal(Path.GetDirectoryName(Defaults.KeyFile), mount["mountPath"]!.GetValue<string>());
        Assert.Equal("Files", container["env"]!.AsArray().Single(e => e!["name"]!.GetValue<string>() == "CHATOPSPULL__Admission__Certificate")!["value"]!.GetValue<string>());
        Assert.DoesNotContain(objects, o => o["metadata"]!["name"]!.GetValue<string>() == "chatopspull-admission" && o["kind"]!.GetValue<string>() is "ClusterRole" or "ClusterRoleBinding");
        Assert.Contains(objects, o => o["kind"]!.GetValue<string>() == "Issuer");
    }
}
