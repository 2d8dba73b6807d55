using System.Diagnostics;
using System.Globalization;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Incidents;
using ChatOpsPull.Tests.Infrastructure;
using ChatOpsPull.Web;
using ChatOpsPull.Chat.Cards;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using ChatOpsPull.Hosting;

namespace ChatOpsPull.Bench;

/// <summary>
/// <c>web-page-load [--incidents 50] [--requests 2000] [--concurrency 8] [--path /web/cards]</c>: starts the real host on a
/// free loopback port with a temp SQLite directory and no users (so loopback may read the page), reports the given number
/// of failing workloads through the incident engine, then requests the page's card fragment (or the whole page) with
/// that many requests in flight and prints latency percentiles, beside two floors measured in the same run: an empty Kestrel endpoint of the same host, and an endpoint of
/// the same host behind the same login policy that answers with the same bytes already in memory. First it times each
/// part of a request alone (reading the stores, building, rendering, the antiforgery token, the cache).
/// Loopback only; bounded in count; stops by itself.
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
        var floorBody = Array.Empty<byte>();
        app.MapGet(FloorPath, (HttpContext context) =>
        {
            context.Response.Headers.CacheControl = "no-store";
            return Results.Bytes(floorBody, "text/html; charset=utf-8");
        }).RequireAuthorization(LocalLoginServices.Policy);
        app.MapGet(EmptyPath, () => Results.Ok());
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

            // The diagnoses the reports started change every card once; measure the page after they have landed
            // (pending ones, whether a sweep has taken them or not).
            var store = app.Services.GetRequiredService<IncidentStore>();
            var settle = Stopwatch.StartNew();
            while ((await store.ListPendingDiagnosesAsync(DateTimeOffset.UtcNow.AddHours(1), DateTimeOffset.UtcNow.AddHours(1))).Count > 0 && settle.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(100);
            }

            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency }) { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
            floorBody = await http.GetByteArrayAsync(new Uri(path, UriKind.Relative));
            Breakdown(app.Services, incidents);
            await RunAsync(http, path, Math.Min(200, requests), concurrency, null);
            await RunAsync(http, FloorPath, Math.Min(200, requests), concurrency, null);
            await RunAsync(http, EmptyPath, Math.Min(200, requests), concurrency, null);

            // The floors: an empty Kestrel endpoint of the same host, and the same login policy and response size with
            // the body already in memory.
            var empty = await MeasureAsync(http, EmptyPath, requests, concurrency);
            var floor = await MeasureAsync(http, FloorPath, requests, concurrency);
            var cache = app.Services.GetRequiredService<WebCardsCache>();
            var readsBefore = cache.Reads;
            var page = await MeasureAsync(http, path, requests, concurrency);
            Console.WriteLine($"web-page-load: {incidents} incidents, {requests} requests, {concurrency} in flight, {floorBody.Length / 1024.0:0.0} KiB per response; load average {LoadAverage()}");
            Console.WriteLine($"  {path,-12} {page.Text}; the board was read {cache.Reads - readsBefore} times");
            Console.WriteLine($"  {"same bytes",-12} {floor.Text}");
            Console.WriteLine($"  {"empty",-12} {empty.Text}");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {path} serves {page.PerSecond / floor.PerSecond:0%} of the same-bytes endpoint's requests/s and {page.PerSecond / empty.PerSecond:0%} of the empty endpoint's"));
            return page.Failures == 0 && floor.Failures == 0 && empty.Failures == 0 ? 0 : 1;
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

    /// <summary>An endpoint of the bench itself that answers with the fragment's bytes, already in memory.</summary>
    private const string FloorPath = "/bench/floor";

    /// <summary>An empty Kestrel endpoint of the same host: no login policy, no body.</summary>
    private const string EmptyPath = "/bench/empty";

    private sealed record Measured(double PerSecond, int Failures, string Text);

    private static async Task<Measured> MeasureAsync(HttpClient http, string path, int requests, int concurrency)
    {
        var latencies = new List<double>(requests);
        var wall = Stopwatch.StartNew();
        var failures = await RunAsync(http, path, requests, concurrency, latencies);
        wall.Stop();
        latencies.Sort();
        var perSecond = requests / wall.Elapsed.TotalSeconds;
        return new Measured(perSecond, failures, string.Create(CultureInfo.InvariantCulture,
            $"{perSecond,6:0} req/s, p50 {Pct(latencies, 50):0.0} ms, p90 {Pct(latencies, 90):0.0} ms, p99 {Pct(latencies, 99):0.0} ms, max {latencies[^1]:0.0} ms, {failures} non-200"));
    }

    /// <summary>Where one request's time goes, each part alone in this process (one at a time, after a warm-up).</summary>
    private static void Breakdown(IServiceProvider services, int incidents)
    {
        var board = services.GetRequiredService<WebIncidentBoard>();
        var cache = services.GetRequiredService<WebCardsCache>();
        var antiforgery = services.GetRequiredService<IAntiforgery>();
        IReadOnlyList<WebBoardCard> read = [];
        IReadOnlyList<Card> built = [];
        var parts = new[]
        {
            ("read the stores (incidents, pods, approvals and runs per incident)", (Func<Task>)(async () => read = await board.ReadAsync(CancellationToken.None))),
            ("build the cards", () => { built = [.. read.Select(c => c.Build())]; return Task.CompletedTask; }),
            ("render them as HTML", () => { _ = WebPageView.Cards(built, "__RequestVerificationToken", "CfDJ8-bench-token-0123456789abcdefghijklmnopqrstuvwxyz"); return Task.CompletedTask; }),
            ("antiforgery token", () => { _ = antiforgery.GetAndStoreTokens(new DefaultHttpContext { RequestServices = services }); return Task.CompletedTask; }),
            ("the rendered cards from the cache", async () => _ = await cache.GetAsync(CancellationToken.None)),
        };
        Console.WriteLine($"where a request's time goes ({incidents} incidents, each part alone, mean of 200 after 20 warm-up calls):");
        foreach (var (what, part) in parts)
        {
            for (var i = 0; i < 20; i++)
            {
                part().GetAwaiter().GetResult();
            }

            var watch = Stopwatch.StartNew();
            for (var i = 0; i < 200; i++)
            {
                part().GetAwaiter().GetResult();
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {watch.Elapsed.TotalMilliseconds * 1000 / 200,9:0.0} µs  {what}"));
        }
    }

    private static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static async Task<int> RunAsync(HttpClient http, string path, int count, int concurrency, List<double>? latencies)
    {
        var next = -1;
        var failures = 0;
        var sync = new object();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async worker =>
        {
            // Each worker drains bodies into one reused buffer: a 190 KiB array per response would land on the large
            // object heap and the client's own gen-2 collections would be what the run measures.
            var buffer = new byte[64 * 1024];
            while (Interlocked.Increment(ref next) < count)
            {
                var started = Stopwatch.GetTimestamp();
                using var response = await http.GetAsync(new Uri(path, UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
                await using (var body = await response.Content.ReadAsStreamAsync())
                {
                    while (await body.ReadAsync(buffer) > 0)
                    {
                    }
                }

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
