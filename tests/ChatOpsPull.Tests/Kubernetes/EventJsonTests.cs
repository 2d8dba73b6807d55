using System.Buffers;
using System.Text;
using System.Text.Json.Nodes;
using ChatOpsPull.Detection.KubernetesWatch;
using ChatOpsPull.Simulation.KubernetesApi;
using k8s;
using k8s.Models;

namespace ChatOpsPull.Tests.Kubernetes;

/// <summary>
/// The watcher reads pod events slimly (<see cref="EventJson"/>) instead of through KubernetesClient's full
/// <c>Corev1Event</c>; what it hands on must be exactly what the full model gives (<see cref="WatchedEvent.From"/>) for
/// the same bytes — kubelet's legacy events, events written through events.k8s.io/v1 (eventTime, series, empty source),
/// bookmarks, ERROR lines, missing and unknown fields — and the tracker and the pull-time recorder must decide the same
/// on either.
/// </summary>
public sealed class EventJsonTests
{
    private static readonly string[] EventFixtures = ["events-web-pull-failure.json", "events-pulled.json", "events-k8s-io-v1-shapes.json"];

    public static TheoryData<string> Fixtures() => [.. EventFixtures];

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void A_list_page_of_fixture_events_reads_as_the_full_model_reads_each_event(string file)
    {
        var events = KubeFixtures.LoadList(file).ToList();
        var page = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "EventList",
            ["items"] = new JsonArray([.. events.Select(e => e.DeepClone())]),
            ["metadata"] = new JsonObject { ["resourceVersion"] = "190500", ["continue"] = "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ" },
        };

        var read = EventJson.ReadListPage(Utf8(page), new StringPool());

        Assert.Equal("190500", read.ResourceVersion);
        Assert.Equal("eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ", read.Continue);
        Assert.Equal(events.Select(Full), read.Items);
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void A_watch_line_of_a_fixture_event_reads_as_the_full_model_reads_it(string file)
    {
        foreach (var e in KubeFixtures.LoadList(file))
        {
            var read = EventJson.ReadWatchEvent(Utf8(new JsonObject { ["type"] = "ADDED", ["object"] = e.DeepClone() }), new StringPool());

            Assert.Equal("ADDED", read.Type);
            Assert.Equal(Full(e), read.Object);
        }
    }

    [Fact]
    public void An_event_written_through_events_k8s_io_falls_back_to_its_series_event_time_and_reporting_instance()
    {
        var items = KubeFixtures.LoadList("events-k8s-io-v1-shapes.json").ToList();

        var pulled = EventJson.ReadWatchEvent(Utf8(new JsonObject { ["type"] = "ADDED", ["object"] = items[0] }), new StringPool()).Object!;
        var failed = EventJson.ReadWatchEvent(Utf8(new JsonObject { ["type"] = "MODIFIED", ["object"] = items[1] }), new StringPool()).Object!;

        Assert.Null(pulled.SourceHost);
        Assert.Equal("worker-3", pulled.ReportingInstance);
        Assert.Equal(new DateTime(2026, 11, 25, 20, 11, 2, DateTimeKind.Utc).AddTicks(4_187_330), pulled.LastSeen);
        Assert.Equal(1, pulled.Occurrences);
        Assert.Equal(new DateTime(2026, 11, 25, 20, 15, 11, DateTimeKind.Utc).AddTicks(7_302_150), failed.LastSeen);
        Assert.Equal(4, failed.Occurrences);
        Assert.Equal("spec.containers{web}", failed.Subject!.FieldPath);
    }

    [Fact]
    public void A_bookmark_keeps_its_resource_version_and_an_error_line_its_status_code_and_message()
    {
        var pool = new StringPool();
        // As the API server sends them: a bookmark is the zero Event with a resourceVersion; an ERROR line carries a Status.
        var bookmark = EventJson.ReadWatchEvent(Utf8(JsonNode.Parse("""{"type":"BOOKMARK","object":{"kind":"Event","apiVersion":"v1","metadata":{"resourceVersion":"190611","creationTimestamp":null,"annotations":{"k8s.io/initial-events-end":"true"}},"involvedObject":{},"reason":"","message":"","source":{},"firstTimestamp":null,"lastTimestamp":null,"eventTime":null,"reportingComponent":"","reportingInstance":""}}""")!), pool);
        var gone = EventJson.ReadWatchEvent(Utf8(JsonNode.Parse("""{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 184295 (190611)","reason":"Expired","code":410}}""")!), pool);
        var internalError = EventJson.ReadWatchEvent(Utf8(JsonNode.Parse("""{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"etcdserver: request timed out","code":500}}""")!), pool);

        Assert.Equal("BOOKMARK", bookmark.Type);
        Assert.Equal("190611", bookmark.Object!.ResourceVersion);
        Assert.Null(bookmark.Object.Subject!.Kind);
        Assert.Null(bookmark.Object.LastSeen);
        Assert.Equal(("ERROR", 410, "too old resource version: 184295 (190611)"), (gone.Type, gone.StatusCode, gone.StatusMessage));
        Assert.Null(gone.Object);
        Assert.Equal((500, "etcdserver: request timed out"), (internalError.StatusCode, internalError.StatusMessage));
    }

