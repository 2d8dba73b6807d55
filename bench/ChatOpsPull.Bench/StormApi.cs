using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using ChatOpsPull.Simulation.KubernetesApi;

namespace ChatOpsPull.Bench;

/// <summary>
/// The Kubernetes API stand-in of <c>pull-failure-latency</c> and the storm driver that writes its status changes: in
/// the bench's own process (the default, as every earlier figure was measured), or with <c>--api-process</c> in a child
/// process of the same binary, as a real API server is another process (its JSON trees and their collections then pause
/// the stand-in, not the bot). Either way the same seeding, the same https/h2 server and the same paced storm loop.
/// </summary>
internal interface IStormApi : IAsyncDisposable
{
    Uri BaseAddress { get; }

    /// <summary>The pods seeded for the storm, and the one of the --warm-up (or none).</summary>
    IReadOnlyList<(string Namespace, string Pod, string Image)> Names { get; }

    IReadOnlyList<(string Namespace, string Pod, string Image)> WarmUp { get; }

    string KubeconfigPath { get; }

    /// <summary>One pod turned into ErrImagePull (status change and the kubelet's Failed event).</summary>
    Task FailAsync((string Namespace, string Pod, string Image) pod);

    /// <summary>Every storm pod turned into ErrImagePull at <c>rate</c> per second: when the storm started, and when each pod's status changed (Stopwatch timestamps).</summary>
    Task<(long Started, IReadOnlyDictionary<string, long> ChangedAt)> StormAsync(int rate);

    Task<(long Connections, IReadOnlyDictionary<string, int> Protocols)> TrafficAsync();

    /// <summary>What the stand-in's process spent since the storm started, when it is a process of its own; otherwise null (the bench's own lines hold it).</summary>
    Task<string?> OwnCostAsync();

    /// <summary>The same status changes and events again, nobody watching (see PullFailureLatencyDriver's StandInAlone).</summary>
    Task<string> StandInAloneAsync();
}

/// <summary>The stand-in in the bench's process: what every figure before <c>--api-process</c> measured.</summary>
internal sealed class InProcessStormApi : IStormApi
{
    private readonly FakeKubernetesApi _api;

    private InProcessStormApi(FakeKubernetesApi api, string kubeconfig, List<(string, string, string)> names, List<(string, string, string)> warmUp)
    {
        _api = api;
        KubeconfigPath = kubeconfig;
        Names = names;
        WarmUp = warmUp;
    }

    public Uri BaseAddress => _api.BaseAddress;

    public IReadOnlyList<(string Namespace, string Pod, string Image)> Names { get; }

    public IReadOnlyList<(string Namespace, string Pod, string Image)> WarmUp { get; }

    public string KubeconfigPath { get; }

    public static async Task<InProcessStormApi> StartAsync(StormApiOptions options, string kubeDirectory)
    {
        var api = await FakeKubernetesApi.StartAsync(https: options.Https);
        var (names, warmUp) = options.Seed(api);
        return new InProcessStormApi(api, api.WriteKubeconfig(kubeDirectory), names, warmUp);
    }

    public Task FailAsync((string Namespace, string Pod, string Image) pod)
    {
        StormApiOptions.Fail(_api, pod);
        return Task.CompletedTask;
    }

    public async Task<(long Started, IReadOnlyDictionary<string, long> ChangedAt)> StormAsync(int rate) => await StormApiOptions.StormAsync(_api, Names, rate);

    public Task<(long Connections, IReadOnlyDictionary<string, int> Protocols)> TrafficAsync() =>
        Task.FromResult<(long, IReadOnlyDictionary<string, int>)>((_api.ConnectionsAccepted, _api.RequestsByProtocol.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal)));

    public Task<string?> OwnCostAsync() => Task.FromResult<string?>(null);

    public Task<string> StandInAloneAsync() => Task.FromResult(PullFailureLatencyDriver.StandInAlone(_api, Names));

    public ValueTask DisposeAsync() => _api.DisposeAsync();
}

/// <summary>What the stand-in is seeded with: the same for both homes, so the child is given these on its command line.</summary>
internal sealed record StormApiOptions(string RegistryHost, int Pods, int Workloads, bool Https, int History, bool WarmUp)
{
    public string[] Arguments() =>
    [
        RegistryHost,
        Pods.ToString(CultureInfo.InvariantCulture),
        Workloads.ToString(CultureInfo.InvariantCulture),
        Https ? "https" : "http",
        History.ToString(CultureInfo.InvariantCulture),
        WarmUp ? "warm-up" : "no-warm-up",
    ];

    public static StormApiOptions Parse(string[] args) => new(
        args[0],
        int.Parse(args[1], CultureInfo.InvariantCulture),
        int.Parse(args[2], CultureInfo.InvariantCulture),
        args[3] == "https",
        int.Parse(args[4], CultureInfo.InvariantCulture),
        args[5] == "warm-up");

    public (List<(string, string, string)> Names, List<(string, string, string)> WarmUp) Seed(FakeKubernetesApi api)
    {
        if (History > 0)
        {
            api.Store.HistoryLimit = History;
        }

        // One healthy pod on an image the registry has, listed before the storm's (its namespace sorts first): the pod a
        // freshly started bot's warm-up reads (DiagnosisWarmUp), as in a cluster where most pods run; its image is none
        // of the storm's, so the warm-up's registry check answers none of the storm's checks from the cache.
        _ = PullFailureLatencyDriver.Seed(api, RegistryHost, 1, 1, "a-idle", image: $"{RegistryHost}/team/app:1.4.0");
        var names = PullFailureLatencyDriver.Seed(api, RegistryHost, Pods, Workloads);
        var warmUp = WarmUp ? PullFailureLatencyDriver.Seed(api, RegistryHost, 1, 1, "bench-warm") : [];
        return (names, warmUp);
    }

    public static string Message(string image) =>
        $"Failed to pull image \"{image}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": {image}: not found";

    public static void Fail(FakeKubernetesApi api, (string Namespace, string Pod, string Image) pod)
    {
        var message = Message(pod.Image);
        api.SetContainerWaiting(pod.Namespace, pod.Pod, "web", "ErrImagePull", message);
        api.Seed(PullFailureLatencyDriver.FailedEvent(pod.Namespace, pod.Pod, message));
    }

    /// <summary>The storm loop, wherever the stand-in runs: each pod's status change and event, paced at <c>rate</c> per second.</summary>
    public static async Task<(long Started, ConcurrentDictionary<string, long> ChangedAt)> StormAsync(FakeKubernetesApi api, IReadOnlyList<(string Namespace, string Pod, string Image)> names, int rate)
    {
        var changedAt = new ConcurrentDictionary<string, long>();
        var clock = Stopwatch.StartNew();
        var stormStarted = Stopwatch.GetTimestamp();
        for (var i = 0; i < names.Count; i++)
        {
            var (ns, pod, image) = names[i];
            var message = Message(image);
            changedAt[pod] = Stopwatch.GetTimestamp();
            api.SetContainerWaiting(ns, pod, "web", "ErrImagePull", message);
            api.Seed(PullFailureLatencyDriver.FailedEvent(ns, pod, message));
            // One read of the clock: comparing one reading and subtracting another could go negative (Task.Delay throws).
            var wait = TimeSpan.FromSeconds((i + 1) / (double)rate) - clock.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }
        }

        return (stormStarted, changedAt);
    }
}
