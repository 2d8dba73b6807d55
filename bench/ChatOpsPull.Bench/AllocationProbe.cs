using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;
using System.Text;

namespace ChatOpsPull.Bench;

/// <summary>
/// Where the storm's bytes go, from the runtime's own GC events while it listens: the allocation sampler
/// (GCAllocationTick, one event per about 100 KB allocated, naming the type whose allocation crossed the mark, so a
/// type's share of the ticks is its share of the bytes), and per collection the generation it condemned, why, and what
/// survived it (GCHeapStats: bytes promoted out of gen0 and gen1), which is what makes a gen0 collection a gen1 one.
/// Every type is counted, the bot's and the bench's alike (the stand-in and the driver share the process); the report
/// names which assembly-level owner a type has where its name says so.
/// </summary>
internal sealed class AllocationProbe : EventListener
{
    private const EventKeywords GcKeyword = (EventKeywords)0x1;

    private readonly ConcurrentDictionary<string, (long Ticks, long Bytes)> _byType = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(long Count, int Depth, int Reason)> _collections = new();
    private readonly ConcurrentQueue<(long Promoted0, long Promoted1, long Gen1Size, long Gen2Size)> _heaps = new();
    private long _loh;
    private volatile bool _listening;

    public void Start()
    {
        _byType.Clear();
        _collections.Clear();
        _heaps.Clear();
        _loh = 0;
        _listening = true;
    }

    public void Stop() => _listening = false;

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (!_listening || eventData.EventName is null || eventData.PayloadNames is null || eventData.Payload is null)
        {
            return;
        }

