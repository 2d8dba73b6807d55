using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace ChatOpsPull.Bench;

/// <summary>
/// What the JIT compiled while it listened, from the runtime's own method-load events: how many methods per
/// optimization tier (first calls compiled cold, hot methods recompiled optimized, precompiled ReadyToRun code taken
/// as is) and, for the cold compiles, which assemblies' code it was. Tells whether ReadyToRun would help (cold
/// compiles of code that could be precompiled) or the tiering (recompiles of hot methods).
/// </summary>
internal sealed class JitProbe : EventListener
{
    private const EventKeywords JitKeyword = (EventKeywords)0x10;
    private static readonly string[] Tiers = ["unknown", "min-opt", "optimized", "tier0", "tier1", "tier1-osr", "ready-to-run", "pre-jit", "tier0-instrumented", "tier1-instrumented"];
    private readonly ConcurrentDictionary<string, int> _byTier = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _coldByNamespace = new(StringComparer.Ordinal);
    private volatile bool _listening;

    public void Start()
    {
        _byTier.Clear();
        _coldByNamespace.Clear();
        _listening = true;
    }

    public void Stop() => _listening = false;

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, JitKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (!_listening || eventData.EventName is null || !eventData.EventName.StartsWith("MethodLoadVerbose", StringComparison.Ordinal) || eventData.PayloadNames is null)
        {
            return;
        }

        var flags = Convert.ToUInt32(eventData.Payload![eventData.PayloadNames.IndexOf("MethodFlags")], System.Globalization.CultureInfo.InvariantCulture);
        var tier = (int)((flags >> 7) & 0xF);
        var tierName = tier < Tiers.Length ? Tiers[tier] : tier.ToString(System.Globalization.CultureInfo.InvariantCulture);
        _byTier.AddOrUpdate(tierName, 1, (_, n) => n + 1);
        if (tierName is "tier0" or "tier0-instrumented" or "min-opt")
        {
            var ns = eventData.Payload[eventData.PayloadNames.IndexOf("MethodNamespace")] as string ?? "?";
            var dot = ns.IndexOf('.', StringComparison.Ordinal);
            var second = dot < 0 ? -1 : ns.IndexOf('.', dot + 1);
            var prefix = second < 0 ? ns : ns[..second];
            _coldByNamespace.AddOrUpdate(prefix.Split('[', '`')[0], 1, (_, n) => n + 1);
        }
    }

    public string Report() =>
        "  JIT while the storm ran, methods per tier: " + string.Join(", ", _byTier.OrderByDescending(t => t.Value).Select(t => $"{t.Key} {t.Value}"))
        + Environment.NewLine + "    first-call compiles by type prefix: "
        + string.Join(", ", _coldByNamespace.OrderByDescending(t => t.Value).Take(12).Select(t => $"{t.Key} {t.Value}"));
}
