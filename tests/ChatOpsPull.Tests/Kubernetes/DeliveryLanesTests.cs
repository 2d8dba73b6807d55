using System.Collections.Concurrent;
using ChatOpsPull.Detection.KubernetesWatch;
using ChatOpsPull.Incidents;
using ChatOpsPull.Tests.Infrastructure;

namespace ChatOpsPull.Tests.Kubernetes;

public sealed class DeliveryLanesTests
{
    private static ResolvedChange Change(string pod, int n) =>
        new(new TrackedPod("uid-" + pod, "shop", pod, NodeName: null, Owners: []), n.ToString(System.Globalization.CultureInfo.InvariantCulture), PodResolution.Ready);

    [Fact]
    public async Task A_pods_change_waits_for_its_pods_change_before_it_but_other_pods_changes_do_not_wait_for_it()
    {
        var releases = new ConcurrentDictionary<string, TaskCompletionSource>();
        var started = new ConcurrentDictionary<string, bool>();
        var finished = new ConcurrentDictionary<string, bool>();
        var outOfOrder = new ConcurrentQueue<string>();
        var inFlight = 0;
        var mostInFlight = 0;
        static string Key(TrackerChange c) => c is ResolvedChange r ? $"{r.Pod.Name}#{r.Container}" : "?";
        TaskCompletionSource Release(string key) => releases.GetOrAdd(key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

        using var stop = new CancellationTokenSource();
        var lanes = new DeliveryLanes(
            1,
            async (change, _) =>
            {
                var r = (ResolvedChange)change;
                var n = int.Parse(r.Container!, System.Globalization.CultureInfo.InvariantCulture);
                if (n > 1 && !finished.ContainsKey($"{r.Pod.Name}#{n - 1}"))
                {
                    outOfOrder.Enqueue(Key(change));
                }

                started[Key(change)] = true;
                var now = Interlocked.Increment(ref inFlight);
                InterlockedMax(ref mostInFlight, now);
                await Release(Key(change)).Task;
                Interlocked.Decrement(ref inFlight);
                finished[Key(change)] = true;
            },
            stop.Token);

        // a#1 is taken and held (a slow workload's round); what comes after it is not held up behind it.
        await lanes.WriteAsync(Change("a", 1), CancellationToken.None);
        await Eventually.HoldsAsync(() => Volatile.Read(ref inFlight) == 1, "a#1 delivered");
        foreach (var change in new[] { Change("b", 1), Change("a", 2), Change("c", 1), Change("a", 3), Change("b", 2) })
        {
            await lanes.WriteAsync(change, CancellationToken.None);
        }

        await Eventually.HoldsAsync(() => started.ContainsKey("b#1") && started.ContainsKey("c#1"), "b#1 and c#1 delivered while a#1 is held");
        Release("b#1").SetResult();
        await Eventually.HoldsAsync(() => started.ContainsKey("b#2"), "b#2 delivered after b#1, while a#1 is still held");
        Assert.False(started.ContainsKey("a#2")); // a's changes wait for a#1
        foreach (var key in new[] { "c#1", "b#2", "a#1", "a#2", "a#3" })
        {
            Release(key).SetResult();
        }

        await Eventually.HoldsAsync(() => finished.Count == 6, "all six changes delivered");
        await lanes.CompleteAsync();
        Assert.Empty(outOfOrder);
        Assert.Equal(3, mostInFlight); // a#1, b#1 and c#1 (then a#1, c#1 and b#2)
    }

    [Fact]
    public async Task A_lane_with_every_place_taken_stops_taking_changes_until_one_is_delivered()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var delivered = 0;
        using var stop = new CancellationTokenSource();
        var lanes = new DeliveryLanes(
            1,
            async (_, _) =>
            {
                Interlocked.Increment(ref delivered);
                await release.Task;
            },
            stop.Token);

        for (var i = 0; i < DeliveryLanes.LaneCapacity + 5; i++)
        {
            await lanes.WriteAsync(Change("p" + i, 1), CancellationToken.None);
        }

        await Eventually.HoldsAsync(() => Volatile.Read(ref delivered) == DeliveryLanes.LaneCapacity, "a lane's places all taken");
        await Task.Delay(100);
        Assert.Equal(DeliveryLanes.LaneCapacity, Volatile.Read(ref delivered));
        release.SetResult();
        await lanes.CompleteAsync();
        Assert.Equal(DeliveryLanes.LaneCapacity + 5, delivered);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
