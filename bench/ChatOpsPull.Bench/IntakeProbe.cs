using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Incidents;

namespace ChatOpsPull.Bench;

/// <summary>
/// The incident engine as the watcher's sink, with each pod's first report timed twice: when the watcher hands it over
/// (after the watch stream, the tracker, the delivery lanes and the owner lookup) and when the engine answers it (its
/// round committed). Splits a storm's backlog into what has not reached the engine yet and what waits inside it, per
/// second — counts, which load bends less than latencies.
/// </summary>
internal sealed class IntakeProbe(IncidentEngine engine) : IPullFailureSink
{
    private readonly ConcurrentDictionary<string, long> _handed = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _stored = new(StringComparer.Ordinal);
    private int _inEngine;
    private int _mostInEngine;

    public async Task ReportAsync(PullFailure failure, CancellationToken cancellationToken)
    {
        _handed.TryAdd(failure.Pod, Stopwatch.GetTimestamp());
        var now = Interlocked.Increment(ref _inEngine);
        int most;
        while (now > (most = Volatile.Read(ref _mostInEngine)) && Interlocked.CompareExchange(ref _mostInEngine, now, most) != most)
        {
        }

        try
        {
            await engine.ReportAsync(failure, cancellationToken).ConfigureAwait(false);
            _stored.TryAdd(failure.Pod, Stopwatch.GetTimestamp());
        }
        finally
        {
            Interlocked.Decrement(ref _inEngine);
        }
    }

    public Task ResolveAsync(string cluster, string @namespace, string pod, string? container, PodResolution resolution, CancellationToken cancellationToken) =>
        engine.ResolveAsync(cluster, @namespace, pod, container, resolution, cancellationToken);

    public void Clear()
    {
        _handed.Clear();
        _stored.Clear();
        Volatile.Write(ref _mostInEngine, 0);
    }

    /// <summary>Per second: arrived, handed to the engine, stored (answered), and the backlog before the engine and inside it at the second's end.</summary>
    public string Report(long started, IReadOnlyCollection<long> arrived)
    {
        int[] PerSecond(IEnumerable<long> stamps)
        {
            var seconds = stamps.Select(t => Math.Max(0, (int)Math.Floor(Stopwatch.GetElapsedTime(started, t).TotalSeconds))).ToList();
            var counts = new int[seconds.Count == 0 ? 0 : seconds.Max() + 1];
            seconds.ForEach(s => counts[s]++);
            return counts;
        }

        var inArrived = PerSecond(arrived);
        var inHanded = PerSecond(_handed.Values);
        var inStored = PerSecond(_stored.Values);
        var lines = new System.Text.StringBuilder(string.Create(CultureInfo.InvariantCulture,
            $"  intake per second, split (arrived / handed to the engine / stored by it; backlog before the engine + inside it at the second's end; at most {Volatile.Read(ref _mostInEngine)} reports inside at once):"));
        int before = 0, inside = 0;
        var length = Math.Max(inArrived.Length, Math.Max(inHanded.Length, inStored.Length));
        static int At(int[] counts, int s) => s < counts.Length ? counts[s] : 0;
        for (var s = 0; s < length; s++)
        {
            before += At(inArrived, s) - At(inHanded, s);
            inside += At(inHanded, s) - At(inStored, s);
            lines.Append(CultureInfo.InvariantCulture, $"{(s % 4 == 0 ? "\n   " : string.Empty)} {s}s {At(inArrived, s)}/{At(inHanded, s)}/{At(inStored, s)}; {before}+{inside}");
        }

        return lines.ToString();
    }
}
