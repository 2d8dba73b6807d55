using ChatOpsPull.Diagnosing;
using ChatOpsPull.Incidents;
using ChatOpsPull.Simulation.KubernetesApi;
using ChatOpsPull.Storage;
using ChatOpsPull.Tests.Kubernetes;
using ChatOpsPull.Tests.Registry;
using ChatOpsPull.Tests.Storage;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ChatOpsPull.Tests.Jobs;

/// <summary>The start-up warm-up of the diagnosis path (<see cref="DiagnosisWarmUp"/>) against the API stand-in and loopback registries.</summary>
public sealed class DiagnosisWarmUpTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "chatopspull-warmup-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task The_start_up_warm_up_asks_only_the_registry_of_the_pod_it_reads_and_stores_nothing()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        await using var ownRegistry = await ScriptedServer.StartAsync();
        await using var otherRegistry = await ScriptedServer.StartAsync();
        KubeFixtures.SeedWebWorkload(api);
        SeedWebPod(api, "web-6b9f7c5d8-warm1", $"{ownRegistry.Authority}/shop/web:1.4.3");
        var sink = new RecordingSink(); // the watcher's reports go here, not into incidents: only the warm-up acts
        await using var host = new BotTestHost(
            TestStorage.SqliteIn(Path.Combine(_directory, "data")),
            new()
            {
                ["Bot:Cluster"] = "prod-eu",
                ["Kubernetes:KubeconfigPath"] = api.WriteKubeconfig(Path.Combine(_directory, "kube"), contextNamespace: "shop"),
                ["Kubernetes:Namespaces:0"] = "shop",
                ["Registry:Hosts:0:Host"] = ownRegistry.Authority,
                ["Registry:Hosts:0:PlainHttp"] = "true",
                ["Registry:Hosts:1:Host"] = otherRegistry.Authority,
                ["Registry:Hosts:1:PlainHttp"] = "true",
                ["Diagnosis:WarmUp"] = "true",
            },
            s => s.AddSingleton<IPullFailureSink>(sink));

        await WarmUpDoneAsync(host);

        Assert.NotEmpty(ownRegistry.Requests);
        Assert.All(ownRegistry.Requests, r => Assert.Matches("^/v2/(shop/web/.*)?$", r.PathAndQuery.Split('?')[0]));
        Assert.Empty(otherRegistry.Requests);
        var database = host.Services.GetRequiredService<BotDatabase>();
        await using var connection = await database.OpenAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM incidents"));
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM audit_log"));
    }

    [Fact]
    public async Task The_start_up_self_check_goes_through_the_incident_diagnoser_and_counts_stores_and_tells_nothing()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        await using var registry = await ScriptedServer.StartAsync();
        KubeFixtures.SeedWebWorkload(api);
        SeedWebPod(api, "web-6b9f7c5d8-warm2", $"{registry.Authority}/shop/web:1.4.3");
        using var diagnoses = new DiagnosesCounted();
        var told = new CountingNotifier();
        await using var host = new BotTestHost(
            TestStorage.SqliteIn(Path.Combine(_directory, "data")),
            new()
            {
                ["Bot:Cluster"] = "prod-eu",
                ["Kubernetes:KubeconfigPath"] = api.WriteKubeconfig(Path.Combine(_directory, "kube"), contextNamespace: "shop"),
                ["Kubernetes:Namespaces:0"] = "shop",
                ["Registry:Hosts:0:Host"] = registry.Authority,
                ["Registry:Hosts:0:PlainHttp"] = "true",
                ["Diagnosis:WarmUp"] = "true",
            },
            s => s.AddSingleton<IPullFailureSink>(new RecordingSink()).AddSingleton<IIncidentNotifier>(told));

        await WarmUpDoneAsync(host);

        // The unattached secret for the pod's registry is looked at only by the incident diagnoser (EvidenceDiagnoser):
        // the self-check went through it, beside the reads of the pod, its node, workload and rollout history.
        var sent = api.Requests.Select(r => r.Split('?')[0]).ToArray();
        Assert.Contains("GET /api/v1/namespaces/shop/secrets/" + ChatOpsPull.Core.Diagnoses.DiagnosisPlanner.PullSecretName(registry.Authority), sent);
        Assert.Contains("GET /api/v1/namespaces/shop/pods/web-6b9f7c5d8-warm2", sent);
        Assert.Contains("GET /apis/apps/v1/namespaces/shop/deployments/web", sent);
        Assert.Contains("GET /apis/apps/v1/namespaces/shop/replicasets", sent);
        Assert.NotEmpty(registry.Requests);
        Assert.Equal(0, diagnoses.Of(host.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()));
        Assert.Equal(0, told.Count);
        var database = host.Services.GetRequiredService<BotDatabase>();
        await using var connection = await database.OpenAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM incidents"));
    }

    /// <summary>The bot's "diagnoses" counter, per host (its meter factory): what a diagnosis adds when it is counted.</summary>
    /// <summary>The web workload's pod <paramref name="name"/>, every container on <paramref name="image"/>.</summary>
    private static void SeedWebPod(FakeKubernetesApi api, string name, string image)
    {
        var pod = KubeFixtures.WebPod(name);
        foreach (var container in pod["spec"]!["containers"]!.AsArray())
        {
            container!["image"] = image;
        }

        api.Seed(pod);
    }

    private static async Task WarmUpDoneAsync(BotTestHost host)
    {
        var warmUp = host.Services.GetServices<IHostedService>().OfType<DiagnosisWarmUp>().Single();
        await Eventually.HoldsAsync(() => warmUp.ExecuteTask is not null, "the warm-up to start");
        await warmUp.ExecuteTask!.WaitAsync(TimeSpan.FromMinutes(2));
    }

    private sealed class DiagnosesCounted : IDisposable
    {
        private readonly System.Diagnostics.Metrics.MeterListener _listener = new();
        private readonly System.Collections.Concurrent.ConcurrentQueue<(object? Scope, long Value)> _added = new();

        public DiagnosesCounted()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == ChatOpsPull.Observability.BotMetrics.MeterName && instrument.Name == "diagnoses")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => _added.Enqueue((instrument.Meter.Scope, value)));
            _listener.Start();
        }

        public long Of(object meterFactory) => _added.Where(a => ReferenceEquals(a.Scope, meterFactory)).Sum(a => a.Value);

        public void Dispose() => _listener.Dispose();
    }

    private sealed class CountingNotifier : IIncidentNotifier
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public Task IncidentChangedAsync(ChatOpsPull.Core.Incidents.Incident incident, IncidentChange change, string? detail, string? newsKey, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _count);
            return Task.CompletedTask;
        }
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, true);
        }
    }
}
