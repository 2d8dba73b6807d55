using System.Threading.Channels;

namespace ChatOpsPull.Detection.KubernetesWatch;

/// <summary>
/// Hands the tracker's changes to the sink on several lanes. All changes of one pod take the same lane and are delivered
/// in their order, each after the one before it ended; changes of different pods do not wait for each other. A lane
/// takes a change as soon as one of its <see cref="LaneCapacity"/> places is free, not when everything it took before
/// has been delivered: the sink stores reports of one workload that are waiting together in one group commit round, so
/// in a storm whatever piled up while the store was busy reaches the engine at once and rides the next round of its
/// workload (a backlog shrinks faster the larger it gets), instead of queueing in the lane behind the slowest workload
/// of the changes taken before it. A lane that has all its places taken stops reading, and the watcher waits for it.
/// </summary>
internal sealed class DeliveryLanes
{
    /// <summary>The most changes a lane delivers at once (its capacity: everything waiting in it).</summary>
    internal const int LaneCapacity = 256;

    private readonly Channel<TrackerChange>[] _lanes;
    private readonly Task[] _runners;

    public DeliveryLanes(int count, Func<TrackerChange, CancellationToken, Task> deliver, CancellationToken cancellationToken)
    {
        _lanes = new Channel<TrackerChange>[count];
        _runners = new Task[count];
        for (var i = 0; i < count; i++)
        {
            var lane = Channel.CreateBounded<TrackerChange>(new BoundedChannelOptions(LaneCapacity)
            {
                SingleReader = true,
                SingleWriter = true,
                FullMode = BoundedChannelFullMode.Wait,
            });
            _lanes[i] = lane;
            _runners[i] = Task.Run(() => RunLaneAsync(lane.Reader, deliver, cancellationToken), CancellationToken.None);
        }
    }

    /// <summary>Completes when any lane fails (or when all have finished).</summary>
    public Task Completion => Task.WhenAny(_runners).Unwrap();

    public ValueTask WriteAsync(TrackerChange change, CancellationToken cancellationToken) =>
        _lanes[LaneOf(change)].Writer.WriteAsync(change, cancellationToken);

    /// <summary>No more changes: lets every lane deliver what it holds, then ends.</summary>
    public async Task CompleteAsync()
    {
        foreach (var lane in _lanes)
        {
            lane.Writer.TryComplete();
        }

        await Task.WhenAll(_runners).ConfigureAwait(false);
    }

    private static async Task RunLaneAsync(ChannelReader<TrackerChange> reader, Func<TrackerChange, CancellationToken, Task> deliver, CancellationToken cancellationToken)
    {
        using var lane = new LaneDeliveries(deliver, cancellationToken);
        try
        {
            while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (reader.TryRead(out var change))
                {
                    await lane.StartAsync(change).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            await lane.DrainAsync().ConfigureAwait(false);
        }

        lane.ThrowIfFailed();
    }

    private static string UidOf(TrackerChange change) => change switch
    {
        FailureChange failure => failure.Pod.Uid,
        ResolvedChange resolved => resolved.Pod.Uid,
        _ => throw new InvalidOperationException($"unknown change {change.GetType().Name}"),
    };

    private int LaneOf(TrackerChange change) => (int)((uint)StringComparer.Ordinal.GetHashCode(UidOf(change)) % (uint)_lanes.Length);

    /// <summary>
    /// One lane's deliveries under way: at most <see cref="LaneCapacity"/> at once (delivering, or waiting for their pod's
    /// change before them), each pod's chained after its last. A delivery that throws (the watcher's delivery throws only
    /// when it is cancelled) fails the lane once the deliveries under way ended.
    /// </summary>
    private sealed class LaneDeliveries(Func<TrackerChange, CancellationToken, Task> deliver, CancellationToken cancellationToken) : IDisposable
    {
        private readonly SemaphoreSlim _places = new(LaneCapacity, LaneCapacity);
        private readonly Lock _gate = new();
        private readonly Dictionary<string, Task> _lastOfPod = new(StringComparer.Ordinal);
        private readonly HashSet<Task> _running = [];
        private System.Runtime.ExceptionServices.ExceptionDispatchInfo? _failed;

        /// <summary>Waits for a free place, then starts delivering <paramref name="change"/> after its pod's change before it.</summary>
        public async Task StartAsync(TrackerChange change)
        {
            await _places.WaitAsync(cancellationToken).ConfigureAwait(false);
            ThrowIfFailed();
            var uid = UidOf(change);
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Task? before;
            lock (_gate)
            {
                before = _lastOfPod.GetValueOrDefault(uid);
                _lastOfPod[uid] = done.Task;
                _running.Add(done.Task);
            }

            _ = DeliverInTurnAsync(change, uid, before, done);
        }

        /// <summary>Waits until every delivery started has ended.</summary>
        public async Task DrainAsync()
        {
            while (true)
            {
                Task[] left;
                lock (_gate)
                {
                    left = [.. _running];
                }

                if (left.Length == 0)
                {
                    return;
                }

                await Task.WhenAll(left).ConfigureAwait(false);
            }
        }

        public void ThrowIfFailed() => _failed?.Throw();

        public void Dispose() => _places.Dispose();

        private async Task DeliverInTurnAsync(TrackerChange change, string uid, Task? before, TaskCompletionSource done)
        {
            try
            {
                if (before is not null)
                {
                    await before.ConfigureAwait(false); // never faults: each delivery's own task only ends
                }

                await deliver(change, cancellationToken).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // kept for the lane, which fails with it once its deliveries under way ended
            catch (Exception e)
#pragma warning restore CA1031
            {
                Interlocked.CompareExchange(ref _failed, System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e), null);
            }
            finally
            {
                _places.Release(); // before it counts as ended: the lane disposes its places once none is running
                lock (_gate)
                {
                    if (_lastOfPod.TryGetValue(uid, out var last) && last == done.Task)
                    {
                        _lastOfPod.Remove(uid); // the pod's last change: nothing chains after it
                    }

                    _running.Remove(done.Task);
                }

                done.SetResult();
            }
        }
    }
}
