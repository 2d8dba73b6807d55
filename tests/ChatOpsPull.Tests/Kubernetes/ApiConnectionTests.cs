using ChatOpsPull.Diagnosing;
using ChatOpsPull.Kubernetes;
using ChatOpsPull.Simulation.KubernetesApi;
using ChatOpsPull.Tests.Infrastructure;
using k8s;

namespace ChatOpsPull.Tests.Kubernetes;

/// <summary>
/// How many connections the bot's Kubernetes client opens for a storm of diagnosis reads while its watches are held open,
/// counted at the API stand-in. A real API server speaks TLS and offers h2 (ALPN); the client asks for HTTP/2, so its
/// watches and every concurrent read ride one connection. Over plain HTTP/1.1 (the benchmark's old stand-in) each watch
/// holds a connection of its own and each concurrent read needs one, so a storm opened connections while it ran.
/// </summary>
public sealed class ApiConnectionTests : IDisposable
{
    /// <summary>
    /// Diagnoses at once: the bot runs at most <see cref="DiagnosisOptions.Workers"/>. Each inspection reads up to three
    /// objects at once, so with the watches they stay under the 100 streams the stand-in's HTTP/2 connection carries at
    /// once (40 inspections may need up to 122; a run with 40 opened a second connection, as the client should then).
    /// </summary>
    private static readonly int Diagnoses = new DiagnosisOptions().Workers;
    private const int HeldWatches = 2;

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "chatopspull-apiconn-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task Over_TLS_held_watches_and_a_storm_of_pod_inspections_open_no_connection_beside_the_first_HTTP2_one()
    {
        await using var api = await FakeKubernetesApi.StartAsync(https: true);

        var (forWatches, forStorm, protocols) = await StormAsync(api);

        Assert.Equal((0, 0), (forWatches, forStorm));
        Assert.Equal(["HTTP/2"], protocols);
    }

    [Fact]
    public async Task Over_plain_HTTP_each_held_watch_holds_a_connection_and_a_storm_of_pod_inspections_opens_more()
    {
        await using var api = await FakeKubernetesApi.StartAsync();

        var (forWatches, forStorm, protocols) = await StormAsync(api);

        Assert.InRange(forWatches, HeldWatches - 1, HeldWatches); // the first watch may take the first read's idle connection
        Assert.True(forStorm > 1, $"{forStorm} connections opened by the storm");
        Assert.Equal(["HTTP/1.1"], protocols);
    }

    /// <summary>
    /// Through the connection the bot builds from a kubeconfig (its TLS and auth set-up): one read, two pod watches held open, then
    /// <see cref="Diagnoses"/> pod inspections at once (pod, owners, service account, secrets, node: the diagnosis's reads).
    /// Returns the connections the stand-in accepted for the watches and then during the storm, and the protocols its
    /// requests came over.
    /// </summary>
    private async Task<(long ForWatches, long ForStorm, string[] Protocols)> StormAsync(FakeKubernetesApi api)
    {
        KubeFixtures.SeedWebWorkload(api);
        for (var i = 0; i < Diagnoses; i++)
        {
            api.Seed(KubeFixtures.WebPod($"web-6b9f7c5d8-p{i:00}", uid: Guid.NewGuid().ToString()));
        }

        using var connection = KubernetesConnection.FromKubeconfig(api.WriteKubeconfig(_directory), null);
        var client = connection.Client!;
        var inspector = new PodInspector(client, new OwnerResolver(client), new PullSecretInspector(client), new NodeInspector(client), TimeProvider.System);

        // One read first, as the watcher's first list: until a TLS connection's ALPN has said h2, requests sent at once
        // may each open a connection (the first two watches sent together did, under load).
        _ = await client.CoreV1.ListNamespaceAsync();
        await Eventually.HoldsAsync(() => api.ConnectionsAccepted == 1, "the first read's connection was counted");
        var before = api.ConnectionsAccepted;
        using var stopWatching = new CancellationTokenSource();
        var watches = Enumerable.Range(0, HeldWatches)
            .Select(_ => client.CoreV1.ListNamespacedPodWithHttpMessagesAsync("shop", watch: true, cancellationToken: stopWatching.Token))
            .ToArray();
        try
        {
            await Eventually.HoldsAsync(
                () => api.Requests.Count(r => r.Contains("watch=true", StringComparison.Ordinal)) == HeldWatches,
                "both watches reached the server");
            var watching = api.ConnectionsAccepted;

            var inspections = await Task.WhenAll(Enumerable.Range(0, Diagnoses)
                .Select(i => inspector.InspectAsync("shop", $"web-6b9f7c5d8-p{i:00}", CancellationToken.None)));

            Assert.All(inspections, i => Assert.Null(i.Failure));
            Assert.All(watches, w => Assert.False(w.IsCompleted && !w.IsCompletedSuccessfully));
            return (watching - before, api.ConnectionsAccepted - watching, [.. api.RequestsByProtocol.Keys.Order(StringComparer.Ordinal)]);
        }
        finally
        {
            await stopWatching.CancelAsync();
            foreach (var watch in watches)
            {
                try
                {
                    (await watch).Dispose();
                }
                catch (OperationCanceledException)
                {
                }
            }
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}
