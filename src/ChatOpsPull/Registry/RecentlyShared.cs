using System.Collections.Concurrent;

namespace ChatOpsPull.Registry;

/// <summary>An answer from <see cref="RecentlyShared{T}"/>: whether this caller made it, and when a reused one was made.</summary>
/// <param name="Joined">Another caller started the work: this one waited for it (in flight) or reused its answer.</param>
/// <param name="AnsweredAt">When the reused answer was finished; null when it was made while this caller waited.</param>
public readonly record struct SharedAnswer<T>(T Answer, bool Joined, DateTimeOffset? AnsweredAt);

/// <summary>
/// Single-flight with a short memory: callers asking under the same key share the one run in flight, and its answer
/// serves again for a window when the caller's rule says it may be kept. A caller that gives up stops waiting but does
/// not stop the shared run (the run must be bounded on its own). Failures (exceptions) are never kept: the next caller
/// runs again. Keys must not hold secrets.
/// </summary>
public sealed class RecentlyShared<T>(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private long _started;

    /// <summary>Runs actually started (not shared); for tests and metrics.</summary>
    public long Started => Interlocked.Read(ref _started);

    /// <param name="window">How long a kept answer serves again (zero: only the run in flight is shared).</param>
    /// <param name="keep">Whether a finished answer may serve later callers (a failure to reach a registry, say, is not kept).</param>
    public async Task<SharedAnswer<T>> GetOrRunAsync(string key, TimeSpan window, Func<Task<T>> run, Func<T, bool> keep, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_entries.TryGetValue(key, out var existing))
            {
                if (existing.IsFresh(time.GetUtcNow(), window))
                {
                    var answeredAt = existing.AnsweredAt;
                    var shared = await existing.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                    return new SharedAnswer<T>(shared, true, answeredAt);
                }

                _entries.TryRemove(new KeyValuePair<string, Entry>(key, existing));
                continue;
            }

            var entry = new Entry();
            if (!_entries.TryAdd(key, entry))
            {
                continue;
            }

            Interlocked.Increment(ref _started);
            Sweep(window);
            _ = RunAsync(key, entry, run, keep);
            return new SharedAnswer<T>(await entry.Task.WaitAsync(cancellationToken).ConfigureAwait(false), false, null);
        }
    }

    private async Task RunAsync(string key, Entry entry, Func<Task<T>> run, Func<T, bool> keep)
    {
        try
        {
            var result = await run().ConfigureAwait(false);
            if (!keep(result))
            {
                // Gone before it is finished, so no later caller can take it; those waiting already get it.
                _entries.TryRemove(new KeyValuePair<string, Entry>(key, entry));
            }

            entry.Complete(result, time.GetUtcNow());
        }
#pragma warning disable CA1031 // handed to every waiting caller; not remembered
        catch (Exception e)
#pragma warning restore CA1031
        {
            _entries.TryRemove(new KeyValuePair<string, Entry>(key, entry));
            entry.Fail(e);
        }
    }

    private void Sweep(TimeSpan window)
    {
        if (_entries.Count < 1024)
        {
            return;
        }

        var now = time.GetUtcNow();
        foreach (var (key, entry) in _entries)
        {
            if (!entry.IsFresh(now, window))
            {
                _entries.TryRemove(new KeyValuePair<string, Entry>(key, entry));
            }
        }
    }

    private sealed class Entry
    {
        private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _completedAtTicks = -1;

        public Task<T> Task => _completion.Task;

        /// <summary>When the answer was finished; null while in flight.</summary>
        public DateTimeOffset? AnsweredAt => Interlocked.Read(ref _completedAtTicks) is var ticks and >= 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

        public bool IsFresh(DateTimeOffset now, TimeSpan window)
        {
            var ticks = Interlocked.Read(ref _completedAtTicks);
            return ticks < 0 || now.UtcTicks - ticks < window.Ticks;
        }

        public void Complete(T result, DateTimeOffset at)
        {
            Interlocked.Exchange(ref _completedAtTicks, at.UtcTicks);
            _completion.TrySetResult(result);
        }

        public void Fail(Exception e) => _completion.TrySetException(e);
    }
}
