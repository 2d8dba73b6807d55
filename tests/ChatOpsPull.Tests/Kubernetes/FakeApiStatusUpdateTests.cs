using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using ChatOpsPull.Simulation.KubernetesApi;

namespace ChatOpsPull.Tests.Kubernetes;

/// <summary>
/// The stand-in's status updates as a client sees them: what a write that changes nothing does (nothing), what a status
/// change stores (the old object with only .status and resourceVersion new, members in place), and what each watch is sent
/// (the same bytes, the stored object as the server serializes it).
/// </summary>
public sealed class FakeApiStatusUpdateTests
{
    private static readonly ResourceType Pods = ResourceType.Of("pods");

    private static async Task<(HttpResponseMessage Response, StreamReader Lines)> OpenWatchAsync(HttpClient http, string resourceVersion)
    {
        var response = await http.GetAsync($"/api/v1/namespaces/shop/pods?watch=true&resourceVersion={resourceVersion}", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (response, new StreamReader(await response.Content.ReadAsStreamAsync(), Encoding.UTF8));
    }

    private static HttpClient Client(FakeKubernetesApi api)
    {
        var http = new HttpClient { BaseAddress = api.BaseAddress };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", FakeKubernetesApi.BotToken);
        return http;
    }

    private static async Task<string> NextLineAsync(StreamReader lines)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        return await lines.ReadLineAsync(timeout.Token) ?? throw new InvalidOperationException("the watch ended");
    }

    [Fact]
    public async Task A_status_write_that_changes_nothing_keeps_the_resource_version_and_sends_no_watch_event()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        api.Seed(KubeFixtures.WebPod("same"));
        var first = api.SetContainerWaiting("shop", "same", "web", "ErrImagePull", "not found");
        var version = ObjectStore.Version(first);
        using var http = Client(api);
        var (response, lines) = await OpenWatchAsync(http, version);
        using (response)
        using (lines)
        {
            // The same waiting state again, through the helper and as a client's PUT of /status (with a reordered status).
            var again = api.SetContainerWaiting("shop", "same", "web", "ErrImagePull", "not found");
            var reordered = new JsonObject(((JsonObject)first["status"]!).Reverse().Select(p => KeyValuePair.Create(p.Key, p.Value?.DeepClone())));
            var body = new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Pod", ["metadata"] = new JsonObject { ["name"] = "same", ["namespace"] = "shop", ["resourceVersion"] = version }, ["status"] = reordered };
            using var put = await http.PutAsync("/api/v1/namespaces/shop/pods/same/status", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
            var putAnswer = JsonNode.Parse(await put.Content.ReadAsStringAsync())!.AsObject();

            Assert.Equal(version, ObjectStore.Version(again));
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            Assert.Equal(version, ObjectStore.Version(putAnswer));
            Assert.Equal(version, api.Store.ResourceVersion.ToString(CultureInfo.InvariantCulture));

            // The next real change is the first thing the watch sends, with the very next resourceVersion.
            var changed = api.SetContainerWaiting("shop", "same", "web", "ImagePullBackOff", "Back-off pulling image");
            var line = JsonNode.Parse(await NextLineAsync(lines))!;
            Assert.Equal("MODIFIED", line["type"]!.GetValue<string>());
            Assert.Equal(ObjectStore.Version(changed), ObjectStore.Version(line["object"]!.AsObject()));
            Assert.Equal(long.Parse(version, CultureInfo.InvariantCulture) + 1, long.Parse(ObjectStore.Version(changed), CultureInfo.InvariantCulture));
        }
    }

