using System.Text;
using System.Text.Json.Nodes;
using ChatOpsPull.Chat.Prevention;
using ChatOpsPull.Prevention;
using ChatOpsPull.Tests.Infrastructure;
using ChatOpsPull.Tests.Kubernetes;
using ChatOpsPull.Simulation.KubernetesApi;
using ChatOpsPull.Tests.Registry;
using ChatOpsPull.Web;
using Hangfire;
using Hangfire.Storage;

namespace ChatOpsPull.Tests.Prevention;

/// <summary>
/// The proactive sweep against the fake Kubernetes API server (running pods, nodes, ServiceAccounts, secrets) and the real
/// registry: a tag deleted from the registry after the pods started becomes a "will fail" finding with its card; restored,
/// it resolves and the card says so. Also credentials about to expire, platforms missing for some nodes, pods already
/// failing (incidents, not findings) and the recurring job per cluster.
/// </summary>
[Collection(RegistryFixtureGroup.Name)]
public sealed class SweepTests(RegistryFixture registry)
{
    private static readonly Dictionary<string, string> Settings = new()
    {
        ["Registry:CacheWindow"] = "00:00:00",
        ["Registry:ProbeReuseWindow"] = "00:00:00", // each sweep asks the registry afresh, as the tag's deletion needs
        ["Sweep:HostInterval"] = "00:00:00",
    };

    [Fact]
    public async Task A_tag_deleted_after_the_pods_started_becomes_a_will_fail_finding_and_resolves_when_restored()
    {
        var repository = $"sweep-{Guid.NewGuid():N}"[..20] + "/app";
        var image = $"{registry.Anonymous}/{repository}:2.0";
        await CopyAsync($"{registry.Anonymous}/public/tool:1.0", image);
        await using var bed = await AdmissionBed.StartAsync(registry, Settings);
        bed.Api.Seed(RunningPod("web-5d8f7c9b4-aaaaa", "web", "5d8f7c9b4", image));
        bed.Api.Seed(RunningPod("web-5d8f7c9b4-bbbbb", "web", "5d8f7c9b4", image));
        var failing = KubeFixtures.WebPod("api-7c9d8e6f5-ccccc");
        failing["metadata"]!["labels"]!["pod-template-hash"] = "7c9d8e6f5";
        failing["metadata"]!["ownerReferences"]![0]!["name"] = "api-7c9d8e6f5";
        bed.Api.Seed(failing); // already failing to pull: an incident's business, not a finding
        var sweep = bed.Get<PreventionSweep>();
        var store = bed.Get<FindingStore>();

        var healthy = await sweep.RunAsync(CancellationToken.None);

        Assert.Equal((3, 1, 1, 0), (healthy.Pods, healthy.Workloads, healthy.Checked, healthy.Findings));
        Assert.Empty(await store.ListOpenAsync(null, null, CancellationToken.None));

        await ExternalProcess.RunAsync("skopeo", ["delete", "--tls-verify=false", $"docker://{image}"], registry.WorkDir, TimeSpan.FromMinutes(1), SkopeoEnvironment());
        var broken = await sweep.RunAsync(CancellationToken.None);
        var again = await sweep.RunAsync(CancellationToken.None);

        Assert.Equal(1, broken.Findings);
        var finding = Assert.Single(await store.ListOpenAsync(FindingSource.Sweep, "prod", CancellationToken.None));
        Assert.Equal((FindingKind.ImageMissing, "Deployment", "web", "web", image), (finding.Kind, finding.WorkloadKind, finding.WorkloadName, finding.Container, finding.Image));
        Assert.Contains(repository, finding.Summary, StringComparison.Ordinal);
        Assert.Contains("does not exist", finding.Summary, StringComparison.Ordinal);
        Assert.Equal(2, finding.Seen);
        Assert.Equal(1, again.Findings);
        var (channel, card) = Assert.Single(bed.Slack.Published); // posted once; seen again unchanged, not re-sent
        Assert.Equal(AdmissionBed.Channel, channel);
        Assert.Equal($"finding:{finding.Id}", card.Key);
        Assert.StartsWith("Will fail: Image or tag gone from the registry in shop/deployment/web", card.Title, StringComparison.Ordinal);
        Assert.Contains(await bed.Get<WebIncidentBoard>().CardsAsync(CancellationToken.None), c => c.Key == card.Key);

        await CopyAsync($"{registry.Anonymous}/public/tool:1.0", image);
        var restored = await sweep.RunAsync(CancellationToken.None);

        Assert.Equal((0, 1), (restored.Findings, restored.Resolved));
        Assert.Empty(await store.ListOpenAsync(null, null, CancellationToken.None));
        var resolved = bed.Slack.Published.Last().Card;
        Assert.Equal(card.Key, resolved.Key);
        Assert.StartsWith("Resolved: Will fail", resolved.Title, StringComparison.Ordinal);
        Assert.DoesNotContain(await bed.Get<WebIncidentBoard>().CardsAsync(CancellationToken.None), c => c.Key == card.Key);
    }

