using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using ChatOpsPull.Web;
using Microsoft.AspNetCore.Builder;
using ChatOpsPull.Hosting;

namespace ChatOpsPull.Bench;

/// <summary>
/// <c>probe-load [--requests N] [--concurrency C]</c>: the real host on Kestrel (loopback, a throwaway SQLite directory)
/// under kubelet-style probes and a flood of forged requests, N requests per kind, C at a time. Prints requests/s and
/// latency percentiles per kind, and checks every answer (200 for probes, 401 for forgeries). Bounded: stops by itself.
/// </summary>
public static class ProbeLoadDriver
{
    public const string Mode = "probe-load";

    public static async Task<int> RunAsync(string[] args)
    {
        var requests = Option(args, "--requests", 5000);
        var concurrency = Option(args, "--concurrency", 16);
        var port = ChatOpsPull.Tests.Infrastructure.FreePort.Next();
        var data = Directory.CreateTempSubdirectory("chatopspull-probe-load-").FullName;
        var app = BotHost.Build(
        [
            $"--Urls=http://127.0.0.1:{port}",
            $"--Bot:DataDirectory={data}",
            "--Logging:LogLevel:Default=Error", // refusals log a warning each; the figures measure the endpoints, not the terminal
            "--Alerts:Generic:BearerToken=probe-load-bearer-token-0123456789",
            "--Slack:SigningSecret=probe-load-signing-secret",
            "--Slack:BotToken=xoxb-probe-load",
            "--Kubernetes:WatchEnabled=false",
        ]);
        await app.StartAsync();
        try
        {
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency }) { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            var kinds = new (string Name, HttpStatusCode Expected, Func<HttpRequestMessage> Request)[]
            {
                ("GET /healthz", HttpStatusCode.OK, () => new HttpRequestMessage(HttpMethod.Get, "/healthz")),
                ("GET /readyz", HttpStatusCode.OK, () => new HttpRequestMessage(HttpMethod.Get, "/readyz")),
                ("POST /alerts, wrong token", HttpStatusCode.Unauthorized, () => ForgedAlert()),
                ("POST /slack/commands, forged signature", HttpStatusCode.Unauthorized, () => ForgedSlack()),
            };
            Console.WriteLine($"probe-load: {requests} requests per kind, {concurrency} at a time, bot on 127.0.0.1:{port} (in process, SQLite)");
            Console.WriteLine($"{"kind",-40} {"req/s",8} {"p50 ms",8} {"p99 ms",8} {"max ms",8} {"wrong",6}");
            var failed = false;
            foreach (var (name, expected, request) in kinds)
            {
                await RunKindAsync(http, request, expected, Math.Min(requests, 200), concurrency); // warm-up
                var (rate, latencies, wrong) = await RunKindAsync(http, request, expected, requests, concurrency);
                failed |= wrong > 0;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-40} {rate,8:0} {Percentile(latencies, 0.50),8:0.00} {Percentile(latencies, 0.99),8:0.00} {latencies[^1],8:0.00} {wrong,6}"));
            }

            return failed ? 1 : 0;
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            Directory.Delete(data, recursive: true);
        }
    }

    private static async Task<(double Rate, double[] Latencies, int Wrong)> RunKindAsync(HttpClient http, Func<HttpRequestMessage> build, HttpStatusCode expected, int count, int concurrency)
    {
        var latencies = new double[count];
        var wrong = 0;
        var started = Stopwatch.StartNew();
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (i, ct) =>
        {
            var at = Stopwatch.GetTimestamp();
            using var request = build();
            using var response = await http.SendAsync(request, ct);
            await response.Content.ReadAsByteArrayAsync(ct);
            latencies[i] = Stopwatch.GetElapsedTime(at).TotalMilliseconds;
            if (response.StatusCode != expected)
            {
                Interlocked.Increment(ref wrong);
            }
        });
        var rate = count / started.Elapsed.TotalSeconds;
        Array.Sort(latencies);
        return (rate, latencies, wrong);
    }

    private static HttpRequestMessage ForgedAlert()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/alerts")
        {
            Content = new StringContent("""{"status":"firing","namespace":"shop","pod":"api-1","reason":"ImagePullBackOff"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "forged-forged-forged-forged");
        return request;
    }

    private static HttpRequestMessage ForgedSlack()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/slack/commands")
        {
            Content = new StringContent("command=%2Fpullbot&text=status&user_id=U1&channel_id=C1", Encoding.UTF8, "application/x-www-form-urlencoded"),
        };
        request.Headers.Add("X-Slack-Request-Timestamp", DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        request.Headers.Add("X-Slack-Signature", "v0=" + new string('0', 64));
        return request;
    }

    private static double Percentile(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    private static int Option(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length && int.TryParse(args[at + 1], CultureInfo.InvariantCulture, out var value) && value > 0 ? value : fallback;
    }
}
