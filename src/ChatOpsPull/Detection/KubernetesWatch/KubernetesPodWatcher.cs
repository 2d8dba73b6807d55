using System.Net;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using System.Threading.Channels;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Incidents;
using ChatOpsPull.Kubernetes;
using ChatOpsPull.Storage;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Polly;

namespace ChatOpsPull.Detection.KubernetesWatch;

/// <summary>
/// List+watch of pods and pod events in all or the configured namespaces. Pods whose containers wait on a pull reason
/// become <see cref="PullFailure"/>s; Warning events add the runtime message; Ready, running or deleted pods resolve;
/// Normal Pulled events go to a <see cref="PulledEventRecorder"/> for the digest. Watches resume from the last resourceVersion seen (bookmarks
/// included), reconnect with backoff after a dropped stream, relist after 410 Gone and every resync period.
/// One consumer feeds a <see cref="PullFailureTracker"/>, so reports keep their order and nothing is reported twice;
/// its changes reach the sink through the <see cref="WatchDeliveryRetry"/> pipeline.
/// </summary>
public sealed partial class KubernetesPodWatcher
{
    private readonly IKubernetes _client;
    private readonly KubernetesOptions _options;
    private readonly IPullFailureSink _sink;
    private readonly PulledEventRecorder? _pulledEvents;
    private readonly ResiliencePipeline _delivery;
    private readonly OwnerResolver _owners;
    private readonly PodListWatch _pods;
    private readonly EventListWatch _events;
    private readonly string _cluster;
    private readonly TimeProvider _time;
    private readonly KubernetesWatchStatus _status;
    private readonly WatchReportLog _reportLog;
    private readonly ReportedPodCredentials? _credentials;

    /// <summary>Changes held now because the store cannot write.</summary>
    private int _holding;
    private readonly ILogger _logger;
    private int _listMarks;

    public KubernetesPodWatcher(
        IKubernetes client,
        KubernetesOptions options,
        IPullFailureSink sink,
        PullEventStore? pullEvents,
        string cluster,
        TimeProvider time,
        KubernetesWatchStatus status,
        ILogger<KubernetesPodWatcher> logger,
        ResiliencePipeline? delivery = null,
        ReportedPodCredentials? credentials = null,
        OwnerResolver? owners = null)
    {
        _credentials = credentials;
        _client = client;
        _options = options;
        _sink = sink;
        _pulledEvents = pullEvents is null ? null : new PulledEventRecorder(pullEvents, cluster, time, logger);
        _delivery = delivery ?? WatchDeliveryRetry.Build(options, time, logger);
        // The diagnoses' resolver when given: the owners the watcher resolves for a report are then known to the report's
        // diagnosis, which walks the same chain from the pod as read without a read of its own.
        _owners = owners ?? new OwnerResolver(client);
        _pods = new PodListWatch(client);
        _events = new EventListWatch(client);
        _cluster = cluster;
        _time = time;
        _status = status;
        _logger = logger;
        _reportLog = new WatchReportLog(logger, time);
    }

    private enum WatchEnd
    {
        /// <summary>The server ended the stream (timeoutSeconds): watch again from the same resourceVersion.</summary>
        ServerClosed,

        /// <summary>The stream broke: back off, then watch again from the same resourceVersion.</summary>
        Dropped,

        /// <summary>410 Gone: the resourceVersion is too old; list again.</summary>
        Gone,

        /// <summary>The resync period is over: list again.</summary>
        Resync,
    }

    /// <summary>Watches until cancelled; an unexpected failure restarts the watcher (fresh tracker, full list) after a pause.</summary>
    public async Task RunUntilStoppedAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await RunAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogRestarting(_logger, e.GetType().Name, e.Message);
                await Task.Delay(_options.ReconnectMaxDelay, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>How many pods' changes are delivered to the sink at once (each pod's changes stay in order).</summary>
    private const int DeliveryLaneCount = 16;

