using System.Buffers;
using System.Text;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using ChatOpsPull.Detection.KubernetesWatch;
using ChatOpsPull.Simulation.KubernetesApi;
using k8s;
using k8s.Models;

namespace ChatOpsPull.Bench;

/// <summary>
/// What one line of the pod-event watch costs the watcher to decode: KubernetesClient's way (the line as a string, read
/// once as a generic object to see whether it is a Status, then again as a full <c>Corev1Event</c> through its
/// reflection-based System.Text.Json options, as its <c>Watcher</c> does) against <see cref="EventJson"/> reading the
/// line's bytes into a <see cref="WatchedEvent"/>. Lines as the API stand-in sends them: the storm's Failed event
/// (<see cref="PullFailureLatencyDriver.FailedEvent"/>) and kubelet's Pulled event of <c>events-pulled.json</c>.
/// <c>--filter '*EventDecodingBenchmarks*' --job short</c>.
/// </summary>
[MemoryDiagnoser]
public class EventDecodingBenchmarks
{
    private byte[] _line = [];
    private StringPool _pool = new();

    [Params("storm-failed", "kubelet-pulled")]
    public string Line { get; set; } = "storm-failed";

    [GlobalSetup]
    public void Setup()
    {
        var api = FakeKubernetesApi.StartAsync().GetAwaiter().GetResult();
        try
        {
            var e = Line == "storm-failed"
                ? PullFailureLatencyDriver.FailedEvent("storm-007", "app-007-5d8c7b6a9-x2k4q", "Failed to pull image \"registry.example.com/team/app-007:2.0.0\": rpc error: code = NotFound desc = failed to pull and unpack image \"registry.example.com/team/app-007:2.0.0\": failed to resolve reference \"registry.example.com/team/app-007:2.0.0\": registry.example.com/team/app-007:2.0.0: not found")
                : (JsonObject)((JsonArray)JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "kubernetes", "events-pulled.json")))!["items"]!)[0]!.DeepClone();
            var stored = api.Seed(e);
            _line = Encoding.UTF8.GetBytes(ObjectStore.Line("ADDED", stored.ToJsonString(ObjectStore.Wire)));
        }
        finally
        {
            api.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        _pool = new StringPool();
    }

    [Benchmark(Baseline = true)]
    public string? KubernetesClientWatcher()
    {
        var line = Encoding.UTF8.GetString(_line);
        var generic = KubernetesJson.Deserialize<Watcher<KubernetesObject>.WatchEvent>(line);
        if (generic.Object.Kind == "Status")
        {
            return null;
        }

        return KubernetesJson.Deserialize<Watcher<Corev1Event>.WatchEvent>(line).Object.Message;
    }

    /// <summary>As the watcher reads: one string pool per watch loop, so strings the storm repeats are shared.</summary>
    [Benchmark]
    public string? SlimEventJson() => EventJson.ReadWatchEvent(new ReadOnlySequence<byte>(_line), _pool).Object?.Message;

    /// <summary>The worst case: a fresh pool per line, so nothing is shared.</summary>
    [Benchmark]
    public string? SlimEventJsonNothingShared() => EventJson.ReadWatchEvent(new ReadOnlySequence<byte>(_line), new StringPool()).Object?.Message;
}