    [Theory]
    [InlineData("2026-11-25T20:01:45Z")]
    [InlineData("2026-11-25T20:01:45.123456Z")]
    [InlineData("2026-11-25T22:01:45+02:00")]
    [InlineData("2026-11-25T20:01:45.123456-05:30")]
    [InlineData("2026-11-25T20:01:45.123456789Z")]
    public void Every_rfc_3339_time_the_api_writes_reads_as_the_full_model_reads_it(string time)
    {
        var e = KubeFixtures.LoadList("events-web-pull-failure.json").First();
        e["lastTimestamp"] = time;
        e["eventTime"] = time;
        e["series"] = new JsonObject { ["count"] = 2, ["lastObservedTime"] = time };

        var read = EventJson.ReadWatchEvent(Utf8(new JsonObject { ["type"] = "ADDED", ["object"] = e.DeepClone() }), new StringPool()).Object!;

        Assert.Equal(Full(e), read);
        Assert.Equal(Full(e).LastSeen, read.LastSeen);
    }

    [Fact]
    public void Missing_fields_read_as_null_as_in_the_full_model_and_unknown_ones_are_skipped()
    {
        var bare = JsonNode.Parse("""{"kind":"Event","apiVersion":"v1","metadata":{"name":"x.1","namespace":"shop"},"type":"Warning"}""")!.AsObject();
        var extra = KubeFixtures.LoadList("events-web-pull-failure.json").ElementAt(1);
        extra["deprecatedSource"] = new JsonObject { ["component"] = "kubelet", ["nested"] = new JsonArray(1, "two", new JsonObject { ["three"] = null }) };
        extra["involvedObject"]!["extra"] = new JsonArray();
        extra["series"] = new JsonObject { ["count"] = 7, ["lastObservedTime"] = "2026-11-25T20:09:00.000001Z", ["state"] = "Ongoing" };

        var page = EventJson.ReadListPage(Utf8(new JsonObject { ["metadata"] = new JsonObject(), ["items"] = new JsonArray(bare.DeepClone(), extra.DeepClone()) }), new StringPool());

        Assert.Null(page.ResourceVersion);
        Assert.Null(page.Continue);
        Assert.Equal([Full(bare), Full(extra)], page.Items);
        Assert.Null(page.Items[0].Subject);
        Assert.Equal(7, page.Items[1].Occurrences);
    }

