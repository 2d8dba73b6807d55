using System.Threading.Channels;

namespace ChatOpsPull.Detection.KubernetesWatch;

/// <summary>
/// Hands the tracker's changes to the sink on several lanes. All changes of one pod take the same lane and are delivered
/// in their order. A lane delivers what has piled up in it together: the changes of different pods at once, each pod's
/// one after the other. The sink stores reports of one workload that arrive together in one group commit, so a storm
/// of a thousand pods a second reaches the incident engine as a few hundred reports at a time and is stored in a few
/// transactions per workload, instead of sixteen reports at a time (one per lane), each its own transaction.
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

    /// <summary>
    /// The changes waiting together, by pod, each pod's in arrival order (pods in the order they first appear).
    /// </summary>
    internal static List<List<TrackerChange>> ByPod(IReadOnlyList<TrackerChange> changes)
    {
        var byPod = new Dictionary<string, List<TrackerChange>>(StringComparer.Ordinal);
        var pods = new List<List<TrackerChange>>();
        foreach (var change in changes)
        {
            var uid = UidOf(change);
            if (!byPod.TryGetValue(uid, out var list))
            {
                byPod[uid] = list = [];
                pods.Add(list);
            }

            list.Add(change);
        }

        return pods;
    }

    private static async Task RunLaneAsync(ChannelReader<TrackerChange> reader, Func<TrackerChange, CancellationToken, Task> deliver, CancellationToken cancellationToken)
    {
        var waiting = new List<TrackerChange>(LaneCapacity);
        while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            waiting.Clear();
            while (waiting.Count < LaneCapacity && reader.TryRead(out var change))
            {
                waiting.Add(change);
            }

            if (waiting.Count == 1)
            {
                await deliver(waiting[0], cancellationToken).ConfigureAwait(false);
                continue;
            }

            await Task.WhenAll(ByPod(waiting).Select(async pod =>
            {
                foreach (var change in pod)
                {
                    await deliver(change, cancellationToken).ConfigureAwait(false);
                }
            })).ConfigureAwait(false);
        }
    }

    private static string UidOf(TrackerChange change) => change switch
    {
        FailureChange failure => failure.Pod.Uid,
        ResolvedChange resolved => resolved.Pod.Uid,
        _ => throw new InvalidOperationException($"unknown change {change.GetType().Name}"),
    };

    private int LaneOf(TrackerChange change) => (int)((uint)StringComparer.Ordinal.GetHashCode(UidOf(change)) % (uint)_lanes.Length);
}
