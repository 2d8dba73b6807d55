using ChatOpsPull.Digest;
using ChatOpsPull.Fleet;
using ChatOpsPull.Tests.Incidents;
using ChatOpsPull.Tests.Storage;

namespace ChatOpsPull.Tests.Fleet;

/// <summary>
/// A digest that covers the fleet: its cluster scan is made by each covered cluster's own bot (a job on that cluster's
/// queue) and merged, wherever the digest is built — here on the chat replica, which has no cluster at all.
/// </summary>
[Collection(UsesPostgres.Name)]
public sealed class FleetDigestTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Fleet_digest_scans_every_covered_cluster_through_its_own_bot_and_names_a_cluster_without_one()
    {
        using var storage = await TestStorage.PostgresAsync(postgres);
        await using var fleet = new FleetOfBots(storage);
        var a = await fleet.StartAsync("prod-a");
        var b = await fleet.StartAsync("prod-b");
        var chat = await fleet.StartAsync("chat", chatReplica: true);
        a.SeedFailingDeployment("web", "registry.example.test/team/web", replicas: 1);
        b.SeedFailingDeployment("api", "registry.example.test/team/app:latest", replicas: 2);
        var everywhere = new DigestSchedule { Channel = "C0SHOP", Cluster = "prod-*" };

        var (scanned, result) = await chat.Get<FleetClusterScans>().ScanAsync(everywhere, CancellationToken.None);

        Assert.True(scanned);
        Assert.Equal(3, result.Pods);
        Assert.Contains(result.Workloads.FloatingTags, f => f.Use.Namespace == "prod-a/shop" && f.Use.Image == "registry.example.test/team/web");
        Assert.Contains(result.Workloads.FloatingTags, f => f.Use.Namespace == "prod-b/shop" && f.Use.Image == "registry.example.test/team/app:latest");
        Assert.Empty(chat.Api.Requests);
        Assert.Contains(a.Api.Requests, r => r.StartsWith("GET /api/v1/pods", StringComparison.Ordinal) || r.StartsWith("GET /api/v1/namespaces", StringComparison.Ordinal));

        // Only prod-b: prod-a's bot is not asked.
        var readsOfA = a.Api.Requests.Count;
        var (_, onlyB) = await chat.Get<FleetClusterScans>().ScanAsync(new DigestSchedule { Channel = "C0SHOP", Cluster = "prod-b" }, CancellationToken.None);
        Assert.All(onlyB.Workloads.FloatingTags, f => Assert.StartsWith("prod-b/", f.Use.Namespace, StringComparison.Ordinal));
        Assert.Equal(readsOfA, a.Api.Requests.Count);

        await fleet.StopAsync(b);
        await Eventually.ValueAsync(() => a.Get<FleetRegistry>().IsLiveAsync("prod-b", CancellationToken.None), live => !live, "prod-b to have no live bot");
        var report = await a.Get<DigestBuilder>().BuildAsync(everywhere, DateTimeOffset.UtcNow, CancellationToken.None);

        Assert.True(report.ClusterScanned);
        Assert.Contains(report.Cluster.Workloads.FloatingTags, f => f.Use.Namespace == "prod-a/shop");
        Assert.DoesNotContain(report.Cluster.Workloads.FloatingTags, f => f.Use.Namespace.StartsWith("prod-b/", StringComparison.Ordinal));
        Assert.Contains(report.Cluster.Notes, n => n.StartsWith("Cluster prod-b was not scanned: no bot of it is running", StringComparison.Ordinal));
    }
}
