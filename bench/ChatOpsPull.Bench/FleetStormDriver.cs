using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Detection.KubernetesWatch;
using ChatOpsPull.Hosting;
using ChatOpsPull.Incidents;
using ChatOpsPull.Simulation.KubernetesApi;
using ChatOpsPull.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using k8s;
using Npgsql;

namespace ChatOpsPull.Bench;

/// <summary>
/// A fleet on one PostgreSQL database, on real parts:
/// <c>dotnet run -c Release --project bench/ChatOpsPull.Bench -- fleet-storm [--clusters 20] [--storm 5] [--pods 100] [--workloads 5] [--pool N] [--Section:Key=value …]</c>.
/// <c>clusters</c> whole bots (BotHost in fleet mode, each with its own Kubernetes API stand-in, its own Npgsql pool and
/// Hangfire server on its own cluster queue plus the shared one) share one throwaway PostgreSQL, one registry (Debian's
/// docker-registry) and one Slack Web API stand-in; each cluster's cards are routed to a channel of its own. After an idle
/// window (what the fleet costs the database doing nothing), <c>storm</c> clusters at once turn <c>pods</c> pods each
/// (over <c>workloads</c> Deployments) into ErrImagePull. Reported: status change → incident diagnosed per storming cluster
/// (p50/p99/max), database connections (per bot and in all) and load (transactions, rows written per second; idle and in
/// the storm), and the outbox's pace per channel (messages, smallest and mean gap), beside a floor measured in the same run
/// (PostgreSQL round trip, registry HEAD, pod read) and the load average.
/// </summary>
public static class FleetStormDriver
{
    public const string Mode = "fleet-storm";

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Contains("--help"))
        {
            Console.WriteLine("fleet-storm [--clusters 20] [--storm 5] [--pods 100] [--workloads 5] [--idle-seconds 15] [--pool N] [--Section:Key=value …]");
            Console.WriteLine("  --pool N: Maximum Pool Size=N in each bot's connection string (default: the throwaway server's 60); the server allows 300 connections.");
            return 0;
        }

        var clusterCount = Option(args, "--clusters", 20);
        var stormCount = Math.Min(clusterCount, Option(args, "--storm", 5));
        var pods = Option(args, "--pods", 100);
        var workloads = Option(args, "--workloads", 5);
        var idleSeconds = Option(args, "--idle-seconds", 15);
        var pool = Option(args, "--pool", 0);
        var work = Directory.CreateTempSubdirectory("chatopspull-fleet-").FullName;
        var bots = new List<WebApplication>();
        var apis = new List<FakeKubernetesApi>();
        var parts = new List<IAsyncDisposable>();
        try
        {
            Console.WriteLine($"fleet-storm: {clusterCount} clusters on one PostgreSQL (max_connections 300, each bot's pool at most {(pool > 0 ? pool : 60)}), a storm of {pods} pods ({workloads} workloads) in {stormCount} of them at once; load average at start {LoadAverage()}");
            var registry = await PullFailureLatencyDriver.StartRegistryAsync(work);
            parts.Add(registry);
            var pg = await ThrowawayPostgres.StartAsync();
            parts.Add(pg);
            var slack = await SlackStandIn.StartAsync();
            parts.Add(slack);

            // The observer's own connection, opened before the bots take theirs.
            var stats = new NpgsqlConnection(pg.ConnectionString + ";Application Name=bench-observer;Pooling=false");
            parts.Add(stats);
            await stats.OpenAsync();
            var clusters = new List<Cluster>();
            var started = Stopwatch.StartNew();
            for (var c = 0; c < clusterCount; c++)
            {
                var name = $"cluster-{c:00}";
                var api = await FakeKubernetesApi.StartAsync();
                apis.Add(api);
                var storming = c < stormCount;
                var seeded = PullFailureLatencyDriver.Seed(api, registry.Host, storming ? pods : workloads, workloads);
                var diagnosed = new DiagnosedPods();
                var bot = BotHost.Build(
                    [
                        "--Urls=http://127.0.0.1:0",
                        "--Bot:DataDirectory=" + Path.Combine(work, name),
                        "--Bot:Cluster=" + name,
                        "--Fleet:Enabled=true",
                        "--Storage:Provider=Postgres",
                        "--Storage:ConnectionString=" + pg.ConnectionString + ";Application Name=" + name + (pool > 0 ? ";Maximum Pool Size=" + pool.ToString(CultureInfo.InvariantCulture) : string.Empty),
                        "--Kubernetes:KubeconfigPath=" + api.WriteKubeconfig(Path.Combine(work, name + "-kube")),
                        "--Registry:Hosts:0:Host=" + registry.Host,
                        "--Registry:Hosts:0:PlainHttp=true",
                        "--Slack:SigningSecret=bench-signing-secret",
                        "--Slack:BotToken=xoxb-bench",
                        "--Slack:ApiBaseUrl=" + slack.ApiUrl,
                        "--Routing:Routes:0:Platform=Slack",
                        "--Routing:Routes:0:Cluster=" + name,
                        "--Routing:Routes:0:Channel=" + Channel(name),
                        "--Logging:LogLevel:Default=Warning",
                        .. args.Where(a => a.StartsWith("--", StringComparison.Ordinal) && a.Contains(':', StringComparison.Ordinal) && a.Contains('=', StringComparison.Ordinal)),
                    ],
                    b => b.Services.AddSingleton<IIncidentNotifier>(diagnosed));
                bots.Add(bot);
                await bot.StartAsync();
                clusters.Add(new Cluster(name, api, bot, seeded, diagnosed, storming));
            }

            foreach (var cluster in clusters)
            {
                var status = cluster.Bot.Services.GetRequiredService<KubernetesWatchStatus>();
                var synced = Stopwatch.StartNew();
                while (status.PodsListed < cluster.Pods.Count && synced.Elapsed < TimeSpan.FromMinutes(2))
                {
                    await Task.Delay(100);
                }
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {clusterCount} bots started and watching in {started.Elapsed.TotalSeconds:0.0} s"));

            // Idle: what the fleet costs the database when nothing happens (job servers polling, heartbeats, leases, sweeps).
            var idleFrom = await DatabaseCounters.ReadAsync(stats);
            var idleClock = Stopwatch.StartNew();
            var idleConnections = new ConnectionSampler();
            while (idleClock.Elapsed < TimeSpan.FromSeconds(idleSeconds))
            {
                await idleConnections.SampleAsync(stats);
                await Task.Delay(500);
            }

            var idle = (await DatabaseCounters.ReadAsync(stats)).Minus(idleFrom, idleClock.Elapsed);

            // The storm: every pod of the storming clusters fails at once (status change plus the kubelet's Failed event).
            var stormFrom = await DatabaseCounters.ReadAsync(stats);
            var stormConnections = new ConnectionSampler();
            var stormClock = Stopwatch.StartNew();
            slack.Reset();
            var changedAt = new ConcurrentDictionary<(string Cluster, string Pod), long>();
            foreach (var cluster in clusters.Where(c => c.Storming))
            {
                foreach (var (ns, pod, image) in cluster.Pods)
                {
                    var message = $"Failed to pull image \"{image}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": {image}: not found";
                    changedAt[(cluster.Name, pod)] = Stopwatch.GetTimestamp();
                    cluster.Api.SetContainerWaiting(ns, pod, "web", "ErrImagePull", message);
                    cluster.Api.Seed(PullFailureLatencyDriver.FailedEvent(ns, pod, message));
                }
            }

            var expected = stormCount * pods;
            while (clusters.Sum(c => c.Diagnosed.Count) < expected && stormClock.Elapsed < TimeSpan.FromMinutes(5))
            {
                await stormConnections.SampleAsync(stats);
                await Task.Delay(250);
            }

            var diagnosedIn = stormClock.Elapsed;
            var storm = (await DatabaseCounters.ReadAsync(stats)).Minus(stormFrom, diagnosedIn);

            // The cards: wait for the outbox to drain (every channel's cards sent), then read its pace per channel.
            var drained = Stopwatch.StartNew();
            while (await PendingOutboxAsync(stats) > 0 && drained.Elapsed < TimeSpan.FromMinutes(5))
            {
                await stormConnections.SampleAsync(stats);
                await Task.Delay(250);
            }

            var floor = await FloorAsync(pg.ConnectionString, registry.Host, clusters[0]);
            Console.WriteLine($"fleet-storm: {clusters.Sum(c => c.Diagnosed.Count)}/{expected} storm pods diagnosed");
            Console.WriteLine("  status change → incident diagnosed, per storming cluster:");
            foreach (var cluster in clusters.Where(c => c.Storming))
            {
                var samples = cluster.Pods
                    .Select(p => cluster.Diagnosed.At(p.Pod) is { } at ? Stopwatch.GetElapsedTime(changedAt[(cluster.Name, p.Pod)], at).TotalMilliseconds : (double?)null)
                    .OfType<double>().Order().ToArray();
                if (samples.Length > 0)
                {
                    PullFailureLatencyDriver.Report($"    {cluster.Name}", samples);
                }
                else
                {
                    Console.WriteLine($"    {cluster.Name}: no pod diagnosed");
                }
            }

            var quiet = clusters.Where(c => !c.Storming).Sum(c => c.Diagnosed.Count);
            Console.WriteLine($"  quiet clusters: {quiet} incidents (expected 0)");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  database, idle ({idleSeconds} s, {clusterCount} bots): {idle}; connections {idleConnections}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  database, storm ({diagnosedIn.TotalSeconds:0.0} s to the last diagnosis): {storm}; connections {stormConnections}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  outbox drained {drained.Elapsed.TotalSeconds:0.0} s after the last diagnosis; Slack calls per channel (Outbox:MessageInterval {(args.FirstOrDefault(a => a.StartsWith("--Outbox:MessageInterval=", StringComparison.Ordinal)) ?? "1 s default")}):"));
            foreach (var line in slack.PaceByChannel())
            {
                Console.WriteLine("    " + line);
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  floor, same run: PostgreSQL SELECT 1 {floor.Postgres:0.00} ms, registry manifest HEAD {floor.Registry:0.0} ms, Kubernetes pod read {floor.Kubernetes:0.0} ms (best of 5); load average now {LoadAverage()}"));
            return clusters.Sum(c => c.Diagnosed.Count) == expected && quiet == 0 ? 0 : 1;
        }
        finally
        {
            for (var i = bots.Count - 1; i >= 0; i--)
            {
                await bots[i].StopAsync();
                await bots[i].DisposeAsync();
            }

            foreach (var api in apis)
            {
                await api.DisposeAsync();
            }

            // The bots are gone: now the database, the Slack stand-in and the registry.
            for (var i = parts.Count - 1; i >= 0; i--)
            {
                await parts[i].DisposeAsync();
            }

            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static string Channel(string cluster) => "C" + cluster.Replace("-", string.Empty, StringComparison.Ordinal).ToUpperInvariant();

    private static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

    private static async Task<long> PendingOutboxAsync(NpgsqlConnection connection)
    {
        await using var command = new NpgsqlCommand("SELECT count(*) FROM chat_outbox WHERE state IN ('pending', 'sending')", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<(double Postgres, double Registry, double Kubernetes)> FloorAsync(string connectionString, string registryHost, Cluster cluster)
    {
        await using var connection = new NpgsqlConnection(connectionString + ";Application Name=bench-floor");
        await connection.OpenAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://{registryHost}") };
        var client = cluster.Bot.Services.GetRequiredService<ChatOpsPull.Kubernetes.KubernetesConnection>().Client!;
        var (ns, pod, _) = cluster.Pods[0];
        double postgres = double.MaxValue, registry = double.MaxValue, kubernetes = double.MaxValue;
        for (var i = 0; i < 6; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await using (var command = new NpgsqlCommand("SELECT 1", connection))
            {
                await command.ExecuteScalarAsync();
            }

            var took = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            postgres = i == 0 ? postgres : Math.Min(postgres, took);
            started = Stopwatch.GetTimestamp();
            using (var head = new HttpRequestMessage(HttpMethod.Head, new Uri("/v2/team/app/manifests/1.4.0", UriKind.Relative)))
            {
                head.Headers.Accept.ParseAdd("application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json");
                using var response = await http.SendAsync(head);
            }

            took = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            registry = i == 0 ? registry : Math.Min(registry, took);
            started = Stopwatch.GetTimestamp();
            await client.CoreV1.ReadNamespacedPodAsync(pod, ns);
            took = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            kubernetes = i == 0 ? kubernetes : Math.Min(kubernetes, took);
        }

        return (postgres, registry, kubernetes);
    }

    private static int Option(string[] args, string name, int fallback) =>
        args.SkipWhile(a => a != name).Skip(1).Select(a => int.Parse(a, CultureInfo.InvariantCulture)).FirstOrDefault(fallback);

    private sealed record Cluster(string Name, FakeKubernetesApi Api, WebApplication Bot, List<(string Namespace, string Pod, string Image)> Pods, DiagnosedPods Diagnosed, bool Storming);

    /// <summary>pg_stat_database's counters for the bots' database: transactions and rows written.</summary>
    private sealed record DatabaseCounters(long Commits, long Rollbacks, long Inserted, long Updated, long Deleted)
    {
        public static async Task<DatabaseCounters> ReadAsync(NpgsqlConnection connection)
        {
            // The statistics collector's snapshot is per transaction: clear it so each read is fresh.
            await using (var clear = new NpgsqlCommand("SELECT pg_stat_clear_snapshot()", connection))
            {
                await clear.ExecuteNonQueryAsync();
            }

            await using var command = new NpgsqlCommand(
                "SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted FROM pg_stat_database WHERE datname = current_database()", connection);
            await using var reader = await command.ExecuteReaderAsync();
            await reader.ReadAsync();
            return new DatabaseCounters(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4));
        }

        public string Minus(DatabaseCounters from, TimeSpan over)
        {
            var seconds = over.TotalSeconds;
            return string.Create(CultureInfo.InvariantCulture,
                $"{(Commits - from.Commits) / seconds:0} commits/s, {(Rollbacks - from.Rollbacks) / seconds:0.0} rollbacks/s, rows written {(Inserted - from.Inserted + Updated - from.Updated + Deleted - from.Deleted) / seconds:0}/s (inserted {(Inserted - from.Inserted) / seconds:0}, updated {(Updated - from.Updated) / seconds:0}, deleted {(Deleted - from.Deleted) / seconds:0})");
        }
    }

    /// <summary>pg_stat_activity, sampled: the bots' connections in all, the most per bot, and how many were busy at once.</summary>
    private sealed class ConnectionSampler
    {
        private long _maxTotal;
        private long _maxActive;
        private long _maxPerBot;
        private double _sumTotal;
        private int _samples;

        public async Task SampleAsync(NpgsqlConnection connection)
        {
            await using var command = new NpgsqlCommand(
                """
                SELECT count(*), count(*) FILTER (WHERE state = 'active'), coalesce(max(n), 0)
                FROM pg_stat_activity a
                LEFT JOIN (SELECT application_name, count(*) AS n FROM pg_stat_activity WHERE application_name LIKE 'cluster-%' GROUP BY application_name) p USING (application_name)
                WHERE a.application_name LIKE 'cluster-%'
                """,
                connection);
            await using var reader = await command.ExecuteReaderAsync();
            await reader.ReadAsync();
            var total = reader.GetInt64(0);
            _maxTotal = Math.Max(_maxTotal, total);
            _maxActive = Math.Max(_maxActive, reader.GetInt64(1));
            _maxPerBot = Math.Max(_maxPerBot, reader.GetInt64(2));
            _sumTotal += total;
            _samples++;
        }

        public override string ToString() => _samples == 0
            ? "not sampled"
            : string.Create(CultureInfo.InvariantCulture, $"open {_sumTotal / _samples:0} on average, at most {_maxTotal} (at most {_maxPerBot} for one bot), at most {_maxActive} busy at once ({_samples} samples)");
    }

    /// <summary>Remembers when each pod was first seen in an incident that is diagnosed.</summary>
    private sealed class DiagnosedPods : IIncidentNotifier
    {
        private readonly ConcurrentDictionary<string, long> _at = new(StringComparer.Ordinal);

        public int Count => _at.Count;

        public long? At(string pod) => _at.TryGetValue(pod, out var at) ? at : null;

        public Task IncidentChangedAsync(Incident incident, IncidentChange change, string? detail, string? newsKey, CancellationToken cancellationToken)
        {
            if (incident.Diagnosis is not null)
            {
                var now = Stopwatch.GetTimestamp();
                foreach (var pod in incident.Pods)
                {
                    _at.TryAdd(pod.Pod, now);
                }
            }

            return Task.CompletedTask;
        }
    }

    /// <summary>Slack's Web API, standing in: answers every method ok and records when each message reached which channel.</summary>
    private sealed class SlackStandIn : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly ConcurrentQueue<(string Channel, string Method, long At)> _calls = new();
        private long _ts = 1_700_000_000_000_000L;

        private SlackStandIn(WebApplication app) => _app = app;

        public string ApiUrl { get; private set; } = string.Empty;

        public static async Task<SlackStandIn> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            var port = FreePort.Next();
            builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, port));
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var slack = new SlackStandIn(app) { ApiUrl = $"http://127.0.0.1:{port}/api/" };
            app.MapPost("/api/{method}", async (string method, HttpRequest request) =>
            {
                var channel = await ChannelOfAsync(request);
                if (method is "chat.postMessage" or "chat.update")
                {
                    slack._calls.Enqueue((channel, method, Stopwatch.GetTimestamp()));
                }

                var next = Interlocked.Increment(ref slack._ts);
                return Results.Text(
                    JsonSerializer.Serialize(new Dictionary<string, object> { ["ok"] = true, ["channel"] = channel, ["ts"] = $"{next / 1_000_000}.{next % 1_000_000:D6}", ["usergroups"] = Array.Empty<object>() }),
                    "application/json");
            });
            await app.StartAsync();
            return slack;
        }

        public void Reset() => _calls.Clear();

        public IEnumerable<string> PaceByChannel()
        {
            foreach (var channel in _calls.GroupBy(c => c.Channel).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                var at = channel.Select(c => c.At).Order().ToArray();
                var gaps = at.Zip(at.Skip(1), (a, b) => Stopwatch.GetElapsedTime(a, b).TotalMilliseconds).ToArray();
                var posts = channel.Count(c => c.Method == "chat.postMessage");
                yield return gaps.Length == 0
                    ? $"{channel.Key}: {at.Length} call(s) ({posts} new messages)"
                    : string.Create(CultureInfo.InvariantCulture,
                        $"{channel.Key}: {at.Length} calls ({posts} new messages, {at.Length - posts} updates) over {Stopwatch.GetElapsedTime(at[0], at[^1]).TotalSeconds:0.0} s, smallest gap {gaps.Min():0} ms, mean gap {gaps.Average():0} ms, {at.Length / Math.Max(1, Stopwatch.GetElapsedTime(at[0], at[^1]).TotalSeconds):0.00} calls/s");
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        private static async Task<string> ChannelOfAsync(HttpRequest request)
        {
            if (request.HasFormContentType)
            {
                var form = await request.ReadFormAsync();
                return form["channel"].ToString();
            }

            try
            {
                using var body = await JsonDocument.ParseAsync(request.Body);
                return body.RootElement.TryGetProperty("channel", out var channel) ? channel.GetString() ?? string.Empty : string.Empty;
            }
            catch (JsonException)
            {
                return string.Empty;
            }
        }
    }
}