    [Fact]
    public async Task Credentials_that_expire_within_the_warning_window_are_a_finding_even_while_they_pull()
    {
        await using var bed = await AdmissionBed.StartAsync(registry, Settings);
        var expires = DateTimeOffset.UtcNow.AddHours(30);
        bed.Api.Seed(AdmissionBed.PullSecret("shop", "ci-token", registry.Anonymous, "ci", Jwt(expires)));
        var pod = RunningPod("web-5d8f7c9b4-aaaaa", "web", "5d8f7c9b4", $"{registry.Anonymous}/team/app:1.4.2");
        pod["spec"]!["imagePullSecrets"] = new JsonArray(new JsonObject { ["name"] = "ci-token" });
        bed.Api.Seed(pod);

        var result = await bed.Get<PreventionSweep>().RunAsync(CancellationToken.None);

        Assert.Equal(1, result.Findings);
        var finding = Assert.Single(await bed.Get<FindingStore>().ListOpenAsync(null, null, CancellationToken.None));
        Assert.Equal(FindingKind.CredentialsExpiring, finding.Kind);
        Assert.Contains("secret shop/ci-token", finding.Summary, StringComparison.Ordinal);
        Assert.Contains("expires in 29h", finding.Summary, StringComparison.Ordinal);
        Assert.Contains(expires.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture), finding.Summary, StringComparison.Ordinal);
        Assert.Equal("refresh pull secret shop/ci-token", finding.Fix);
    }

    [Fact]
    public async Task An_image_without_a_variant_for_some_nodes_platform_is_a_finding()
    {
        await using var bed = await AdmissionBed.StartAsync(registry, Settings);
        bed.Api.Seed(Node("worker-amd64", "amd64"));
        bed.Api.Seed(Node("worker-s390x", "s390x"));
        bed.Api.Seed(RunningPod("web-5d8f7c9b4-aaaaa", "web", "5d8f7c9b4", $"{registry.Anonymous}/team/multi:1.0"));
        var pinned = RunningPod("batch-6c7d8e9f0-bbbbb", "batch", "6c7d8e9f0", $"{registry.Anonymous}/team/multi:1.0");
        pinned["spec"]!["nodeSelector"] = new JsonObject { ["kubernetes.io/arch"] = "amd64" };
        bed.Api.Seed(pinned);

        var result = await bed.Get<PreventionSweep>().RunAsync(CancellationToken.None);

        Assert.Equal(1, result.Findings);
        var finding = Assert.Single(await bed.Get<FindingStore>().ListOpenAsync(null, null, CancellationToken.None));
        Assert.Equal((FindingKind.PlatformMissing, "web"), (finding.Kind, finding.WorkloadName));
        Assert.Equal("image team/multi:1.0 has no variant for linux/s390x (it has linux/amd64, linux/arm64)", finding.Summary);
    }

    [Fact]
    public async Task The_sweep_is_a_recurring_job_of_this_cluster_and_the_digest_lists_its_findings()
    {
        await using var bed = await AdmissionBed.StartAsync(registry, new(Settings) { ["Sweep:Enabled"] = "true", ["Sweep:Cron"] = "0 3 * * *" });
        await bed.Get<FindingRecorder>().RecordAsync(
            new FindingObservation(FindingSource.Sweep, FindingKind.ImageMissing, "prod", "shop", "Deployment", "web", "web", "ghcr.io/shop/web:1.4.3",
                "image shop/web:1.4.3 does not exist in ghcr.io; nearest tag 1.4.2", "set the tag to 1.4.2", [], [], null),
            CancellationToken.None);

        using (var connection = bed.Get<JobStorage>().GetConnection())
        {
            var job = Assert.Single(connection.GetRecurringJobs(), j => j.Id.StartsWith(PreventionSweepJob.IdPrefix, StringComparison.Ordinal));
            Assert.Equal(("prevention-sweep:prod", "0 3 * * *"), (job.Id, job.Cron));
        }

        var schedule = new ChatOpsPull.Digest.DigestSchedule { Platform = ChatPlatform.Slack, Channel = "C0PREVENT", Cluster = "prod", Namespace = "shop" };
        var report = await bed.Get<ChatOpsPull.Digest.DigestBuilder>().BuildAsync(schedule, DateTimeOffset.UtcNow, CancellationToken.None);
        var card = ChatOpsPull.Chat.Digest.DigestCardBuilder.Build(report, 5);

        Assert.True(report.HasNews);
        var section = Assert.Single(card.Sections, s => s.Heading == "Will fail on the next pull");
        Assert.Equal("shop/deployment/web (web): image shop/web:1.4.3 does not exist in ghcr.io; nearest tag 1.4.2", Assert.Single(section.Lines).Text);
    }

    /// <summary>A running, ready pod of Deployment <paramref name="deployment"/> (ReplicaSet DEPLOYMENT-HASH), as kubectl prints it.</summary>
    private static JsonObject RunningPod(string name, string deployment, string hash, string image)
    {
        var pod = KubeFixtures.WebPod(name);
        pod["metadata"]!["labels"] = new JsonObject { ["app"] = deployment, ["pod-template-hash"] = hash };
        pod["metadata"]!["ownerReferences"]![0]!["name"] = $"{deployment}-{hash}";
        var spec = (JsonObject)pod["spec"]!;
        spec.Remove("imagePullSecrets");
        spec["containers"]![0]!["image"] = image;
        pod["status"] = JsonNode.Parse("""
            {
              "phase": "Running",
              "conditions": [{"type": "Ready", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-12-01T10:00:05Z"}],
              "containerStatuses": [{
                "name": "web", "ready": true, "started": true, "restartCount": 0,
                "state": {"running": {"startedAt": "2026-12-01T10:00:04Z"}}
              }],
              "hostIP": "10.0.12.7",
              "podIP": "10.1.2.3",
              "qosClass": "BestEffort",
              "startTime": "2026-12-01T10:00:00Z"
            }
            """);
        var status = (JsonObject)pod["status"]!["containerStatuses"]![0]!;
        status["image"] = image;
        status["imageID"] = $"{image[..image.LastIndexOf(':')]}@sha256:{new string('a', 64)}";
        return pod;
    }

    private static JsonObject Node(string name, string arch)
    {
        var node = KubeFixtures.Load("node-worker-1.json");
        node["metadata"]!["name"] = name;
        node["metadata"]!["uid"] = Guid.NewGuid().ToString();
        ((JsonObject)node["metadata"]!).Remove("resourceVersion");
        node["metadata"]!["labels"]!["kubernetes.io/arch"] = arch;
        node["metadata"]!["labels"]!["kubernetes.io/hostname"] = name;
        node["status"]!["nodeInfo"]!["architecture"] = arch;
        return node;
    }

    /// <summary>An unsigned JWT (the bot reads only its exp claim), as registry tokens carry one.</summary>
    private static string Jwt(DateTimeOffset expires)
    {
        static string Part(string json) => Convert.ToBase64String(Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return $"{Part("""{"alg":"RS256","typ":"JWT"}""")}.{Part(new JsonObject { ["sub"] = "ci", ["exp"] = expires.ToUnixTimeSeconds() }.ToJsonString())}.c2lnbmF0dXJl";
    }

    private async Task CopyAsync(string from, string to) =>
        await ExternalProcess.RunAsync(
            "skopeo",
            ["copy", "--all", "--insecure-policy", "--src-tls-verify=false", "--dest-tls-verify=false", $"docker://{from}", $"docker://{to}"],
            registry.WorkDir,
            TimeSpan.FromMinutes(2),
            SkopeoEnvironment());

    private Dictionary<string, string> SkopeoEnvironment() => new() { ["HOME"] = registry.WorkDir, ["TMPDIR"] = registry.WorkDir };
}
