using System.Diagnostics;
using System.Runtime;

namespace ChatOpsPull.Diagnosing;

/// <summary>
/// Waits until the runtime has compiled nothing for a while: what a start made hot is then recompiled at its next tier.
/// The runtime's tiering holds back its background recompiles (hot ReadyToRun code recompiled with PGO probes, then
/// optimized at tier 1) while methods are still being compiled for their first call; a start compiles for seconds on end,
/// so a backlog of the start's hot code (dependency injection, configuration and options binding, the kubeconfig's YAML,
/// reflection) waits, and a storm right after the start paid for it (measured: 1,036–1,528 such recompiles, 1.2–3.1 s of
/// JIT, inside a 5,000-pod storm). Counted from <see cref="JitInfo.GetCompiledMethodCount"/> (every thread), on the wall
/// clock: it waits for the runtime, not for anything the bot's <see cref="TimeProvider"/> decides.
/// </summary>
internal static class CompilationSettling
{
    /// <summary>How often the count is looked at.</summary>
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(25);

    /// <summary>
    /// Returns once nothing was compiled for <paramref name="quiet"/> (Settled), or after <paramref name="longest"/>
    /// (not settled), with the methods compiled meanwhile. <paramref name="quiet"/> should be longer than the runtime's
    /// call-counting delay (100 ms), after which the held back recompiles start.
    /// </summary>
    public static async Task<(bool Settled, long Compiled)> WaitAsync(TimeSpan quiet, TimeSpan longest, CancellationToken cancellationToken)
    {
        var began = Stopwatch.GetTimestamp();
        var quietSince = began;
        var first = JitInfo.GetCompiledMethodCount();
        var compiled = first;
        while (Stopwatch.GetElapsedTime(began) < longest)
        {
            await Task.Delay(Poll, cancellationToken).ConfigureAwait(false);
            var now = JitInfo.GetCompiledMethodCount();
            if (now != compiled)
            {
                compiled = now;
                quietSince = Stopwatch.GetTimestamp();
            }
            else if (Stopwatch.GetElapsedTime(quietSince) >= quiet)
            {
                return (true, compiled - first);
            }
        }

        return (false, compiled - first);
    }
}
