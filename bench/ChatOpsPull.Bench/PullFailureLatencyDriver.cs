using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Detection.KubernetesWatch;
using ChatOpsPull.Diagnosing;
using ChatOpsPull.Incidents;
using ChatOpsPull.Tests.Infrastructure;
using ChatOpsPull.Simulation.KubernetesApi;
using ChatOpsPull.Tests.Registry;
using ChatOpsPull.Storage;
using ChatOpsPull.Web;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ChatOpsPull.Hosting;
using k8s;

namespace ChatOpsPull.Bench;

/// <summary>
/// From a pod status change on the API server to its incident diagnosed, on real parts:
/// <c>dotnet run -c Release --project bench/ChatOpsPull.Bench -- pull-failure-latency [--pods 1000] [--workloads 20] [--rate 200] [--workers N] [--Section:Key=value …]</c>.
/// Debian's docker-registry on loopback serves team/app:1.4.0 and 1.4.2; the fake Kubernetes API server holds
/// <c>workloads</c> Deployments (one per namespace, each pointing at a tag that does not exist) with Ready pods; the
/// whole bot (BotHost: watcher, incident engine, Hangfire on SQLite, registry checks) watches it. The driver then turns
/// pods into ErrImagePull at <c>rate</c> per second (status change plus the kubelet's Failed event, as kubelet writes
/// them) and times each pod from its status change to the moment an incident that holds it is Diagnosed (an
/// <see cref="IIncidentNotifier"/> in the host records the moment, so no polling error).
/// </summary>
public static class PullFailureLatencyDriver
{
    public const string Mode = "pull-failure-latency";

