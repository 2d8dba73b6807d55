using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using ChatOpsPull.Simulation.KubernetesApi;

namespace ChatOpsPull.Bench;

/// <summary>
/// <c>pull-failure-latency --api-process</c>: the stand-in and the storm driver in a child process (this binary, started
/// again with <see cref="ChildMode"/>), as a real API server is another process. The parent sends one command a line on
/// the child's stdin; the child answers on stdout in lines that start with <c>apiproc </c> (anything else it prints is
/// echoed). Each pod's status-change time crosses as a Stopwatch timestamp: on Linux that is CLOCK_MONOTONIC in
/// nanoseconds (Stopwatch.Unix.cs → SystemNative_GetTimestamp → minipal_hires_ticks), one clock for every process on the
/// machine; the start checks it (a child reading taken between two of the parent's must lie between them).
/// The child leaves when its stdin closes: the parent gone, even killed, leaves no stand-in behind; a parent that fails
/// kills it on dispose.
/// </summary>
internal sealed class ChildProcessStormApi : IStormApi
{
    public const string ChildMode = "pull-failure-latency-api-process";
    private const string Prefix = "apiproc ";

    private readonly Process _child;
    private readonly Channel<string> _answers = Channel.CreateUnbounded<string>();
    private readonly Task _reading;

    private ChildProcessStormApi(Process child)
    {
        _child = child;
        _reading = Task.Run(async () =>
        {
            string? line;
            while ((line = await child.StandardOutput.ReadLineAsync()) is not null)
            {
                if (line.StartsWith(Prefix, StringComparison.Ordinal))
                {
                    await _answers.Writer.WriteAsync(line[Prefix.Length..]);
                }
                else
                {
                    Console.WriteLine("stand-in process: " + line);
                }
            }

            _answers.Writer.TryComplete(new InvalidOperationException($"the stand-in process {child.Id} ended"));
        });
    }

    public Uri BaseAddress { get; private set; } = null!;

    public IReadOnlyList<(string Namespace, string Pod, string Image)> Names { get; private set; } = [];

    public IReadOnlyList<(string Namespace, string Pod, string Image)> WarmUp { get; private set; } = [];

    public string KubeconfigPath { get; private set; } = null!;

    public int ProcessId => _child.Id;

