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
    public async Task Changes_waiting_in_a_lane_are_delivered_together_and_each_pods_one_after_the_other()
    {
        var releases = new ConcurrentDictionary<string, TaskCompletionSource>();
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

                var now = Interlocked.Increment(ref inFlight);
                InterlockedMax(ref mostInFlight, now);
                await Release(Key(change)).Task;
                Interlocked.Decrement(ref inFlight);
                finished[Key(change)] = true;
            },
            stop.Token);

        // The first change is taken alone and held; the rest pile up behind it.
        await lanes.WriteAsync(Change("a", 1), CancellationToken.None);
        await Eventually.HoldsAsync(() => Volatile.Read(ref inFlight) == 1, "a#1 delivered");
        foreach (var change in new[] { Change("b", 1), Change("a", 2), Change("c", 1), Change("a", 3), Change("b", 2) })
        {
            await lanes.WriteAsync(change, CancellationToken.None);
        }

        Release("a#1").SetResult();

        // Pods b, a and c now go together: b#1, a#2 and c#1 at once, a#3 and b#2 each after their pod's change before.
        await Eventually.HoldsAsync(() => Volatile.Read(ref inFlight) == 3, "b#1, a#2 and c#1 delivered together");
        foreach (var key in new[] { "b#1", "a#2", "c#1", "a#3", "b#2" })
        {
            Release(key).SetResult();
        }

        await Eventually.HoldsAsync(() => finished.Count == 6, "all six changes delivered");
        await lanes.CompleteAsync();
        Assert.Empty(outOfOrder);
        Assert.Equal(3, mostInFlight);
    }

    [Fact]
    public void Changes_taken_together_are_grouped_by_pod_in_arrival_order()
    {
        var groups = DeliveryLanes.ByPod([Change("a", 1), Change("b", 1), Change("a", 2), Change("c", 1), Change("b", 2)]);

        Assert.Equal(
            ["a#1 a#2", "b#1 b#2", "c#1"],
            groups.Select(g => string.Join(' ', g.Cast<ResolvedChange>().Select(c => $"{c.Pod.Name}#{c.Container}"))));
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
