using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using ChatOpsPull.Configuration;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Detection.KubernetesWatch;
using ChatOpsPull.Incidents;
using ChatOpsPull.Kubernetes;
using ChatOpsPull.Storage;
using ChatOpsPull.Simulation.KubernetesApi;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Tests.Kubernetes;

/// <summary>Fixture objects from tests/fixtures/kubernetes and small builders around them.</summary>
public static class KubeFixtures
{
    public static JsonObject Load(string file) =>
        (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "kubernetes", file)))!;

    public static IEnumerable<JsonObject> LoadList(string file) =>
        ((JsonArray)Load(file)["items"]!).Select(i => (JsonObject)i!.DeepClone());

    /// <summary>The failing web pod from the fixture, renamed, with a fresh uid.</summary>
    public static JsonObject WebPod(string name, string? uid = null)
    {
        var pod = Load("pod-web-errimagepull.json");
        pod["metadata"]!["name"] = name;
        pod["metadata"]!["uid"] = uid ?? Guid.NewGuid().ToString();
        ((JsonObject)pod["metadata"]!).Remove("resourceVersion");
        return pod;
    }

    /// <summary>The fixture's Failed event (runtime message) re-pointed at a pod.</summary>
    public static JsonObject FailedEventFor(JsonObject pod, string? message = null, DateTimeOffset? at = null)
    {
        var failed = LoadList("events-web-pull-failure.json").First(e => e["reason"]!.GetValue<string>() == "Failed" && e["message"]!.GetValue<string>().StartsWith("Failed to pull", StringComparison.Ordinal));
        return Retarget(failed, pod, message, at);
    }

    public static JsonObject Retarget(JsonObject item, JsonObject pod, string? message = null, DateTimeOffset? at = null)
    {
        var name = pod["metadata"]!["name"]!.GetValue<string>();
        item["metadata"]!["name"] = $"{name}.{Guid.NewGuid():N}"[..Math.Min(name.Length + 17, 253)];
        item["metadata"]!["uid"] = Guid.NewGuid().ToString();
        ((JsonObject)item["metadata"]!).Remove("resourceVersion");
        item["metadata"]!["namespace"] = pod["metadata"]!["namespace"]!.GetValue<string>();
        item["involvedObject"]!["name"] = name;
        item["involvedObject"]!["namespace"] = pod["metadata"]!["namespace"]!.GetValue<string>();
        item["involvedObject"]!["uid"] = pod["metadata"]!["uid"]!.GetValue<string>();
        if (message is not null)
        {
            item["message"] = message;
        }

        if (at is not null)
        {
            item["lastTimestamp"] = ObjectStore.Timestamp(at.Value);
        }

        return item;
    }

    /// <summary>
    /// The objects of a workload-shape fixture (a kubectl "List" file, shape-*.json), optionally moved to another
    /// namespace with fresh uids (owner references, controller-uid labels and selectors follow), so that one stand-in can
    /// hold several copies.
    /// </summary>
    public static IReadOnlyList<JsonObject> Shape(string file, string? @namespace = null)
    {
        var text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "kubernetes", file));
        if (@namespace is not null)
        {
            var list = (JsonObject)JsonNode.Parse(text)!;
            foreach (var uid in list["items"]!.AsArray().Select(i => i!["metadata"]!["uid"]?.GetValue<string>()).OfType<string>().ToList())
            {
                text = text.Replace(uid, Guid.NewGuid().ToString(), StringComparison.Ordinal);
            }

            foreach (var ns in list["items"]!.AsArray().Select(i => i!["metadata"]!["namespace"]?.GetValue<string>()).OfType<string>().Distinct().ToList())
            {
                text = text.Replace($"\"namespace\": \"{ns}\"", $"\"namespace\": \"{@namespace}\"", StringComparison.Ordinal);
            }
        }

        return ((JsonArray)JsonNode.Parse(text)!["items"]!).Select(i => (JsonObject)i!.DeepClone()).ToList();
    }

    /// <summary>Seeds every object of a workload-shape fixture (see <see cref="Shape"/>) at once and returns them.</summary>
    public static IReadOnlyList<JsonObject> SeedShape(FakeKubernetesApi api, string file, string? @namespace = null)
    {
        var objects = Shape(file, @namespace);
        api.SeedAll(objects);
        return objects;
    }

    /// <summary>Seeds the web Deployment, its ReplicaSet, the node and the pull secret objects.</summary>
    public static void SeedWebWorkload(FakeKubernetesApi api)
    {
        api.Seed(Load("node-worker-1.json"));
        api.Seed(Load("deployment-web.json"));
        api.Seed(Load("replicaset-web.json"));
    }
}