        if (eventData.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal))
        {
            var bytes = Number(eventData, "AllocationAmount64") is var amount and > 0 ? amount : Number(eventData, "AllocationAmount");
            var type = Text(eventData, "TypeName");
            _byType.AddOrUpdate(type, (1, bytes), (_, t) => (t.Ticks + 1, t.Bytes + bytes));
            if (Number(eventData, "AllocationKind") == 1)
            {
                Interlocked.Add(ref _loh, bytes);
            }
        }
        else if (eventData.EventName.StartsWith("GCStart", StringComparison.Ordinal))
        {
            _collections.Enqueue((Number(eventData, "Count"), (int)Number(eventData, "Depth"), (int)Number(eventData, "Reason")));
        }
        else if (eventData.EventName.StartsWith("GCHeapStats", StringComparison.Ordinal))
        {
            _heaps.Enqueue((Number(eventData, "TotalPromotedSize0"), Number(eventData, "TotalPromotedSize1"), Number(eventData, "GenerationSize1"), Number(eventData, "GenerationSize2")));
        }
    }

    /// <summary>The top allocating types (share of the sampled bytes), then the collections and their survivors.</summary>
    public string Report(int pods, int top = 40)
    {
        var total = _byType.Values.Sum(t => t.Bytes);
        var text = new StringBuilder(string.Create(CultureInfo.InvariantCulture,
            $"  allocations during the storm by type (GCAllocationTick, one sample per ~100 KB; {total / 1048576.0:0} MB sampled, {total / 1024.0 / Math.Max(1, pods):0.0} KB per pod, of it large objects {_loh / 1048576.0:0.0} MB):"));
        text.Append("\n    by whose types (strings, byte and char arrays are anyone's):");
        foreach (var (owner, bytes) in _byType.GroupBy(t => Owner(t.Key), t => t.Value.Bytes).Select(g => (g.Key, g.Sum())).OrderByDescending(g => g.Item2))
        {
            text.Append(CultureInfo.InvariantCulture, $"\n    {bytes * 100.0 / Math.Max(1, total),5:0.0} % {bytes / 1024.0 / Math.Max(1, pods),6:0.0} KB/pod  {owner}");
        }

        foreach (var (type, (ticks, bytes)) in _byType.OrderByDescending(t => t.Value.Bytes).Take(top))
        {
            text.Append(CultureInfo.InvariantCulture, $"\n    {bytes * 100.0 / Math.Max(1, total),5:0.0} % {bytes / 1024.0 / Math.Max(1, pods),6:0.0} KB/pod {ticks,5} ticks  {type}");
        }

        var collections = _collections.ToArray();
        var reasons = collections.GroupBy(c => (c.Depth, c.Reason)).OrderBy(g => g.Key.Depth).ThenBy(g => g.Key.Reason)
            .Select(g => $"gen{g.Key.Depth} {ReasonName(g.Key.Reason)} ×{g.Count()}");
        text.Append(CultureInfo.InvariantCulture, $"\n  collections (GCStart: condemned generation, reason): {string.Join(", ", reasons)}");
        var heaps = _heaps.ToArray();
        if (heaps.Length > 0)
        {
            text.Append(CultureInfo.InvariantCulture,
                $"\n  survivors per collection (GCHeapStats): promoted out of gen0 mean {heaps.Average(h => h.Promoted0) / 1048576.0:0.00} MB (max {heaps.Max(h => h.Promoted0) / 1048576.0:0.00}), out of gen1 mean {heaps.Average(h => h.Promoted1) / 1048576.0:0.00} MB; gen1 after mean {heaps.Average(h => h.Gen1Size) / 1048576.0:0.00} MB, gen2 after last {heaps[^1].Gen2Size / 1048576.0:0.0} MB");
        }

        return text.ToString();
    }

    /// <summary>
    /// Whose a type is, where its name says: the stand-in keeps its objects as System.Text.Json.Nodes trees (the bot
    /// decodes the watch with its own reader and reads with KubernetesClient's models, and builds no JSON tree in a storm).
    /// </summary>
    private static string Owner(string type) => type switch
    {
        _ when type.Contains("System.Text.Json.Nodes", StringComparison.Ordinal) => "stand-in: JSON trees of its object store (System.Text.Json.Nodes and collections of them)",
        _ when type.StartsWith("ChatOpsPull.Simulation", StringComparison.Ordinal) || type.StartsWith("ChatOpsPull.Bench", StringComparison.Ordinal) => "bench: stand-in and driver types",
        _ when type.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) => "stand-in's server (ASP.NET Core, Kestrel)",
        _ when type.StartsWith("ChatOpsPull", StringComparison.Ordinal) || type.Contains("[ChatOpsPull", StringComparison.Ordinal) || type.Contains("ChatOpsPull.", StringComparison.Ordinal) => "bot: ChatOpsPull types and collections of them",
        _ when type.StartsWith("Npgsql", StringComparison.Ordinal) || type.StartsWith("Dapper", StringComparison.Ordinal) || type.StartsWith("Microsoft.Data.Sqlite", StringComparison.Ordinal) => "bot: database clients (Npgsql, Dapper, SQLite)",
        _ when type.StartsWith("k8s", StringComparison.Ordinal) => "bot: KubernetesClient models",
        _ when type.StartsWith("System.Diagnostics.Tracing", StringComparison.Ordinal) || type == "MoreEventInfo" => "bench: the event listeners",
        "System.String" or "System.Byte[]" or "System.Char[]" => "anyone's: strings, byte and char arrays",
        _ => "other framework types",
    };

    private static string ReasonName(int reason) => reason switch
    {
        0 => "small alloc",
        1 => "induced",
        2 => "low memory",
        3 => "empty",
        4 => "large alloc",
        5 => "out of space (SOH)",
        6 => "out of space (LOH)",
        7 => "induced, not forced",
        8 => "stress",
        9 => "low memory (induced)",
        _ => $"reason {reason}",
    };

    private static long Number(EventWrittenEventArgs e, string name)
    {
        var i = e.PayloadNames!.IndexOf(name);
        return i < 0 ? 0 : Convert.ToInt64(e.Payload![i], CultureInfo.InvariantCulture);
    }

    private static string Text(EventWrittenEventArgs e, string name)
    {
        var i = e.PayloadNames!.IndexOf(name);
        return i < 0 ? "?" : e.Payload![i] as string ?? "?";
    }
}