    [Fact]
    public async Task Two_watches_are_sent_the_same_bytes_the_stored_object_serialized_as_the_server_does()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        api.Seed(KubeFixtures.WebPod("watched"));
        var version = api.Store.ResourceVersion.ToString(CultureInfo.InvariantCulture);
        using var http = Client(api);
        var (firstResponse, firstLines) = await OpenWatchAsync(http, version);
        var (secondResponse, secondLines) = await OpenWatchAsync(http, version);
        using (firstResponse)
        using (firstLines)
        using (secondResponse)
        using (secondLines)
        {
            // A message with quotes and non-ASCII text: the server writes both unescaped.
            var stored = api.SetContainerWaiting("shop", "watched", "web", "ErrImagePull", "failed to pull \"registry.example.com/shop/web:1.4.3-typo\": introuvable — 404");
            var first = await NextLineAsync(firstLines);
            var second = await NextLineAsync(secondLines);

            Assert.Equal(first, second);
            Assert.Equal(ObjectStore.Line("MODIFIED", stored.ToJsonString(ObjectStore.Wire)), first);
            Assert.Contains("\"failed to pull \\\"registry.example.com/shop/web:1.4.3-typo\\\": introuvable — 404\"", first, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_get_answers_the_current_resource_version_in_the_bytes_its_watch_event_carried()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        api.Seed(KubeFixtures.WebPod("read"));
        using var http = Client(api);
        var (response, lines) = await OpenWatchAsync(http, api.Store.ResourceVersion.ToString(CultureInfo.InvariantCulture));
        using (response)
        using (lines)
        {
            Assert.Equal(api.Store.Get(Pods, "shop", "read")!.ToJsonString(ObjectStore.Wire), await http.GetStringAsync("/api/v1/namespaces/shop/pods/read"));

            // Status changes through the helper, a client's merge patch of a label, and status changes again: after each,
            // a GET answers the new object, byte for byte what its watch event carried and what the server serializes.
            var written = new List<JsonObject>();
            for (var i = 0; i < 3; i++)
            {
                written.Add(api.SetContainerWaiting("shop", "read", "web", "ErrImagePull", $"change {i}"));
                Assert.Equal(written[^1].ToJsonString(ObjectStore.Wire), await http.GetStringAsync("/api/v1/namespaces/shop/pods/read"));
            }

            using var patch = new StringContent("{\"metadata\":{\"labels\":{\"seen\":\"yes\"}}}", Encoding.UTF8, "application/merge-patch+json");
            using var patched = await http.PatchAsync("/api/v1/namespaces/shop/pods/read", patch);
            Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
            written.Add(api.Store.Get(Pods, "shop", "read")!);
            var afterPatch = await http.GetStringAsync("/api/v1/namespaces/shop/pods/read");
            Assert.Equal(written[^1].ToJsonString(ObjectStore.Wire), afterPatch);
            Assert.Equal("yes", JsonNode.Parse(afterPatch)!["metadata"]!["labels"]!["seen"]!.GetValue<string>());
            written.Add(api.SetContainerWaiting("shop", "read", "web", "ImagePullBackOff", "change 3"));
            Assert.Equal(written[^1].ToJsonString(ObjectStore.Wire), await http.GetStringAsync("/api/v1/namespaces/shop/pods/read"));

            // The watch sent every version in order, each in the bytes a GET of it answered.
            foreach (var stored in written)
            {
                Assert.Equal(ObjectStore.Line("MODIFIED", stored.ToJsonString(ObjectStore.Wire)), await NextLineAsync(lines));
            }
        }
    }

    [Fact]
    public async Task A_status_write_changes_only_status_and_resource_version_with_every_member_in_its_place()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        api.Seed(KubeFixtures.WebPod("kept"));
        var before = api.Store.Get(Pods, "shop", "kept")!;

        var after = api.SetContainerWaiting("shop", "kept", "web", "ErrImagePull", "manifest unknown");

        var expected = (JsonObject)before.DeepClone();
        expected["status"] = after["status"]!.DeepClone();
        expected["metadata"]!["resourceVersion"] = ObjectStore.Version(after);
        Assert.Equal(expected.ToJsonString(ObjectStore.Wire), after.ToJsonString(ObjectStore.Wire));
        Assert.Equal(before.Select(p => p.Key), after.Select(p => p.Key));
        var web = after["status"]!["containerStatuses"]!.AsArray().Single(c => c!["name"]!.GetValue<string>() == "web")!;
        Assert.Equal("ErrImagePull", web["state"]!["waiting"]!["reason"]!.GetValue<string>());
        Assert.Equal("manifest unknown", web["state"]!["waiting"]!["message"]!.GetValue<string>());
        Assert.NotEqual(before.ToJsonString(), after.ToJsonString());

        // A /status write without a status takes it away; the rest stays as it was.
        var cleared = api.Store.Replace(Pods, "shop", "kept", new JsonObject { ["metadata"] = new JsonObject { ["name"] = "kept" } }, "status");
        Assert.Null(cleared["status"]);
        Assert.False(cleared.ContainsKey("status"));
        Assert.Equal(before.Select(p => p.Key).Where(k => k != "status"), cleared.Select(p => p.Key));
        Assert.True(JsonNode.DeepEquals(before["spec"], cleared["spec"]));
    }

    [Fact]
    public async Task An_update_is_no_change_only_when_all_but_resource_version_and_managed_fields_is_equal()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        api.Seed(KubeFixtures.WebPod("compared"));
        var stored = api.Store.Get(Pods, "shop", "compared")!;
        var version = api.Store.ResourceVersion;

        var sameButBookkeeping = (JsonObject)stored.DeepClone();
        sameButBookkeeping["metadata"]!["managedFields"] = new JsonArray(new JsonObject { ["manager"] = "someone", ["operation"] = "Update" });
        ((JsonObject)sameButBookkeeping["metadata"]!).Remove("resourceVersion");
        var unchanged = api.Store.Replace(Pods, "shop", "compared", sameButBookkeeping);
        Assert.Same(stored, unchanged);
        Assert.Equal(version, api.Store.ResourceVersion);

        var labelled = (JsonObject)stored.DeepClone();
        labelled["metadata"]!["labels"]!["tier"] = "front";
        var changed = api.Store.Replace(Pods, "shop", "compared", labelled);
        Assert.Equal(version + 1, api.Store.ResourceVersion);
        Assert.Equal("front", changed["metadata"]!["labels"]!["tier"]!.GetValue<string>());

        var annotationAsNull = (JsonObject)changed.DeepClone();
        ((JsonObject)annotationAsNull["metadata"]!)["note"] = null;
        api.Store.Replace(Pods, "shop", "compared", annotationAsNull);
        Assert.Equal(version + 2, api.Store.ResourceVersion);
    }
}
