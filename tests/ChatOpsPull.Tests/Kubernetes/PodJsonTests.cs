using System.Buffers;
using System.Text;
using System.Text.Json.Nodes;
using ChatOpsPull.Detection.KubernetesWatch;
using ChatOpsPull.Simulation.KubernetesApi;
using k8s;
using k8s.Models;

namespace ChatOpsPull.Tests.Kubernetes;

/// <summary>
/// The watcher reads pods slimly (<see cref="PodJson"/>) instead of through KubernetesClient's full model; what it hands
/// on must be exactly what the full model gives (<see cref="WatchedPod.From"/>) for the same objects: the fixture pods
/// (kubectl output of real workloads) and the stand-in's list pages and watch events.
/// </summary>
public sealed class PodJsonTests
{
    private static readonly string[] PodFixtures =
    [
        "pod-web-errimagepull.json", "pod-init-ephemeral.json", "shape-argocd-managed-deployment.json", "shape-cronjob-job-pod.json",
        "shape-daemonset-ondelete.json", "shape-flux-helmrelease-deployment.json", "shape-flux-kustomization-deployment.json",
        "shape-helm-managed-deployment.json", "shape-paused-deployment.json", "shape-replicaset-without-deployment.json",
        "shape-rollout-owned-replicasets.json", "shape-statefulset-ondelete.json", "shape-statefulset-partition.json",
    ];

    public static TheoryData<string> Fixtures() => [.. PodFixtures];

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void A_list_page_of_fixture_pods_reads_as_the_full_model_reads_each_pod(string file)
    {
        var pods = Pods(file);
        Assert.NotEmpty(pods);
        var page = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "PodList",
            ["items"] = new JsonArray([.. pods.Select(p => p.DeepClone())]),
            ["metadata"] = new JsonObject { ["resourceVersion"] = "4242", ["continue"] = "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ" },
        };

        var read = PodJson.ReadListPage(Utf8(page), new StringPool());

        Assert.Equal("4242", read.ResourceVersion);
        Assert.Equal("eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ", read.Continue);
        Assert.Equal(pods.Count, read.Items.Count);
        for (var i = 0; i < pods.Count; i++)
        {
            AssertSame(Full(pods[i]), read.Items[i]);
        }
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void A_watch_event_of_a_fixture_pod_reads_as_the_full_model_reads_it(string file)
    {
        foreach (var pod in Pods(file))
        {
            var line = new JsonObject { ["type"] = "MODIFIED", ["object"] = pod.DeepClone() };

            var read = PodJson.ReadWatchEvent(Utf8(line), new StringPool());

            Assert.Equal("MODIFIED", read.Type);
            AssertSame(Full(pod), Assert.IsType<WatchedPod>(read.Object));
        }
    }

    [Fact]
    public void The_fixture_pods_cover_every_kind_of_failing_container_and_healthy_pods()
    {
        var all = PodFixtures.SelectMany(Pods).Select(Full).ToList();

        Assert.Contains(all, p => p.Failing.Any(f => f.Kind == Core.Failures.ContainerKind.Init));
        Assert.Contains(all, p => p.Failing.Any(f => f.Kind == Core.Failures.ContainerKind.Ephemeral));
        Assert.Contains(all, p => p.Failing.Any(f => f.Kind == Core.Failures.ContainerKind.Regular && f.PullPolicy is not null));
        Assert.Contains(all, p => p.Failing.Count == 0);
    }

    [Fact]
    public void A_bare_pod_and_a_pod_whose_controller_is_not_its_first_owner_read_as_the_full_model_reads_them()
    {
        var bare = KubeFixtures.WebPod("bare-pod");
        ((JsonObject)bare["metadata"]!).Remove("ownerReferences");
        var owned = KubeFixtures.WebPod("web-6b9f7c5d8-owned");
        var controller = owned["metadata"]!["ownerReferences"]![0]!.DeepClone();
        owned["metadata"]!["ownerReferences"] = new JsonArray(
            new JsonObject { ["apiVersion"] = "v1", ["kind"] = "ConfigMap", ["name"] = "keeper", ["uid"] = Guid.NewGuid().ToString() },
            controller);
        var page = new JsonObject { ["metadata"] = new JsonObject { ["resourceVersion"] = "7" }, ["items"] = new JsonArray(bare.DeepClone(), owned.DeepClone()) };

        var read = PodJson.ReadListPage(Utf8(page), new StringPool());

        AssertSame(Full(bare), read.Items[0]);
        AssertSame(Full(owned), read.Items[1]);
        Assert.Null(read.Items[0].Controller);
        Assert.Equal("ReplicaSet", read.Items[1].Controller!.Kind);
    }

