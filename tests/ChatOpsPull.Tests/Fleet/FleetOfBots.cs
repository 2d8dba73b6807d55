using System.Text.Json.Nodes;
using ChatOpsPull.Simulation.KubernetesApi;
using ChatOpsPull.Tests.Remediation;
using ChatOpsPull.Tests.Storage;

namespace ChatOpsPull.Tests.Fleet;

/// <summary>The bots of one test, on one database: started per cluster, stopped in reverse order.</summary>
public sealed class FleetOfBots(TestStorage storage, Dictionary<string, string?>? extra = null) : IAsyncDisposable
{
    private readonly List<RemediationBed> _beds = [];
    private readonly List<TestStorage> _replicas = [];

    /// <summary>An API stand-in a test keeps across a bot's stop and return (with the namespace's default ServiceAccount).</summary>
    public static async Task<FakeKubernetesApi> StartApiAsync()
    {
        var api = await FakeKubernetesApi.StartAsync();
        api.Seed(new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "ServiceAccount",
            ["metadata"] = new JsonObject { ["name"] = "default", ["namespace"] = RemediationBed.Namespace },
        });
        return api;
    }

    /// <param name="settings">Settings of this bot only, over the fleet's (e.g. its Slack connection).</param>
    public async Task<RemediationBed> StartAsync(string cluster, bool chatReplica = false, FakeKubernetesApi? api = null, bool replica = true, Dictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["Bot:Cluster"] = cluster,
            ["Fleet:Enabled"] = "true",
            ["Fleet:Role"] = chatReplica ? "Chat" : "Cluster",
            ["Fleet:HeartbeatInterval"] = "00:00:01",
            ["Fleet:LiveWindow"] = "00:00:03",
            ["Jobs:PostgresPollInterval"] = "00:00:00.200",
        };
        foreach (var (key, value) in (extra ?? []).Concat(settings ?? []))
        {
            all[key] = value;
        }

        var own = replica ? storage.Replica() : storage;
        if (replica)
        {
            _replicas.Add(own);
        }

        var bed = await RemediationBed.StartAsync(own, settings: all, api: api);
        _beds.Add(bed);
        return bed;
    }

    public async Task StopAsync(RemediationBed bed)
    {
        _beds.Remove(bed);
        await bed.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _beds.Count - 1; i >= 0; i--)
        {
            await _beds[i].DisposeAsync();
        }

        _replicas.ForEach(r => r.Dispose());
    }
}