    [Fact]
    public void A_truncated_line_or_a_field_of_the_wrong_type_is_an_error_as_for_pods()
    {
        var text = new JsonObject { ["type"] = "ADDED", ["object"] = KubeFixtures.LoadList("events-web-pull-failure.json").First() }.ToJsonString();
        var wrongType = text.Replace("\"count\":1", "\"count\":\"one\"", StringComparison.Ordinal);

        Assert.ThrowsAny<System.Text.Json.JsonException>(() => EventJson.ReadWatchEvent(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(text[..(text.Length / 2)])), new StringPool()));
        Assert.NotEqual(text, wrongType);
        Assert.ThrowsAny<System.Text.Json.JsonException>(() => EventJson.ReadWatchEvent(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(wrongType)), new StringPool()));
    }

    [Fact]
    public void The_tracker_and_the_pull_time_recorder_decide_the_same_on_slim_and_full_events()
    {
        // A pod in ErrImagePull, then every fixture event about it in order, as the watcher feeds them; once decoded by
        // the full model, once slimly.
        var pod = KubeFixtures.Load("pod-web-errimagepull.json");
        var sequence = EventFixtures.SelectMany(KubeFixtures.LoadList)
            .Select(e => KubeFixtures.Retarget(e, pod))
            .Append(KubeFixtures.FailedEventFor(pod, "Failed to pull image \"registry.example.com/shop/web:1.4.3-typo\": later words", DateTimeOffset.Parse("2026-11-25T21:00:00Z", System.Globalization.CultureInfo.InvariantCulture)))
            .Append(KubeFixtures.FailedEventFor(pod, "Failed to pull image \"registry.example.com/shop/web:1.4.3-typo\": older words", DateTimeOffset.Parse("2026-11-25T19:00:00Z", System.Globalization.CultureInfo.InvariantCulture)))
            .ToList();
        var now = DateTimeOffset.Parse("2026-11-25T22:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        var watchedPod = WatchedPod.From(KubernetesJson.Deserialize<V1Pod>(pod.ToJsonString()));

        List<object> Decide(Func<JsonObject, WatchedEvent> decode)
        {
            var tracker = new PullFailureTracker();
            var decisions = new List<object>(tracker.ObservePod(watchedPod).Select(Decision));
            foreach (var e in sequence)
            {
                var read = decode(e);
                if (read.Type == "Warning" && PodPullState.IsPullWarning(read.Reason, read.Message))
                {
                    decisions.AddRange(tracker.ObserveWarning(read).Select(Decision));
                }

                if (PulledEventRecorder.ToRecord(read, "prod", now) is { } record)
                {
                    decisions.Add(record);
                }
            }

            return decisions;
        }

        var slim = Decide(e => EventJson.ReadWatchEvent(Utf8(new JsonObject { ["type"] = "ADDED", ["object"] = e.DeepClone() }), new StringPool()).Object!);
        var full = Decide(Full);

        Assert.Equal(full, slim);
        Assert.Equal(3, slim.OfType<ReportedFailure>().Count()); // the status, the Failed event's words, the later words
        Assert.Contains(slim, d => d is ReportedFailure { Message: var m } && m.EndsWith("later words", StringComparison.Ordinal));
        Assert.DoesNotContain(slim, d => d is ReportedFailure { Message: var m } && m.EndsWith("older words", StringComparison.Ordinal));
        Assert.Equal(3, slim.OfType<PullEventRecord>().Count());
        Assert.Contains(slim, d => d is PullEventRecord { Node: "worker-3", EventKey: var k } && k.EndsWith("/1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Stand_in_list_pages_with_continue_and_watch_lines_read_as_the_full_model_reads_them()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        var pod = KubeFixtures.Load("pod-web-errimagepull.json");
        foreach (var e in EventFixtures.SelectMany(KubeFixtures.LoadList))
        {
            api.Seed(KubeFixtures.Retarget(e, pod));
        }

        using var client = (k8s.Kubernetes)api.CreateClient();
        var slim = new EventListWatch(client);
        var pool = new StringPool();
        var listed = new List<WatchedEvent>();
        string? next = null;
        string? version = null;
        var pages = 0;
        do
        {
            var page = await slim.ListAsync(null, next, 3, pool, CancellationToken.None);
            version ??= page.ResourceVersion;
            listed.AddRange(page.Items);
            next = page.Continue;
            pages++;
        }
        while (!string.IsNullOrEmpty(next));

        var full = await client.CoreV1.ListEventForAllNamespacesAsync(fieldSelector: EventListWatch.PodEventSelector);

        Assert.True(pages > 2, $"{pages} pages");
        Assert.Equal(full.Metadata.ResourceVersion, version);
        Assert.Equal(full.Items.Select(WatchedEvent.From).OrderBy(e => e.Uid, StringComparer.Ordinal), listed.OrderBy(e => e.Uid, StringComparer.Ordinal));

        // A new event arrives on the watch as ADDED, as the full model reads it.
        var added = api.Seed(KubeFixtures.FailedEventFor(pod, "Failed to pull image \"registry.example.com/shop/web:2\": not found", DateTimeOffset.Parse("2026-11-25T20:30:00Z", System.Globalization.CultureInfo.InvariantCulture)));
        var uid = added["metadata"]!["uid"]!.GetValue<string>();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await foreach (var line in slim.WatchAsync(null, version, 30, pool, stop.Token))
        {
            if (line.Object?.Uid != uid)
            {
                continue;
            }

            Assert.Equal("ADDED", line.Type);
            var now = await client.CoreV1.ReadNamespacedEventAsync(added["metadata"]!["name"]!.GetValue<string>(), "shop");
            Assert.Equal(WatchedEvent.From(now), line.Object);
            return;
        }

        Assert.Fail("the watch ended without the new event");
    }

    /// <summary>A tracker change by value (its <see cref="TrackedPod"/> holds a list, which records compare by reference).</summary>
    private static object Decision(TrackerChange change) => change switch
    {
        FailureChange f => new ReportedFailure(f.Pod.Uid, f.Pod.Namespace, f.Pod.Name, f.Pod.NodeName, f.State, f.Message),
        _ => change,
    };

    private sealed record ReportedFailure(string Uid, string Namespace, string Pod, string? Node, ContainerPullState State, string Message);

    private static WatchedEvent Full(JsonObject e) => WatchedEvent.From(KubernetesJson.Deserialize<Corev1Event>(e.ToJsonString()));

    private static ReadOnlySequence<byte> Utf8(JsonNode node) => new(Encoding.UTF8.GetBytes(node.ToJsonString()));
}
