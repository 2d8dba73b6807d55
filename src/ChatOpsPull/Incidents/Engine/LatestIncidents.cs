using System.Collections.Concurrent;
using ChatOpsPull.Core.Incidents;

namespace ChatOpsPull.Incidents.Engine;

/// <summary>
/// The newest whole incident (every pod) the news dispatch has told or read, per open incident, so that a report's news —
/// which carries only the pods the report changed — is completed in memory instead of reading the whole incident again
/// per notice. A partial incident is completed only on top of the version just before it (nothing else changed in
/// between, so replacing its pods is exact); anything else — a gap, a restart, another replica's write — reads the
/// incident again. Closed incidents are forgotten; the memory is bounded by <see cref="Capacity"/> incidents. Each is kept
/// with its pods' positions (<see cref="WholePods"/>): completing a notice costs look-ups of its few pods and one copy of
/// the list, not a look-up of every pod of a storm's incident.
/// </summary>
internal sealed class LatestIncidents(IncidentStore store)
{
    /// <summary>Open incidents remembered at most; past it everything is forgotten and read again on need.</summary>
    public const int Capacity = 4096;

    /// <summary>Each open incident's newest whole version, with its pods' positions (<see cref="WholePods"/>).</summary>
    private readonly ConcurrentDictionary<string, Remembered> _latest = new(StringComparer.Ordinal);

    /// <summary>
    /// About how many incidents <see cref="_latest"/> holds, kept beside it: its own <c>Count</c> takes every lock of the
    /// dictionary, and asking it on every notice made the drain's notices queue for those locks.
    /// </summary>
    private int _count;

    /// <summary>A whole incident that was just read or told: remembered when it is the newest seen.</summary>
    public Incident Remember(Incident whole) => Remember(whole, WholePods.Of(whole.Pods));

    private Incident Remember(Incident whole, WholePods pods)
    {
        if (whole.IsClosed)
        {
            if (_latest.TryRemove(whole.Id, out _))
            {
                Interlocked.Decrement(ref _count);
            }

            return whole;
        }

        if (Volatile.Read(ref _count) >= Capacity)
        {
            _latest.Clear();
            Interlocked.Exchange(ref _count, 0);
        }

        var remembered = new Remembered(whole, pods);
        if (_latest.TryAdd(whole.Id, remembered))
        {
            Interlocked.Increment(ref _count);
            return whole;
        }

        _latest.AddOrUpdate(whole.Id, remembered, (_, known) => known.Incident.Version > whole.Version ? known : remembered);
        return whole;
    }

    /// <summary>
    /// <paramref name="partial"/> (the incident as a report wrote it, holding only that report's pods) made whole: on top
    /// of the remembered version before it, or the remembered one when that is already newer, or read again.
    /// </summary>
    /// <param name="after">The version <paramref name="partial"/>'s pods were changed on top of (several reports' pods put
    /// together: the version before the first of them); by default the one just before it.</param>
    public async Task<Incident> CompleteAsync(Incident partial, CancellationToken cancellationToken, int? after = null)
    {
        if (_latest.TryGetValue(partial.Id, out var known))
        {
            if (known.Incident.Version == (after ?? partial.Version - 1))
            {
                var whole = known.Pods.With(partial.Pods);
                return Remember(partial with { Pods = whole.Pods }, whole);
            }

            if (known.Incident.Version >= partial.Version)
            {
                return known.Incident;
            }
        }

        return await ReadAsync(partial.Id, cancellationToken).ConfigureAwait(false) ?? partial;
    }

    /// <summary>The incident as stored now: the remembered one when its version is still the stored one (one small read), else read whole.</summary>
    public async Task<Incident?> ReadAsync(string id, CancellationToken cancellationToken)
    {
        if (_latest.TryGetValue(id, out var known)
            && await store.VersionOfAsync(id, cancellationToken).ConfigureAwait(false) == known.Incident.Version)
        {
            return known.Incident;
        }

        return await store.GetAsync(id, cancellationToken).ConfigureAwait(false) is { } whole ? Remember(whole) : null;
    }

    /// <summary>An incident remembered whole, and its pods with their positions.</summary>
    private sealed record Remembered(Incident Incident, WholePods Pods);
}
