using ChatOpsPull.Core.Failures;
using ChatOpsPull.Kubernetes;
using ChatOpsPull.Simulation.KubernetesApi;
using k8s.Models;

namespace ChatOpsPull.Tests.Kubernetes;

/// <summary>What a storm of pods asking for their owners at once costs the API server.</summary>
public sealed class OwnerResolverTests
{
    [Fact]
    public async Task Two_hundred_pods_of_one_replicaset_asking_at_once_read_it_once()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        KubeFixtures.SeedWebWorkload(api);
        var pod = k8s.KubernetesJson.Deserialize<V1Pod>(KubeFixtures.WebPod("web-6b9f7c5d8-x7kq2").ToJsonString());
        var owners = new OwnerResolver(api.CreateClient());

        var chains = await Task.WhenAll(Enumerable.Range(0, 200).Select(i =>
            Task.Run(() => owners.ResolveAsync("shop", $"web-6b9f7c5d8-{i:00000}", pod.Metadata.OwnerReferences, CancellationToken.None))));

        Assert.All(chains, c => Assert.Equal([new WorkloadRef("ReplicaSet", "web-6b9f7c5d8"), new WorkloadRef("Deployment", "web")], c.Owners));
        Assert.Equal(1, owners.ReadsStarted);
        Assert.Single(api.Requests, r => r.Contains("/replicasets/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Pods_of_many_replicasets_asking_at_once_never_have_more_than_the_read_limit_in_flight()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        var inFlight = 0;
        var most = 0;
        api.BeforeServing = async request =>
        {
            if (request.Resource != "replicasets")
            {
                return;
            }

            var now = Interlocked.Increment(ref inFlight);
            InterlockedMax(ref most, now);
            try
            {
                // Keep each read open a moment, so that reads started together overlap on the server.
                await Task.Delay(20);
            }
            finally
            {
                Interlocked.Decrement(ref inFlight);
            }
        };
        var owners = new OwnerResolver(api.CreateClient());

        var chains = await Task.WhenAll(Enumerable.Range(0, 64).Select(i =>
        {
            V1OwnerReference[] references = [new() { ApiVersion = "apps/v1", Kind = "ReplicaSet", Name = $"gone-{i}", Uid = Guid.NewGuid().ToString(), Controller = true }];
            return Task.Run(() => owners.ResolveAsync("shop", $"gone-{i}-x", references, CancellationToken.None));
        }));

        // Every owner was read (each is missing, so its chain says so) and the server never saw more than the limit at once.
        Assert.All(chains, c => Assert.EndsWith("no longer exists", c.Note, StringComparison.Ordinal));
        Assert.Equal(64, owners.ReadsStarted);
        Assert.InRange(most, 1, OwnerResolver.ReadLimit);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var seen = Volatile.Read(ref target);
        while (value > seen)
        {
            var was = Interlocked.CompareExchange(ref target, value, seen);
            if (was == seen)
            {
                return;
            }

            seen = was;
        }
    }
}
