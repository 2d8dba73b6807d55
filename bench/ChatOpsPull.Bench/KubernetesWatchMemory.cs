using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using System.Text.Json.Nodes;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Detection.KubernetesWatch;
using ChatOpsPull.Incidents;
using ChatOpsPull.Kubernetes;
using ChatOpsPull.Simulation.KubernetesApi;
using Microsoft.Extensions.Logging.Abstractions;

namespace ChatOpsPull.Bench;

/// <summary>
/// Memory of the Kubernetes watcher with many pods:
/// <c>dotnet run -c Release --project bench/ChatOpsPull.Bench -- kubernetes-watch-memory [--pods 10000] [--status-storm N]</c>.
/// This process runs the fake API server with realistic pods (5 % of them failing to pull, with Warning and Pulled
/// events); the watcher runs alone in a child process, whose working set is what is reported: after the first list,
/// and after a storm. The default storm modifies every pod and drops all watch streams twice with one 410 relist;
/// <c>--status-storm N</c> instead turns N running pods to ErrImagePull as fast as the stand-in takes them, with no
/// dropped stream, and the watcher must absorb it on its open watches: no relist, N more reports.
/// </summary>
public static class KubernetesWatchMemory
{
    public const string Mode = "kubernetes-watch-memory";
    public const string ChildMode = "kubernetes-watcher-child";