    /// <summary>Watches until cancelled (the end of a leadership term or shutdown).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var tracker = new PullFailureTracker();
        var inputs = Channel.CreateBounded<WatchInput>(new BoundedChannelOptions(1024)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        string?[] scopes = _options.Namespaces.Count == 0 ? [null] : [.. _options.Namespaces.Distinct(StringComparer.Ordinal)];
        LogWatching(_logger, _cluster, scopes[0] is null ? "all namespaces" : string.Join(", ", scopes));
        using var run = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var consumer = ConsumeAsync(tracker, inputs.Reader, run.Token);
        var summaries = SummarizeReportsAsync(run.Token);
        var writer = new CountingWriter(inputs.Writer, _status);
        var producers = Task.WhenAll(scopes.SelectMany(ns =>
        {
            // One string pool per loop: a loop reads one page or line at a time, so its pool needs no lock.
            var podStrings = new StringPool();
            var eventStrings = new StringPool();
            return new[]
            {
                RunLoopAsync(ns, "pods", (n, w, t) => ListPodsAsync(n, podStrings, w, t), (n, c, w, t) => WatchPodsAsync(n, podStrings, c, w, t), writer, run.Token),
                RunLoopAsync(ns, "events", (n, w, t) => ListEventsAsync(n, eventStrings, w, t), (n, c, w, t) => WatchEventsAsync(n, eventStrings, c, w, t), writer, run.Token),
            };
        }));

        // The producers end only when cancelled; the consumer only early when it fails. Either way, stop both.
        await Task.WhenAny(producers, consumer).ConfigureAwait(false);
        await run.CancelAsync().ConfigureAwait(false);
        inputs.Writer.TryComplete();
        await Task.WhenAll(producers, consumer, summaries).ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
        _reportLog.Flush();
        if (consumer.IsFaulted)
        {
            await consumer.ConfigureAwait(false);
        }

        if (producers.IsFaulted)
        {
            await producers.ConfigureAwait(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
        throw new InvalidOperationException("the watch loops ended without being stopped");
    }

    /// <summary>Sums up the reports counted by <see cref="WatchReportLog"/> every <see cref="WatchReportLog.Interval"/> until the run ends.</summary>
    private async Task SummarizeReportsAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(WatchReportLog.Interval, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }

            _reportLog.Flush();
        }
    }