    public static async Task<int> RunAsync(string[] args)
    {
        var pods = Option(args, "--pods", 1000);
        var workloads = Option(args, "--workloads", 20);
        var rate = Option(args, "--rate", 200);
        var workers = Option(args, "--workers", 0);
        var settle = Option(args, "--settle", 0);
        var apiHistory = Option(args, "--api-history", 0);
        if (args.Contains("--help"))
        {
            Console.WriteLine("pull-failure-latency [--pods 1000] [--workloads 20] [--rate 200] [--workers N] [--storage sqlite|postgres] [--warm-up] [--settle SECONDS] [--api-plain-http] [--api-history N] [--api-process] [--allocations] [--count-statements] [--Section:Key=value …]");
            Console.WriteLine("  --warm-up: one incident in a namespace of its own is diagnosed before the storm (the diagnosis path has run once).");
            Console.WriteLine("  --settle SECONDS: the storm starts that long after the bot is ready, idle meanwhile (a bot that has run a while; the runtime finishes recompiling what its start made hot). Default 0: the storm starts at once.");
            Console.WriteLine("  --api-plain-http: the Kubernetes API stand-in speaks plain HTTP/1.1 (no TLS, so no HTTP/2); by default it speaks TLS offering h2 and http/1.1, as a real API server does.");
            Console.WriteLine("  --api-history N: the stand-in keeps only the last N changes for watches to resume from (default its own 100,000: the whole storm, every pod's old and new JSON tree, stays alive in this process and the bot's collections trace it).");
            Console.WriteLine("  --api-process: the stand-in and the storm driver run in a child process (this binary again), as a real API server is another process: the process CPU, allocations and GC lines are then the bot's alone, and the stand-in's own process is reported on a line of its own. Default: in this process, as every earlier figure was measured.");
            Console.WriteLine("  --allocations: the storm's allocations by type (the runtime's GCAllocationTick sampler) and each collection's survivors; the listener allocates itself, so a separate run.");
            Console.WriteLine("  --count-statements: count every statement SQLite runs, by kind, and those prepared for one execution (SQLite's trace hook: costs CPU, so a separate run).");
            Console.WriteLine("  --storage postgres: the incident store and Hangfire on a throwaway PostgreSQL cluster (initdb/pg_ctl); default SQLite files.");
            return 0;
        }

        var storage = args.SkipWhile(a => a != "--storage").Skip(1).FirstOrDefault() ?? "sqlite";
        SqliteStatementCounts.Enabled = args.Contains("--count-statements");
        var work = Directory.CreateTempSubdirectory("chatopspull-latency-").FullName;
        try
        {
            await using var registry = await StartRegistryAsync(work);
            var apiProcess = args.Contains("--api-process");
            var apiOptions = new StormApiOptions(registry.Host, pods, workloads, Https: !args.Contains("--api-plain-http"), apiHistory, WarmUp: args.Contains("--warm-up"));
            await using IStormApi api = apiProcess
                ? await ChildProcessStormApi.StartAsync(apiOptions, Path.Combine(work, "kube"))
                : await InProcessStormApi.StartAsync(apiOptions, Path.Combine(work, "kube"));
            await using var pg = storage == "postgres" ? await ThrowawayPostgres.StartAsync() : null;
            var names = api.Names;
            var warmUp = api.WarmUp;

            var diagnosed = new DiagnosedPods();
            using var stages = new StageRecorder();
            using var reads = new KubernetesReadProbe(api.BaseAddress.Port);
            // Disposed before the API stand-in (declared after it), also when the run fails: the bot stops watching
            // before the server goes, so a failed run does not show up as watch streams cut by the server.
            await using var app = BotHost.Build(
                [
                    "--Urls=http://127.0.0.1:0",
                    "--Bot:DataDirectory=" + Path.Combine(work, "data"),
                    "--Bot:Cluster=bench",
                    "--Kubernetes:KubeconfigPath=" + api.KubeconfigPath,
                    "--Registry:Hosts:0:Host=" + registry.Host,
                    "--Registry:Hosts:0:PlainHttp=true",
                    "--Logging:LogLevel:Default=Warning",
                    .. pg is null ? Array.Empty<string>() : ["--Storage:Provider=Postgres", "--Storage:ConnectionString=" + pg.ConnectionString],
                    .. workers > 0 ? new[] { "--Jobs:WorkerCount=" + workers.ToString(CultureInfo.InvariantCulture) } : [],
                    .. args.Where(a => a.StartsWith("--", StringComparison.Ordinal) && a.Contains(':', StringComparison.Ordinal) && a.Contains('=', StringComparison.Ordinal)),
                ],
                b =>
                {
                    b.Services.AddSingleton<IIncidentNotifier>(diagnosed);
                    b.Services.AddSingleton(sp => new IntakeProbe(sp.GetRequiredService<IncidentEngine>()));
                    b.Services.AddSingleton<IPullFailureSink>(sp => sp.GetRequiredService<IntakeProbe>());
                    b.Services.AddSingleton<IIncidentDiagnoser>(sp => new TimedDiagnoser(sp.GetRequiredService<EvidenceDiagnoser>(), diagnosed));
                });
            await app.StartAsync();
            var status = app.Services.GetRequiredService<KubernetesWatchStatus>();
            var synced = Stopwatch.StartNew();
            while (status.PodsListed < pods + warmUp.Count && synced.Elapsed < TimeSpan.FromMinutes(1))
            {
                await Task.Delay(100);
            }

            // A freshly started bot: the storm begins once the watcher has listed the pods and the start-up warm-up
            // (Diagnosis:WarmUp, on by default) is done, not in the middle of it.
            if (app.Services.GetServices<IHostedService>().OfType<DiagnosisWarmUp>().FirstOrDefault()?.ExecuteTask is { } startUpWarmUp)
            {
                await startUpWarmUp.WaitAsync(TimeSpan.FromMinutes(1));
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bot started, watcher synced and start-up warm-up done {synced.Elapsed.TotalMilliseconds:0} ms after start"));

            if (warmUp.Count > 0)
            {
                // One incident diagnosed before the storm, in a namespace of its own: the diagnosis path has run once.
                var pod = warmUp[0].Pod;
                await api.FailAsync(warmUp[0]);
                var warming = Stopwatch.StartNew();
                while (diagnosed.At(pod) is null && warming.Elapsed < TimeSpan.FromMinutes(1))
                {
                    await Task.Delay(50);
                }

                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"warm-up: one incident diagnosed in {warming.Elapsed.TotalMilliseconds:0} ms before the storm"));
                diagnosed.Diagnoses.Clear();
                diagnosed.Window.Clear();
                stages.Clear();
                reads.Clear();
                app.Services.GetRequiredService<IntakeProbe>().Clear();
            }

            if (settle > 0)
            {
                // A bot that has run a while before the storm: the runtime's recompiles of what the start made hot (held back
                // while the start kept compiling) happen now, not in the storm. Reported, so the two protocols are never mixed.
                // Measured: the storm's own JIT stays the same either way (docs/benchmarks.md), so the default is 0.
                var (methods, compiling) = (System.Runtime.JitInfo.GetCompiledMethodCount(), System.Runtime.JitInfo.GetCompilationTime());
                await Task.Delay(TimeSpan.FromSeconds(settle));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"settled {settle} s before the storm (idle): the runtime compiled {System.Runtime.JitInfo.GetCompiledMethodCount() - methods} methods in {(System.Runtime.JitInfo.GetCompilationTime() - compiling).TotalMilliseconds:0} ms meanwhile"));
            }

            Console.WriteLine($"watcher listed {status.PodsListed} pods in {workloads} namespaces; turning {pods} pods into ErrImagePull at {rate}/s");
            using var jit = new JitProbe();
            jit.Start();
            using var allocations = args.Contains("--allocations") ? new AllocationProbe() : null;
            allocations?.Start();
            using var sampler = new StormSampler();
            using var transactionProbe = new StorageProbe();
            await using var pgProbe = pg is null ? null : await PostgresStormProbe.StartAsync(pg.ConnectionString);
            pgProbe?.Begin();
            var registryBefore = RegistryTraffic.Take(registry, app.Services);
            var apiBefore = ApiTraffic.Take(await api.TrafficAsync());
            var shared = app.Services.GetRequiredService<ChatOpsPull.Kubernetes.SharedReads>();
            var sharedBefore = (shared.Sent, shared.Joined);
            var (stormStarted, changedAt) = await api.StormAsync(rate);

            var deadline = Stopwatch.StartNew();
            while (diagnosed.Count < pods + warmUp.Count && deadline.Elapsed < TimeSpan.FromMinutes(3))
            {
                await Task.Delay(100);
            }

            double[] Samples(Func<string, long?> reached) => changedAt
                .Select(p => reached(p.Key) is { } at ? Stopwatch.GetElapsedTime(p.Value, at).TotalMilliseconds : (double?)null)
                .OfType<double>()
                .Order()
                .ToArray();
            var opened = Samples(diagnosed.OpenedAt);
            var samples = Samples(diagnosed.At);
            var storm = sampler.Stop(pods, apiProcess ? "the bot alone: the stand-in and the storm driver are another process" : "bot, stand-in and driver");
            var standInProcess = await api.OwnCostAsync();
            allocations?.Stop();
            var stormMs = Stopwatch.GetElapsedTime(stormStarted).TotalMilliseconds;
            var transactions = transactionProbe.Report(stormMs);
            var settings = await StorageProbe.SettingsAsync(app.Services.GetRequiredService<ChatOpsPull.Storage.BotDatabase>());
            if (pgProbe is not null)
            {
                await pgProbe.StopAsync();
            }
            jit.Stop();
            await Task.Delay(200); // the registry logs a request as it finishes it
            var registryTraffic = RegistryTraffic.Take(registry, app.Services).Since(registryBefore);
            var apiTraffic = ApiTraffic.Take(await api.TrafficAsync()).Since(apiBefore);
            var floor = await FloorAsync(app.Services, registry.Host, names[0]);
            await app.StopAsync();
            var standInAlone = allocations is null ? null : await api.StandInAloneAsync();
            if (samples.Length == 0)
            {
                Console.WriteLine("no pod reached a diagnosed incident");
                return 1;
            }

            Console.WriteLine($"pull-failure-latency ({storage}): {samples.Length}/{pods} pods diagnosed over {workloads} workloads (rate {rate}/s)");
            Report("  status change → pod in an incident ", opened);
            Report("  status change → incident diagnosed", samples);
            Report("  diagnosis itself (per incident)   ", diagnosed.DiagnosisTimes());
            Console.WriteLine("    (EvidenceDiagnoser alone: the Kubernetes reads, the registry check and the weighing; not the queue wait, the ticket read, the subject lock, the write or the card, which are the stages below)");
            Console.WriteLine(diagnosed.Window.Report(stormStarted));
            Console.WriteLine(IntakeRate(stormStarted, changedAt.Values, changedAt.Keys.Select(diagnosed.OpenedAt).OfType<long>()));
            Console.WriteLine(app.Services.GetRequiredService<IntakeProbe>().Report(stormStarted, changedAt.Values.ToList()));
            Console.WriteLine("  where a diagnosis's time goes (per diagnosis run, the diagnosis_stage_seconds histogram on /metrics):");
            foreach (var (stage, times) in stages.ByStage())
            {
                // The two waits are parts of the database stage: printed under it, named by what they wait for.
                Report(stage switch { "database_subject_lock" => "      of it, subject lock", "database_write_turn" => "      of it, write turn  ", "database_write_turn_handover" => "        of it, hand-over", _ => $"    {stage,-10}" }, times);
            }

            Console.WriteLine(apiProcess
                ? "  Kubernetes requests sent by diagnoses (round trip to response headers | of it waiting for a connection; the stand-in's handling is not measured with --api-process):"
                : "  Kubernetes requests sent by diagnoses (round trip to response headers | of it waiting for a connection | the stand-in's handling):");
            foreach (var (kind, total, wait, server, sent, back) in reads.ByKind())
            {
                Report($"    {kind,-22} round trip", total);
                Report($"    {string.Empty,-22} connection", wait);
                if (server.Length > 0)
                {
                    Report($"    {string.Empty,-22} stand-in  ", server);
                    Report($"    {string.Empty,-22} out       ", sent);
                    Report($"    {string.Empty,-22} back      ", back);
                }
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  Kubernetes requests per diagnosis: {reads.ByKind().Sum(r => r.Total.Length) / (double)Math.Max(1, diagnosed.Diagnoses.Count):0.00} ({diagnosed.Diagnoses.Count} diagnoses); node, ServiceAccount and secret reads {shared.Sent - sharedBefore.Sent} sent, {shared.Joined - sharedBefore.Joined} joined (another diagnosis's read in flight)"));
            var rounds = reads.Rounds();
            if (rounds.Length > 0)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  Kubernetes rounds per diagnosis (reads waited for one after another, sent or joined): mean {rounds.Average():0.00}, {string.Join(", ", rounds.GroupBy(r => r).OrderBy(g => g.Key).Select(g => $"{g.Key:0} rounds {g.Count()}"))}"));
            }

            Console.WriteLine(apiTraffic.Report(api.BaseAddress.Scheme));
            Console.WriteLine(registryTraffic.Report(diagnosed.Diagnoses.Count));
            Console.WriteLine(storm);
            if (standInProcess is not null)
            {
                Console.WriteLine("  (--api-process: the process CPU, allocations, collections and GC pauses on the line above and under \"while the diagnoses ran\" are the bot's process alone; the registry is another process as always, the stand-in's own process is the next line)");
                Console.WriteLine(standInProcess);
            }
            if (allocations is not null)
            {
                Console.WriteLine(allocations.Report(pods));
                Console.WriteLine(standInAlone);
            }

            Console.WriteLine(transactions);
            var told = app.Services.GetRequiredService<ChatOpsPull.Incidents.Engine.ToldNews>();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  news owed and told: {told.Recorded} notices marked told in {told.Removals} transactions"));
            if (settings.Length > 0)
            {
                Console.WriteLine(settings);
            }

            if (pgProbe is not null)
            {
                Console.WriteLine(pgProbe.Report(pods, diagnosed.Diagnoses.Count));
            }

            Console.WriteLine(jit.Report());
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  floor, same run: warm registry manifest HEAD {floor.Registry:0.0} ms, Kubernetes pod read {floor.Kubernetes:0.0} ms (best of 5); load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}"));
            return samples.Length == pods ? 0 : 1;
        }
        finally
        {
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>
    /// The intake's achieved rate against the arrival rate, per second of the storm: pods whose status changed in that
    /// second, pods that reached an incident in it, and the backlog (changed, not yet in an incident) at its end. A
    /// backlog that grows second by second is an intake slower than the storm; counts, so load bends them less than latencies.
    /// </summary>
    internal static string IntakeRate(long started, IEnumerable<long> changed, IEnumerable<long> opened)
    {
        static int[] PerSecond(long started, IEnumerable<long> stamps)
        {
            var seconds = stamps.Select(t => (int)Math.Floor(Stopwatch.GetElapsedTime(started, t).TotalSeconds)).ToList();
            var counts = new int[seconds.Count == 0 ? 0 : Math.Max(0, seconds.Max()) + 1];
            seconds.ForEach(s => counts[Math.Max(0, s)]++);
            return counts;
        }

        var arrived = PerSecond(started, changed);
        var absorbed = PerSecond(started, opened);
        var lines = new System.Text.StringBuilder("  intake per second of the storm (arrived / into an incident / backlog at its end):");
        var backlog = 0;
        for (var s = 0; s < Math.Max(arrived.Length, absorbed.Length); s++)
        {
            var inSecond = s < arrived.Length ? arrived[s] : 0;
            var outSecond = s < absorbed.Length ? absorbed[s] : 0;
            backlog += inSecond - outSecond;
            lines.Append(CultureInfo.InvariantCulture, $"{(s % 6 == 0 ? "\n   " : string.Empty)} {s}s {inSecond}/{outSecond}/{backlog}");
        }

        return lines.ToString();
    }

    /// <summary>
    /// What the storm costs the stand-in and the driver alone, measured once the bot has stopped: every pod's status
    /// changed again and its Failed event written, each serialized once as a watch would send it (its one wire form is
    /// shared by every watch), and nobody watching. The storm's bytes less these are the bot's (and the HTTP between).
    /// </summary>
    internal static string StandInAlone(FakeKubernetesApi api, IReadOnlyList<(string Namespace, string Pod, string Image)> names)
    {
        var (allocated, pause) = (GC.GetTotalAllocatedBytes(precise: true), GC.GetTotalPauseDuration());
        int[] collections = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
        foreach (var (ns, pod, image) in names)
        {
            var message = $"Back-off pulling image \"{image}\": ErrImagePull: rpc error: code = NotFound desc = {image}: not found";
            ObjectStore.WireUtf8(api.SetContainerWaiting(ns, pod, "web", "ImagePullBackOff", message));
            ObjectStore.WireUtf8(api.Seed(FailedEvent(ns, pod, message)));
        }

        var bytes = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        return string.Create(CultureInfo.InvariantCulture,
            $"  the stand-in and driver alone, after the bot stopped (the same {names.Count} status changes and events again, each serialized once, no watch): allocated {bytes / 1048576.0:0} MB ({bytes / 1024.0 / names.Count:0.0} KB per pod), collections gen0/1/2 {GC.CollectionCount(0) - collections[0]}/{GC.CollectionCount(1) - collections[1]}/{GC.CollectionCount(2) - collections[2]}, GC pauses {(GC.GetTotalPauseDuration() - pause).TotalMilliseconds:0} ms");
    }

    /// <summary>The physical floor of one diagnosis on this machine now: one warm registry check and one pod read (best of 5).</summary>
    private static async Task<(double Registry, double Kubernetes)> FloorAsync(IServiceProvider services, string registryHost, (string Namespace, string Pod, string Image) pod)
    {
        // A raw manifest HEAD: the bot's checker answers a repeated check from its cache, which is no floor.
        using var http = new HttpClient { BaseAddress = new Uri($"http://{registryHost}") };
        var client = services.GetRequiredService<ChatOpsPull.Kubernetes.KubernetesConnection>().Client!;
        double registry = double.MaxValue, kubernetes = double.MaxValue;
        for (var i = 0; i < 6; i++)
        {
            var started = Stopwatch.GetTimestamp();
            using (var head = new HttpRequestMessage(HttpMethod.Head, new Uri("/v2/team/app/manifests/1.4.0", UriKind.Relative)))
            {
                head.Headers.Accept.ParseAdd("application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json");
                using var response = await http.SendAsync(head);
            }

            var took = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            registry = i == 0 ? registry : Math.Min(registry, took);
            started = Stopwatch.GetTimestamp();
            await client.CoreV1.ReadNamespacedPodAsync(pod.Pod, pod.Namespace);
            took = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            kubernetes = i == 0 ? kubernetes : Math.Min(kubernetes, took);
        }

        return (registry, kubernetes);
    }

    /// <summary>
    /// What the process spent during the storm (bot and API stand-in share it, unless --api-process): CPU, JIT compilation, lock contention,
    /// and the thread pool's longest queue (sampled every 10 ms) — where time goes when nothing waits on I/O.
    /// </summary>
    private sealed class StormSampler : IDisposable
    {
        private readonly TimeSpan _cpu = Process.GetCurrentProcess().TotalProcessorTime;
        private readonly TimeSpan _jit = System.Runtime.JitInfo.GetCompilationTime();
        private readonly long _methods = System.Runtime.JitInfo.GetCompiledMethodCount();
        private readonly long _contention = Monitor.LockContentionCount;
        private readonly long _allocated = GC.GetTotalAllocatedBytes(precise: false);
        private readonly TimeSpan _pause = GC.GetTotalPauseDuration();
        private readonly int[] _collections = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
        private readonly long _prepared = SqlitePreparedStatements.TotalPrepared;
        private readonly long _executed = SqlitePreparedStatements.TotalExecuted;
        private readonly IReadOnlyDictionary<string, (long Run, long Kept)> _statements = SqliteStatementCounts.Snapshot();
        private readonly long _started = Stopwatch.GetTimestamp();
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _sampling;
        private readonly ConcurrentQueue<double> _dispatch = new();
        private long _maxQueue;
        private int _maxThreads;

        public StormSampler() => _sampling = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                _maxQueue = Math.Max(_maxQueue, ThreadPool.PendingWorkItemCount);
                _maxThreads = Math.Max(_maxThreads, ThreadPool.ThreadCount);

                // How long a work item queued now waits for a thread-pool thread: what every hop of an async flow pays.
                ThreadPool.UnsafeQueueUserWorkItem(queued => _dispatch.Enqueue(Stopwatch.GetElapsedTime(queued).TotalMilliseconds), Stopwatch.GetTimestamp(), preferLocal: false);
                await Task.Delay(10).ConfigureAwait(false);
            }
        });

        public string Stop(int pods, string whose)
        {
            _stop.Cancel();
            var wall = Stopwatch.GetElapsedTime(_started).TotalMilliseconds;
            var cpu = (Process.GetCurrentProcess().TotalProcessorTime - _cpu).TotalMilliseconds;
            var allocated = GC.GetTotalAllocatedBytes(precise: false) - _allocated;
            return string.Create(CultureInfo.InvariantCulture,
                $"  during the storm ({wall:0} ms): process CPU {cpu:0} ms ({cpu / wall:0.00} cores; {cpu / pods:0.00} ms per pod), allocated {allocated / 1048576.0:0} MB ({allocated / 1024.0 / pods:0.0} KB per pod; {whose}), collections gen0/1/2 {GC.CollectionCount(0) - _collections[0]}/{GC.CollectionCount(1) - _collections[1]}/{GC.CollectionCount(2) - _collections[2]}, GC pauses {(GC.GetTotalPauseDuration() - _pause).TotalMilliseconds:0} ms, JIT {(System.Runtime.JitInfo.GetCompilationTime() - _jit).TotalMilliseconds:0} ms for {System.Runtime.JitInfo.GetCompiledMethodCount() - _methods} methods, lock contentions {Monitor.LockContentionCount - _contention}, SQLite batch statements {(double)(SqlitePreparedStatements.TotalExecuted - _executed) / pods:0.00} per pod executed, {(double)(SqlitePreparedStatements.TotalPrepared - _prepared) / pods:0.00} per pod prepared, thread pool: longest queue {_maxQueue}, most threads {_maxThreads}, a queued work item's wait for a thread {Dispatch()}")
                + (SqliteStatementCounts.Enabled
                    ? $"\n  SQLite statements per pod, all kinds (--count-statements; the trace costs CPU): {SqliteStatementCounts.Describe(_statements, SqliteStatementCounts.Snapshot(), pods, SqlitePreparedStatements.TotalPrepared - _prepared)}"
                    : string.Empty);
        }

        private string Dispatch()
        {
            var waits = _dispatch.Order().ToArray();
            return waits.Length == 0
                ? "(none sampled)"
                : string.Create(CultureInfo.InvariantCulture, $"p50 {waits[waits.Length / 2]:0.0} ms, p90 {waits[(int)(waits.Length * 0.9)]:0.0} ms, p99 {waits[(int)(waits.Length * 0.99)]:0.0} ms (n={waits.Length})");
        }

        public void Dispose()
        {
            _stop.Cancel();
            _stop.Dispose();
        }
    }

    /// <summary>Listens to the bot's diagnosis_stage_seconds histogram (the same figures /metrics exports).</summary>
    private sealed class StageRecorder : IDisposable
    {
        private readonly System.Diagnostics.Metrics.MeterListener _listener = new();
        private readonly ConcurrentDictionary<string, ConcurrentQueue<double>> _stages = new(StringComparer.Ordinal);

        public StageRecorder()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == ChatOpsPull.Observability.BotMetrics.MeterName && instrument.Name == "diagnosis_stage_seconds")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<double>((_, seconds, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "stage" && tag.Value is string stage)
                    {
                        _stages.GetOrAdd(stage, _ => new ConcurrentQueue<double>()).Enqueue(seconds * 1000);
                    }
                }
            });
            _listener.Start();
        }

        private static readonly string[] Stages = ["queue_wait", "kubernetes", "registry", "database", "database_subject_lock", "database_write_turn", "database_write_turn_handover", "card"];

        public IEnumerable<(string Stage, double[] Times)> ByStage() =>
            Stages
                .Where(_stages.ContainsKey)
                .Select(s => (s, _stages[s].Order().ToArray()));

        public void Clear() => _stages.Clear();

        public void Dispose() => _listener.Dispose();
    }

    /// <summary>One Deployment per namespace (bench-00…), each on a missing tag, with Ready pods; returns the pods.</summary>
    /// <summary>What reached the Kubernetes API stand-in: TCP connections accepted and requests per protocol (HTTP/1.1, HTTP/2).</summary>
    private sealed record ApiTraffic(long Connections, IReadOnlyDictionary<string, int> Protocols)
    {
        public static ApiTraffic Take((long Connections, IReadOnlyDictionary<string, int> Protocols) counts) => new(counts.Connections, counts.Protocols);

        public ApiTraffic Since(ApiTraffic before) => new(
            Connections - before.Connections,
            Protocols.ToDictionary(p => p.Key, p => p.Value - before.Protocols.GetValueOrDefault(p.Key), StringComparer.Ordinal));

        public string Report(string scheme) => string.Create(CultureInfo.InvariantCulture,
            $"  Kubernetes API stand-in ({scheme}) during the storm: {Connections} connections opened; requests {string.Join(", ", Protocols.Where(p => p.Value > 0).OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Value} over {p.Key}"))}");
    }

    internal static List<(string Namespace, string Pod, string Image)> Seed(FakeKubernetesApi api, string registry, int pods, int workloads, string prefix = "bench", string? image = null)
    {
        var node = Load("node-worker-1.json");
        foreach (var condition in node["status"]!["conditions"]!.AsArray())
        {
            if (condition!["type"]!.GetValue<string>() == "DiskPressure")
            {
                condition["status"] = "False";
            }
        }

        api.Seed(node);
        var result = new List<(string, string, string)>();
        for (var w = 0; w < workloads; w++)
        {
            var ns = $"{prefix}-{w:00}";
            var tagged = image ?? $"{registry}/team/app:2.{w}.0";
            string Localize(string file) => Text(file).Replace("\"namespace\":\"shop\"", $"\"namespace\":\"{ns}\"", StringComparison.Ordinal)
                .Replace("registry.example.com/shop/web:1.4.3-typo", tagged, StringComparison.Ordinal);
            api.Seed((JsonObject)JsonNode.Parse(Localize("deployment-web.json"))!);
            api.Seed((JsonObject)JsonNode.Parse(Localize("replicaset-web.json"))!);
            for (var i = w; i < pods; i += workloads)
            {
                var pod = (JsonObject)JsonNode.Parse(Localize("pod-web-errimagepull.json"))!;
                var name = prefix == "bench" ? $"web-6b9f7c5d8-{i:00000}" : $"web-6b9f7c5d8-9{i:0000}"; // pod names differ across namespaces too
                pod["metadata"]!["name"] = name;
                pod["metadata"]!["uid"] = PodUid(ns, name);
                ((JsonObject)pod["metadata"]!).Remove("resourceVersion");
                pod["status"] = WorkloadControllers.ReadyStatus(pod, DateTimeOffset.UtcNow);
                api.Seed(pod);
                result.Add((ns, name, tagged));
            }
        }

        return result.OrderBy(p => int.Parse(p.Item2[^5..], CultureInfo.InvariantCulture)).ToList();
    }

    /// <summary>The fixture's "Failed to pull" event, read once: the storm copies it per pod instead of reading and parsing the file inside its timed loop.</summary>
    private static readonly Lazy<JsonObject> FailedEventTemplate = new(() => ((JsonArray)Load("events-web-pull-failure.json")["items"]!)
        .OfType<JsonObject>()
        .First(e => e["reason"]!.GetValue<string>() == "Failed" && e["message"]!.GetValue<string>().StartsWith("Failed to pull", StringComparison.Ordinal)));

    internal static JsonObject FailedEvent(string ns, string pod, string message)
    {
        var failed = (JsonObject)FailedEventTemplate.Value.DeepClone();
        failed["metadata"]!["name"] = $"{pod}.{Guid.NewGuid():N}";
        failed["metadata"]!["uid"] = Guid.NewGuid().ToString();
        failed["metadata"]!["namespace"] = ns;
        ((JsonObject)failed["metadata"]!).Remove("resourceVersion");
        failed["involvedObject"]!["name"] = pod;
        failed["involvedObject"]!["namespace"] = ns;
        failed["involvedObject"]!["uid"] = PodUid(ns, pod); // kubelet names the pod's uid: the fixture's one uid would make every event one pod's
        ((JsonObject)failed["involvedObject"]!).Remove("resourceVersion");
        failed["message"] = message;
        failed["lastTimestamp"] = ObjectStore.Timestamp(DateTimeOffset.UtcNow);
        return failed;
    }

    /// <summary>A seeded pod's uid, made from its namespace and name, so that its events can name it as kubelet's do.</summary>
    internal static string PodUid(string ns, string pod) =>
        new Guid(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{ns}/{pod}")).AsSpan(0, 16)).ToString();

    internal static void Report(string what, double[] sorted)
    {
        double At(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Floor(q * sorted.Length))];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{what}: n={sorted.Length} min={sorted[0]:0} ms p50={At(0.5):0} ms p90={At(0.9):0} ms p99={At(0.99):0} ms max={sorted[^1]:0} ms"));
    }

    private static string Text(string file) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "kubernetes", file)))!.ToJsonString();

    private static JsonObject Load(string file) => (JsonObject)JsonNode.Parse(Text(file))!;

    private static int Option(string[] args, string name, int fallback) =>
        args.SkipWhile(a => a != name).Skip(1).Select(a => int.Parse(a, CultureInfo.InvariantCulture)).FirstOrDefault(fallback);

    /// <summary>Debian's docker-registry on a free loopback port with team/app:1.4.0 and 1.4.2 pushed by skopeo.</summary>
    internal static async Task<LoopbackRegistry> StartRegistryAsync(string work)
    {
        var port = FreePort.Next();
        var config = Path.Combine(work, "registry.yml");
        await File.WriteAllTextAsync(config, $"""
            version: 0.1
            log:
              level: info
            storage:
              filesystem:
                rootdirectory: {Path.Combine(work, "storage")}
            http:
              addr: 127.0.0.1:{port}
              secret: chatopspull-bench-secret
            """);
        var process = ExternalProcess.Start("/usr/bin/docker-registry", ["serve", config], work);
        await process.WaitForPortAsync(port);
        var layout = new OciImageLayout(Path.Combine(work, "layout"));
        foreach (var tag in new[] { "1.4.0", "1.4.2" })
        {
            layout.AddImage(tag, content: "team/app");
            await ExternalProcess.RunAsync(
                "skopeo",
                ["copy", "--insecure-policy", "--dest-tls-verify=false", $"oci:{layout.Root}:{tag}", $"docker://127.0.0.1:{port}/team/app:{tag}"],
                work,
                TimeSpan.FromMinutes(2),
                new Dictionary<string, string> { ["HOME"] = work, ["TMPDIR"] = work });
        }

        return new LoopbackRegistry(process, $"127.0.0.1:{port}");
    }

    internal sealed record LoopbackRegistry(ExternalProcess Process, string Host) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Process.DisposeAsync();
    }

    /// <summary>
    /// What the registry was asked during the storm: checks started by the bot, and the HTTP requests in the registry's
    /// access log by kind (the log lags a request by its own write; read after the storm's last diagnosis, so complete).
    /// The network probes are connections, not requests: counted by the bot's probe.
    /// </summary>
    private sealed record RegistryTraffic(long Checks, long Probes, int ApiRoot, int Manifests, int TagLists, int Other)
    {
        public static RegistryTraffic Take(LoopbackRegistry registry, IServiceProvider services)
        {
            var lines = System.Text.RegularExpressions.Regex.Matches(registry.Process.Output, "\"(GET|HEAD|POST) /v2/[^\"]* HTTP/[0-9.]+\"").Select(m => m.Value).ToArray();
            var apiRoot = lines.Count(l => l.Contains(" /v2/ ", StringComparison.Ordinal));
            var manifests = lines.Count(l => l.Contains("/manifests/", StringComparison.Ordinal));
            var tags = lines.Count(l => l.Contains("/tags/list", StringComparison.Ordinal));
            return new RegistryTraffic(
                services.GetRequiredService<ChatOpsPull.Registry.RegistryCheckCache>().Started,
                services.GetRequiredService<ChatOpsPull.Registry.RegistryProbe>().Started,
                apiRoot,
                manifests,
                tags,
                lines.Length - apiRoot - manifests - tags);
        }

        public RegistryTraffic Since(RegistryTraffic before) =>
            new(Checks - before.Checks, Probes - before.Probes, ApiRoot - before.ApiRoot, Manifests - before.Manifests, TagLists - before.TagLists, Other - before.Other);

        public string Report(int diagnoses)
        {
            var requests = ApiRoot + Manifests + TagLists + Other;
            var perCheck = Checks == 0 ? 0 : (requests + Probes) / (double)Checks;
            return string.Create(CultureInfo.InvariantCulture,
                $"  registry during the storm: {Checks} checks for {diagnoses} diagnoses; {Probes} probe connections, {requests} HTTP requests ({ApiRoot} /v2/, {Manifests} manifest, {TagLists} tag list, {Other} other): {perCheck:0.0} round trips per check");
        }
    }

    /// <summary>The bot's diagnoser, timed: how much of the wait is the diagnosis itself (registry and cluster reads).</summary>
    private sealed class TimedDiagnoser(EvidenceDiagnoser inner, DiagnosedPods record) : IIncidentDiagnoser
    {
        public Task<Core.Diagnoses.Diagnosis> DiagnoseAsync(Incident incident, CancellationToken cancellationToken) =>
            DiagnoseAsync(incident, Stopwatch.GetTimestamp(), cancellationToken);

        public async Task<Core.Diagnoses.Diagnosis> DiagnoseAsync(Incident incident, long askedAt, CancellationToken cancellationToken)
        {
            var started = Stopwatch.GetTimestamp();
            record.Window.Started(started);
            var diagnosis = await inner.DiagnoseAsync(incident, askedAt, cancellationToken).ConfigureAwait(false);
            var ended = Stopwatch.GetTimestamp();
            record.Window.Ended(ended);
            record.Diagnoses.Enqueue(Stopwatch.GetElapsedTime(started, ended).TotalMilliseconds);
            return diagnosis;
        }
    }

    /// <summary>
    /// What the process spent while diagnoses ran, from the first diagnosis's start to the last one's end (bot, stand-in
    /// and intake share it, unless --api-process): CPU, and the JIT's methods and time. Counts, so load bends them less than the latencies.
    /// </summary>
    private sealed class DiagnosisWindow
    {
        private readonly Lock _lock = new();
        private (long At, double CpuMs, long Methods, double JitMs)? _first;
        private (long At, double CpuMs, long Methods, double JitMs)? _last;
        private int _running;
        private int _mostAtOnce;

        private static (long, double, long, double) Now(long at) => (
            at,
            Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds,
            System.Runtime.JitInfo.GetCompiledMethodCount(),
            System.Runtime.JitInfo.GetCompilationTime().TotalMilliseconds);

        public void Started(long at)
        {
            lock (_lock)
            {
                _first ??= Now(at);
                _mostAtOnce = Math.Max(_mostAtOnce, ++_running);
            }
        }

        public void Ended(long at)
        {
            lock (_lock)
            {
                _running--;
                _last = Now(at);
            }
        }

        public void Clear()
        {
            lock (_lock)
            {
                (_first, _last, _running, _mostAtOnce) = (null, null, 0, 0);
            }
        }

        public string Report(long stormStarted)
        {
            lock (_lock)
            {
                if (_first is not { } first || _last is not { } last)
                {
                    return "  while the diagnoses ran: none";
                }

                var wall = Stopwatch.GetElapsedTime(first.At, last.At).TotalMilliseconds;
                return string.Create(CultureInfo.InvariantCulture,
                    $"  while the diagnoses ran ({Stopwatch.GetElapsedTime(stormStarted, first.At).TotalMilliseconds:0} → {Stopwatch.GetElapsedTime(stormStarted, last.At).TotalMilliseconds:0} ms into the storm, {wall:0} ms, at most {_mostAtOnce} at once): process CPU {last.CpuMs - first.CpuMs:0} ms ({(last.CpuMs - first.CpuMs) / Math.Max(1, wall):0.00} cores), JIT {last.Methods - first.Methods} methods in {last.JitMs - first.JitMs:0} ms");
            }
        }
    }

    /// <summary>Remembers when each pod was first seen in an incident that is diagnosed (or further along).</summary>
    private sealed class DiagnosedPods : IIncidentNotifier
    {
        private readonly ConcurrentDictionary<string, long> _at = new();
        private readonly ConcurrentDictionary<string, long> _openedAt = new();

        public int Count => _at.Count;

        public long? At(string pod) => _at.TryGetValue(pod, out var at) ? at : null;

        public long? OpenedAt(string pod) => _openedAt.TryGetValue(pod, out var at) ? at : null;

        public ConcurrentQueue<double> Diagnoses { get; } = new();

        public DiagnosisWindow Window { get; } = new();

        public double[] DiagnosisTimes() => Diagnoses.Order().ToArray();

        public Task IncidentChangedAsync(Incident incident, IncidentChange change, string? detail, string? newsKey, CancellationToken cancellationToken)
        {
            var now = Stopwatch.GetTimestamp();
            foreach (var pod in incident.Pods)
            {
                _openedAt.TryAdd(pod.Pod, now);
                if (incident.Diagnosis is not null)
                {
                    _at.TryAdd(pod.Pod, now);
                }
            }

            return Task.CompletedTask;
        }
    }
}
