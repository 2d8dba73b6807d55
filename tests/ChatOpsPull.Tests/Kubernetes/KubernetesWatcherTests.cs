using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Incidents;
using ChatOpsPull.Simulation.KubernetesApi;

namespace ChatOpsPull.Tests.Kubernetes;

public sealed class KubernetesWatcherTests
{
    private const string RuntimeMessage =
        "Failed to pull image \"registry.example.com/shop/web:1.4.3-typo\": rpc error: code = NotFound desc = failed to pull and unpack image \"registry.example.com/shop/web:1.4.3-typo\": failed to resolve reference \"registry.example.com/shop/web:1.4.3-typo\": registry.example.com/shop/web:1.4.3-typo: not found";

    [Fact]
    public async Task Bad_tag_rollout_reports_ten_failures_with_one_workload_and_the_runtime_messages()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        KubeFixtures.SeedWebWorkload(api);
        await using var run = await WatcherRun.StartAsync(api);
        await Eventually.HoldsAsync(() => run.Status.PodLists >= 1, "first list");

        var pods = Enumerable.Range(0, 10).Select(i => KubeFixtures.WebPod($"web-6b9f7c5d8-p{i:00}x")).ToArray();
        foreach (var pod in pods)
        {
            api.Seed(pod);
        }

        await Eventually.HoldsAsync(() => run.Sink.Reports.Count >= 10, "10 reports");

        // The back-off status message is not the cause; the kubelet's Warning event carries it.
        foreach (var pod in pods)
        {
            api.SetContainerWaiting("shop", pod["metadata"]!["name"]!.GetValue<string>(), "web", "ImagePullBackOff", "Back-off pulling image \"registry.example.com/shop/web:1.4.3-typo\"");
            api.Seed(KubeFixtures.FailedEventFor(pod));
        }

        await Eventually.HoldsAsync(
            () => pods.All(p => run.Sink.Reports.Any(r => r.Pod == p["metadata"]!["name"]!.GetValue<string>() && r.Reason == "ImagePullBackOff" && r.Message == RuntimeMessage)),
            "every pod's back-off reported with the runtime message");
        await run.SettleAsync();