    private async Task RunLoopAsync(
        string? ns,
        string what,
        Func<string?, ChannelWriter<WatchInput>, CancellationToken, Task<string>> list,
        Func<string?, Cursor, ChannelWriter<WatchInput>, CancellationToken, Task<WatchEnd>> watch,
        ChannelWriter<WatchInput> writer,
        CancellationToken cancellationToken)
    {
        var cursor = new Cursor();
        var delay = _options.ReconnectMinDelay;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (cursor.ResourceVersion is null)
                {
                    cursor.ResourceVersion = await list(ns, writer, cancellationToken).ConfigureAwait(false);
                    cursor.ResyncAt = _time.GetUtcNow() + _options.ResyncPeriod;
                    LogListed(_logger, what, ns ?? "all namespaces", cursor.ResourceVersion);
                }

                var end = await watch(ns, cursor, writer, cancellationToken).ConfigureAwait(false);
                switch (end)
                {
                    case WatchEnd.ServerClosed:
                        delay = _options.ReconnectMinDelay;
                        break;
                    case WatchEnd.Gone:
                        _status.Gone();
                        LogGone(_logger, what, ns ?? "all namespaces", cursor.ResourceVersion ?? "?");
                        cursor.ResourceVersion = null;
                        break;
                    case WatchEnd.Resync:
                        cursor.ResourceVersion = null;
                        break;
                    case WatchEnd.Dropped:
                        _status.Reconnected();
                        await Task.Delay(Jitter(delay), _time, cancellationToken).ConfigureAwait(false);
                        delay = Next(delay);
                        break;
                    default:
                        throw new InvalidOperationException($"unknown watch end {end}");
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.Gone)
            {
                _status.Gone();
                cursor.ResourceVersion = null;
            }
            catch (Exception e) when (e is HttpOperationException or HttpRequestException or IOException or JsonException or KubernetesException or TimeoutException)
            {
                LogRetrying(_logger, what, ns ?? "all namespaces", Describe(e), delay);
                _status.Reconnected();
                await Task.Delay(Jitter(delay), _time, cancellationToken).ConfigureAwait(false);
                delay = Next(delay);
            }
        }
    }

    /// <summary>
    /// Lists the pods page by page (read slimly, <see cref="PodJson"/>), each as an ADDED input stamped with this list's
    /// mark, then a relist input with the mark: tracked pods the list did not carry were deleted meanwhile. An expired
    /// continue token (410) starts the list again under a new mark.
    /// </summary>
    private async Task<string> ListPodsAsync(string? ns, StringPool strings, ChannelWriter<WatchInput> writer, CancellationToken cancellationToken)
    {
        var mark = Interlocked.Increment(ref _listMarks);
        var listed = 0;
        var listVersion = await ListPagesAsync(
            (next, limit) => _pods.ListAsync(ns, next, limit, strings, cancellationToken),
            pod =>
            {
                if (pod.Uid is not null)
                {
                    listed++;
                }

                return writer.WriteAsync(new PodInput(WatchEventType.Added, pod, mark), cancellationToken);
            },
            () =>
            {
                mark = Interlocked.Increment(ref _listMarks);
                listed = 0;
            },
            _options.ListPageSize).ConfigureAwait(false);

        await writer.WriteAsync(new RelistInput(ns, mark), cancellationToken).ConfigureAwait(false);
        _status.PodListCompleted(listed);
        _status.PodResourceVersion = listVersion;
        return listVersion ?? throw new KubernetesException("the pod list had no resourceVersion");
    }

    /// <summary>Lists the pod events page by page (read slimly, <see cref="EventJson"/>); an expired continue token (410) starts again.</summary>
    private async Task<string> ListEventsAsync(string? ns, StringPool strings, ChannelWriter<WatchInput> writer, CancellationToken cancellationToken)
    {
        var listVersion = await ListPagesAsync(
            (next, limit) => _events.ListAsync(ns, next, limit, strings, cancellationToken),
            item => writer.WriteAsync(new EventInput(item), cancellationToken),
            static () => { },
            _options.ListPageSize).ConfigureAwait(false);

        _status.EventResourceVersion = listVersion;
        return listVersion ?? throw new KubernetesException("the event list had no resourceVersion");
    }

    /// <summary>
    /// Reads a list page by page (<paramref name="pageSize"/> objects) to its end, handing each object to
    /// <paramref name="each"/>, and returns the first page's resourceVersion. An expired continue token (410: the server
    /// compacted past the list's resourceVersion while it was paged) starts the list again from its first page, after
    /// <paramref name="restarted"/> has forgotten what the pages so far gave; a list whose token expires a second time
    /// pages slower than the server compacts, so it is read again in one unpaged request (limit 0), as client-go's pager
    /// does, instead of starting over forever.
    /// </summary>
    private static async Task<string?> ListPagesAsync<T>(Func<string?, int, Task<ListPage<T>>> readPage, Func<T, ValueTask> each, Action restarted, int pageSize)
    {
        string? listVersion = null;
        string? next = null;
        var expired = 0;
        while (true)
        {
            ListPage<T> page;
            try
            {
                page = await readPage(next, expired < 2 ? pageSize : 0).ConfigureAwait(false);
            }
            catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.Gone && next is not null)
            {
                // The continue token expired: start the list again from its first page. (A `continue` in a do-while
                // would test the loop's condition, find no token and end the list here, unfinished and without a
                // resourceVersion.)
                restarted();
                expired++;
                listVersion = null;
                next = null;
                continue;
            }

            listVersion ??= page.ResourceVersion;
            foreach (var item in page.Items)
            {
                await each(item).ConfigureAwait(false);
            }

            next = page.Continue;
            if (string.IsNullOrEmpty(next))
            {
                return listVersion;
            }
        }
    }

    private Task<WatchEnd> WatchPodsAsync(string? ns, StringPool strings, Cursor cursor, ChannelWriter<WatchInput> writer, CancellationToken cancellationToken) =>
        WatchAsync<WatchedPod>(
            cursor,
            (onError, token) => ObjectsAsync(_pods.WatchAsync(ns, cursor.ResourceVersion, WatchTimeoutSeconds(), strings, token), onError),
            async (type, pod, token) =>
            {
                _status.PodEventSeen();
                await writer.WriteAsync(new PodInput(type, pod, 0), token).ConfigureAwait(false);
            },
            p => _status.PodResourceVersion = p.ResourceVersion,
            cancellationToken);

    /// <summary>
    /// A watch's lines as the watch loop takes them: ADDED, MODIFIED, DELETED and BOOKMARK as items; an ERROR line (its
    /// Status: 410 Gone or another), a line of unknown type and an unreadable line go to <paramref name="onError"/> and end
    /// the stream.
    /// </summary>
    private static async IAsyncEnumerable<(WatchEventType, T)> ObjectsAsync<T>(IAsyncEnumerable<WatchLine<T>> watch, Action<Exception> onError)
        where T : class
    {
        var lines = watch.GetAsyncEnumerator();
        await using (lines.ConfigureAwait(false))
        {
            while (true)
            {
                WatchLine<T> line;
                try
                {
                    if (!await lines.MoveNextAsync().ConfigureAwait(false))
                    {
                        yield break;
                    }

                    line = lines.Current;
                }
                catch (JsonException unreadable)
                {
                    onError(unreadable);
                    yield break;
                }

                WatchEventType? type = line.Type switch
                {
                    "ADDED" => WatchEventType.Added,
                    "MODIFIED" => WatchEventType.Modified,
                    "DELETED" => WatchEventType.Deleted,
                    "BOOKMARK" => WatchEventType.Bookmark,
                    _ => null,
                };
                if (line.Type == "ERROR")
                {
                    onError(new KubernetesException(new V1Status { Code = line.StatusCode, Message = line.StatusMessage }));
                    yield break;
                }

                if (type is null || line.Object is null)
                {
                    onError(new JsonException($"a {typeof(T).Name} watch line of unknown type {line.Type}"));
                    yield break;
                }

                yield return (type.Value, line.Object);
            }
        }
    }

    private Task<WatchEnd> WatchEventsAsync(string? ns, StringPool strings, Cursor cursor, ChannelWriter<WatchInput> writer, CancellationToken cancellationToken) =>
        WatchAsync<WatchedEvent>(
            cursor,
            (onError, token) => ObjectsAsync(_events.WatchAsync(ns, cursor.ResourceVersion, WatchTimeoutSeconds(), strings, token), onError),
            async (type, item, token) =>
            {
                if (type != WatchEventType.Deleted)
                {
                    await writer.WriteAsync(new EventInput(item), token).ConfigureAwait(false);
                }
            },
            e => _status.EventResourceVersion = e.ResourceVersion,
            cancellationToken);

    private async Task<WatchEnd> WatchAsync<T>(
        Cursor cursor,
        Func<Action<Exception>, CancellationToken, IAsyncEnumerable<(WatchEventType, T)>> open,
        Func<WatchEventType, T, CancellationToken, Task> deliver,
        Func<T, string?> versionOf,
        CancellationToken cancellationToken)
    {
        var untilResync = cursor.ResyncAt - _time.GetUtcNow();
        if (untilResync <= TimeSpan.Zero)
        {
            return WatchEnd.Resync;
        }

        using var resync = new CancellationTokenSource(untilResync, _time);
        using var watch = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, resync.Token);
        var gone = false;
        var received = 0;
        Exception? broken = null;

        void OnError(Exception e)
        {
            // The library reports ERROR events (a Status) and unreadable lines here and reads on; both end this stream.
            if (e is KubernetesException { Status.Code: (int)HttpStatusCode.Gone })
            {
                gone = true;
            }
            else
            {
                broken ??= e;
            }

            watch.Cancel();
        }

        try
        {
            await foreach (var (type, item) in open(OnError, watch.Token).WithCancellation(watch.Token).ConfigureAwait(false))
            {
                switch (type)
                {
                    case WatchEventType.Bookmark:
                        _status.BookmarkSeen();
                        break;
                    case WatchEventType.Added or WatchEventType.Modified or WatchEventType.Deleted:
                        await deliver(type, item, cancellationToken).ConfigureAwait(false);
                        break;
                    case WatchEventType.Error:
                        continue;
                    default:
                        throw new InvalidOperationException($"unknown watch event type {type}");
                }

                cursor.ResourceVersion = versionOf(item) ?? cursor.ResourceVersion;
                received++;
            }
        }
        catch (JsonException) when (received == 0 && !cancellationToken.IsCancellationRequested)
        {
            // KubernetesClient reads the first line before it returns the stream; a watch the server ends (timeoutSeconds)
            // before any event or bookmark leaves it nothing to parse. That is a clean end, not an error.
            return WatchEnd.ServerClosed;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // ended by OnError or by the resync timer
        }
        catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.Gone)
        {
            return WatchEnd.Gone;
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            LogDropped(_logger, typeof(T).Name, Describe(e));
            return WatchEnd.Dropped;
        }

        if (gone)
        {
            return WatchEnd.Gone;
        }

        if (broken is not null)
        {
            LogDropped(_logger, typeof(T).Name, Describe(broken));
            return WatchEnd.Dropped;
        }

        return resync.IsCancellationRequested ? WatchEnd.Resync : WatchEnd.ServerClosed;
    }

    private async Task ConsumeAsync(PullFailureTracker tracker, ChannelReader<WatchInput> reader, CancellationToken cancellationToken)
    {
        var lanes = new DeliveryLanes(DeliveryLaneCount, DeliverAsync, cancellationToken);
        try
        {
            await ConsumeAsync(tracker, reader, lanes, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await lanes.CompleteAsync().ConfigureAwait(false);
        }
    }

    private async Task ConsumeAsync(PullFailureTracker tracker, ChannelReader<WatchInput> reader, DeliveryLanes lanes, CancellationToken cancellationToken)
    {
        await foreach (var input in reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            IReadOnlyList<TrackerChange> changes;
            switch (input)
            {
                case PodInput { Type: WatchEventType.Deleted } deleted:
                    changes = tracker.PodDeleted(deleted.Pod.Uid);
                    break;
                case PodInput seen:
                    changes = tracker.ObservePod(seen.Pod, seen.ListMark);
                    break;
                case RelistInput relist:
                    changes = tracker.RelistCompleted(relist.Namespace, relist.ListMark);
                    break;
                case EventInput e:
                    _status.EventSeen();
                    changes = await ObserveEventAsync(tracker, e.Event, cancellationToken).ConfigureAwait(false);
                    break;
                default:
                    throw new InvalidOperationException($"unknown watch input {input.GetType().Name}");
            }

            foreach (var change in changes)
            {
                _status.Queued();
                await lanes.WriteAsync(change, cancellationToken).ConfigureAwait(false);
            }

            _status.TrackedPods = tracker.TrackedPodCount;
            _status.InputProcessed();
        }
    }

    private async Task<IReadOnlyList<TrackerChange>> ObserveEventAsync(PullFailureTracker tracker, WatchedEvent item, CancellationToken cancellationToken)
    {
        if (item.Subject?.Kind != "Pod")
        {
            return [];
        }

        if (item.Type == "Warning" && PodPullState.IsPullWarning(item.Reason, item.Message))
        {
            return tracker.ObserveWarning(item);
        }

        if (_pulledEvents is not null && PulledEventRecorder.IsPulled(item))
        {
            await _pulledEvents.RecordAsync(item, cancellationToken).ConfigureAwait(false);
        }

        return [];
    }

    /// <summary>
    /// Delivers one change through the retry pipeline. While the store cannot write (<see cref="StorageFaults"/>: the
    /// database is down, the disk is full) the change is held and tried again until it can, however long that takes:
    /// such a failure says nothing about the change, and dropping it would lose the pod. Any other failure drops this
    /// change after the pipeline's last try, so one bad change never stops every later one.
    /// </summary>
    private async Task DeliverAsync(TrackerChange change, CancellationToken cancellationToken)
    {
        var held = false;
        try
        {
            await StorageFaults.HoldWhileUnavailableAsync(
                token => DeliverTryingAgainAsync(change, token),
                _options.DeliveryRetryDelay,
                (tries, e) =>
                {
                    // Said once while any change is held, not once per change (a lane delivers hundreds at a time).
                    if (tries == 1)
                    {
                        held = true;
                        if (Interlocked.Increment(ref _holding) == 1)
                        {
                            LogHolding(_logger, e.GetType().Name, e.Message);
                        }
                    }
                },
                cancellationToken,
                _time).ConfigureAwait(false);
        }
        catch (Exception e) when (!(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            // Keep watching: one change that cannot be delivered must not stop every later one.
            LogSinkGaveUp(_logger, _options.DeliveryAttempts, e.GetType().Name, e.Message);
        }
        finally
        {
            if (held)
            {
                Interlocked.Decrement(ref _holding);
            }

            _status.Done();
        }
    }

    /// <summary>
    /// One change through the delivery pipeline (<see cref="WatchDeliveryRetry"/>), whose first try is made before it: a
    /// storm's changes are almost all delivered at the first try, and each run of the pipeline costs its context, its
    /// strategies' state machines and its telemetry. A first try that fails is handed to the pipeline as its own first
    /// attempt (rethrown there), so the pipeline decides as before whether, when and how often to try again: the same
    /// tries, delays and retry lines.
    /// </summary>
    private async Task DeliverTryingAgainAsync(TrackerChange change, CancellationToken cancellationToken)
    {
        ExceptionDispatchInfo firstFailure;
        try
        {
            await DeliverOnceAsync(change, cancellationToken).ConfigureAwait(false);
            return;
        }
        catch (Exception e)
        {
            firstFailure = ExceptionDispatchInfo.Capture(e);
        }

        var state = new FirstTryThenAgain(this, change, firstFailure);
        await _delivery.ExecuteAsync(
            static (state, token) => state.TryAsync(token),
            state,
            cancellationToken).ConfigureAwait(false);
    }

    private async Task DeliverOnceAsync(TrackerChange change, CancellationToken cancellationToken)
    {
        switch (change)
        {
            case FailureChange failure:
                var chain = await _owners.ResolveAsync(failure.Pod.Namespace, failure.Pod.Name, failure.Pod.Owners, cancellationToken).ConfigureAwait(false);
                var report = new PullFailure(
                    FailureSource.KubernetesWatch,
                    _cluster,
                    failure.Pod.Namespace,
                    failure.Pod.Name,
                    failure.State.Container,
                    failure.State.Kind,
                    failure.State.Image,
                    failure.State.Reason,
                    failure.Message,
                    _time.GetUtcNow())
                {
                    Workload = chain.Workload,
                    NodeName = failure.Pod.NodeName,
                    PullPolicy = failure.State.PullPolicy,
                };
                _reportLog.Reported(report);
                if (failure.Pod.Credentials is { } credentials)
                {
                    // Beside the report, for its diagnosis: the ServiceAccount and secrets are read with the pod, not after it.
                    _credentials?.Remember(_cluster, failure.Pod.Namespace, failure.Pod.Name, credentials);
                }

                await _sink.ReportAsync(report, cancellationToken).ConfigureAwait(false);
                return;
            case ResolvedChange resolved:
                _reportLog.Resolved(resolved.Pod, resolved.Container, resolved.Resolution);
                _credentials?.Forget(_cluster, resolved.Pod.Namespace, resolved.Pod.Name);
                await _sink.ResolveAsync(_cluster, resolved.Pod.Namespace, resolved.Pod.Name, resolved.Container, resolved.Resolution, cancellationToken).ConfigureAwait(false);
                return;
            default:
                throw new InvalidOperationException($"unknown change {change.GetType().Name}");
        }
    }

    private int WatchTimeoutSeconds() =>
        Math.Max(1, (int)(_options.WatchTimeout.TotalSeconds * (1 + (Random.Shared.NextDouble() * 0.2))));

    private TimeSpan Next(TimeSpan delay) =>
        TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.ReconnectMaxDelay.Ticks));

    private static TimeSpan Jitter(TimeSpan delay) =>
        TimeSpan.FromTicks((long)(delay.Ticks * (0.8 + (Random.Shared.NextDouble() * 0.4))));

    private static string Describe(Exception e) => e switch
    {
        HttpOperationException h => ApiError.From(h).Message,
        _ => $"{e.GetType().Name}: {e.Message}",
    };

    [LoggerMessage(Level = LogLevel.Error, Message = "The Kubernetes watcher failed ({Kind}: {Message}); it starts again with a full list.")]
    private static partial void LogRestarting(ILogger logger, string kind, string message);

    [LoggerMessage(Level = LogLevel.Information, Message = "Watching pods and pod events of cluster {Cluster} in {Scope}.")]
    private static partial void LogWatching(ILogger logger, string cluster, string scope);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Listed {What} in {Scope} at resourceVersion {ResourceVersion}.")]
    private static partial void LogListed(ILogger logger, string what, string scope, string? resourceVersion);

    [LoggerMessage(Level = LogLevel.Information, Message = "The {What} watch in {Scope} is too old (410 Gone at resourceVersion {ResourceVersion}); listing again.")]
    private static partial void LogGone(ILogger logger, string what, string scope, string resourceVersion);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The {What} watch stream dropped ({Reason}); reconnecting from the last resourceVersion.")]
    private static partial void LogDropped(ILogger logger, string what, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not list or watch {What} in {Scope} ({Reason}); trying again in about {Delay}.")]
    private static partial void LogRetrying(ILogger logger, string what, string scope, string reason, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The incident store cannot write ({Kind}: {Message}); the watcher holds its reports and delivers them when it can.")]
    private static partial void LogHolding(ILogger logger, string kind, string message);

    [LoggerMessage(Level = LogLevel.Error, Message = "Delivering a pull failure failed {Attempt} times ({Kind}: {Message}); this change is dropped, the watcher goes on.")]
    private static partial void LogSinkGaveUp(ILogger logger, int attempt, string kind, string message);

    private sealed class Cursor
    {
        public string? ResourceVersion { get; set; }

        public DateTimeOffset ResyncAt { get; set; }
    }

    /// <summary>The input queue's writer that counts each input in flight until the consumer has processed it.</summary>
    private sealed class CountingWriter(ChannelWriter<WatchInput> inner, KubernetesWatchStatus status) : ChannelWriter<WatchInput>
    {
        public override bool TryWrite(WatchInput item)
        {
            status.Queued();
            if (inner.TryWrite(item))
            {
                return true;
            }

            status.Done();
            return false;
        }

        public override ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken = default) => inner.WaitToWriteAsync(cancellationToken);

        public override bool TryComplete(Exception? error = null) => inner.TryComplete(error);
    }

    private abstract record WatchInput;

    /// <param name="ListMark">The mark of the list that carried the pod; 0 for a watch event.</param>
    private sealed record PodInput(WatchEventType Type, WatchedPod Pod, int ListMark) : WatchInput;

    private sealed record EventInput(WatchedEvent Event) : WatchInput;

    private sealed record RelistInput(string? Namespace, int ListMark) : WatchInput;

    /// <summary>The delivery pipeline's attempts at one change whose first try failed already: the first attempt is that failure.</summary>
    private sealed class FirstTryThenAgain(KubernetesPodWatcher watcher, TrackerChange change, ExceptionDispatchInfo firstFailure)
    {
        private ExceptionDispatchInfo? _firstFailure = firstFailure;

        public ValueTask TryAsync(CancellationToken cancellationToken)
        {
            if (Interlocked.Exchange(ref _firstFailure, null) is { } failed)
            {
                failed.Throw();
            }

            return new ValueTask(watcher.DeliverOnceAsync(change, cancellationToken));
        }
    }
}
