using System.Text.Json.Nodes;
using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Kubernetes;
using ChatOpsPull.Simulation.KubernetesApi;

namespace ChatOpsPull.Tests.Kubernetes;

public sealed class PodInspectionTests
{
    private static PodInspector Inspector(FakeKubernetesApi api, string token = FakeKubernetesApi.BotToken)
    {
        var client = api.CreateClient(token);
        return new PodInspector(client, new OwnerResolver(client), new PullSecretInspector(client), new NodeInspector(client), TimeProvider.System);
    }

    [Fact]
    public async Task A_missing_pull_secret_is_reported_as_failed_evidence()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        KubeFixtures.SeedWebWorkload(api);
        api.Seed(KubeFixtures.WebPod("web-6b9f7c5d8-x7kq2"));

        var (inspection, failure) = await Inspector(api).InspectAsync("shop", "web-6b9f7c5d8-x7kq2", CancellationToken.None);

        Assert.Null(failure);
        var check = Assert.Single(inspection!.PullSecrets.Secrets);
        Assert.Equal(("regcred", SecretLookup.Missing, true), (check.Name, check.Lookup, check.UsedByKubelet));
        Assert.Null(check.Secret);
        Assert.Empty(inspection.PullSecrets.UsableSecrets);
        var evidence = Assert.Single(inspection.Evidence, e => e.Check == "pull secret regcred");
        Assert.Equal(EvidenceOutcome.Failed, evidence.Outcome);
        Assert.StartsWith("secret regcred does not exist in namespace shop", evidence.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Secrets_come_from_the_pod_and_the_serviceaccount_and_the_objects_are_returned_but_never_printed()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        KubeFixtures.SeedWebWorkload(api);
        api.Seed(KubeFixtures.Load("serviceaccount-default.json"));
        api.Seed(KubeFixtures.Load("secret-regcred.json"));
        api.Seed(new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Secret",
            ["metadata"] = new JsonObject { ["name"] = "ghcr-pull", ["namespace"] = "shop" },
            ["type"] = "Opaque",
            ["data"] = new JsonObject { ["token"] = "c2VjcmV0LXRva2Vu" },
        });
        api.Seed(KubeFixtures.WebPod("web-6b9f7c5d8-x7kq2"));

        var (inspection, _) = await Inspector(api).InspectAsync("shop", "web-6b9f7c5d8-x7kq2", CancellationToken.None);

        var regcred = Assert.Single(inspection!.PullSecrets.Secrets, s => s.Name == "regcred");
        Assert.Equal((PullSecretOrigin.PodAndServiceAccount, SecretLookup.Found, "kubernetes.io/dockerconfigjson", true), (regcred.Origin, regcred.Lookup, regcred.Type, regcred.Usable));
        Assert.NotNull(regcred.Secret);
        Assert.True(regcred.Secret!.Data.ContainsKey(".dockerconfigjson"));

        var ghcr = Assert.Single(inspection.PullSecrets.Secrets, s => s.Name == "ghcr-pull");
        Assert.Equal((PullSecretOrigin.ServiceAccount, false), (ghcr.Origin, ghcr.UsedByKubelet));
        Assert.Contains("kubelet only uses kubernetes.io/dockerconfigjson", ghcr.Problem, StringComparison.Ordinal);

        Assert.Equal(["regcred"], inspection.PullSecrets.UsableSecrets.Select(s => s.Metadata.Name));
        var printed = string.Join("\n", inspection.Evidence.Select(e => e.ToString())) + inspection.PullSecrets + regcred + ghcr;
        Assert.DoesNotContain("eyJhdXRocyI6", printed, StringComparison.Ordinal);
        Assert.DoesNotContain("not-a-real-password", printed, StringComparison.Ordinal);
        Assert.DoesNotContain("c2VjcmV0LXRva2Vu", printed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_serviceaccount_and_the_secrets_the_pod_names_are_read_at_once_not_one_after_another()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        KubeFixtures.SeedWebWorkload(api);
        api.Seed(KubeFixtures.Load("serviceaccount-default.json"));
        api.Seed(KubeFixtures.Load("secret-regcred.json"));
        api.Seed(KubeFixtures.WebPod("web-6b9f7c5d8-x7kq2"));

        // The ServiceAccount's answer is held until the pod's secret has been asked for: reading them one after the other
        // would never get there (the hold gives up after a minute and the test fails).
        var secretAsked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        api.BeforeServing = request =>
        {
            if (request is { Verb: "get", Resource: "secrets", Name: "regcred" })
            {
                secretAsked.TrySetResult();
            }

            return request is { Verb: "get", Resource: "serviceaccounts" } ? secretAsked.Task.WaitAsync(TimeSpan.FromMinutes(1)) : Task.CompletedTask;
        };

        var (inspection, failure) = await Inspector(api).InspectAsync("shop", "web-6b9f7c5d8-x7kq2", CancellationToken.None);

        Assert.Null(failure);
        Assert.True(secretAsked.Task.IsCompletedSuccessfully);
        Assert.Null(inspection!.PullSecrets.ServiceAccountNote);
        var regcred = Assert.Single(inspection.PullSecrets.Secrets, s => s.Name == "regcred");
        Assert.Equal((PullSecretOrigin.PodAndServiceAccount, SecretLookup.Found), (regcred.Origin, regcred.Lookup));
    }

