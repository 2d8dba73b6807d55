using System.Buffers;
using BenchmarkDotNet.Attributes;
using ChatOpsPull.Simulation.KubernetesApi;

namespace ChatOpsPull.Bench;

/// <summary>
/// What the storm bench's driver costs the Kubernetes API stand-in per pod: one status change (a container set waiting
/// with ErrImagePull, as <see cref="PullFailureLatencyDriver"/> does) on the storm's own pod (its fixture, seeded the same
/// way), delivered to two open pod watches and written out as each watch's stream line. The message alternates, so every
/// call is a real change (a new resourceVersion and a MODIFIED event). <c>--filter '*StatusUpdateBenchmarks*' --job short</c>.
/// </summary>
[MemoryDiagnoser]
public class StatusUpdateBenchmarks
{
    private const int Watches = 2;
    private readonly string[] _messages =
    [
        "failed to pull and unpack image \"registry.example.com/team/app:2.0.0\": failed to resolve reference: not found",
        "failed to pull and unpack image \"registry.example.com/team/app:2.0.0\": failed to resolve reference: manifest unknown",
    ];

    private readonly ArrayBufferWriter<byte> _stream = new(64 * 1024);
    private FakeKubernetesApi _api = null!;
    private WatchSubscription[] _watches = [];
    private string _namespace = string.Empty;
    private string _pod = string.Empty;
    private int _calls;

    [GlobalSetup]
    public void Setup()
    {
        _api = FakeKubernetesApi.StartAsync().GetAwaiter().GetResult();
        (_namespace, _pod, _) = PullFailureLatencyDriver.Seed(_api, "registry.example.com", 1, 1)[0];
        var version = _api.Store.ResourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture);
        _watches = [.. Enumerable.Range(0, Watches).Select(_ =>
            _api.Store.Watch(ResourceType.Of("pods"), null, LabelSelector.Parse(null), FieldSelector.Parse(null, ResourceType.Of("pods")), version, bookmarks: false))];
    }

    [GlobalCleanup]
    public void Cleanup() => _api.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark]
    public long ContainerSetWaitingAndSentToTwoWatches()
    {
        _api.SetContainerWaiting(_namespace, _pod, "web", "ErrImagePull", _messages[_calls++ & 1]);
        long sent = 0;
        foreach (var watch in _watches)
        {
            while (watch.Events.Reader.TryRead(out var watchEvent))
            {
                _stream.ResetWrittenCount();
                WriteLine(watchEvent);
                sent += _stream.WrittenCount;
            }
        }

        return sent;
    }

    /// <summary>What the stand-in's watch endpoint writes for one event on one watch.</summary>
    private void WriteLine(WatchEvent watchEvent) => watchEvent.WriteLine(_stream);
}
