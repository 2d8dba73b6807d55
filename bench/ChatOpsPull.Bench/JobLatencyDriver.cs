using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Incidents;
using ChatOpsPull.Web;
using Hangfire;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Microsoft.Extensions.DependencyInjection;
using ChatOpsPull.Hosting;

namespace ChatOpsPull.Bench;

/// <summary>The job a latency run enqueues: records how long after its enqueue it started.</summary>
public static class LatencyProbe
{
    private static readonly ConcurrentQueue<double> Samples = new();
    private static readonly SemaphoreSlim Arrived = new(0);

    /// <summary>Runs on a Hangfire worker; <paramref name="enqueuedUtcTicks"/> is the wall clock at enqueue (comparable across processes).</summary>
    public static void Run(long enqueuedUtcTicks)
    {
        Samples.Enqueue(TimeSpan.FromTicks(DateTime.UtcNow.Ticks - enqueuedUtcTicks).TotalMilliseconds);
        Arrived.Release();
    }

    public static async Task<bool> WaitAsync(TimeSpan timeout) => await Arrived.WaitAsync(timeout);

    public static IReadOnlyList<double> Drain()
    {
        var list = new List<double>();
        while (Samples.TryDequeue(out var s))
        {
            list.Add(s);
        }

        return list;
    }
}

/// <summary>
/// Console drivers (not BenchmarkDotNet): real host, real Hangfire, real storage.
/// <code>
/// dotnet run -c Release --project bench/ChatOpsPull.Bench -- job-latency sqlite [rounds]
/// dotnet run -c Release --project bench/ChatOpsPull.Bench -- job-latency postgres [rounds]      (same replica enqueues)
/// dotnet run -c Release --project bench/ChatOpsPull.Bench -- job-latency postgres-replica [rounds]  (another process enqueues: LISTEN/NOTIFY)
/// dotnet run -c Release --project bench/ChatOpsPull.Bench -- incident-storm sqlite|postgres [pods] [workloads]
/// </code>
/// </summary>
public static class Drivers
{
    public static bool TryRun(string[] args, out Task<int> run)
    {
        run = args.FirstOrDefault() switch
        {
            "job-latency" => JobLatencyAsync(args[1..]),
            "job-enqueue" => EnqueueFromAnotherProcessAsync(args[1..]),
            "incident-storm" => IncidentStormAsync(args[1..]),
            _ => Task.FromResult(-1),
        };
        return args.FirstOrDefault() is "job-latency" or "job-enqueue" or "incident-storm";
    }

    private static async Task<int> JobLatencyAsync(string[] args)
    {
        var storage = args.ElementAtOrDefault(0) ?? "sqlite";
        var rounds = int.Parse(args.ElementAtOrDefault(1) ?? "30", CultureInfo.InvariantCulture);
        var notify = !args.Contains("--no-notify");
        await using var pg = storage.StartsWith("postgres", StringComparison.Ordinal) ? await ThrowawayPostgres.StartAsync() : null;
        var data = Directory.CreateTempSubdirectory("chatopspull-bench-").FullName;
        try
        {
            var app = BotHost.Build([.. Settings(data, pg, workers: 4), "--Jobs:PostgresNotify=" + notify]);
            await app.StartAsync();
            await Task.Delay(2000); // workers settle into their idle wait
            var jobs = app.Services.GetRequiredService<IBackgroundJobClient>();
            if (storage == "postgres-replica")
            {
                var self = typeof(Drivers).Assembly.Location;
                using var child = Process.Start(new ProcessStartInfo("dotnet") { ArgumentList = { self, "job-enqueue", pg!.ConnectionString, (rounds + 1).ToString(CultureInfo.InvariantCulture) } })!;
                for (var i = 0; i < rounds + 1; i++)
                {
                    if (!await LatencyProbe.WaitAsync(TimeSpan.FromSeconds(30)))
                    {
                        throw new TimeoutException("a probe job did not start within 30 s");
                    }
                }

                await child.WaitForExitAsync();
            }
            else
            {
                for (var i = 0; i < rounds + 1; i++)
                {
                    jobs.Enqueue(() => LatencyProbe.Run(DateTime.UtcNow.Ticks));
                    if (!await LatencyProbe.WaitAsync(TimeSpan.FromSeconds(30)))
                    {
                        throw new TimeoutException("a probe job did not start within 30 s");
                    }

                    await Task.Delay(Random.Shared.Next(100, 700)); // land at a different point of the poll cycle each time
                }
            }

            Report($"job-latency {storage}{(notify ? string.Empty : " (LISTEN/NOTIFY off)")}: enqueue → job start (first, warm-up round dropped)", LatencyProbe.Drain().Skip(1).ToList());
            await app.StopAsync();
            await app.DisposeAsync();
            return 0;
        }
        finally
        {
            TryDelete(data);
        }
    }