        var reports = run.Sink.Reports;
        Assert.Equal(10, reports.Select(r => r.Pod).Distinct().Count());
        Assert.All(reports, r =>
        {
            Assert.Equal(new WorkloadRef("Deployment", "web"), r.Workload);
            Assert.Equal(FailureSource.KubernetesWatch, r.Source);
            Assert.Equal("test-cluster", r.Cluster);
            Assert.Equal(ContainerKind.Regular, r.ContainerKind);
            Assert.Equal("registry.example.com/shop/web:1.4.3-typo", r.Image);
            Assert.Equal("worker-1", r.NodeName);
            Assert.Equal("IfNotPresent", r.PullPolicy);
        });
        Assert.All(reports.GroupBy(r => (r.Pod, r.Reason, r.Message)), g => Assert.Single(g));
        Assert.Empty(run.Sink.Resolutions);
    }

    [Fact]
    public async Task Init_and_ephemeral_containers_are_reported_with_their_kind_and_the_cronjob_as_workload()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        api.Seed(KubeFixtures.Load("cronjob-nightly-report.json"));
        api.Seed(KubeFixtures.Load("job-nightly-report.json"));
        api.Seed(KubeFixtures.Load("pod-init-ephemeral.json"));
        await using var run = await WatcherRun.StartAsync(api);

        await Eventually.HoldsAsync(() => run.Sink.Reports.Count >= 2, "two reports");
        await run.SettleAsync();

        var init = Assert.Single(run.Sink.Reports, r => r.ContainerKind == ContainerKind.Init);
        Assert.Equal("migrate", init.Container);
        Assert.Equal("InvalidImageName", init.Reason);
        Assert.Equal("Ghcr.io/example/migrate:v7", init.Image);
        Assert.Equal(new WorkloadRef("CronJob", "nightly-report"), init.Workload);

        var ephemeral = Assert.Single(run.Sink.Reports, r => r.ContainerKind == ContainerKind.Ephemeral);
        Assert.Equal("debugger-5xk2p", ephemeral.Container);
        Assert.Equal("ImagePullBackOff", ephemeral.Reason);
        Assert.Equal("busybox:1.36-debug", ephemeral.Image);
        Assert.DoesNotContain(run.Sink.Reports, r => r.Container == "report");
    }

    [Fact]
    public async Task Dropped_watch_streams_mid_storm_lose_nothing_and_double_nothing()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        KubeFixtures.SeedWebWorkload(api);
        await using var run = await WatcherRun.StartAsync(api);
        await Eventually.HoldsAsync(() => run.Status.PodLists >= 1 && api.Store.OpenWatches >= 2, "watching");

        var names = new List<string>();
        for (var i = 0; i < 120; i++)
        {
            var pod = KubeFixtures.WebPod($"web-6b9f7c5d8-s{i:000}");
            names.Add(pod["metadata"]!["name"]!.GetValue<string>());
            api.Seed(pod);
            if (i % 30 == 15)
            {
                api.DropWatches();
            }
        }

        // Half of them recover while the streams keep dropping.
        var ready = names.Take(60).ToArray();
        for (var i = 0; i < ready.Length; i++)
        {
            var pod = (JsonObject)api.Store.Get(ResourceType.Of("pods"), "shop", ready[i])!.DeepClone();
            pod["status"] = WorkloadControllers.ReadyStatus(pod, DateTimeOffset.UtcNow);
            api.Store.Replace(ResourceType.Of("pods"), "shop", ready[i], pod, "status");
            if (i % 20 == 10)
            {
                api.DropWatches();
            }
        }

        await Eventually.HoldsAsync(() => run.Sink.Resolutions.Count >= 60, "60 resolutions");
        await run.SettleAsync();

        Assert.True(run.Status.Reconnects >= 1, "the watcher reconnected");
        var reports = run.Sink.Reports;
        Assert.Equal(names.OrderBy(n => n, StringComparer.Ordinal), reports.Select(r => r.Pod).OrderBy(n => n, StringComparer.Ordinal));
        var resolved = run.Sink.Resolutions;
        Assert.Equal(ready.OrderBy(n => n, StringComparer.Ordinal), resolved.Select(r => r.Pod).OrderBy(n => n, StringComparer.Ordinal));
        Assert.All(resolved, r => Assert.Equal(("web", PodResolution.Ready), (r.Container, r.Resolution)));
    }

    [Fact]
    public async Task Gone_410_makes_the_watcher_relist_and_resolve_pods_deleted_meanwhile()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        KubeFixtures.SeedWebWorkload(api);
        var kept = api.Seed(KubeFixtures.WebPod("web-6b9f7c5d8-keep1"));
        var doomed = api.Seed(KubeFixtures.WebPod("web-6b9f7c5d8-gone1"));
        await using var run = await WatcherRun.StartAsync(api);
        await Eventually.HoldsAsync(() => run.Sink.Reports.Count == 2 && api.Store.OpenWatches >= 2, "two reports and watching");

        // While the watcher is disconnected: one pod deleted, one added, and history compacted.
        api.Store.DropWatches();
        api.Store.Delete(ResourceType.Of("pods"), "shop", "web-6b9f7c5d8-gone1");
        api.Seed(KubeFixtures.WebPod("web-6b9f7c5d8-new01"));
        api.Store.Compact();

        await Eventually.HoldsAsync(() => run.Status.GoneRelists >= 1, "a 410 relist");
        await Eventually.HoldsAsync(() => run.Sink.Reports.Any(r => r.Pod == "web-6b9f7c5d8-new01"), "the new pod reported");
        await Eventually.HoldsAsync(() => run.Sink.Resolutions.Any(r => r.Pod == "web-6b9f7c5d8-gone1"), "the deleted pod resolved");
        await run.SettleAsync();

        Assert.Equal(3, run.Sink.Reports.Count);
        Assert.Single(run.Sink.Reports, r => r.Pod == kept["metadata"]!["name"]!.GetValue<string>());
        var resolution = Assert.Single(run.Sink.Resolutions);
        Assert.Equal(("shop", "web-6b9f7c5d8-gone1", (string?)null, PodResolution.Deleted), resolution);
        Assert.Equal(doomed["metadata"]!["name"]!.GetValue<string>(), resolution.Pod);
    }

    [Fact]
    public async Task Continue_tokens_expiring_mid_list_restart_the_pod_and_event_lists_once_and_lose_or_double_nothing()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        KubeFixtures.SeedWebWorkload(api);
        var pods = Enumerable.Range(0, 120).Select(i => api.Seed(KubeFixtures.WebPod($"web-6b9f7c5d8-c{i:000}"))).ToArray();
        foreach (var pod in pods)
        {
            api.Seed(KubeFixtures.FailedEventFor(pod));
        }

        // The first next page of each list finds its token expired (as after an etcd compaction); the watcher pages 50 at
        // a time, so each list is three pages and is cut after the first.
        var firstPages = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var expired = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
        api.BeforeServing = request =>
        {
            if (request is { Verb: "list", Resource: "pods" or "events" })
            {
                if (request.Continue is null)
                {
                    firstPages.AddOrUpdate(request.Resource, 1, (_, n) => n + 1);
                }
                else if (expired.TryAdd(request.Resource, true))
                {
                    api.Store.ExpireContinueTokens(ResourceType.Of(request.Resource));
                }
            }

            return Task.CompletedTask;
        };
        await using var run = await WatcherRun.StartAsync(api);

        await Eventually.HoldsAsync(
            () => pods.All(p => run.Sink.Reports.Any(r => r.Pod == p["metadata"]!["name"]!.GetValue<string>() && r.Message == RuntimeMessage)),
            "every pod reported with its event's runtime message");
        await run.SettleAsync();

        Assert.True(expired.ContainsKey("pods") && expired.ContainsKey("events"), "both lists met an expired token");
        Assert.Equal(2, firstPages["pods"]);
        Assert.Equal(2, firstPages["events"]);
        Assert.Equal(1, run.Status.PodLists);
        Assert.Equal(api.Store.List(ResourceType.Of("pods")).Count, run.Status.PodsListed);
        Assert.Equal(120, run.Sink.Reports.Select(r => r.Pod).Distinct().Count());
        Assert.All(run.Sink.Reports.GroupBy(r => (r.Pod, r.Reason, r.Message)), g => Assert.Single(g));
        Assert.Empty(run.Sink.Resolutions);
    }

    [Fact]
    public async Task A_list_whose_continue_tokens_expire_on_every_page_ends_in_one_unpaged_list_not_a_relist_loop()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        KubeFixtures.SeedWebWorkload(api);
        var pods = Enumerable.Range(0, 120).Select(i => api.Seed(KubeFixtures.WebPod($"web-6b9f7c5d8-e{i:000}"))).ToArray();

        // A cluster that compacts faster than the watcher pages: every next page finds its token expired.
        var firstPages = 0;
        api.BeforeServing = request =>
        {
            if (request is { Verb: "list", Resource: "pods" })
            {
                if (request.Continue is null)
                {
                    Interlocked.Increment(ref firstPages);
                }
                else
                {
                    api.Store.ExpireContinueTokens(ResourceType.Of("pods"));
                }
            }

            return Task.CompletedTask;
        };
        await using var run = await WatcherRun.StartAsync(api);

        await Eventually.HoldsAsync(() => run.Status.PodLists >= 1, "the pod list completed");
        await Eventually.HoldsAsync(
            () => pods.All(p => run.Sink.Reports.Any(r => r.Pod == p["metadata"]!["name"]!.GetValue<string>())),
            "every pod reported");
        await run.SettleAsync();

        Assert.Equal(3, Volatile.Read(ref firstPages)); // two paged tries, then one unpaged list
        Assert.Equal(1, run.Status.PodLists);
        Assert.Equal(api.Store.List(ResourceType.Of("pods")).Count, run.Status.PodsListed);
        Assert.All(run.Sink.Reports.GroupBy(r => (r.Pod, r.Reason, r.Message)), g => Assert.Single(g));
    }

    [Fact]
    public async Task Gone_as_an_http_410_also_makes_the_watcher_relist()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        api.TooOldWatchAsHttpError = true;
        KubeFixtures.SeedWebWorkload(api);
        await using var run = await WatcherRun.StartAsync(api);
        await Eventually.HoldsAsync(() => run.Status.PodLists >= 1 && api.Store.OpenWatches >= 2, "watching");

        api.Store.DropWatches();
        api.Seed(KubeFixtures.WebPod("web-6b9f7c5d8-late1"));
        api.Store.Compact();

        await Eventually.HoldsAsync(() => run.Sink.Reports.Any(r => r.Pod == "web-6b9f7c5d8-late1"), "the pod added during the gap");
        Assert.True(run.Status.GoneRelists >= 1);
        Assert.True(run.Status.PodLists >= 2);
    }

    [Fact]
    public async Task A_pod_that_becomes_ready_or_is_deleted_is_resolved_once()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        KubeFixtures.SeedWebWorkload(api);
        api.Seed(KubeFixtures.WebPod("web-6b9f7c5d8-ready"));
        api.Seed(KubeFixtures.WebPod("web-6b9f7c5d8-delme"));
        await using var run = await WatcherRun.StartAsync(api);
        await Eventually.HoldsAsync(() => run.Sink.Reports.Count == 2, "two reports");

        var pod = (JsonObject)api.Store.Get(ResourceType.Of("pods"), "shop", "web-6b9f7c5d8-ready")!.DeepClone();
        pod["status"] = WorkloadControllers.ReadyStatus(pod, DateTimeOffset.UtcNow);
        api.Store.Replace(ResourceType.Of("pods"), "shop", "web-6b9f7c5d8-ready", pod, "status");
        api.Store.Delete(ResourceType.Of("pods"), "shop", "web-6b9f7c5d8-delme");
        // A pod that never failed changes nothing when it goes.
        api.Seed(KubeFixtures.Load("node-worker-1.json"));

        await Eventually.HoldsAsync(() => run.Sink.Resolutions.Count == 2, "two resolutions");
        await run.SettleAsync();

        Assert.Contains(("shop", "web-6b9f7c5d8-ready", (string?)"web", PodResolution.Ready), run.Sink.Resolutions);
        Assert.Contains(("shop", "web-6b9f7c5d8-delme", (string?)null, PodResolution.Deleted), run.Sink.Resolutions);
        Assert.Equal(2, run.Sink.Resolutions.Count);
        Assert.Equal(2, run.Sink.Reports.Count);
    }

    [Fact]
    public async Task Bookmarks_move_the_resume_point_so_a_reconnect_replays_nothing()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        KubeFixtures.SeedWebWorkload(api);
        api.Seed(KubeFixtures.WebPod("web-6b9f7c5d8-bm001"));
        await using var run = await WatcherRun.StartAsync(api);
        await Eventually.HoldsAsync(() => run.Sink.Reports.Count == 1 && api.Store.OpenWatches >= 2, "watching");

        // Unrelated changes the pod watch does not see, then a bookmark carrying the newer resourceVersion.
        for (var i = 0; i < 5; i++)
        {
            api.Seed(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Secret", ["metadata"] = new JsonObject { ["name"] = $"s{i}", ["namespace"] = "shop" }, ["type"] = "Opaque" });
        }

        var before = api.Requests.Count;
        api.SendBookmarks();
        await Eventually.HoldsAsync(() => run.Status.Bookmarks >= 1, "a bookmark");
        api.DropWatches();
        await Eventually.HoldsAsync(() => api.Requests.Skip(before).Any(r => r.Contains("/pods?", StringComparison.Ordinal) && r.Contains("watch=true", StringComparison.Ordinal)), "re-watch");

        var rewatch = api.Requests.Skip(before).First(r => r.Contains("/pods?", StringComparison.Ordinal) && r.Contains("watch=true", StringComparison.Ordinal));
        Assert.Contains("allowWatchBookmarks=true", rewatch, StringComparison.Ordinal);
        Assert.Contains($"resourceVersion={run.Status.PodResourceVersion}", rewatch, StringComparison.Ordinal);
        Assert.Single(run.Sink.Reports);
    }

    [Fact]
    public async Task Pulled_events_are_recorded_once_with_duration_size_and_registry_host()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        foreach (var e in KubeFixtures.LoadList("events-pulled.json"))
        {
            api.Seed(e);
        }

        await using var run = await WatcherRun.StartAsync(api);
        await Eventually.HoldsAsync(() => run.Status.EventsSeen >= 3, "events seen");
        await run.SettleAsync();

        // A relist (after compaction past the watcher's resourceVersion) sees the same events again: still stored once.
        api.Store.DropWatches();
        api.Seed(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Secret", ["metadata"] = new JsonObject { ["name"] = "unrelated", ["namespace"] = "shop" }, ["type"] = "Opaque" });
        api.Store.Compact();
        await Eventually.HoldsAsync(() => run.Status.EventsSeen >= 6, "events seen again");
        await run.SettleAsync();

        var rows = await run.PullEvents.ListAsync("test-cluster", DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture), CancellationToken.None);
        Assert.Equal(2, rows.Count);
        var api2 = Assert.Single(rows, r => r.Image == "ghcr.io/example/api:2.7.0");
        Assert.Equal(("shop", "api-7c6d5b4f9-2mxlp", "worker-2", "ghcr.io", 3412L, 48213567L), (api2.Namespace, api2.Pod, api2.Node, api2.RegistryHost, api2.DurationMs, api2.SizeBytes));
        var nginx = Assert.Single(rows, r => r.Image == "nginx:1.25");
        Assert.Equal(("docker.io", 62500L, (long?)null), (nginx.RegistryHost, nginx.DurationMs, nginx.SizeBytes));
        Assert.Equal(DateTimeOffset.Parse("2026-11-25T19:41:10Z", System.Globalization.CultureInfo.InvariantCulture), nginx.ObservedAt);
    }

    [Fact]
    public async Task A_sink_that_fails_for_a_while_gets_the_failure_again_and_later_ones_still_flow()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        KubeFixtures.SeedWebWorkload(api);
        api.Seed(KubeFixtures.WebPod("web-6b9f7c5d8-flak1"));
        var sink = new FlakySink(failures: 2);
        var status = new ChatOpsPull.Detection.KubernetesWatch.KubernetesWatchStatus();
        var watcher = new ChatOpsPull.Detection.KubernetesWatch.KubernetesPodWatcher(
            api.CreateClient(), WatcherRun.FastOptions(), sink, null, "test-cluster", TimeProvider.System, status,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<ChatOpsPull.Detection.KubernetesWatch.KubernetesPodWatcher>.Instance);
        using var stop = new CancellationTokenSource();
        var running = Task.Run(() => watcher.RunAsync(stop.Token));

        await Eventually.HoldsAsync(() => sink.Inner.Reports.Count == 1, "the first failure delivered after two refusals");
        api.Seed(KubeFixtures.WebPod("web-6b9f7c5d8-flak2"));
        await Eventually.HoldsAsync(() => sink.Inner.Reports.Count == 2, "the next failure delivered");

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        Assert.Equal(4, sink.Attempts);
        Assert.Equal(["web-6b9f7c5d8-flak1", "web-6b9f7c5d8-flak2"], sink.Inner.Reports.Select(r => r.Pod));
    }

    [Fact]
    public async Task A_change_the_sink_never_takes_is_dropped_after_the_configured_tries_and_later_ones_still_flow()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        KubeFixtures.SeedWebWorkload(api);
        api.Seed(KubeFixtures.WebPod("web-6b9f7c5d8-never"));
        var sink = new RefusingSink("web-6b9f7c5d8-never");
        var options = WatcherRun.FastOptions();
        options.DeliveryAttempts = 3;
        options.DeliveryRetryDelay = TimeSpan.FromMilliseconds(10);
        var watcher = new ChatOpsPull.Detection.KubernetesWatch.KubernetesPodWatcher(
            api.CreateClient(), options, sink, null, "test-cluster", TimeProvider.System, new ChatOpsPull.Detection.KubernetesWatch.KubernetesWatchStatus(),
            Microsoft.Extensions.Logging.Abstractions.NullLogger<ChatOpsPull.Detection.KubernetesWatch.KubernetesPodWatcher>.Instance);
        using var stop = new CancellationTokenSource();
        var running = Task.Run(() => watcher.RunAsync(stop.Token));

        await Eventually.HoldsAsync(() => sink.Refused == 3, "three tries of the refused change");
        api.Seed(KubeFixtures.WebPod("web-6b9f7c5d8-later"));
        await Eventually.HoldsAsync(() => sink.Inner.Reports.Count == 1, "the next failure delivered");

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        Assert.Equal(3, sink.Refused);
        Assert.Equal(["web-6b9f7c5d8-later"], sink.Inner.Reports.Select(r => r.Pod));
    }

    private sealed class RefusingSink(string refusedPod) : IPullFailureSink
    {
        private int _refused;

        public RecordingSink Inner { get; } = new();

        public int Refused => Volatile.Read(ref _refused);

        public Task ReportAsync(PullFailure failure, CancellationToken cancellationToken)
        {
            if (failure.Pod != refusedPod)
            {
                return Inner.ReportAsync(failure, cancellationToken);
            }

            Interlocked.Increment(ref _refused);
            throw new InvalidOperationException("the incident store refuses this failure");
        }

        public Task ResolveAsync(string cluster, string @namespace, string pod, string? container, PodResolution resolution, CancellationToken cancellationToken) =>
            Inner.ResolveAsync(cluster, @namespace, pod, container, resolution, cancellationToken);
    }

    private sealed class FlakySink(int failures) : IPullFailureSink
    {
        private int _attempts;

        public RecordingSink Inner { get; } = new();

        public int Attempts => Volatile.Read(ref _attempts);

        public Task ReportAsync(PullFailure failure, CancellationToken cancellationToken) =>
            Interlocked.Increment(ref _attempts) <= failures
                ? throw new IOException("the incident store is briefly unavailable")
                : Inner.ReportAsync(failure, cancellationToken);

        public Task ResolveAsync(string cluster, string @namespace, string pod, string? container, PodResolution resolution, CancellationToken cancellationToken) =>
            Inner.ResolveAsync(cluster, @namespace, pod, container, resolution, cancellationToken);
    }
}
