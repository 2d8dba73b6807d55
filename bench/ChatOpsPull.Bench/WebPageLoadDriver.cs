using System.Diagnostics;
using System.Globalization;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Incidents;
using ChatOpsPull.Tests.Infrastructure;
using ChatOpsPull.Web;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using ChatOpsPull.Hosting;

namespace ChatOpsPull.Bench;

/// <summary>
/// <c>web-page-load [--incidents 50] [--requests 2000] [--concurrency 8] [--path /web/cards]</c>: starts the real host on a
/// free loopback port with a temp SQLite directory and no users (so loopback may read the page), reports the given number
/// of failing workloads through the incident engine, then requests the page's card fragment (or the whole page) with
/// that many requests in flight and prints latency percentiles. Loopback only; bounded in count; stops by itself.
/// </summary>
public static class WebPageLoadDriver
{
    public const string Mode = "web-page-load";

    public static async Task<int> RunAsync(string[] args)
    {
        var incidents = Option(args, "--incidents", 50);
        var requests = Option(args, "--requests", 2000);
        var concurrency = Option(args, "--concurrency", 8);
        var path = args.SkipWhile(a => a != "--path").Skip(1).FirstOrDefault() ?? WebPageView.CardsPath;
        if (incidents is < 0 or > 500 || requests is < 1 or > 100_000 || concurrency is < 1 or > 64 || !path.StartsWith('/'))
        {
            Console.Error.WriteLine("usage: web-page-load [--incidents 0..500] [--requests 1..100000] [--concurrency 1..64] [--path /web/cards|/]");
            return 2;
        }

        var data = Directory.CreateTempSubdirectory("chatopspull-bench-web-").FullName;
        var port = FreePort.Next();
        var app = BotHost.Build(
        [
            $"--urls=http://127.0.0.1:{port}",
            $"--Bot:DataDirectory={data}",
            "--Bot:Cluster=bench",
            "--Kubernetes:WatchEnabled=false",
            "--Logging:LogLevel:Default=Warning",
        ]);
        try
        {
            await app.StartAsync();
            var engine = app.Services.GetRequiredService<IncidentEngine>();
            for (var i = 0; i < incidents; i++)
            {
                await engine.ReportAsync(
                    new PullFailure(FailureSource.Webhook, "bench", $"team-{i % 7}", $"app-{i}-7d9c-x2x4p", "app", ContainerKind.Regular, $"registry.example.com/team/app-{i}:1.4.{i}", "ErrImagePull", $"Failed to pull image \"registry.example.com/team/app-{i}:1.4.{i}\": not found", DateTimeOffset.UtcNow)
                    {
                        Workload = new WorkloadRef("Deployment", $"app-{i}"),
                    },
                    CancellationToken.None);
            }

            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency }) { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
            await RunAsync(http, path, Math.Min(200, requests), concurrency, null);
            var latencies = new List<double>(requests);
            var wall = Stopwatch.StartNew();
            var failures = await RunAsync(http, path, requests, concurrency, latencies);
            wall.Stop();
            latencies.Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"web-page-load {path}: {incidents} incidents, {requests} requests, {concurrency} in flight: {requests / wall.Elapsed.TotalSeconds:0} req/s, p50 {Pct(latencies, 50):0.0} ms, p90 {Pct(latencies, 90):0.0} ms, p99 {Pct(latencies, 99):0.0} ms, max {latencies[^1]:0.0} ms, {failures} non-200"));
            return failures == 0 ? 0 : 1;
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            try
            {
                Directory.Delete(data, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static async Task<int> RunAsync(HttpClient http, string path, int count, int concurrency, List<double>? latencies)
    {
        var next = -1;
        var failures = 0;
        var sync = new object();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async worker =>
        {
            while (Interlocked.Increment(ref next) < count)
            {
                var started = Stopwatch.GetTimestamp();
                using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
                _ = await response.Content.ReadAsByteArrayAsync();
                var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                lock (sync)
                {
                    latencies?.Add(ms);
                    failures += response.IsSuccessStatusCode ? 0 : 1;
                }
            }
        }));
        return failures;
    }

    private static double Pct(List<double> sorted, int percent) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(percent / 100.0 * sorted.Count) - 1)];

    private static int Option(string[] args, string name, int fallback)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length && int.TryParse(args[index + 1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : fallback;
    }
}