    /// <summary>Child process of "postgres-replica": only enqueues (no server, so no in-process wake-up), spaced out.</summary>
    private static async Task<int> EnqueueFromAnotherProcessAsync(string[] args)
    {
        var options = new PostgreSqlStorageOptions { SchemaName = "hangfire", EnableLongPolling = true, PrepareSchemaIfNecessary = false };
        var storage = new PostgreSqlStorage(new NpgsqlConnectionFactory(args[0], options), options);
        GlobalConfiguration.Configuration.UseSimpleAssemblyNameTypeSerializer().UseRecommendedSerializerSettings();
        var client = new BackgroundJobClient(storage);
        var rounds = int.Parse(args[1], CultureInfo.InvariantCulture);
        for (var i = 0; i < rounds; i++)
        {
            client.Enqueue(() => LatencyProbe.Run(DateTime.UtcNow.Ticks));
            await Task.Delay(Random.Shared.Next(300, 900));
        }

        return 0;
    }

    private static async Task<int> IncidentStormAsync(string[] args)
    {
        var storage = args.ElementAtOrDefault(0) ?? "sqlite";
        var pods = int.Parse(args.ElementAtOrDefault(1) ?? "1000", CultureInfo.InvariantCulture);
        var workloads = int.Parse(args.ElementAtOrDefault(2) ?? "10", CultureInfo.InvariantCulture);
        await using var pg = storage == "postgres" ? await ThrowawayPostgres.StartAsync() : null;
        var data = Directory.CreateTempSubdirectory("chatopspull-bench-").FullName;
        try
        {
            var app = BotHost.Build(Settings(data, pg, workers: 2));
            await app.StartAsync();
            var engine = app.Services.GetRequiredService<IncidentEngine>();
            var store = app.Services.GetRequiredService<IncidentStore>();
            var now = DateTimeOffset.UtcNow;
            var failures = Enumerable.Range(0, pods).Select(i => new PullFailure(
                    FailureSource.KubernetesWatch, "bench", "shop", $"w{i % workloads}-{i}", "app", ContainerKind.Regular,
                    $"registry.example.com/shop/w{i % workloads}:1.0", "ErrImagePull", "manifest unknown: not found", now)
                { Workload = new WorkloadRef("Deployment", $"w{i % workloads}") })
                .ToList();
            var each = new ConcurrentQueue<double>();
            var total = Stopwatch.StartNew();
            await Parallel.ForEachAsync(failures, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (f, ct) =>
            {
                var one = Stopwatch.StartNew();
                await engine.ReportAsync(f, ct);
                each.Enqueue(one.Elapsed.TotalMilliseconds);
            });
            total.Stop();
            var open = await store.ListOpenAsync("bench");
            Console.WriteLine($"incident-storm {storage}: {pods} pods over {workloads} workloads in {total.Elapsed.TotalSeconds:0.00} s ({pods / total.Elapsed.TotalSeconds:0} reports/s); incidents open: {open.Count}, pods in them: {open.Sum(i => i.ActivePodCount)}");
            Report("  per report", each.ToList());
            await app.StopAsync();
            await app.DisposeAsync();
            return open.Count == workloads && open.Sum(i => i.ActivePodCount) == pods ? 0 : 1;
        }
        finally
        {
            TryDelete(data);
        }
    }

    private static string[] Settings(string data, ThrowawayPostgres? pg, int workers)
    {
        var settings = new List<string>
        {
            "--Urls=http://127.0.0.1:0",
            "--Bot:DataDirectory=" + data,
            "--Jobs:WorkerCount=" + workers.ToString(CultureInfo.InvariantCulture),
            "--Logging:LogLevel:Default=Warning",
        };
        if (pg is not null)
        {
            settings.Add("--Storage:Provider=Postgres");
            settings.Add("--Storage:ConnectionString=" + pg.ConnectionString);
        }

        return [.. settings];
    }

    private static void Report(string what, IReadOnlyList<double> samples)
    {
        var sorted = samples.Order().ToArray();
        double At(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Floor(q * sorted.Length))];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{what}: n={sorted.Length} min={sorted[0]:0} ms median={At(0.5):0} ms p90={At(0.9):0} ms max={sorted[^1]:0} ms"));
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