    public static async Task<int> RunAsync(string[] args)
    {
        var pods = args.SkipWhile(a => a != "--pods").Skip(1).Select(a => int.Parse(a, CultureInfo.InvariantCulture)).FirstOrDefault(10_000);
        var statusStorm = args.SkipWhile(a => a != "--status-storm").Skip(1).Select(a => int.Parse(a, CultureInfo.InvariantCulture)).FirstOrDefault(0);
        await using var api = await FakeKubernetesApi.StartAsync();
        api.BookmarkInterval = TimeSpan.FromSeconds(5);
        var template = (JsonObject)JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "fixtures", "kubernetes", "pod-web-errimagepull.json")))!;
        var failed = ((JsonArray)JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "fixtures", "kubernetes", "events-web-pull-failure.json")))!["items"]!)[1]!.AsObject();
        var pulled = ((JsonArray)JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "fixtures", "kubernetes", "events-pulled.json")))!["items"]!)[0]!.AsObject();
        var failing = 0;
        var seeding = Stopwatch.StartNew();
        for (var i = 0; i < pods; i++)
        {
            var pod = (JsonObject)template.DeepClone();
            var ns = $"team-{i % 100:000}";
            var name = $"app-{i / 100 % 50:00}-6b9f7c5d8-{i:00000}";
            pod["metadata"]!["name"] = name;
            pod["metadata"]!["namespace"] = ns;
            pod["metadata"]!["uid"] = Guid.NewGuid().ToString();
            if (i % 20 == 0)
            {
                failing++;
                var warning = (JsonObject)failed.DeepClone();
                Retarget(warning, pod);
                api.Seed(pod);
                api.Seed(warning);
            }
            else
            {
                pod["status"] = WorkloadControllers.ReadyStatus(pod, DateTimeOffset.UtcNow);
                var pull = (JsonObject)pulled.DeepClone();
                Retarget(pull, pod);
                api.Seed(pod);
                if (i % 10 == 1)
                {
                    api.Seed(pull);
                }
            }
        }

        Console.WriteLine($"fake API on {api.BaseAddress}: {pods} pods in 100 namespaces, {failing} failing to pull; objects at resourceVersion {api.Store.ResourceVersion}, seeded in {seeding.ElapsedMilliseconds} ms (load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]})");
        await ListFloorAsync(api);
        using var child = BenchChildProcess.Start([ChildMode, api.BaseAddress.ToString(), pods.ToString(CultureInfo.InvariantCulture), statusStorm.ToString(CultureInfo.InvariantCulture)]);

        string? line;
        while ((line = await child.StandardOutput.ReadLineAsync()) is not null)
        {
            Console.WriteLine("watcher: " + line);
            if (line.StartsWith("synced", StringComparison.Ordinal) && statusStorm > 0)
            {
                var type = ResourceType.Of("pods");
                var storm = Stopwatch.StartNew();
                var failingStatus = template["status"]!;
                var turned = 0;
                foreach (var running in api.Store.List(type))
                {
                    if (turned == statusStorm)
                    {
                        break;
                    }

                    if (running["status"]?["phase"]?.GetValue<string>() != "Running")
                    {
                        continue;
                    }

                    var pod = (JsonObject)running.DeepClone();
                    pod["status"] = failingStatus.DeepClone();
                    ((JsonObject)pod["metadata"]!).Remove("resourceVersion");
                    // Through the status subresource, as kubelet writes it: the main resource ignores status changes
                    // (a no-op write, no watch event), so this storm never reached the watcher before.
                    api.Store.Replace(type, ObjectStore.Namespace(pod), ObjectStore.Name(pod), pod, subresource: "status");
                    turned++;
                }

                Console.WriteLine($"status storm: {turned} running pods turned to ErrImagePull in {storm.ElapsedMilliseconds} ms, no stream dropped");
                await child.StandardInput.WriteLineAsync("storm-done");
                await child.StandardInput.FlushAsync();
            }
            else if (line.StartsWith("synced", StringComparison.Ordinal))
            {
                var type = ResourceType.Of("pods");
                var storm = Stopwatch.StartNew();
                var all = api.Store.List(type);
                for (var i = 0; i < all.Count; i++)
                {
                    var pod = (JsonObject)all[i].DeepClone();
                    pod["metadata"]!["labels"]!["storm"] = "1";
                    ((JsonObject)pod["metadata"]!).Remove("resourceVersion");
                    api.Store.Replace(type, ObjectStore.Namespace(pod), ObjectStore.Name(pod), pod);
                    if (i == all.Count / 3)
                    {
                        api.DropWatches();
                    }
                    else if (i == 2 * all.Count / 3)
                    {
                        api.DropWatches();
                        api.Store.Compact();
                    }
                }

                Console.WriteLine($"storm: {all.Count} pods modified, watches dropped twice, history compacted once, in {storm.ElapsedMilliseconds} ms");
                await child.StandardInput.WriteLineAsync("storm-done");
                await child.StandardInput.FlushAsync();
            }
        }

        await child.WaitForExitAsync();
        return child.ExitCode;
    }

    public static async Task<int> RunChildAsync(string[] args)
    {
        var server = args[0];
        var expected = int.Parse(args[1], CultureInfo.InvariantCulture);
        var statusStorm = int.Parse(args.ElementAtOrDefault(2) ?? "0", CultureInfo.InvariantCulture);
        var sink = new CountingSink();
        var status = new KubernetesWatchStatus();
        using var client = new k8s.Kubernetes(new k8s.KubernetesClientConfiguration { Host = server, AccessToken = FakeKubernetesApi.BotToken });
        var watcher = new KubernetesPodWatcher(
            client,
            new KubernetesOptions { ListPageSize = 500, ReconnectMinDelay = TimeSpan.FromMilliseconds(200) },
            sink,
            null,
            "bench",
            TimeProvider.System,
            status,
            NullLogger<KubernetesPodWatcher>.Instance);
        using var stop = new CancellationTokenSource();
        var baseline = Environment.WorkingSet;
        var started = Stopwatch.StartNew();
        var running = Task.Run(() => watcher.RunAsync(stop.Token));
        while (status.PodsListed < expected || status.TrackedPods < expected / 20)
        {
            await Task.Delay(50);
        }

        var synced = started.ElapsedMilliseconds;
        await SettleAsync(status);
        Console.WriteLine($"synced in {synced} ms: listed {status.PodsListed} pods, tracking {status.TrackedPods} failing, {sink.Reports} reports; {Describe(baseline)}; load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");

        var reportsBefore = sink.Reports;
        var relistsBefore = status.GoneRelists;
        var reconnectsBefore = status.Reconnects;
        await Console.In.ReadLineAsync();
        var absorbing = Stopwatch.StartNew();
        if (statusStorm > 0)
        {
            while (sink.Reports - reportsBefore < statusStorm && absorbing.Elapsed < TimeSpan.FromSeconds(120))
            {
                await Task.Delay(20);
            }
        }

        var absorbed = absorbing.ElapsedMilliseconds;
        await SettleAsync(status);
        Console.WriteLine($"after storm: {status.PodWatchEvents} pod watch events, {status.GoneRelists} relists after 410, {status.Reconnects} reconnects, {sink.Reports} reports, {sink.Resolutions} resolutions; {Describe(baseline)}");
        if (statusStorm > 0)
        {
            var relists = status.GoneRelists - relistsBefore;
            var reconnects = status.Reconnects - reconnectsBefore;
            var reports = sink.Reports - reportsBefore;
            Console.WriteLine($"status storm absorbed: {reports} new reports of {statusStorm} within {absorbed} ms of the last change, {relists} relists and {reconnects} reconnects during it");
            return reports >= statusStorm && relists == 0 ? 0 : 1;
        }
        await stop.CancelAsync();
        try
        {
            await running;
        }
        catch (OperationCanceledException)
        {
        }

        return 0;
    }

    private static string Describe(long baseline)
    {
        using var self = Process.GetCurrentProcess();
        var now = self.WorkingSet64;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        self.Refresh();
        return string.Create(CultureInfo.InvariantCulture,
            $"{OpenSockets()} sockets open; working set {now / 1048576.0:0.0} MB (after a full GC {self.WorkingSet64 / 1048576.0:0.0} MB, peak {self.PeakWorkingSet64 / 1048576.0:0.0} MB, at start {baseline / 1048576.0:0.0} MB), managed heap {GC.GetTotalMemory(false) / 1048576.0:0.0} MB")
            + Environment.NewLine + "memory: " + Breakdown();
    }

    /// <summary>
    /// The sockets this process holds open (its watches, and any connection its HTTP pool keeps idle): a connection per
    /// request in a storm is memory held long after it.
    /// </summary>
    private static int OpenSockets()
    {
        var sockets = 0;
        foreach (var fd in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(fd).LinkTarget?.StartsWith("socket:", StringComparison.Ordinal) == true)
                {
                    sockets++;
                }
            }
            catch (IOException)
            {
                // closed while counting
            }
        }

        return sockets;
    }

    /// <summary>
    /// Where the working set is, after the full GC: resident anonymous memory (GC heap, native allocations, JIT code)
    /// against mapped files (the runtime and assemblies), the GC's committed bytes and fragmentation, the live bytes per
    /// generation, the GC mode, and how much was compiled.
    /// </summary>
    private static readonly string[] GenerationNames = ["gen0", "gen1", "gen2", "LOH", "POH"];

    private static string Breakdown()
    {
        var status = File.ReadAllLines("/proc/self/status")
            .Select(l => l.Split(':', 2))
            .Where(p => p.Length == 2)
            .ToDictionary(p => p[0], p => p[1].Trim(), StringComparer.Ordinal);
        var gc = GC.GetGCMemoryInfo(GCKind.Any);
        var generations = string.Join(", ", GenerationNames.Select((name, i) =>
            string.Create(CultureInfo.InvariantCulture, $"{name} {gc.GenerationInfo[i].SizeAfterBytes / 1048576.0:0.0}")));
        var mode = GCSettings.IsServerGC ? "server" : "workstation";
        var concurrent = AppContext.GetData("System.GC.Concurrent") is bool c ? c : true;
        return string.Create(CultureInfo.InvariantCulture,
            $"RssAnon {status.GetValueOrDefault("RssAnon", "?")}, RssFile {status.GetValueOrDefault("RssFile", "?")}; GC {mode}{(concurrent ? " concurrent" : string.Empty)}: committed {gc.TotalCommittedBytes / 1048576.0:0.0} MB, heap {gc.HeapSizeBytes / 1048576.0:0.0} MB, fragmented {gc.FragmentedBytes / 1048576.0:0.0} MB, MB after the last GC: {generations}; allocated in all {GC.GetTotalAllocatedBytes() / 1048576.0:0} MB, GCs {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}; JIT {System.Runtime.JitInfo.GetCompiledMethodCount()} methods, {System.Runtime.JitInfo.GetCompiledILBytes() / 1024} KB IL");
    }

    /// <summary>
    /// The floor of the sync: the stand-in serving every pod page (500 a page, as the watcher asks) to a client that
    /// reads the bytes and only looks for the continue token, before the watcher starts.
    /// </summary>
    private static async Task ListFloorAsync(FakeKubernetesApi api)
    {
        using var http = new HttpClient { BaseAddress = api.BaseAddress };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", FakeKubernetesApi.BotToken);
        var listing = Stopwatch.StartNew();
        var pages = 0;
        var bytes = 0L;
        string? next = null;
        do
        {
            var body = await http.GetByteArrayAsync("api/v1/pods?limit=500" + (next is null ? string.Empty : "&continue=" + Uri.EscapeDataString(next)));
            pages++;
            bytes += body.Length;
            next = ContinueOf(body);
        }
        while (next is not null);

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"floor: the stand-in serves the {pages} pod pages ({bytes / 1048576.0:0} MB) to a client that only reads them in {listing.ElapsedMilliseconds} ms (load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]})"));
    }

    /// <summary>The list's metadata.continue (the stand-in writes metadata before the items, as the real server does).</summary>
    private static string? ContinueOf(byte[] body)
    {
        var reader = new System.Text.Json.Utf8JsonReader(body);
        var depth = 0;
        var inMetadata = false;
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case System.Text.Json.JsonTokenType.StartObject or System.Text.Json.JsonTokenType.StartArray:
                    depth++;
                    break;
                case System.Text.Json.JsonTokenType.EndObject or System.Text.Json.JsonTokenType.EndArray:
                    depth--;
                    if (inMetadata && depth == 1)
                    {
                        return null;
                    }

                    break;
                case System.Text.Json.JsonTokenType.PropertyName when depth == 1:
                    inMetadata = reader.ValueTextEquals("metadata");
                    if (reader.ValueTextEquals("items"))
                    {
                        return null;
                    }

                    break;
                case System.Text.Json.JsonTokenType.PropertyName when depth == 2 && inMetadata && reader.ValueTextEquals("continue"):
                    reader.Read();
                    var token = reader.GetString();
                    return string.IsNullOrEmpty(token) ? null : token;
            }
        }

        return null;
    }

    private static async Task SettleAsync(KubernetesWatchStatus status)
    {
        var last = -1L;
        var quiet = 0;
        while (quiet < 20)
        {
            await Task.Delay(100);
            var now = status.InputsProcessed;
            quiet = now == last ? quiet + 1 : 0;
            last = now;
        }
    }

    private static void Retarget(JsonObject item, JsonObject pod)
    {
        var name = pod["metadata"]!["name"]!.GetValue<string>();
        item["metadata"]!["name"] = name + "." + Guid.NewGuid().ToString("N")[..16];
        item["metadata"]!["namespace"] = pod["metadata"]!["namespace"]!.DeepClone();
        item["metadata"]!["uid"] = Guid.NewGuid().ToString();
        item["involvedObject"]!["name"] = name;
        item["involvedObject"]!["namespace"] = pod["metadata"]!["namespace"]!.DeepClone();
        item["involvedObject"]!["uid"] = pod["metadata"]!["uid"]!.DeepClone();
    }

    private sealed class CountingSink : IPullFailureSink
    {
        private int _reports;
        private int _resolutions;

        public int Reports => Volatile.Read(ref _reports);

        public int Resolutions => Volatile.Read(ref _resolutions);

        public Task ReportAsync(PullFailure failure, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _reports);
            return Task.CompletedTask;
        }

        public Task ResolveAsync(string cluster, string @namespace, string pod, string? container, PodResolution resolution, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _resolutions);
            return Task.CompletedTask;
        }
    }
}
