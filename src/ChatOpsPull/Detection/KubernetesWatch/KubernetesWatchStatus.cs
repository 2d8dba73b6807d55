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

    internal void InputProcessed() => Interlocked.Increment(ref _inputsProcessed);
}
