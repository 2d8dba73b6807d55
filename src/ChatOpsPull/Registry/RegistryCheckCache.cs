using ChatOpsPull.Core.Caching;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Registry;

/// <summary>
/// Single-flight with a short memory (<see cref="SingleFlightCache{TKey,TValue}"/>): callers asking under the same key share the one
/// check in flight, and its answer serves again for <see cref="RegistryOptions.CacheWindow"/>. A caller that gives up
/// stops waiting but does not stop the shared check (it is bounded by <see cref="RegistryOptions.CheckTimeout"/>). Keys
/// must not hold secrets: use <see cref="RegistryCredentials.Fingerprint"/>.
/// </summary>
public sealed class RegistryCheckCache(IOptions<RegistryOptions> options, TimeProvider time)
{
    private readonly SingleFlightCache<string, RegistryCheck> _checks = new(
        (_, answeredAt, now) => now - answeredAt < options.Value.CacheWindow, RegistrySharedAnswers.Kept, time, StringComparer.Ordinal);

    /// <summary>Checks actually started (not shared); for tests and metrics.</summary>
    public long Started => _checks.ReadsStarted;

    public async Task<RegistryCheck> GetOrRunAsync(string key, Func<Task<RegistryCheck>> run, CancellationToken cancellationToken)
    {
        var answer = await _checks.GetSharedAsync(key, run, static (_, run) => run(), cancellationToken).ConfigureAwait(false);
        return answer.Joined ? answer.Answer with { FromCache = true } : answer.Answer;
    }
}
