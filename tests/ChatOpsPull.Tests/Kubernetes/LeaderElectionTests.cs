using ChatOpsPull.Kubernetes;
using ChatOpsPull.Simulation.KubernetesApi;
using Microsoft.Extensions.Logging.Abstractions;

namespace ChatOpsPull.Tests.Kubernetes;

public sealed class LeaderElectionTests
{
    /// <summary>
    /// Short enough for a test, long enough for a loaded machine: the leader must renew within the renew deadline, so a
    /// stall of the leader's renewals longer than that (1 s, when these were 2 s and 1 s, happens on 2 busy cores) would end
    /// its term for real; here it takes 4 s. Retrying every 200 ms keeps the take-over after a release well under the lease.
    /// </summary>
    private static readonly LeaseOptions Fast = new()
    {
        Name = "chatopspull-watcher",
        LeaseDuration = TimeSpan.FromSeconds(6),
        RenewDeadline = TimeSpan.FromSeconds(4),
        RetryPeriod = TimeSpan.FromMilliseconds(200),
    };

    private sealed class Replica : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();

        public Replica(FakeKubernetesApi api, string user)
        {
            var token = user + "-token";
            api.AddUser(token, user);
            Leadership = new WatcherLeadership(api.CreateClient(token), Fast, "chatopspull", WatcherLeadership.NewIdentity(), NullLogger<WatcherLeadership>.Instance);
            Running = Task.Run(() => Leadership.RunWhileLeadingAsync(WorkAsync, _stop.Token));
        }

        public WatcherLeadership Leadership { get; }

        public Task Running { get; }

        /// <summary>True while the "watcher" of this replica runs.</summary>
        public volatile bool Watching;

        public int Terms;

        public async Task StopAsync()
        {
            await _stop.CancelAsync();
            await Running;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_stop.IsCancellationRequested)
            {
                await StopAsync();
            }

            _stop.Dispose();
        }

        private async Task WorkAsync(CancellationToken term)
        {
            Interlocked.Increment(ref Terms);
            Watching = true;
            try
            {
                await Task.Delay(Timeout.Infinite, term); // the "watcher" works until its term ends: not a wait for an outcome
            }
            finally
            {
                Watching = false;
            }
        }
    }

    [Fact]
    public async Task Of_two_replicas_one_watches_and_leadership_moves_when_the_leader_stops_renewing()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        api.Seed(new System.Text.Json.Nodes.JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new System.Text.Json.Nodes.JsonObject { ["name"] = "chatopspull" } });
        await using var a = new Replica(api, "system:serviceaccount:chatopspull:replica-a");
        await Eventually.HoldsAsync(() => a.Watching, "replica a leads");
        await using var b = new Replica(api, "system:serviceaccount:chatopspull:replica-b");
        await Eventually.HoldsAsync(() => b.Leadership.ObservedLeader == a.Leadership.Identity, "replica b to see a as leader");

        await RenewedForAWholeLeaseAsync(api, "chatopspull"); // b had a whole lease duration to take it
        Assert.True(a.Watching);
        Assert.Equal(0, b.Terms);
        Assert.Equal(a.Leadership.Identity, Lease(api)["spec"]!["holderIdentity"]!.GetValue<string>());
        Assert.Equal(a.Leadership.Identity, b.Leadership.ObservedLeader);

        // The leader can no longer renew (its updates are refused): it must stop watching, and b must take over.
        api.Deny("update", "leases", user: "system:serviceaccount:chatopspull:replica-a");
        await Eventually.HoldsAsync(() => !a.Watching, "replica a stops watching", TimeSpan.FromSeconds(30));
        await Eventually.HoldsAsync(() => b.Watching, "replica b takes over", TimeSpan.FromSeconds(30));

        var lease = Lease(api);
        Assert.Equal(b.Leadership.Identity, lease["spec"]!["holderIdentity"]!.GetValue<string>());
        Assert.Equal(1, lease["spec"]!["leaseTransitions"]!.GetValue<int>());
        Assert.Equal((int)Fast.LeaseDuration.TotalSeconds, lease["spec"]!["leaseDurationSeconds"]!.GetValue<int>());
        await RenewedForAWholeLeaseAsync(api, "chatopspull"); // a had a whole lease duration to come back
        Assert.False(a.Watching);
        Assert.Equal(1, a.Terms);
    }

    [Fact]
    public async Task A_leader_that_stops_releases_the_lease_and_the_other_replica_takes_it_at_once()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        api.Seed(new System.Text.Json.Nodes.JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new System.Text.Json.Nodes.JsonObject { ["name"] = "chatopspull" } });
        await using var a = new Replica(api, "system:serviceaccount:default:replica-a");
        await Eventually.HoldsAsync(() => a.Watching, "replica a leads");
        await using var b = new Replica(api, "system:serviceaccount:default:replica-b");
        await Eventually.HoldsAsync(() => b.Leadership.ObservedLeader == a.Leadership.Identity, "replica b to see a as leader");

        await a.StopAsync();
        Assert.False(a.Watching);
        var released = DateTime.UtcNow;
        await Eventually.HoldsAsync(() => b.Watching, "replica b takes over", TimeSpan.FromSeconds(30));

        var tookOver = DateTime.UtcNow - released;
        Assert.True(tookOver < Fast.LeaseDuration, $"took over {tookOver.TotalSeconds:0.0} s after the release: not before the {Fast.LeaseDuration.TotalSeconds:0} s lease would have expired");
        Assert.Equal(b.Leadership.Identity, Lease(api, "chatopspull")["spec"]!["holderIdentity"]!.GetValue<string>());
    }

    [Fact]
    public void Identity_is_the_pod_or_host_name_with_a_random_suffix()
    {
        var one = WatcherLeadership.NewIdentity();
        var two = WatcherLeadership.NewIdentity();
        Assert.NotEqual(one, two);
        var name = Environment.GetEnvironmentVariable("POD_NAME") ?? Environment.MachineName.ToLowerInvariant();
        Assert.StartsWith(name + "-", one, StringComparison.Ordinal);
        Assert.Matches("-[0-9a-f]{6}$", one);
    }

    /// <summary>Waits until the holder has renewed the lease one whole lease duration after now (the others had a term to act).</summary>
    private static Task RenewedForAWholeLeaseAsync(FakeKubernetesApi api, string ns)
    {
        var from = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(Lease(api, ns)["spec"]!["leaseDurationSeconds"]!.GetValue<int>());
        return Eventually.HoldsAsync(() => RenewTime(api, ns) > from, $"a lease renewal after {from:HH:mm:ss.fff}", seen: () => $"renewed at {RenewTime(api, ns):HH:mm:ss.fff}");
    }

    private static DateTimeOffset RenewTime(FakeKubernetesApi api, string ns) =>
        DateTimeOffset.Parse(Lease(api, ns)["spec"]!["renewTime"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);

    private static System.Text.Json.Nodes.JsonObject Lease(FakeKubernetesApi api, string ns = "chatopspull") =>
        api.Store.Get(ResourceType.Of("leases"), ns, "chatopspull-watcher") ?? throw new InvalidOperationException("no lease");
}