    public static async Task<ChildProcessStormApi> StartAsync(StormApiOptions options, string kubeDirectory)
    {
        var api = new ChildProcessStormApi(BenchChildProcess.Start([ChildMode, kubeDirectory, .. options.Arguments()]));
        try
        {
            var names = new List<(string, string, string)>();
            var warmUp = new List<(string, string, string)>();
            foreach (var line in await api.AskAsync(null, "ready"))
            {
                var words = line.Split(' ');
                switch (words[0])
                {
                    case "name":
                        names.Add((words[1], words[2], words[3]));
                        break;
                    case "warm":
                        warmUp.Add((words[1], words[2], words[3]));
                        break;
                    case "ready":
                        api.BaseAddress = new Uri(words[1]);
                        api.KubeconfigPath = words[2];
                        break;
                }
            }

            (api.Names, api.WarmUp) = (names, warmUp);
            var before = Stopwatch.GetTimestamp();
            var childAt = long.Parse((await api.AskAsync("clock", "clock"))[^1].Split(' ')[1], CultureInfo.InvariantCulture);
            var after = Stopwatch.GetTimestamp();
            if (childAt < before || childAt > after)
            {
                throw new InvalidOperationException($"the stand-in process's Stopwatch clock is not this process's: {childAt} read between {before} and {after}");
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"--api-process: the Kubernetes API stand-in and the storm driver run in process {api.ProcessId}; its clock read {Stopwatch.GetElapsedTime(before, childAt).TotalMilliseconds:0.00} ms into a {Stopwatch.GetElapsedTime(before, after).TotalMilliseconds:0.00} ms round trip (one monotonic clock)"));
            return api;
        }
        catch
        {
            await api.DisposeAsync();
            throw;
        }
    }

    public async Task FailAsync((string Namespace, string Pod, string Image) pod) =>
        await AskAsync($"fail {pod.Namespace} {pod.Pod} {pod.Image}", "failed");

    public async Task<(long Started, IReadOnlyDictionary<string, long> ChangedAt)> StormAsync(int rate)
    {
        var changedAt = new Dictionary<string, long>(StringComparer.Ordinal);
        var started = 0L;
        foreach (var line in await AskAsync($"storm {rate.ToString(CultureInfo.InvariantCulture)}", "stormed"))
        {
            var words = line.Split(' ');
            if (words[0] == "changed")
            {
                changedAt[words[1]] = long.Parse(words[2], CultureInfo.InvariantCulture);
            }
            else if (words[0] == "stormed")
            {
                started = long.Parse(words[1], CultureInfo.InvariantCulture);
            }
        }

        return (started, changedAt);
    }

    public async Task<(long Connections, IReadOnlyDictionary<string, int> Protocols)> TrafficAsync()
    {
        var words = (await AskAsync("traffic", "traffic"))[^1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return (long.Parse(words[1], CultureInfo.InvariantCulture), words[2..].Select(w => w.Split('=')).ToDictionary(p => p[0], p => int.Parse(p[1], CultureInfo.InvariantCulture), StringComparer.Ordinal));
    }

    public async Task<string?> OwnCostAsync() => (await AskAsync("cost", "cost"))[^1]["cost ".Length..];

    public async Task<string> StandInAloneAsync() => (await AskAsync("alone", "alone"))[^1]["alone ".Length..];

    /// <summary>Sends a command (none: only waits) and returns the answer lines up to and with the one that starts with <paramref name="last"/>.</summary>
    private async Task<List<string>> AskAsync(string? command, string last)
    {
        if (command is not null)
        {
            await _child.StandardInput.WriteLineAsync(command);
            await _child.StandardInput.FlushAsync();
        }

        var lines = new List<string>();
        while (true)
        {
            var line = await _answers.Reader.ReadAsync();
            lines.Add(line);
            if (line.StartsWith(last, StringComparison.Ordinal))
            {
                return lines;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_child.HasExited)
            {
                await _child.StandardInput.WriteLineAsync("exit");
                await _child.StandardInput.FlushAsync();
                _child.StandardInput.Close();
            }

            await _child.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
        }
        catch (Exception e) when (e is IOException or TimeoutException or InvalidOperationException)
        {
            // A child that does not leave when asked (or whose stdin is already gone) is killed: no stand-in outlives the bench.
        }
        finally
        {
            if (!_child.HasExited)
            {
                _child.Kill(entireProcessTree: true);
                await _child.WaitForExitAsync();
            }

            await _reading.ConfigureAwait(false);
            _child.Dispose();
        }
    }

    /// <summary>The child: the stand-in seeded as in-process, then commands from stdin until it says exit or closes.</summary>
    public static async Task<int> RunChildAsync(string[] args)
    {
        var kubeDirectory = args[0];
        var options = StormApiOptions.Parse(args[1..]);
        var commands = Channel.CreateUnbounded<string>();
        _ = Task.Run(async () =>
        {
            string? line;
            while ((line = await Console.In.ReadLineAsync()) is not null)
            {
                await commands.Writer.WriteAsync(line);
            }

            // The parent is gone (its end of the pipe closed, however it ended): so is the stand-in, even mid-storm.
            Environment.Exit(3);
        });

        await using var api = await FakeKubernetesApi.StartAsync(https: options.Https);
        var (names, warmUp) = options.Seed(api);
        var output = new System.Text.StringBuilder();
        foreach (var (ns, pod, image) in names)
        {
            output.Append(CultureInfo.InvariantCulture, $"{Prefix}name {ns} {pod} {image}\n");
        }

        foreach (var (ns, pod, image) in warmUp)
        {
            output.Append(CultureInfo.InvariantCulture, $"{Prefix}warm {ns} {pod} {image}\n");
        }

        output.Append(CultureInfo.InvariantCulture, $"{Prefix}ready {api.BaseAddress} {api.WriteKubeconfig(kubeDirectory)}\n");
        Answer(output.ToString());
        ProcessCost? cost = null;
        while (true)
        {
            var command = await commands.Reader.ReadAsync();
            var words = command.Split(' ');
            switch (words[0])
            {
                case "clock":
                    Answer($"{Prefix}clock {Stopwatch.GetTimestamp().ToString(CultureInfo.InvariantCulture)}\n");
                    break;
                case "fail":
                    StormApiOptions.Fail(api, (words[1], words[2], words[3]));
                    Answer($"{Prefix}failed\n");
                    break;
                case "storm":
                    cost = new ProcessCost();
                    var (started, changedAt) = await StormApiOptions.StormAsync(api, names, int.Parse(words[1], CultureInfo.InvariantCulture));
                    output.Clear();
                    foreach (var (pod, at) in changedAt)
                    {
                        output.Append(CultureInfo.InvariantCulture, $"{Prefix}changed {pod} {at}\n");
                    }

                    output.Append(CultureInfo.InvariantCulture, $"{Prefix}stormed {started}\n");
                    Answer(output.ToString());
                    break;
                case "traffic":
                    Answer(string.Create(CultureInfo.InvariantCulture,
                        $"{Prefix}traffic {api.ConnectionsAccepted} {string.Join(' ', api.RequestsByProtocol.Select(p => $"{p.Key}={p.Value}"))}\n"));
                    break;
                case "cost":
                    Answer($"{Prefix}cost {cost?.Report(names.Count) ?? "no storm yet"}\n");
                    break;
                case "alone":
                    Answer($"{Prefix}alone {PullFailureLatencyDriver.StandInAlone(api, names)}\n");
                    break;
                case "exit":
                    return 0;
                default:
                    throw new InvalidOperationException($"unknown command '{command}'");
            }
        }
    }

    private static void Answer(string lines)
    {
        Console.Out.Write(lines);
        Console.Out.Flush();
    }

    /// <summary>The stand-in process's own spend from the storm's start: CPU, allocations, collections and pauses.</summary>
    private sealed class ProcessCost
    {
        private readonly TimeSpan _cpu = Process.GetCurrentProcess().TotalProcessorTime;
        private readonly long _allocated = GC.GetTotalAllocatedBytes(precise: false);
        private readonly TimeSpan _pause = GC.GetTotalPauseDuration();
        private readonly int[] _collections = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
        private readonly long _started = Stopwatch.GetTimestamp();

        public string Report(int pods)
        {
            var wall = Stopwatch.GetElapsedTime(_started).TotalMilliseconds;
            var cpu = (Process.GetCurrentProcess().TotalProcessorTime - _cpu).TotalMilliseconds;
            var allocated = GC.GetTotalAllocatedBytes(precise: false) - _allocated;
            return string.Create(CultureInfo.InvariantCulture,
                $"  the stand-in's own process during the storm ({wall:0} ms; not in the lines above): CPU {cpu:0} ms ({cpu / wall:0.00} cores; {cpu / pods:0.00} ms per pod), allocated {allocated / 1048576.0:0} MB ({allocated / 1024.0 / pods:0.0} KB per pod), collections gen0/1/2 {GC.CollectionCount(0) - _collections[0]}/{GC.CollectionCount(1) - _collections[1]}/{GC.CollectionCount(2) - _collections[2]}, GC pauses {(GC.GetTotalPauseDuration() - _pause).TotalMilliseconds:0} ms");
        }
    }
}
