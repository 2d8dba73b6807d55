using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using ChatOpsPull.Bench;
using ChatOpsPull.Storage;

namespace ChatOpsPull.Load;

/// <summary>Runs the load and prints the figures; exits non-zero on errors or on alerts the sink did not see.</summary>
public static class LoadCommand
{
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        var settings = LoadSettings.Parse(args, error);
        if (settings is null)
        {
            return 2;
        }

        InProcessBot? bot = null;
        if (settings.Url is null)
        {
            bot = await InProcessBot.StartAsync(settings.Store, settings.BotSettings).ConfigureAwait(false);
            output.WriteLine($"bot started in process at {bot.Url} ({(settings.Store == LoadStore.Counting ? "counting sink" : $"incident store on {settings.Store}")}{(settings.BotSettings is { Count: > 0 } set ? ", " + string.Join(' ', set) : string.Empty)}); {GcMode()}; load average {LoadAverage()}");
        }

        try
        {
            LoadResult? floor = null;
            if (bot is not null)
            {
                floor = await DriveAsync(new Uri(bot.Url, InProcessBot.EmptyPath), null, settings).ConfigureAwait(false);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"floor (empty endpoint of the same host, same bodies): {floor.Accepted / floor.MeasuredSeconds:F0} requests/s, p50 {Milliseconds(Percentile(floor.Latencies, 0.50)):F2} ms, p99 {Milliseconds(Percentile(floor.Latencies, 0.99)):F2} ms, {floor.Errors} errors; {PerRequest(floor)}"));
            }

            var url = new Uri(settings.Url ?? bot!.Url, "alerts/alertmanager");
            var token = settings.Token ?? bot?.Token;
            var before = bot?.Sink is null ? bot?.DrainCounts() : null;
            var inboxBefore = bot?.Sink is null ? bot?.InboxCounts() : null;
            var result = await DriveAsync(url, token, settings).ConfigureAwait(false);
            if (before is not null)
            {
                output.WriteLine($"drain while the load ran (warm-up included): {Describe(bot!.DrainCounts() - before)}");
                output.WriteLine($"inbox appends while the load ran (warm-up included): {Describe(bot.InboxCounts() - inboxBefore!)}");
            }

            return await ReportAsync(result, floor, settings, bot, output).ConfigureAwait(false);
        }
        finally
        {
            if (bot is not null)
            {
                await bot.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private sealed record LoadResult(long[] Latencies, long Errors, long Accepted, long TotalAccepted, Dictionary<string, long> ErrorKinds, double MeasuredSeconds, int BodyBytes, TimeSpan ProcessCpu, long AllocatedBytes)
    {
        /// <summary>SQLite's statements in the measured window (with --count-statements), and those kept prepared then.</summary>
        public (IReadOnlyDictionary<string, (long Run, long Kept)> From, IReadOnlyDictionary<string, (long Run, long Kept)> To, long KeptPrepared)? Statements { get; init; }
    }

    private static async Task<LoadResult> DriveAsync(Uri url, string? token, LoadSettings settings)
    {
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = settings.Connections,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            UseCookies = false,
        };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
        var authorization = token is null ? null : new AuthenticationHeaderValue("Bearer", token);
        var errorKinds = new Dictionary<string, long>(StringComparer.Ordinal);
        long errors = 0, accepted = 0, totalAccepted = 0;
        var latencies = new List<long>[settings.Connections];

        var start = Stopwatch.GetTimestamp();
        var measureFrom = start + (settings.WarmupSeconds * Stopwatch.Frequency);
        var stopAt = measureFrom + (settings.DurationSeconds * Stopwatch.Frequency);
        var workers = Enumerable.Range(0, settings.Connections).Select(connection => Task.Run(async () =>
        {
            var mine = latencies[connection] = new List<long>(64 * 1024);
            var payloads = new AlertmanagerPayloads(connection, settings.AlertsPerRequest);
            while (true)
            {
                var body = payloads.Next();
                using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                request.Headers.Authorization = authorization;
                var sent = Stopwatch.GetTimestamp();
                if (sent >= stopAt)
                {
                    return;
                }

                string? failure = null;
                try
                {
                    using var response = await client.SendAsync(request).ConfigureAwait(false);
                    await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        Interlocked.Increment(ref totalAccepted);
                    }
                    else
                    {
                        failure = $"HTTP {(int)response.StatusCode}";
                    }
                }
                catch (HttpRequestException e)
                {
                    failure = e.GetType().Name + ": " + e.Message;
                }
                catch (TaskCanceledException)
                {
                    failure = "timeout";
                }

                var done = Stopwatch.GetTimestamp();
                if (sent >= measureFrom && done <= stopAt)
                {
                    if (failure is null)
                    {
                        mine.Add(done - sent);
                        Interlocked.Increment(ref accepted);
                    }
                }

                if (failure is not null)
                {
                    Interlocked.Increment(ref errors);
                    lock (errorKinds)
                    {
                        errorKinds[failure] = errorKinds.GetValueOrDefault(failure) + 1;
                    }
                }
            }
        })).ToArray();
        var (cpu, allocated, statements) = await MeasureCpuAsync(measureFrom, stopAt).ConfigureAwait(false);
        await Task.WhenAll(workers).ConfigureAwait(false);

        var all = latencies.SelectMany(l => l).ToArray();
        Array.Sort(all);
        var bodyBytes = new AlertmanagerPayloads(0, settings.AlertsPerRequest).Length;
        return new LoadResult(all, errors, accepted, totalAccepted, errorKinds, settings.DurationSeconds, bodyBytes, cpu, allocated) { Statements = statements };
    }

    /// <summary>
    /// CPU time this process used in the measured window, and the bytes it allocated then (client, and the bot when it
    /// runs in process): counts the machine's load does not bend the way it bends requests/s.
    /// </summary>
    private static async Task<(TimeSpan Cpu, long Allocated, (IReadOnlyDictionary<string, (long Run, long Kept)>, IReadOnlyDictionary<string, (long Run, long Kept)>, long)? Statements)> MeasureCpuAsync(long from, long to)
    {
        using var process = Process.GetCurrentProcess();
        await Task.Delay(Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), from)).ConfigureAwait(false);
        process.Refresh();
        var before = process.TotalProcessorTime;
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: false);
        var statementsBefore = SqliteStatementCounts.Snapshot();
        var keptBefore = SqliteStatementCounts.KeptPrepared;
        await Task.Delay(Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), to)).ConfigureAwait(false);
        process.Refresh();
        var statements = SqliteStatementCounts.Enabled ? (statementsBefore, SqliteStatementCounts.Snapshot(), SqliteStatementCounts.KeptPrepared - keptBefore) : default((IReadOnlyDictionary<string, (long Run, long Kept)>, IReadOnlyDictionary<string, (long Run, long Kept)>, long)?);
        return (process.TotalProcessorTime - before, GC.GetTotalAllocatedBytes(precise: false) - allocatedBefore, statements);
    }

    /// <summary>"cpu … ms, … KiB allocated per request" of a window (client and in-process bot together).</summary>
    private static string PerRequest(LoadResult result) => result.Accepted == 0
        ? "no request measured"
        : string.Create(CultureInfo.InvariantCulture, $"{result.ProcessCpu.TotalMilliseconds / result.Accepted:F3} ms cpu and {result.AllocatedBytes / 1024.0 / result.Accepted:F1} KiB allocated per request");

    private static async Task<int> ReportAsync(LoadResult result, LoadResult? floor, LoadSettings settings, InProcessBot? bot, TextWriter output)
    {
        var perSecond = result.Accepted / result.MeasuredSeconds;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"alertmanager: {settings.Connections} connections, {settings.DurationSeconds} s measured after {settings.WarmupSeconds} s warm-up, {settings.AlertsPerRequest} alerts per request ({result.BodyBytes / 1024.0:F1} KiB)"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"requests/s: {perSecond:F0}   alerts/s: {perSecond * settings.AlertsPerRequest:F0}   ({result.Accepted} requests measured)"));
        if (result.Latencies.Length > 0)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"latency ms: p50 {Milliseconds(Percentile(result.Latencies, 0.50)):F2}   p90 {Milliseconds(Percentile(result.Latencies, 0.90)):F2}   p99 {Milliseconds(Percentile(result.Latencies, 0.99)):F2}   max {Milliseconds(result.Latencies[^1]):F2}"));
        }

        if (result.Accepted > 0)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"cpu: {PerRequest(result)} in this process{(bot is null ? " (client only)" : " (client and bot together, the inbox drain included)")}, {result.ProcessCpu.TotalSeconds / result.MeasuredSeconds:F2} cores busy of {Environment.ProcessorCount}"));
        }

        if (result.Statements is var (from, to, kept) && result.Accepted > 0)
        {
            output.WriteLine($"SQLite statements per request, all kinds, inbox and drain together (--count-statements; the trace costs CPU): {SqliteStatementCounts.Describe(from, to, result.Accepted, kept)}");
        }

        output.WriteLine($"errors: {result.Errors}");
        foreach (var (kind, count) in result.ErrorKinds.OrderByDescending(k => k.Value))
        {
            output.WriteLine($"  {count} × {kind}");
        }

        var ok = result.Errors == 0 && result.TotalAccepted > 0;
        if (bot is not null)
        {
            var expected = result.TotalAccepted * settings.AlertsPerRequest;
            if (bot.Sink is null)
            {
                // 200 means "in the alert inbox"; the incidents follow in the background. Wait for them (bounded). The
                // stored pods are counted once before and once after, outside the drain's CPU and server windows; while
                // the backlog drains the poll only asks whether a row is left in the inbox (the drain removes a row in the
                // transaction that stores its alerts, so an empty inbox means every accepted alert is stored or set aside;
                // the final count tells which).
                var podsFrom = await bot.StoredPodsAsync().ConfigureAwait(false);
                var inInbox = await bot.InboxRowsAsync().ConfigureAwait(false);
                var waited = Stopwatch.StartNew();
                var drainedFrom = bot.DrainCounts();
                var cpuFrom = ProcessCpu();
                await using var probe = bot.PostgresConnectionString is { } postgres ? await PostgresStormProbe.StartAsync(postgres).ConfigureAwait(false) : null;
                probe?.Begin();
                while (await bot.InboxHoldsRowsAsync().ConfigureAwait(false) && waited.Elapsed < ApplyPatience)
                {
                    await Task.Delay(50).ConfigureAwait(false);
                }

                var appliedAfter = waited.Elapsed;
                var drainCpu = ProcessCpu() - cpuFrom;
                var drained = bot.DrainCounts() - drainedFrom;
                if (probe is not null)
                {
                    await probe.StopAsync().ConfigureAwait(false);
                }

                var stored = await bot.StoredPodsAsync().ConfigureAwait(false);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"drain after the load: {Describe(drained)}; {stored - podsFrom} alerts into incidents, process CPU {drainCpu.TotalSeconds:F1} s ({drainCpu.TotalMilliseconds / Math.Max(1, stored - podsFrom):F3} ms per alert)"));
                if (probe is not null)
                {
                    output.WriteLine(probe.Report((int)(stored - podsFrom), 0));
                }

                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"incidents: when the load stopped {inInbox} requests were still in the alert inbox; all {expected} accepted alerts were in incidents {(stored >= expected ? $"{appliedAfter.TotalSeconds:F2} s after the last answer" : $"NOT within {ApplyPatience.TotalSeconds:F0} s")} ({stored / (result.MeasuredSeconds + settings.WarmupSeconds + appliedAfter.TotalSeconds):F0} alerts/s into incidents over the whole run)"));
            }

            if (bot.Sink is not null)
            {
                // The counting sink hears the alerts from the inbox drain too (200 means "in the alert inbox"): the count
                // is read once the inbox is empty (the drain removes a row after the sink heard its alerts), not while a
                // backlog is still being applied, which counted it as lost.
                var waited = Stopwatch.StartNew();
                while (await bot.InboxHoldsRowsAsync().ConfigureAwait(false) && waited.Elapsed < ApplyPatience)
                {
                    await Task.Delay(50).ConfigureAwait(false);
                }
            }

            var seen = bot.Sink is { } sink ? sink.Reported : await bot.StoredPodsAsync().ConfigureAwait(false);
            var waiting = bot.Sink is null ? await bot.InboxRowsAsync().ConfigureAwait(false) : 0;
            var where = bot.Sink is null ? $"pods in the {settings.Store} incident store" : "alerts reported to the sink";
            var missing = expected - seen;
            var verdict = missing == 0 ? "nothing lost"
                : missing < 0 ? $"{-missing} MORE than sent"
                : waiting > 0 ? $"{missing} not in incidents yet, {waiting} requests still in the alert inbox (stored, not applied)"
                : $"{missing} LOST";
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{(bot.Sink is null ? "store" : "sink")}: {seen} {where} for {result.TotalAccepted} accepted requests × {settings.AlertsPerRequest} = {expected} expected (warm-up included): {verdict}"));
            ok &= seen == expected;
        }

        if (floor is not null && floor.Accepted > 0)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"the webhook serves {result.Accepted / (double)floor.Accepted:P0} of the empty endpoint's requests/s; load average {LoadAverage()}"));
        }

        return ok ? 0 : 1;
    }

    /// <summary>How long the alerts accepted may take to reach their incidents before the run counts them as lost.</summary>
    private static readonly TimeSpan ApplyPatience = TimeSpan.FromSeconds(120);

    /// <summary>The drain's counts in a window: transactions, rows per transaction, and where their time went.</summary>
    private static string Describe(ChatOpsPull.Detection.Webhooks.Inbox.DrainCounts c) => string.Create(CultureInfo.InvariantCulture,
        $"{c.Batches} batches, {c.SubjectRounds} subject rounds, {c.RowsApplied} inbox rows ({(c.SubjectRounds == 0 ? 0 : c.RowsApplied / (double)c.SubjectRounds):F1} rows per round); {c.InSubjects.TotalSeconds:F1} s inside them, overlapping ({(c.SubjectRounds == 0 ? 0 : c.InSubjects.TotalMilliseconds / c.SubjectRounds):F2} ms each), of it {c.BeforeClaim.TotalSeconds:F1} s before the claim's command (subject lock in process, write turn, connection); {c.WavesWhileRequestsWait} waves begun while requests came, {c.WaveTimeWhileRequestsWait.TotalSeconds:F1} s in all ({(c.WavesWhileRequestsWait == 0 ? 0 : c.WaveTimeWhileRequestsWait.TotalMilliseconds / c.WavesWhileRequestsWait):F2} ms each, longest {c.LongestWaveWhileRequestsWait.TotalMilliseconds:F1} ms)");

    /// <summary>The inbox's commits per request, and where a request's wait for its commit went (per request, averaged).</summary>
    private static string Describe(ChatOpsPull.Detection.Webhooks.Inbox.InboxCounts c)
    {
        double PerRequest(TimeSpan t) => c.Requests == 0 ? 0 : t.TotalMilliseconds / c.Requests;
        return string.Create(CultureInfo.InvariantCulture,
            $"{c.Requests} requests, {c.Commits} inbox commits ({(c.Requests == 0 ? 0 : c.Commits / (double)c.Requests):F3} per request, {(c.Commits == 0 ? 0 : c.Requests / (double)c.Commits):F1} requests per commit), {c.Rows} rows; per request waiting ms: {PerRequest(c.Queued):F2} for the round under way, {PerRequest(c.TurnAndBegin):F2} for the write turn, connection and BEGIN (longest round {c.LongestTurnWait.TotalMilliseconds:F1}), {PerRequest(c.Write):F2} in the INSERT and its commit");
    }

    private static TimeSpan ProcessCpu()
    {
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime;
    }

    /// <summary>The GC the bot runs with here (the shipped image's is set in src/ChatOpsPull/ChatOpsPull.csproj).</summary>
    private static string GcMode() =>
        $"{(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")} GC, {System.Runtime.GCSettings.LatencyMode}";

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

    private static long Percentile(long[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    private static double Milliseconds(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
}