    [Fact]
    public void A_pod_reads_with_the_names_of_its_serviceaccount_and_pull_secrets_and_a_pod_without_them_without()
    {
        var named = KubeFixtures.WebPod("web-6b9f7c5d8-named");
        var unnamed = KubeFixtures.WebPod("web-6b9f7c5d8-unnamed");
        ((JsonObject)unnamed["spec"]!).Remove("imagePullSecrets");
        ((JsonObject)unnamed["spec"]!).Remove("serviceAccountName");
        var page = new JsonObject { ["metadata"] = new JsonObject { ["resourceVersion"] = "7" }, ["items"] = new JsonArray(named.DeepClone(), unnamed.DeepClone()) };

        var read = PodJson.ReadListPage(Utf8(page), new StringPool());

        AssertSame(Full(named), read.Items[0]);
        AssertSame(Full(unnamed), read.Items[1]);
        Assert.Equal("default", read.Items[0].ServiceAccountName);
        Assert.Equal(["regcred"], read.Items[0].ImagePullSecrets!);
        Assert.Equal((null, null), (read.Items[1].ServiceAccountName, read.Items[1].ImagePullSecrets));
    }

    [Fact]
    public void An_error_event_keeps_its_status_code_and_message_and_a_bookmark_its_resource_version()
    {
        var pool = new StringPool();
        var gone = PodJson.ReadWatchEvent(Utf8(JsonNode.Parse("""{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 1 (42)","reason":"Expired","code":410}}""")!), pool);
        var bookmark = PodJson.ReadWatchEvent(Utf8(JsonNode.Parse("""{"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"12746","annotations":{"k8s.io/initial-events-end":"true"}},"spec":{"containers":null},"status":{}}}""")!), pool);

        Assert.Equal(("ERROR", 410, "too old resource version: 1 (42)"), (gone.Type, gone.StatusCode, gone.StatusMessage));
        Assert.Equal("12746", bookmark.Object!.ResourceVersion);
        Assert.Empty(bookmark.Object.Failing);
    }

    [Fact]
    public void Escaped_strings_and_a_truncated_line_read_as_json_does()
    {
        var pod = KubeFixtures.WebPod("web-6b9f7c5d8-esc01");
        pod["status"]!["containerStatuses"]![0]!["state"]!["waiting"]!["message"] = "Failed to pull image \"x\": \u00e9\t\"quoted\" \\ back";
        var text = new JsonObject { ["type"] = "ADDED", ["object"] = pod }.ToJsonString(new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.Default });

