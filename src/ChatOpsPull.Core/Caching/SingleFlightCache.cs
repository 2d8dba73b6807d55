using System.Collections.Concurrent;

namespace ChatOpsPull.Core.Caching;

/// <summary>
/// Answers kept by key, each read once however many callers ask for it at once. The first caller to miss a key stores
/// an entry for it under the cache's lock (having looked for one again there) and only then starts the read: every
/// other caller of that key, also one that lost the race to store an entry, waits for that read instead of sending its
/// own. The read puts its answer on its entry before the callers are told, so a caller arriving just as the read
/// finishes finds the answer and reads nothing new.
/// </summary>
/// <remarks>
/// How long an answer serves is its owner's rule (<see cref="Freshness"/>). An answer that is not fresh even at the moment
/// it arrives (a failure its owner does not keep), and a read that threw, go to the callers that waited for that read and
/// are not kept: the next caller reads again. A caller's cancellation ends only its own wait; the read gets no token, as
/// other callers may be waiting for it (a read that must not hang bounds itself). When an entry is added to a cache
/// holding <c>capacity</c> entries, answers no longer fresh are dropped, and if that leaves it as full, every answer is;
/// reads in flight are kept.
/// </remarks>
public sealed class SingleFlightCache<TKey, TValue>
    where TKey : notnull
{
    /// <summary>Whether <paramref name="answer"/>, which arrived at <paramref name="answeredAt"/>, still serves at <paramref name="now"/>.</summary>
    public delegate bool Freshness(TValue answer, DateTimeOffset answeredAt, DateTimeOffset now);

    private readonly ConcurrentDictionary<TKey, Entry> _entries;
    private readonly Lock _gate = new();
    private readonly Freshness _isFresh;
    private readonly int _capacity;
    private readonly TimeProvider _time;
    private long _readsStarted;

    public SingleFlightCache(Freshness isFresh, int capacity, TimeProvider time, IEqualityComparer<TKey>? comparer = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _isFresh = isFresh;
        _capacity = capacity;
        _time = time;
        _entries = new ConcurrentDictionary<TKey, Entry>(comparer);
    }

    /// <summary>Keys with an answer kept or a read in flight.</summary>
    public int Count => _entries.Count;

    /// <summary>Reads started (not joined to one in flight, not served from a kept answer); for tests and metrics.</summary>
    public long ReadsStarted => Interlocked.Read(ref _readsStarted);

    /// <summary>
    /// The answer for <paramref name="key"/>: the one kept if it is still fresh, else that of the read in flight for it,
    /// else that of a read this call starts with <paramref name="read"/> (given <paramref name="state"/>, so a static
    /// lambda allocates nothing when the answer is kept).
    /// </summary>
    public Task<TValue> GetAsync<TState>(TKey key, TState state, Func<TKey, TState, Task<TValue>> read, CancellationToken cancellationToken) =>
        Find(key, state, read).Answer.WaitAsync(cancellationToken);

    /// <summary>
    /// As <see cref="GetAsync"/>, and says where the answer came from: whether another caller's read made it (joined in
    /// flight, or kept), and when a kept answer arrived (null when it arrived while this caller waited), so that evidence
    /// made from it can say how old it is.
    /// </summary>
    public async Task<SharedAnswer<TValue>> GetSharedAsync<TState>(TKey key, TState state, Func<TKey, TState, Task<TValue>> read, CancellationToken cancellationToken)
    {
        var (answer, joined, answeredAt) = Find(key, state, read);
        return new SharedAnswer<TValue>(await answer.WaitAsync(cancellationToken).ConfigureAwait(false), joined, answeredAt);
    }

    private (Task<TValue> Answer, bool Joined, DateTimeOffset? AnsweredAt) Find<TState>(TKey key, TState state, Func<TKey, TState, Task<TValue>> read)
    {
        if (_entries.TryGetValue(key, out var seen) && Serving(seen) is { } served)
        {
            return (served.Answer, true, served.KeptFrom);
        }

        var entry = new Entry();
        lock (_gate)
        {
            // Again under the lock: the entry may have been stored, or answered, since the look above.
            if (_entries.TryGetValue(key, out seen) && Serving(seen) is { } shared)
            {
                return (shared.Answer, true, shared.KeptFrom);
            }

            MakeRoom();
            _entries[key] = entry;
        }

        // Only now that its entry is the one stored: nobody else starts a read for this key until it is answered.
        Interlocked.Increment(ref _readsStarted);
        _ = ReadAsync(key, entry, state, read);
        return (entry.Answer.Task, false, null);
    }

    /// <summary>
    /// The entry's read in flight (kept from: null), or its answer if kept and still fresh (kept from: when it arrived);
    /// null when a new read is due.
    /// </summary>
    private (Task<TValue> Answer, DateTimeOffset? KeptFrom)? Serving(Entry entry)
    {
        var answer = entry.Answer.Task;
        if (!answer.IsCompleted)
        {
            return (answer, null);
        }

        return answer.IsCompletedSuccessfully && entry.AnsweredAt is { } at && _isFresh(answer.Result, at, _time.GetUtcNow()) ? (answer, at) : null;
    }

    private async Task ReadAsync<TState>(TKey key, Entry entry, TState state, Func<TKey, TState, Task<TValue>> read)
    {
        TValue value;
        try
        {
            value = await read(key, state).ConfigureAwait(false);
        }
        catch (Exception e) // whatever the read threw goes to the callers that waited for it
        {
            // Not kept: the entry goes before the callers hear, so the next caller reads again.
            _entries.TryRemove(new KeyValuePair<TKey, Entry>(key, entry));
            if (e is OperationCanceledException cancelled)
            {
                entry.Answer.TrySetCanceled(cancelled.CancellationToken);
            }
            else
            {
                entry.Answer.TrySetException(e);
            }

            return;
        }

        var now = _time.GetUtcNow();
        if (_isFresh(value, now, now))
        {
            entry.AnsweredAt = now;
        }
        else
        {
            _entries.TryRemove(new KeyValuePair<TKey, Entry>(key, entry));
        }

        entry.Answer.TrySetResult(value);
    }

    /// <summary>Under the lock, before an entry is added: keeps the cache below its capacity without touching reads in flight.</summary>
    private void MakeRoom()
    {
        if (_entries.Count < _capacity)
        {
            return;
        }

        foreach (var (key, entry) in _entries)
        {
            if (entry.Answer.Task.IsCompleted && Serving(entry) is null)
            {
                _entries.TryRemove(new KeyValuePair<TKey, Entry>(key, entry));
            }
        }

        if (_entries.Count < _capacity)
        {
            return;
        }

        foreach (var (key, entry) in _entries)
        {
            if (entry.Answer.Task.IsCompleted)
            {
                _entries.TryRemove(new KeyValuePair<TKey, Entry>(key, entry));
            }
        }
    }

    private sealed class Entry
    {
        /// <summary>The read's answer, for every caller of the key while it is in flight and, if kept, after.</summary>
        public TaskCompletionSource<TValue> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>
        /// When the answer arrived, null for an answer not kept. Written before <see cref="Answer"/> completes and read only
        /// once it has, so the task's completion orders the two.
        /// </summary>
        public DateTimeOffset? AnsweredAt { get; set; }
    }
}

/// <summary>An answer from <see cref="SingleFlightCache{TKey,TValue}.GetSharedAsync"/>, with where it came from.</summary>
/// <param name="Joined">Another caller's read made it: this one waited for that read in flight or was given its kept answer.</param>
/// <param name="AnsweredAt">When the kept answer given arrived; null when the answer arrived while this caller waited.</param>
public readonly record struct SharedAnswer<T>(T Answer, bool Joined, DateTimeOffset? AnsweredAt);
