namespace ChatOpsPull.Detection.KubernetesWatch;

/// <summary>Counters the watcher keeps about itself (for /readyz, logs, tests and the memory bench).</summary>
public sealed class KubernetesWatchStatus
{
    private long _podLists;
    private long _goneRelists;
    private long _reconnects;
    private long _podsListed;
    private long _eventsSeen;
    private long _podEvents;
    private long _bookmarks;
    private long _inputsProcessed;
    private long _inFlight;

    /// <summary>Completed full pod lists (start, resync, after 410 Gone).</summary>
    public long PodLists => Interlocked.Read(ref _podLists);

    /// <summary>Relists forced by 410 Gone.</summary>
    public long GoneRelists => Interlocked.Read(ref _goneRelists);

    /// <summary>Watch streams re-opened after they dropped or failed.</summary>
    public long Reconnects => Interlocked.Read(ref _reconnects);

    public long PodsListed => Interlocked.Read(ref _podsListed);

    public long EventsSeen => Interlocked.Read(ref _eventsSeen);

    public long PodWatchEvents => Interlocked.Read(ref _podEvents);

    public long Bookmarks => Interlocked.Read(ref _bookmarks);

    /// <summary>Pod and event inputs the tracker has processed (delivered to the sink when they changed something).</summary>
    public long InputsProcessed => Interlocked.Read(ref _inputsProcessed);

    /// <summary>Pods the tracker holds because a container of theirs cannot pull.</summary>
    public int TrackedPods { get; internal set; }

    /// <summary>The last pod resourceVersion the watcher has processed.</summary>
    public string? PodResourceVersion { get; internal set; }

    /// <summary>The last event resourceVersion the watcher has processed (a list's, a watch event's or a bookmark's).</summary>
    public string? EventResourceVersion { get; internal set; }

    /// <summary>
    /// Inputs read from the API server and not yet through the tracker, plus the tracker's changes not yet delivered to
    /// the sink: zero when the watcher has nothing left to do with what it has read.
    /// </summary>
    public long InFlight => Interlocked.Read(ref _inFlight);

    internal void PodListCompleted(int count)
    {
        Interlocked.Increment(ref _podLists);
        Interlocked.Add(ref _podsListed, count);
    }

    internal void Gone() => Interlocked.Increment(ref _goneRelists);

    internal void Reconnected() => Interlocked.Increment(ref _reconnects);

    internal void EventSeen() => Interlocked.Increment(ref _eventsSeen);

    internal void PodEventSeen() => Interlocked.Increment(ref _podEvents);

    internal void BookmarkSeen() => Interlocked.Increment(ref _bookmarks);

    internal void InputProcessed()
    {
        Interlocked.Increment(ref _inputsProcessed);
        Interlocked.Decrement(ref _inFlight);
    }

    /// <summary>Counted before the input or change is queued, so that it is never in a queue uncounted.</summary>
    internal void Queued() => Interlocked.Increment(ref _inFlight);

    /// <summary>An input that could not be queued (the watch ended) or a change that was delivered or dropped.</summary>
    internal void Done() => Interlocked.Decrement(ref _inFlight);
}
