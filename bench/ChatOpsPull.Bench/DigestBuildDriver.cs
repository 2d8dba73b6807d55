using System.Diagnostics;
using System.Globalization;
using ChatOpsPull.Chat.Slack.BlockKit;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Digest;
using ChatOpsPull.Incidents;
using ChatOpsPull.Kubernetes;
using ChatOpsPull.Storage;
using ChatOpsPull.Web;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ChatOpsPull.Chat.Digest;
using ChatOpsPull.Hosting;

namespace ChatOpsPull.Bench;

/// <summary>
/// <c>digest-build [--incidents 10000] [--pulls 100000] [--runs 5] [--out DIR]</c>: seeds a fresh SQLite database with a week of
/// incidents (3 pods each, 30% still open) and Pulled events over 5 registries and 300 images, then times building the
/// digest (database reads + insights), the card, and the chart PNG, separately and together. With --out, writes the
/// Slack rendering (digest-slack.json) and the chart (digest-chart.png) there.
/// </summary>
public static class DigestBuildDriver
{
    public const string Mode = "digest-build";

    public static async Task<int> RunAsync(string[] args)
    {
        var incidents = Option(args, "--incidents", 10_000);
        var pulls = Option(args, "--pulls", 100_000);
        var runs = Option(args, "--runs", 5);
        var data = Directory.CreateTempSubdirectory("chatopspull-digest-bench-").FullName;
        try
        {
            var app = BotHost.Build(
                [
                    "--Bot:DataDirectory=" + data, "--Bot:Cluster=prod-eu", "--Urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning",
                    "--Kubernetes:WatchEnabled=false", "--Jobs:RunServer=false",
                    "--Digest:Schedules:0:Platform=Slack", "--Digest:Schedules:0:Channel=C0BENCH", "--Digest:Schedules:0:Cron=0 9 * * 1",
                    "--Digest:Schedules:0:TimeZone=Europe/Berlin", "--Digest:Schedules:0:Cluster=prod-eu", "--Digest:Schedules:0:Period=7d",
                ],
                builder =>
                {
                    builder.Services.RemoveAll<KubernetesConnection>();
                    builder.Services.AddSingleton(KubernetesConnection.None("the benchmark reads no cluster"));
                });
            await app.StartAsync();
            var to = new DateTimeOffset(2026, 3, 23, 8, 0, 0, TimeSpan.Zero);
            var seeding = Stopwatch.StartNew();
            await SeedAsync(app.Services.GetRequiredService<BotDatabase>(), to, incidents, pulls);
            Console.WriteLine($"seeded {incidents:N0} incidents and {pulls:N0} pull events into SQLite in {seeding.Elapsed.TotalSeconds:0.0} s ({app.Services.GetRequiredService<BotDatabase>().Location})");

            var builder = app.Services.GetRequiredService<DigestBuilder>();
            var schedule = app.Services.GetRequiredService<IOptionsMonitor<DigestOptions>>().CurrentValue.Schedules[0];
            var report = await builder.BuildAsync(schedule, to, CancellationToken.None); // warm-up
            Console.WriteLine($"report: {report.Incidents.Opened} opened, {report.Incidents.Resolved} resolved, {report.Incidents.StillOpen.Count} open, {report.Pulls.Pulls} pulls, {report.Pulls.CachingHints.Count} caching hints, {report.Pulls.Buckets.Count} chart points");
            var build = new List<double>();
            var chart = new List<double>();
            var total = new List<double>();
            var cpu = new List<double>();
            var pngBytes = 0;
            using var self = Process.GetCurrentProcess();
            for (var i = 0; i < runs; i++)
            {
                self.Refresh();
                var cpuBefore = self.TotalProcessorTime;
                var watch = Stopwatch.StartNew();
                report = await builder.BuildAsync(schedule, to, CancellationToken.None);
                var card = DigestCardBuilder.Build(report, 5);
                var built = watch.Elapsed.TotalMilliseconds;
                var png = DigestChart.RenderPng(report, DigestChart.SlackWidth, DigestChart.SlackHeight)!;
                var all = watch.Elapsed.TotalMilliseconds;
                pngBytes = png.Length;
                build.Add(built);
                chart.Add(all - built);
                total.Add(all);
                self.Refresh();
                cpu.Add((self.TotalProcessorTime - cpuBefore).TotalMilliseconds);
                GC.KeepAlive(card);
            }

            var reader = app.Services.GetRequiredService<DigestDataReader>();
            var parts = Stopwatch.StartNew();
            var facts = await reader.IncidentsAsync(to.AddDays(-7), to, "prod-eu", "*", CancellationToken.None);
            var incidentsMs = parts.Elapsed.TotalMilliseconds;
            var samples = await reader.PullsAsync(to.AddDays(-7), to, "prod-eu", "*", CancellationToken.None);
            var pullsMs = parts.Elapsed.TotalMilliseconds - incidentsMs;
            _ = Core.Digest.PullTimeInsights.Compute(samples, to.AddDays(-7), to, new Core.Digest.PullInsightOptions());
            var computeMs = parts.Elapsed.TotalMilliseconds - incidentsMs - pullsMs;
            _ = Core.Digest.IncidentInsights.Summarize(facts, to.AddDays(-7), to);
            var summarizeMs = parts.Elapsed.TotalMilliseconds - incidentsMs - pullsMs - computeMs;
            Console.WriteLine($"one run in parts (ms): read incidents {incidentsMs:0}, read pull events {pullsMs:0}, pull insights {computeMs:0}, incident insights {summarizeMs:0}");
            Console.WriteLine($"{runs} runs after one warm-up (ms)          median    max");
            Console.WriteLine($"  report + card (no chart)          {Median(build),8:0}  {build.Max(),5:0}");
            Console.WriteLine($"  chart PNG ({DigestChart.SlackWidth}x{DigestChart.SlackHeight}, {pngBytes / 1024} KiB)        {Median(chart),8:0}  {chart.Max(),5:0}");
            Console.WriteLine($"  total with chart                  {Median(total),8:0}  {total.Max(),5:0}");
            Console.WriteLine($"  CPU time of the process per run   {Median(cpu),8:0}  {cpu.Max(),5:0}   (all threads; wall time above waits for a core on a busy machine)");
            Console.WriteLine($"load average while measuring: {File.ReadAllText("/proc/loadavg").Split(' ')[0]} on {Environment.ProcessorCount} cores");
            var outIndex = Array.IndexOf(args, "--out");
            if (outIndex >= 0 && outIndex + 1 < args.Length)
            {
                var directory = Directory.CreateDirectory(args[outIndex + 1]).FullName;
                var card = DigestCardBuilder.Build(report, 5);
                var slack = BlockKitRenderer.Render(card with { Footer = card.Footer + " · chart in the thread" }).ToJson();
                await File.WriteAllTextAsync(Path.Combine(directory, "digest-slack.json"), slack.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
                await File.WriteAllBytesAsync(Path.Combine(directory, "digest-chart.png"), DigestChart.RenderPng(report, DigestChart.SlackWidth, DigestChart.SlackHeight)!);
                await File.WriteAllBytesAsync(Path.Combine(directory, "digest-chart-teams.png"), DigestChart.RenderPng(report, DigestChart.TeamsWidth, DigestChart.TeamsHeight)!);
                Console.WriteLine($"wrote {directory}/digest-slack.json, digest-chart.png, digest-chart-teams.png");
            }

            await app.StopAsync();
            await app.DisposeAsync();
            return 0;
        }
        finally
        {
            try
            {
                Directory.Delete(data, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static async Task SeedAsync(BotDatabase database, DateTimeOffset to, int incidents, int pulls)
    {
        var from = to.AddDays(-7);
        var random = new Random(8);
        var causes = new[] { PullCause.AuthFailed, PullCause.ImageNotFound, PullCause.Network, PullCause.RateLimited, PullCause.Tls, PullCause.AccessDenied };
        await database.InTransactionAsync(async (connection, transaction) =>
        {
            for (var i = 0; i < incidents; i++)
            {
                var opened = from.AddMinutes(random.Next(0, 7 * 24 * 60));
                var open = i % 10 < 3;
                var resolved = open ? (DateTimeOffset?)null : opened.AddMinutes(random.Next(1, 600));
                var id = "inc-" + i.ToString("x6", CultureInfo.InvariantCulture);
                var subject = $"deployment/app-{i % 500}";
                var pods = Enumerable.Range(0, 3).Select(p => new AffectedPod($"app-{i}-{p}", "app", "ImagePullBackOff", "Back-off pulling image", opened, opened) { ResolvedAt = resolved }).ToList();
                var incident = new Incident(
                    id,
                    new IncidentKey("prod-eu", "ns-" + (i % 20), subject + (open ? "-" + i : string.Empty), causes[i % causes.Length]),
                    $"registry-{i % 5}.example.com/team/app-{i % 200}:1.{i % 7}.0",
                    open ? IncidentState.Open : IncidentState.Resolved,
                    opened,
                    resolved ?? opened,
                    pods,
                    1) { ResolvedAt = resolved };
                await IncidentStore.InsertAsync(connection, transaction, incident);
            }

            return 0;
        });

        var rows = Enumerable.Range(0, pulls).Select(i =>
        {
            var image = i % 300;
            var registry = image % 5;
            return new
            {
                cluster = "prod-eu",
                ns = "ns-" + (i % 20),
                pod = "pod-" + i,
                node = "node-" + (i % 40),
                image = $"registry-{registry}.example.com/team/app-{image}:1.0.0",
                host = $"registry-{registry}.example.com",
                ms = (long?)(500 + random.Next(0, 20_000) + (image == 7 ? 60_000 : 0)),
                size = (long?)(image == 7 ? 900_000_000L : 50_000_000L + (image * 1_000_000L)),
                at = from.AddSeconds(random.Next(0, 7 * 24 * 3600)).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
                key = "ev-" + i + "/1",
            };
        }).ToList();
        await database.InTransactionAsync(async (connection, transaction) =>
            await connection.ExecuteAsync(
                "INSERT INTO pull_events (cluster, namespace, pod, node, image, registry_host, duration_ms, size_bytes, observed_at, event_key) VALUES (@cluster, @ns, @pod, @node, @image, @host, @ms, @size, @at, @key)",
                rows,
                transaction));
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
