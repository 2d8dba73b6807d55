using System.Diagnostics.Metrics;

namespace ChatOpsPull.Observability;

/// <summary>
/// Which System.Diagnostics.Metrics instruments prometheus-net's meter adapter publishes at <c>/metrics</c>: all but
/// those recorded per buffer or per call on the hot paths, whose every measurement costs the adapter a label lookup, a
/// lease and pooled arrays (a profile of a 5,000-pod storm found the adapter at about 6% of the process's busy samples):
/// <list type="bullet">
/// <item>Kestrel's memory pool (<c>aspnetcore.memory_pool.*</c>, new in .NET 10): two or three measurements per
/// buffer rented and returned, so per read and write of every connection;</item>
/// <item>Polly's duration histograms (<c>resilience.polly.pipeline.duration</c>,
/// <c>resilience.polly.strategy.attempt.duration</c>): two per execution of any pipeline, so per watch change
/// delivered and per incident write. Polly's <c>resilience.polly.strategy.events</c> (retries, timeouts) stays.</item>
/// </list>
/// An instrument no listener enables costs its caller nearly nothing (the instruments check <c>Enabled</c> first).
/// </summary>
public static class PublishedInstruments
{
    /// <summary>The meter of Kestrel's pinned block memory pool.</summary>
    public const string KestrelMemoryPoolMeter = "Microsoft.AspNetCore.MemoryPool";

    /// <summary>Polly's meter (Polly.Extensions telemetry).</summary>
    public const string PollyMeter = "Polly";

    private static readonly string[] PollyPerExecution = ["resilience.polly.pipeline.duration", "resilience.polly.strategy.attempt.duration"];

    /// <summary>Whether <c>/metrics</c> publishes <paramref name="instrument"/>.</summary>
    public static bool Publishes(Instrument instrument) => instrument.Meter.Name switch
    {
        KestrelMemoryPoolMeter => false,
        PollyMeter => !PollyPerExecution.Contains(instrument.Name, StringComparer.Ordinal),
        _ => true,
    };
}