/// <summary>A sink that remembers every call, for asserting "nothing lost, nothing doubled".</summary>
public sealed class RecordingSink : IPullFailureSink
{
    private readonly ConcurrentQueue<PullFailure> _reports = new();
    private readonly ConcurrentQueue<(string Namespace, string Pod, string? Container, PodResolution Resolution)> _resolutions = new();

    public IReadOnlyList<PullFailure> Reports => _reports.ToArray();

    public IReadOnlyList<(string Namespace, string Pod, string? Container, PodResolution Resolution)> Resolutions => _resolutions.ToArray();

    public Task ReportAsync(PullFailure failure, CancellationToken cancellationToken)
    {
        _reports.Enqueue(failure);
        return Task.CompletedTask;
    }

    public Task ResolveAsync(string cluster, string @namespace, string pod, string? container, PodResolution resolution, CancellationToken cancellationToken)
    {
        _resolutions.Enqueue((@namespace, pod, container, resolution));
        return Task.CompletedTask;
    }
}

/// <summary>The real watcher against a fake API server, with a SQLite database for Pulled events.</summary>
public sealed class WatcherRun : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly string _directory;

    private WatcherRun(FakeKubernetesApi api, KubernetesPodWatcher watcher, RecordingSink sink, KubernetesWatchStatus status, PullEventStore store, BotDatabase database, string directory)
    {
        Api = api;
        Sink = sink;
        Status = status;
        PullEvents = store;
        Database = database;
        _directory = directory;
        Running = Task.Run(() => watcher.RunAsync(_stop.Token));
    }

    public FakeKubernetesApi Api { get; }

    public RecordingSink Sink { get; }

    public KubernetesWatchStatus Status { get; }

    public PullEventStore PullEvents { get; }

    public BotDatabase Database { get; }

    public Task Running { get; }

    public static KubernetesOptions FastOptions(params string[] namespaces) => new()
    {
        Namespaces = [.. namespaces],
        ResyncPeriod = TimeSpan.FromMinutes(10),
        WatchTimeout = TimeSpan.FromMinutes(5),
        ReconnectMinDelay = TimeSpan.FromMilliseconds(50),
        ReconnectMaxDelay = TimeSpan.FromMilliseconds(400),
        ListPageSize = 50,
    };

    public static async Task<WatcherRun> StartAsync(FakeKubernetesApi api, KubernetesOptions? options = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "chatopspull-k8s-" + Guid.NewGuid().ToString("N"));
        var database = new BotDatabase(
            Options.Create(new StorageOptions()),
            Options.Create(new BotOptions { DataDirectory = directory }),
            [new SchemaMigrationSet([PullEventStore.Migration])]);
        await database.MigrateAsync();
        var store = new PullEventStore(database);
        var sink = new RecordingSink();
        var status = new KubernetesWatchStatus();
        var watcher = new KubernetesPodWatcher(
            api.CreateClient(),
            options ?? FastOptions(),
            sink,
            store,
            "test-cluster",
            TimeProvider.System,
            status,
            NullLogger<KubernetesPodWatcher>.Instance);
        return new WatcherRun(api, watcher, sink, status, store, database, directory);
    }

    /// <summary>
    /// Waits until the watcher has delivered to the sink everything the server held when the wait began: both watch
    /// streams are open and have carried a bookmark at or past the server's resourceVersion of that moment (a watch sends
    /// in resourceVersion order, so every change before it has been read), and nothing the watcher read is still queued
    /// or undelivered. Bookmarks are asked of the stand-in again while the watcher is behind (a dropped stream loses one).
    /// </summary>
    public async Task SettleAsync()
    {
        var target = Api.Store.ResourceVersion;
        var lastBookmarks = DateTime.MinValue;
        var quietReadings = 0;
        await Eventually.ValueAsync(
            () =>
            {
                var state = (
                    Watches: Api.Store.OpenWatches,
                    Pods: Version(Status.PodResourceVersion),
                    Events: Version(Status.EventResourceVersion),
                    Status.InFlight);
                var caughtUp = state.Pods >= target && state.Events >= target;
                if (!caughtUp && DateTime.UtcNow - lastBookmarks > TimeSpan.FromMilliseconds(200))
                {
                    Api.SendBookmarks();
                    lastBookmarks = DateTime.UtcNow;
                }

                quietReadings = caughtUp && state.Watches >= 2 && state.InFlight == 0 ? quietReadings + 1 : 0;
                return Task.FromResult(state);
            },
            _ => quietReadings >= 2,
            $"the watcher to deliver everything up to resourceVersion {target}");
    }

    private static long Version(string? resourceVersion) =>
        long.TryParse(resourceVersion, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var version) ? version : -1;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await Running;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
        await Database.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, true);
        }
        catch (IOException)
        {
        }
    }
}
