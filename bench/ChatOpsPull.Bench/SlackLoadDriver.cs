using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using ChatOpsPull.Chat.Slack;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ChatOpsPull.Bench;

/// <summary>
/// HTTP load driver for the Slack acknowledgement path: signs slash commands, button clicks and events exactly like
/// Slack and measures how fast a running bot acknowledges them. It also runs a sink that stands in for Slack's Web API
/// and response URLs, so the bot's follow-ups have somewhere to go. Only loopback addresses are accepted.
/// </summary>
public static class SlackLoadDriver
{
    private const string Usage = """
        usage: dotnet run -c Release --project bench/ChatOpsPull.Bench -- slack-load [options]
          --url URL            the running bot (default http://127.0.0.1:8080)
          --secret SECRET      its Slack:SigningSecret (default bench-signing-secret)
          --kind KIND          commands | clicks | events (default commands)
          --requests N         measured requests (default 2000)
          --concurrency N      requests in flight (default 8)
          --warmup N           unmeasured requests first (default 200)
          --sink-port N        port of the fake Slack sink (default 18099)
        Start the bot with:
          dotnet run -c Release --project src/ChatOpsPull -- --Urls=http://127.0.0.1:8080 --Bot:DataDirectory=/tmp/bench-data \
            --Slack:SigningSecret=bench-signing-secret --Slack:BotToken=xoxb-bench \
            --Slack:ApiBaseUrl=http://127.0.0.1:18099/api/ --Slack:ResponseUrlPrefixes:0=http://127.0.0.1:18099/hooks/ \
            --Outbox:MessageInterval=00:00:00
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        var options = Parse(args);
        if (options is null)
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }

        if (!options.Url.IsLoopback)
        {
            Console.Error.WriteLine("slack-load only sends to loopback addresses (127.0.0.0/8, localhost, ::1).");
            return 2;
        }

        await using var sink = await StartSinkAsync(options.SinkPort);
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = options.Concurrency, PooledConnectionLifetime = TimeSpan.FromMinutes(10) };
        using var http = new HttpClient(handler) { BaseAddress = options.Url, Timeout = TimeSpan.FromSeconds(30) };

        Console.WriteLine($"slack-load: {options.Kind} against {options.Url} — {options.Warmup} warm-up, {options.Requests} measured, {options.Concurrency} in flight");
        await RunBatchAsync(http, options, options.Warmup, measure: false);
        var wall = Stopwatch.StartNew();
        var result = await RunBatchAsync(http, options, options.Requests, measure: true);
        wall.Stop();

        var latencies = result.Latencies.Order().ToArray();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"acknowledged {latencies.Length - result.Failures}/{latencies.Length} with 2xx in {wall.Elapsed.TotalSeconds:F2} s = {latencies.Length / wall.Elapsed.TotalSeconds:F0} requests/s"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"latency ms: p50 {Percentile(latencies, 0.50):F2}  p90 {Percentile(latencies, 0.90):F2}  p99 {Percentile(latencies, 0.99):F2}  max {latencies[^1]:F2}"));
        await Task.Delay(TimeSpan.FromSeconds(2));
        Console.WriteLine($"follow-ups the bot sent to the sink so far: {sink.Received}");
        if (result.FirstError is not null)
        {
            Console.WriteLine("first non-2xx answer: " + result.FirstError);
        }

        return result.Failures == 0 ? 0 : 1;
    }

    private static async Task<Batch> RunBatchAsync(HttpClient http, Options options, int count, bool measure)
    {
        var latencies = new double[count];
        var next = -1;
        var failures = 0;
        string? firstError = null;
        var workers = Enumerable.Range(0, options.Concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                using var request = BuildRequest(options, i, measure);
                var started = Stopwatch.GetTimestamp();
                using var response = await http.SendAsync(request);
                await response.Content.ReadAsByteArrayAsync();
                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                if (!response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref failures);
                    Interlocked.CompareExchange(ref firstError, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}", null);
                }
            }
        });
        await Task.WhenAll(workers);
        return new Batch(latencies, failures, firstError);
    }

    private static HttpRequestMessage BuildRequest(Options options, int i, bool measured)
    {
        var responseUrl = $"http://127.0.0.1:{options.SinkPort}/hooks/T0BENCH/{i}/x";
        var (path, body, contentType) = options.Kind switch
        {
            "clicks" => ("/slack/interactions", "payload=" + Uri.EscapeDataString(ClickJson(i, responseUrl)), "application/x-www-form-urlencoded"),
            "events" => ("/slack/events", EventJson(i, measured), "application/json"),
            _ => ("/slack/commands",
                "token=x&team_id=T0BENCH&channel_id=C0BENCH01&channel_name=ops&user_id=U0BENCH01&user_name=bench&command=%2Fpullbot&text=status"
                + "&response_url=" + Uri.EscapeDataString(responseUrl) + "&trigger_id=1.2.3", "application/x-www-form-urlencoded"),
        };
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var bytes = Encoding.UTF8.GetBytes(body);
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        request.Headers.Add(SlackSignature.TimestampHeader, timestamp);
        request.Headers.Add(SlackSignature.SignatureHeader, SlackSignature.Compute(options.Secret, timestamp, bytes));
        return request;
    }

    private static string ClickJson(int i, string responseUrl) =>
        $$"""{"type":"block_actions","user":{"id":"U0BENCH01","username":"bench"},"channel":{"id":"C0BENCH{{i % 20:D2}}"},"container":{"type":"message","message_ts":"1700000000.000100","channel_id":"C0BENCH01"},"message":{"ts":"1700000000.000100"},"response_url":"{{responseUrl}}","actions":[{"action_id":"approve-0","block_id":"actions-0","type":"button","value":"approve|apr-{{i:D6}}"}]}""";

    private static string EventJson(int i, bool measured) =>
        $$$"""{"type":"event_callback","event_id":"Ev{{{(measured ? "M" : "W")}}}{{{Environment.ProcessId}}}X{{{i}}}","event":{"type":"reaction_added","user":"U0BENCH01","reaction":"eyes"}}""";

    private static double Percentile(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    private static async Task<Sink> StartSinkAsync(int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, port));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var sink = new Sink(app);
        var ts = 1_700_000_000_000_000L;
        app.MapPost("/api/{method}", (string method) =>
        {
            sink.Count();
            var next = Interlocked.Increment(ref ts);
            return Results.Text($$"""{"ok":true,"channel":"C0BENCH01","ts":"{{next / 1_000_000}}.{{next % 1_000_000:D6}}","usergroups":[]}""", "application/json");
        });
        app.MapPost("/hooks/{**rest}", () =>
        {
            sink.Count();
            return Results.Text("""{"ok":true}""", "application/json");
        });
        await app.StartAsync();
        return sink;
    }

    private static Options? Parse(string[] args)
    {
        var options = new Options();
        for (var i = 0; i < args.Length; i += 2)
        {
            if (i + 1 >= args.Length)
            {
                return null;
            }

            var value = args[i + 1];
            switch (args[i])
            {
                case "--url":
                    options.Url = new Uri(value);
                    break;
                case "--secret":
                    options.Secret = value;
                    break;
                case "--kind" when value is "commands" or "clicks" or "events":
                    options.Kind = value;
                    break;
                case "--requests":
                    options.Requests = int.Parse(value, CultureInfo.InvariantCulture);
                    break;
                case "--concurrency":
                    options.Concurrency = int.Parse(value, CultureInfo.InvariantCulture);
                    break;
                case "--warmup":
                    options.Warmup = int.Parse(value, CultureInfo.InvariantCulture);
                    break;
                case "--sink-port":
                    options.SinkPort = int.Parse(value, CultureInfo.InvariantCulture);
                    break;
                default:
                    return null;
            }
        }

        return options.Requests > 0 && options.Concurrency > 0 && options.Warmup >= 0 ? options : null;
    }

    private sealed class Options
    {
        public Uri Url { get; set; } = new("http://127.0.0.1:8080");

        public string Secret { get; set; } = "bench-signing-secret";

        public string Kind { get; set; } = "commands";

        public int Requests { get; set; } = 2000;

        public int Concurrency { get; set; } = 8;

        public int Warmup { get; set; } = 200;

        public int SinkPort { get; set; } = 18099;
    }

    private sealed record Batch(double[] Latencies, int Failures, string? FirstError);

    private sealed class Sink(WebApplication app) : IAsyncDisposable
    {
        private int _received;

        public int Received => _received;

        public void Count() => Interlocked.Increment(ref _received);

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