        var read = PodJson.ReadWatchEvent(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(text)), new StringPool());

        Assert.Equal("Failed to pull image \"x\": \u00e9\t\"quoted\" \\ back", Assert.Single(read.Object!.Failing).StatusMessage);
        Assert.ThrowsAny<System.Text.Json.JsonException>(() => PodJson.ReadWatchEvent(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(text[..(text.Length / 2)])), new StringPool()));
    }

    [Fact]
    public async Task Stand_in_list_pages_with_continue_and_watch_events_read_as_the_full_model_reads_them()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        foreach (var file in PodFixtures.Where(f => f.StartsWith("shape-", StringComparison.Ordinal) && f != "shape-rollout-owned-replicasets.json"))
        {
            api.SeedAll(KubeFixtures.Shape(file));
        }

        api.Seed(KubeFixtures.Load("pod-init-ephemeral.json"));
        using var client = (k8s.Kubernetes)api.CreateClient();
        var slim = new PodListWatch(client);
        var pool = new StringPool();

        var listed = new List<WatchedPod>();
        string? next = null;
        string? version = null;
        var pages = 0;
        do
        {
            var page = await slim.ListAsync(null, next, 2, pool, CancellationToken.None);
            version ??= page.ResourceVersion;
            listed.AddRange(page.Items);
            next = page.Continue;
            pages++;
        }
        while (!string.IsNullOrEmpty(next));

        // The same page bytes, read both ways.
        using var http = new HttpClient { BaseAddress = api.BaseAddress };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", FakeKubernetesApi.BotToken);
        var bytes = await http.GetByteArrayAsync(new Uri("api/v1/pods?limit=1000", UriKind.Relative));
        var full = KubernetesJson.Deserialize<V1PodList>(Encoding.UTF8.GetString(bytes));
        var whole = PodJson.ReadListPage(new ReadOnlySequence<byte>(bytes), pool);

        Assert.True(pages > 2, $"{pages} pages");
        Assert.Equal(full.Metadata.ResourceVersion, whole.ResourceVersion);
        Assert.Equal(full.Items.Count, whole.Items.Count);
        foreach (var (expected, actual) in full.Items.Select(WatchedPod.From).Zip(whole.Items))
        {
            AssertSame(expected, actual);
        }

        Assert.Equal(full.Items.Select(p => p.Metadata.Uid).Order(StringComparer.Ordinal), listed.Select(p => p.Uid).Order(StringComparer.Ordinal));

        // A status change through the status subresource, as kubelet writes it, arrives on the watch as MODIFIED.
        var target = listed.First(p => p.Failing.Count > 0);
        var container = target.Failing[0].Container;
        api.SetContainerWaiting(target.Namespace, target.Name, container, "ImagePullBackOff", "Back-off pulling image \"registry.example.com/changed:1\"");
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await foreach (var e in slim.WatchAsync(null, version, 30, pool, stop.Token))
        {
            if (e.Object?.Uid != target.Uid)
            {
                continue;
            }

            Assert.Equal("MODIFIED", e.Type);
            var now = await client.CoreV1.ReadNamespacedPodAsync(target.Name, target.Namespace);
            AssertSame(WatchedPod.From(now), e.Object!);
            Assert.Equal("ImagePullBackOff", e.Object!.Failing.Single(f => f.Container == container).Reason);
            return;
        }

        Assert.Fail("the watch ended without the change");
    }

    [Fact]
    public async Task A_refused_list_surfaces_as_the_clients_own_error_with_the_status_body()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        api.Deny("list", "pods");
        var slim = new PodListWatch(api.CreateClient());

        var e = await Assert.ThrowsAsync<k8s.Autorest.HttpOperationException>(() => slim.ListAsync(null, null, 10, new StringPool(), CancellationToken.None));

        var error = ChatOpsPull.Kubernetes.ApiError.From(e);
        Assert.True(error.IsForbidden);
        Assert.Contains("pods", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Pooled_strings_are_shared_between_pods()
    {
        var pool = new StringPool();
        var a = KubeFixtures.WebPod("web-6b9f7c5d8-aaaaa");
        var b = KubeFixtures.WebPod("web-6b9f7c5d8-bbbbb");
        var page = new JsonObject { ["metadata"] = new JsonObject { ["resourceVersion"] = "1" }, ["items"] = new JsonArray(a, b) };

        var read = PodJson.ReadListPage(Utf8(page), pool);

        Assert.Same(read.Items[0].Namespace, read.Items[1].Namespace);
        Assert.Same(read.Items[0].Controller!.Name, read.Items[1].Controller!.Name);
        Assert.Same(read.Items[0].Failing[0].StatusMessage, read.Items[1].Failing[0].StatusMessage);
        Assert.Same(read.Items[0].Failing[0].Image, read.Items[1].Failing[0].Image);
    }

    private static List<JsonObject> Pods(string file)
    {
        var root = KubeFixtures.Load(file);
        return root["items"] is JsonArray items
            ? [.. items.Select(i => (JsonObject)i!).Where(i => i["kind"]?.GetValue<string>() == "Pod").Select(i => (JsonObject)i.DeepClone())]
            : [root];
    }

    private static WatchedPod Full(JsonObject pod) => WatchedPod.From(KubernetesJson.Deserialize<V1Pod>(pod.ToJsonString()));

    private static ReadOnlySequence<byte> Utf8(JsonNode node) => new(Encoding.UTF8.GetBytes(node.ToJsonString()));

    private static void AssertSame(WatchedPod expected, WatchedPod actual)
    {
        Assert.Equal(
            (expected.Uid, expected.Namespace, expected.Name, expected.ResourceVersion, expected.NodeName),
            (actual.Uid, actual.Namespace, actual.Name, actual.ResourceVersion, actual.NodeName));
        Assert.Equal(
            (expected.Controller?.ApiVersion, expected.Controller?.Kind, expected.Controller?.Name, expected.Controller?.Uid, expected.Controller?.Controller, expected.Controller?.BlockOwnerDeletion),
            (actual.Controller?.ApiVersion, actual.Controller?.Kind, actual.Controller?.Name, actual.Controller?.Uid, actual.Controller?.Controller, actual.Controller?.BlockOwnerDeletion));
        Assert.Equal(expected.Failing, actual.Failing);
        Assert.Equal(expected.ServiceAccountName, actual.ServiceAccountName);
        Assert.Equal(expected.ImagePullSecrets, actual.ImagePullSecrets);
    }
}
