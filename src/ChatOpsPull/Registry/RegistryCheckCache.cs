using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Registry;

/// <summary>
/// Single-flight with a short memory: callers asking under the same key share the one check in flight, and its answer
/// serves again for <see cref="RegistryOptions.CacheWindow"/>. A caller that gives up stops waiting but does not stop
/// the shared check (it is bounded by <see cref="RegistryOptions.CheckTimeout"/>). Keys must not hold secrets: use
/// <see cref="RegistryCredentials.Fingerprint"/>.
/// </summary>
public sealed class RegistryCheckCache(IOptions<RegistryOptions> options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>Checks actually started (not shared); for tests and metrics.</summary>
    public long Started => Interlocked.Read(ref _started);

    private long _started;

    public async Task<RegistryCheck> GetOrRunAsync(string key, Func<Task<RegistryCheck>> run, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_entries.TryGetValue(key, out var existing))
            {
                if (existing.IsFresh(time.GetUtcNow(), options.Value.CacheWindow))
                {
                    var shared = await existing.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                    return shared with { FromCache = true };
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
            Sweep();
            _ = RunAsync(key, entry, run);
            return await entry.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task RunAsync(string key, Entry entry, Func<Task<RegistryCheck>> run)
    {
        try
        {
            var result = await run().ConfigureAwait(false);
            entry.Complete(result, time.GetUtcNow());
        }
        catch (Exception e)
        {
            // Failures of the checker itself are not remembered: the next caller tries again.
            _entries.TryRemove(new KeyValuePair<string, Entry>(key, entry));
            entry.Fail(e);
        }
    }

    private void Sweep()
    {
        if (_entries.Count < 1024)
        {
            return;
        }

        var now = time.GetUtcNow();
        foreach (var (key, entry) in _entries)
        {
            if (!entry.IsFresh(now, options.Value.CacheWindow))
            {
                _entries.TryRemove(new KeyValuePair<string, Entry>(key, entry));
            }
        }
    }

    private sealed class Entry
    {
        private readonly TaskCompletionSource<RegistryCheck> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _completedAtTicks = -1;

        public Task<RegistryCheck> Task => _completion.Task;

        public bool IsFresh(DateTimeOffset now, TimeSpan window)
        {
            var ticks = Interlocked.Read(ref _completedAtTicks);
            return ticks < 0 || now.UtcTicks - ticks < window.Ticks;
        }

        public void Complete(RegistryCheck result, DateTimeOffset at)
        {
            Interlocked.Exchange(ref _completedAtTicks, at.UtcTicks);
            _completion.TrySetResult(result);
        }

        public void Fail(Exception e) => _completion.TrySetException(e);
    }
}
