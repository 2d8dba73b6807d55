using System.Threading.Channels;

namespace ChatOpsPull.Detection.KubernetesWatch;

/// <summary>
/// Hands the tracker's changes to the sink on several lanes. All changes of one pod take the same lane, so they keep
/// their order; different pods are delivered in parallel, so a storm reaches the incident engine together and is stored
/// in a few group commits instead of one transaction per pod.
/// </summary>
internal sealed class DeliveryLanes
{
    private readonly Channel<TrackerChange>[] _lanes;
    private readonly Task[] _runners;

    public DeliveryLanes(int count, Func<TrackerChange, CancellationToken, Task> deliver, CancellationToken cancellationToken)
    {
        _lanes = new Channel<TrackerChange>[count];
        _runners = new Task[count];
        for (var i = 0; i < count; i++)
        {
            var lane = Channel.CreateBounded<TrackerChange>(new BoundedChannelOptions(256)
            {
                SingleReader = true,
                SingleWriter = true,
                FullMode = BoundedChannelFullMode.Wait,
            });
            _lanes[i] = lane;
            _runners[i] = Task.Run(
                async () =>
                {
                    await foreach (var change in lane.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                    {
                        await deliver(change, cancellationToken).ConfigureAwait(false);
                    }
                },
                CancellationToken.None);
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

    private int LaneOf(TrackerChange change)
    {
        var uid = change switch
        {
            FailureChange failure => failure.Pod.Uid,
            ResolvedChange resolved => resolved.Pod.Uid,
            _ => throw new InvalidOperationException($"unknown change {change.GetType().Name}"),
        };
        return (int)((uint)StringComparer.Ordinal.GetHashCode(uid) % (uint)_lanes.Length);
    }
}