    [Fact]
    public async Task A_403_on_secrets_is_explained_in_one_plain_sentence()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        KubeFixtures.SeedWebWorkload(api);
        api.Seed(KubeFixtures.Load("secret-regcred.json"));
        api.Seed(KubeFixtures.WebPod("web-6b9f7c5d8-x7kq2"));
        api.Deny("get", "secrets", "shop");

        var (inspection, _) = await Inspector(api).InspectAsync("shop", "web-6b9f7c5d8-x7kq2", CancellationToken.None);

        var check = Assert.Single(inspection!.PullSecrets.Secrets);
        Assert.Equal(SecretLookup.Forbidden, check.Lookup);
        var evidence = Assert.Single(inspection.Evidence, e => e.Check == "pull secret regcred");
        Assert.Equal(EvidenceOutcome.Skipped, evidence.Outcome);
        Assert.Equal("the bot may not read secrets in namespace shop: grant get on secrets", evidence.Detail);
    }

    [Fact]
    public async Task Owner_chains_reach_the_deployment_the_cronjob_and_a_bare_pod()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        KubeFixtures.SeedWebWorkload(api);
        api.Seed(KubeFixtures.Load("cronjob-nightly-report.json"));
        api.Seed(KubeFixtures.Load("job-nightly-report.json"));
        var web = api.Seed(KubeFixtures.WebPod("web-6b9f7c5d8-x7kq2"));
        var report = api.Seed(KubeFixtures.Load("pod-init-ephemeral.json"));
        var bare = KubeFixtures.WebPod("debug-shell");
        ((JsonObject)bare["metadata"]!).Remove("ownerReferences");
        bare = api.Seed(bare);
        var client = api.CreateClient();
        var owners = new OwnerResolver(client);

        var webChain = await owners.ResolveAsync(k8s.KubernetesJson.Deserialize<k8s.Models.V1Pod>(web.ToJsonString()), CancellationToken.None);
        var reportChain = await owners.ResolveAsync(k8s.KubernetesJson.Deserialize<k8s.Models.V1Pod>(report.ToJsonString()), CancellationToken.None);
        var bareChain = await owners.ResolveAsync(k8s.KubernetesJson.Deserialize<k8s.Models.V1Pod>(bare.ToJsonString()), CancellationToken.None);

        Assert.Equal([new WorkloadRef("ReplicaSet", "web-6b9f7c5d8"), new WorkloadRef("Deployment", "web")], webChain.Owners);
        Assert.Equal([new WorkloadRef("Job", "nightly-report-29400000"), new WorkloadRef("CronJob", "nightly-report")], reportChain.Owners);
        Assert.Equal(new WorkloadRef("Pod", "debug-shell"), bareChain.Workload);
        Assert.Null(webChain.Note);
    }

    [Fact]
    public async Task A_replicaset_the_bot_may_not_read_stops_the_chain_with_a_reason()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        KubeFixtures.SeedWebWorkload(api);
        var web = api.Seed(KubeFixtures.WebPod("web-6b9f7c5d8-x7kq2"));
        api.Deny("get", "replicasets");

        var chain = await new OwnerResolver(api.CreateClient()).ResolveAsync(k8s.KubernetesJson.Deserialize<k8s.Models.V1Pod>(web.ToJsonString()), CancellationToken.None);

        Assert.Equal(new WorkloadRef("ReplicaSet", "web-6b9f7c5d8"), chain.Workload);
        Assert.Equal("the bot may not read replicasets in namespace shop: grant get on replicasets", chain.Note);
    }

    [Fact]
    public async Task The_node_gives_platform_from_labels_and_disk_pressure()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        KubeFixtures.SeedWebWorkload(api);
        api.Seed(KubeFixtures.WebPod("web-6b9f7c5d8-x7kq2"));

        var (inspection, _) = await Inspector(api).InspectAsync("shop", "web-6b9f7c5d8-x7kq2", CancellationToken.None);

        var facts = inspection!.Node.Facts!;
        Assert.Equal(("linux/arm64", "containerd://1.7.22", "v1.31.2", true), (facts.Platform, facts.ContainerRuntime, facts.KubeletVersion, facts.UnderDiskPressure));
        var disk = Assert.Single(inspection.Evidence, e => e.Check == "node worker-1 disk");
        Assert.Equal(EvidenceOutcome.Failed, disk.Outcome);
        Assert.Equal("DiskPressure is True: kubelet has disk pressure", disk.Detail);
    }

    [Fact]
    public async Task Nodes_the_bot_may_not_read_and_pods_that_are_gone_are_said_plainly()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        KubeFixtures.SeedWebWorkload(api);
        api.Seed(KubeFixtures.WebPod("web-6b9f7c5d8-x7kq2"));
        api.Deny("get", "nodes");

        var inspector = Inspector(api);
        var (inspection, _) = await inspector.InspectAsync("shop", "web-6b9f7c5d8-x7kq2", CancellationToken.None);
        var (_, missing) = await inspector.InspectAsync("shop", "web-nope", CancellationToken.None);

        Assert.Equal("the bot may not read nodes: grant get on nodes (cluster scope)", inspection!.Node.Note);
        Assert.Equal("pod shop/web-nope does not exist (any more)", missing!.Reason);
    }
}
