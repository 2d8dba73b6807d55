using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using ChatOpsPull.Simulation.KubernetesApi;
using k8s;

namespace ChatOpsPull.Tests.Kubernetes;

/// <summary>
/// Storms of pod status changes through a watch of the stand-in, read with the real KubernetesClient: every change
/// arrives, in resourceVersion order, on the one connection (no reset, no reconnect), even when the reader stalls and
/// other clients read at the same time, as with the pull-failure-latency bench (issue 16).
/// </summary>
public sealed class WatchStormTests
{
    private static readonly ResourceType Pods = ResourceType.Of("pods");

    [Fact]
    public async Task A_storm_of_status_changes_reaches_a_stalled_watcher_complete_and_in_order_on_one_connection()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        const int podCount = 50;
        const int changes = 5000;
        for (var i = 0; i < podCount; i++)
        {
            api.Seed(KubeFixtures.WebPod($"storm-{i}"));
        }

        var client = api.CreateClient();
        var list = await client.CoreV1.ListNamespacedPodAsync("shop");
        var received = new List<(WatchEventType Type, long Version)>();
        Exception? watchError = null;
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var reader = Task.Run(async () =>
        {
            try
            {
                await foreach (var (type, pod) in client.CoreV1.WatchListNamespacedPodAsync("shop", resourceVersion: list.Metadata.ResourceVersion, onError: e => watchError = e, cancellationToken: stop.Token))
                {
                    received.Add((type, long.Parse(pod.Metadata.ResourceVersion, CultureInfo.InvariantCulture)));
                    if (received.Count == 1)
                    {
                        // A reader that is busy while the storm builds up (the bot's delivery lanes are full): a slow client's pace.
                        await Task.Delay(TimeSpan.FromSeconds(2));
                    }

                    if (received.Count == changes)
                    {
                        return;
                    }
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                watchError = e;
            }
        });

        // Other clients read while the storm runs, as diagnoses do.
        var readErrors = new ConcurrentQueue<string>();
        using var readersDone = new CancellationTokenSource();
        var readers = Enumerable.Range(0, 4).Select(r => Task.Run(async () =>
        {
            var own = api.CreateClient();
            while (!readersDone.IsCancellationRequested)
            {
                try
                {
                    if (r % 2 == 0)
                    {
                        await own.CoreV1.ListNamespacedPodAsync("shop", limit: 20);
                    }
                    else
                    {
                        await own.CoreV1.ReadNamespacedPodAsync($"storm-{Random.Shared.Next(podCount)}", "shop");
                    }
                }
                catch (Exception e)
                {
                    readErrors.Enqueue($"{e.GetType().Name}: {e.Message}");
                }
            }
        })).ToArray();

        var written = new List<long>();
        for (var n = 0; n < changes; n++)
        {
            var reason = (n / podCount) % 2 == 0 ? "ErrImagePull" : "ImagePullBackOff";
            var stored = api.SetContainerWaiting("shop", $"storm-{n % podCount}", "web", reason, $"change {n}");
            written.Add(long.Parse(ObjectStore.Version(stored), CultureInfo.InvariantCulture));
        }

        await reader.WaitAsync(stop.Token);
        await readersDone.CancelAsync();
        await Task.WhenAll(readers);

        Assert.Null(watchError);
        Assert.Equal(written, received.Select(r => r.Version));
        Assert.All(received, r => Assert.Equal(WatchEventType.Modified, r.Type));
        Assert.Single(api.Requests, r => r.Contains("watch=true", StringComparison.Ordinal));
        Assert.Empty(readErrors);
        Assert.Empty(api.ServerErrors);
    }

    [Fact]
    public async Task A_watch_whose_timeout_passes_while_its_reader_lags_ends_cleanly_and_the_next_watch_gets_the_rest()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        const int changes = 2000;
        for (var i = 0; i < 10; i++)
        {
            api.Seed(KubeFixtures.WebPod($"lag-{i}"));
        }

        var client = api.CreateClient();
        var version = (await client.CoreV1.ListNamespacedPodAsync("shop")).Metadata.ResourceVersion;
        var written = new List<long>();
        for (var n = 0; n < changes; n++)
        {
            var stored = api.SetContainerWaiting("shop", $"lag-{n % 10}", "web", n % 2 == 0 ? "ErrImagePull" : "ImagePullBackOff", $"change {n} " + new string('x', 512));
            written.Add(long.Parse(ObjectStore.Version(stored), CultureInfo.InvariantCulture));
        }

        // Each watch asks the server to end it after a second; the reader stalls longer than that on the first event,
        // so the timeout passes while the server is blocked writing to it. Like an informer, it watches again from the
        // last resourceVersion it saw.
        var received = new List<long>();
        var watches = 0;
        Exception? error = null;
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        while (received.Count < changes && error is null && !stop.IsCancellationRequested)
        {
            watches++;
            var first = true;
            try
            {
                await foreach (var (_, pod) in client.CoreV1.WatchListNamespacedPodAsync("shop", resourceVersion: version, timeoutSeconds: 1, onError: e => error = e, cancellationToken: stop.Token))
                {
                    version = pod.Metadata.ResourceVersion;
                    received.Add(long.Parse(version, CultureInfo.InvariantCulture));
                    if (first && watches == 1)
                    {
                        // A reader that is busy while the storm builds up (pacing of a slow client, not a wait).
                        await Task.Delay(TimeSpan.FromSeconds(2));
                    }

                    first = false;
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                error = e;
            }
        }

        Assert.Null(error);
        Assert.Equal(written, received);
        Assert.InRange(watches, 2, 100);
        Assert.Empty(api.ServerErrors);
    }

    [Fact]
    public async Task A_stopping_server_ends_watches_cleanly_while_a_dropped_connection_breaks_them()
    {
        var api = await FakeKubernetesApi.StartAsync();
        api.Seed(KubeFixtures.WebPod("p1"));
        var client = api.CreateClient();

        var dropped = await WatchUntilEndAsync(client, () => api.DropWatches());
        var closed = await WatchUntilEndAsync(client, () => api.DisposeAsync().AsTask());

        Assert.NotNull(dropped); // the stream broke mid-flight
        Assert.Null(closed); // the stream ended: the client watches again from its resourceVersion, nothing is lost
    }

    private static async Task<Exception?> WatchUntilEndAsync(IKubernetes client, Func<object> end)
    {
        Exception? error = null;
        var started = new TaskCompletionSource();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var watch = Task.Run(async () =>
        {
            try
            {
                await foreach (var _ in client.CoreV1.WatchListNamespacedPodAsync("shop", onError: e => error = e, cancellationToken: timeout.Token))
                {
                    started.TrySetResult();
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                error = e;
            }
        });
        await started.Task.WaitAsync(timeout.Token);
        if (end() is Task task)
        {
            await task;
        }

        await watch.WaitAsync(timeout.Token);
        return error;
    }
}
