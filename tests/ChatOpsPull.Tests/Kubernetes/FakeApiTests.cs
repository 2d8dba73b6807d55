using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using ChatOpsPull.Simulation.KubernetesApi;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace ChatOpsPull.Tests.Kubernetes;

/// <summary>The fake API server's own contract, checked through KubernetesClient and raw HTTP.</summary>
public sealed class FakeApiTests
{
    private static async Task<(HttpStatusCode Code, JsonObject Body)> RawAsync(FakeKubernetesApi api, HttpMethod method, string path, string? body = null, string contentType = "application/json", string token = FakeKubernetesApi.BotToken)
    {
        using var http = new HttpClient { BaseAddress = api.BaseAddress };
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
        }

        using var response = await http.SendAsync(request);
        return (response.StatusCode, (JsonObject)JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
    }

    private static string Message(HttpOperationException e) => JsonNode.Parse(e.Response.Content)!["message"]!.GetValue<string>();

    [Fact]
    public async Task A_watch_from_a_resource_version_replays_only_later_changes_then_streams()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        api.Seed(KubeFixtures.WebPod("before"));
        var client = api.CreateClient();
        var list = await client.CoreV1.ListNamespacedPodAsync("shop");
        api.Seed(KubeFixtures.WebPod("after1"));

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var seen = new List<(WatchEventType, string)>();
        await foreach (var (type, pod) in client.CoreV1.WatchListNamespacedPodAsync("shop", resourceVersion: list.Metadata.ResourceVersion, cancellationToken: cts.Token))
        {
            seen.Add((type, pod.Metadata.Name));
            if (seen.Count == 2)
            {
                api.Store.Delete(ResourceType.Of("pods"), "shop", "after1");
            }

            if (seen.Count == 3)
            {
                break;
            }
        }

        // Seed = create + status update: ADDED then MODIFIED; then the deletion, live.
        Assert.Equal([(WatchEventType.Added, "after1"), (WatchEventType.Modified, "after1"), (WatchEventType.Deleted, "after1")], seen);
        Assert.Single(list.Items);
        Assert.Null(list.Items[0].Kind);
    }

    [Fact]
    public async Task A_watch_from_a_compacted_resource_version_gets_an_error_event_with_a_410_status()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        var old = api.Store.ResourceVersion;
        api.Seed(KubeFixtures.WebPod("p1"));
        api.Store.Compact();

        using var http = new HttpClient { BaseAddress = api.BaseAddress };
        var raw = await http.GetStringAsync(new Uri($"/api/v1/namespaces/shop/pods?watch=1&resourceVersion={old}", UriKind.Relative));
        var line = JsonNode.Parse(raw.Trim())!;
        Assert.Equal("ERROR", line["type"]!.GetValue<string>());
        Assert.Equal(("Status", "Failure", "Expired", 410), (line["object"]!["kind"]!.GetValue<string>(), line["object"]!["status"]!.GetValue<string>(), line["object"]!["reason"]!.GetValue<string>(), line["object"]!["code"]!.GetValue<int>()));
        Assert.StartsWith($"too old resource version: {old} (", line["object"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);

        Exception? error = null;
        await foreach (var _ in api.CreateClient().CoreV1.WatchListNamespacedPodAsync("shop", resourceVersion: old.ToString(System.Globalization.CultureInfo.InvariantCulture), onError: e => error = e))
        {
        }

        Assert.Equal(410, Assert.IsType<KubernetesException>(error).Status.Code);

        api.TooOldWatchAsHttpError = true;
        var (code, body) = await RawAsync(api, HttpMethod.Get, $"/api/v1/namespaces/shop/pods?watch=1&resourceVersion={old}");
        Assert.Equal((HttpStatusCode.Gone, 410), (code, body["code"]!.GetValue<int>()));
    }

    [Fact]
    public async Task The_watch_history_is_bounded_so_a_watch_from_before_it_gets_410()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        api.Store.HistoryLimit = 5;
        var start = api.Store.ResourceVersion;
        for (var i = 0; i < 3; i++)
        {
            api.Seed(KubeFixtures.WebPod($"p{i}"));
        }

        var recent = (api.Store.ResourceVersion - 2).ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var http = new HttpClient { BaseAddress = api.BaseAddress };
        var tooOld = JsonNode.Parse((await http.GetStringAsync(new Uri($"/api/v1/pods?watch=1&resourceVersion={start}", UriKind.Relative))).Trim())!;
        Assert.Equal(("ERROR", 410), (tooOld["type"]!.GetValue<string>(), tooOld["object"]!["code"]!.GetValue<int>()));

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var replayed = new List<string>();
        await foreach (var (type, pod) in api.CreateClient().CoreV1.WatchListPodForAllNamespacesAsync(resourceVersion: recent, cancellationToken: cts.Token))
        {
            replayed.Add($"{type} {pod.Metadata.Name}");
            if (replayed.Count == 2)
            {
                break;
            }
        }

        Assert.Equal(["Added p2", "Modified p2"], replayed);
    }

    [Fact]
    public async Task Bookmarks_carry_the_current_resource_version_to_watches_that_ask()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        var client = api.CreateClient();
        var start = api.Store.ResourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture);
        api.Seed(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Secret", ["metadata"] = new JsonObject { ["name"] = "s", ["namespace"] = "default" } });
        // A bookmark goes to the watches open when it is sent: send it once the client's watch is open.
        var timer = Task.Run(async () =>
        {
            await Eventually.HoldsAsync(() => api.Store.OpenWatches > 0, "the client's watch to open");
            api.SendBookmarks();
        });

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await foreach (var (type, pod) in client.CoreV1.WatchListNamespacedPodAsync("default", allowWatchBookmarks: true, resourceVersion: start, cancellationToken: cts.Token))
        {
            Assert.Equal(WatchEventType.Bookmark, type);
            Assert.Equal(api.Store.ResourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), pod.Metadata.ResourceVersion);
            break;
        }

        await timer;
    }

    [Fact]
    public async Task Lists_page_with_limit_and_continue_over_one_consistent_snapshot()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        for (var i = 0; i < 7; i++)
        {
            api.Seed(KubeFixtures.WebPod($"p{i}"));
        }

        var client = api.CreateClient();
        var first = await client.CoreV1.ListNamespacedPodAsync("shop", limit: 3);
        api.Seed(KubeFixtures.WebPod("p9-late"));
        api.Store.Delete(ResourceType.Of("pods"), "shop", "p5");
        var second = await client.CoreV1.ListNamespacedPodAsync("shop", limit: 3, continueParameter: first.Metadata.ContinueProperty);
        var third = await client.CoreV1.ListNamespacedPodAsync("shop", limit: 3, continueParameter: second.Metadata.ContinueProperty);

        Assert.Equal(["p0", "p1", "p2"], first.Items.Select(p => p.Metadata.Name));
        Assert.Equal(4, first.Metadata.RemainingItemCount);
        Assert.Equal(["p3", "p4", "p5"], second.Items.Select(p => p.Metadata.Name));
        Assert.Equal(["p6"], third.Items.Select(p => p.Metadata.Name));
        Assert.Null(third.Metadata.ContinueProperty);
        Assert.Equal(first.Metadata.ResourceVersion, third.Metadata.ResourceVersion);

        api.Store.Compact();
        var expired = await Assert.ThrowsAsync<HttpOperationException>(() => client.CoreV1.ListNamespacedPodAsync("shop", limit: 3, continueParameter: first.Metadata.ContinueProperty));
        Assert.Equal(HttpStatusCode.Gone, expired.Response.StatusCode);
        Assert.Contains("The provided continue parameter is too old", expired.Response.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_expired_continue_token_answers_410_Expired_as_the_real_server_with_a_token_for_the_rest_of_the_list_as_it_is_now()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        for (var i = 0; i < 7; i++)
        {
            api.Seed(KubeFixtures.WebPod($"p{i}"));
        }

        var (_, first) = await RawAsync(api, HttpMethod.Get, "/api/v1/namespaces/shop/pods?limit=3");
        var token = first["metadata"]!["continue"]!.GetValue<string>();
        api.Store.ExpireContinueTokens();
        api.Seed(KubeFixtures.WebPod("p4-late"));
        api.Store.Delete(ResourceType.Of("pods"), "shop", "p5");

        var (code, status) = await RawAsync(api, HttpMethod.Get, $"/api/v1/namespaces/shop/pods?limit=3&continue={token}");

        // storage/etcd3 handleCompactedErrorForPaging: the Status of NewResourceExpired(inconsistentContinue), and in its
        // metadata a token with resourceVersion -1 that starts where the expired one would have.
        Assert.Equal(HttpStatusCode.Gone, code);
        var inconsistent = status["metadata"]!["continue"]!.GetValue<string>();
        var expected = new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject { ["continue"] = inconsistent },
            ["status"] = "Failure",
            ["message"] = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
            ["reason"] = "Expired",
            ["code"] = 410,
        };
        Assert.Equal(expected.ToJsonString(), status.ToJsonString());
        var expiredToken = ContinueToken(token);
        var inconsistentToken = ContinueToken(inconsistent);
        Assert.Equal("meta.k8s.io/v1", inconsistentToken["v"]!.GetValue<string>());
        Assert.Equal(-1, inconsistentToken["rv"]!.GetValue<long>());
        Assert.Equal(expiredToken["start"]!.GetValue<string>(), inconsistentToken["start"]!.GetValue<string>());

        // Following it: the rest of the list as it is now (the late pod in, the deleted one out), at today's
        // resourceVersion, and paged on from there consistently.
        var now = api.Store.ResourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var (restCode, rest) = await RawAsync(api, HttpMethod.Get, $"/api/v1/namespaces/shop/pods?limit=3&continue={inconsistent}");
        Assert.Equal(HttpStatusCode.OK, restCode);
        Assert.Equal(["p3", "p4", "p4-late"], Names(rest));
        Assert.Equal(now, rest["metadata"]!["resourceVersion"]!.GetValue<string>());
        api.Seed(KubeFixtures.WebPod("p9-later"));
        var (_, last) = await RawAsync(api, HttpMethod.Get, $"/api/v1/namespaces/shop/pods?limit=3&continue={rest["metadata"]!["continue"]!.GetValue<string>()}");
        Assert.Equal(["p6"], Names(last));
        Assert.Equal(now, last["metadata"]!["resourceVersion"]!.GetValue<string>());
        Assert.Null(last["metadata"]!["continue"]);

        static string[] Names(JsonObject list) => [.. list["items"]!.AsArray().Select(p => p!["metadata"]!["name"]!.GetValue<string>())];

        static JsonObject ContinueToken(string token)
        {
            var base64 = token.Replace('-', '+').Replace('_', '/');
            return (JsonObject)JsonNode.Parse(Convert.FromBase64String(base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=')))!;
        }
    }

    [Theory]
    [InlineData("""{"v":"meta.k8s.io/v1","rv":0,"start":"shop/p1\u0000"}""", "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")]
    [InlineData("""{"v":"meta.k8s.io/v1","start":"shop/p1\u0000"}""", "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")]
    [InlineData("""{"v":"meta.k8s.io/v1","rv":5,"start":""}""", "continue key is not valid: encoded start key empty (version meta.k8s.io/v1)")]
    [InlineData("""{"v":"v1alpha1","rv":5,"start":"shop/p1\u0000"}""", "continue key is not valid: server does not recognize this encoded version \"v1alpha1\"")]
    [InlineData("""{"v":"meta.k8s.io/v1","rv":5,"start":"shop/../kube-system/x"}""", "continue key is not valid: shop/../kube-system/x")]
    [InlineData("""{"v":"meta.k8s.io/v1","rv":5,"start":"shop//p1"}""", "continue key is not valid: shop//p1")]
    public async Task A_continue_token_the_real_server_cannot_decode_answers_400_BadRequest_with_its_reason(string token, string reason)
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        api.Seed(KubeFixtures.WebPod("p1"));
        api.Seed(KubeFixtures.WebPod("p2"));
        var encoded = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(token)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        var (code, status) = await RawAsync(api, HttpMethod.Get, $"/api/v1/namespaces/shop/pods?limit=1&continue={encoded}");

        // k8s.io/apiserver: storage.DecodeContinue's error inside NewBadRequest("invalid continue token: %v").
        Assert.Equal(HttpStatusCode.BadRequest, code);
        Assert.Equal("BadRequest", status["reason"]!.GetValue<string>());
        Assert.Equal(400, status["code"]!.GetValue<int>());
        Assert.Equal("invalid continue token: " + reason, status["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_continued_list_that_also_names_a_resourceVersion_answers_400_as_the_real_server()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        for (var i = 0; i < 3; i++)
        {
            api.Seed(KubeFixtures.WebPod($"p{i}"));
        }

        var (_, first) = await RawAsync(api, HttpMethod.Get, "/api/v1/namespaces/shop/pods?limit=1");
        var token = first["metadata"]!["continue"]!.GetValue<string>();
        var version = first["metadata"]!["resourceVersion"]!.GetValue<string>();

        var (code, status) = await RawAsync(api, HttpMethod.Get, $"/api/v1/namespaces/shop/pods?limit=1&continue={token}&resourceVersion={version}");
        Assert.Equal(HttpStatusCode.BadRequest, code);
        Assert.Equal("specifying resource version is not allowed when using continue", status["message"]!.GetValue<string>());

        // resourceVersion=0 ("any") is allowed beside a token, and the page goes on.
        var (zeroCode, page) = await RawAsync(api, HttpMethod.Get, $"/api/v1/namespaces/shop/pods?limit=1&continue={token}&resourceVersion=0");
        Assert.Equal(HttpStatusCode.OK, zeroCode);
        Assert.Equal("p1", page["items"]![0]!["metadata"]!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_list_restarted_after_an_expired_token_pages_through_consistently_again()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        for (var i = 0; i < 5; i++)
        {
            api.Seed(KubeFixtures.WebPod($"q{i}"));
        }

        var client = api.CreateClient();
        var first = await client.CoreV1.ListNamespacedPodAsync("shop", limit: 2);
        api.Store.ExpireContinueTokens();
        var expired = await Assert.ThrowsAsync<HttpOperationException>(() => client.CoreV1.ListNamespacedPodAsync("shop", limit: 2, continueParameter: first.Metadata.ContinueProperty));
        Assert.Equal(HttpStatusCode.Gone, expired.Response.StatusCode);

        // The client starts again without the token: a new snapshot, whose pages go on as before.
        var again = await client.CoreV1.ListNamespacedPodAsync("shop", limit: 2);
        var second = await client.CoreV1.ListNamespacedPodAsync("shop", limit: 2, continueParameter: again.Metadata.ContinueProperty);
        var third = await client.CoreV1.ListNamespacedPodAsync("shop", limit: 2, continueParameter: second.Metadata.ContinueProperty);
        Assert.Equal(["q0", "q1", "q2", "q3", "q4"], again.Items.Concat(second.Items).Concat(third.Items).Select(p => p.Metadata.Name));
        Assert.Null(third.Metadata.ContinueProperty);
    }

    [Fact]
    public async Task Label_and_field_selectors_filter_and_unsupported_fields_are_refused()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        foreach (var e in KubeFixtures.LoadList("events-web-pull-failure.json"))
        {
            api.Seed(e);
        }

        api.Seed(KubeFixtures.WebPod("p1"));
        var other = KubeFixtures.WebPod("p2");
        other["metadata"]!["labels"]!["app"] = "api";
        api.Seed(other);
        var client = api.CreateClient();

        var warnings = await client.CoreV1.ListNamespacedEventAsync("shop", fieldSelector: "involvedObject.name=web-6b9f7c5d8-x7kq2,type=Warning");
        var web = await client.CoreV1.ListNamespacedPodAsync("shop", labelSelector: "app in (web),pod-template-hash");
        var notWeb = await client.CoreV1.ListNamespacedPodAsync("shop", labelSelector: "app!=web");

        Assert.Equal(3, warnings.Items.Count);
        Assert.All(warnings.Items, e => Assert.Equal("Warning", e.Type));
        Assert.Equal(["p1"], web.Items.Select(p => p.Metadata.Name));
        Assert.Equal(["p2"], notWeb.Items.Select(p => p.Metadata.Name));
        var bad = await Assert.ThrowsAsync<HttpOperationException>(() => client.CoreV1.ListNamespacedPodAsync("shop", fieldSelector: "spec.containers=web"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.Response.StatusCode);
        Assert.Contains("field label not supported: spec.containers", bad.Response.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Not_found_already_exists_and_stale_updates_are_status_objects_like_the_real_server()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        api.Seed(KubeFixtures.Load("deployment-web.json"));

        var (code, notFound) = await RawAsync(api, HttpMethod.Get, "/apis/apps/v1/namespaces/shop/deployments/nope");
        Assert.Equal(HttpStatusCode.NotFound, code);
        Assert.Equal(
            """{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"deployments.apps \"nope\" not found","reason":"NotFound","details":{"name":"nope","group":"apps","kind":"deployments"},"code":404}""",
            notFound.ToJsonString(ObjectStore.Wire));

        var client = api.CreateClient();
        var exists = await Assert.ThrowsAsync<HttpOperationException>(() =>
            client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = "regcred" } }, "shop")
                .ContinueWith(_ => client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = "regcred" } }, "shop"), TaskScheduler.Default).Unwrap());
        Assert.Equal(HttpStatusCode.Conflict, exists.Response.StatusCode);
        Assert.Contains("\"reason\":\"AlreadyExists\"", exists.Response.Content, StringComparison.Ordinal);
        Assert.Equal("secrets \"regcred\" already exists", Message(exists));

        var deployment = await client.AppsV1.ReadNamespacedDeploymentAsync("web", "shop");
        var stale = deployment.Metadata.ResourceVersion;
        deployment.Spec.Replicas = 3;
        var updated = await client.AppsV1.ReplaceNamespacedDeploymentAsync(deployment, "web", "shop");
        Assert.Equal(3, updated.Metadata.Generation);
        deployment.Metadata.ResourceVersion = stale;
        deployment.Spec.Replicas = 4;
        var conflict = await Assert.ThrowsAsync<HttpOperationException>(() => client.AppsV1.ReplaceNamespacedDeploymentAsync(deployment, "web", "shop"));
        Assert.Equal(HttpStatusCode.Conflict, conflict.Response.StatusCode);
        var status = JsonNode.Parse(conflict.Response.Content)!;
        Assert.Equal("Conflict", status["reason"]!.GetValue<string>());
        Assert.Equal("Operation cannot be fulfilled on deployments.apps \"web\": the object has been modified; please apply your changes to the latest version and try again", status["message"]!.GetValue<string>());
        Assert.Equal(3, (await client.AppsV1.ReadNamespacedDeploymentAsync("web", "shop")).Spec.Replicas);
    }

    [Fact]
    public async Task A_denied_verb_is_403_with_the_real_forbidden_message()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        api.Seed(KubeFixtures.WebPod("x"));
        api.Deny("get", "pods", "shop");
        api.Deny("list", "pods");

        var (code, body) = await RawAsync(api, HttpMethod.Get, "/api/v1/namespaces/shop/pods/x");
        var (listCode, listBody) = await RawAsync(api, HttpMethod.Get, "/api/v1/pods");

        Assert.Equal(HttpStatusCode.Forbidden, code);
        Assert.Equal("pods \"x\" is forbidden: User \"system:serviceaccount:chatopspull:chatopspull\" cannot get resource \"pods\" in API group \"\" in the namespace \"shop\"", body["message"]!.GetValue<string>());
        Assert.Equal(("Forbidden", 403), (body["reason"]!.GetValue<string>(), body["code"]!.GetValue<int>()));
        Assert.Equal(HttpStatusCode.Forbidden, listCode);
        Assert.Equal("pods is forbidden: User \"system:serviceaccount:chatopspull:chatopspull\" cannot list resource \"pods\" in API group \"\" at the cluster scope", listBody["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Merge_patch_replaces_lists_while_strategic_merge_patch_merges_them_by_key()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        api.Seed(KubeFixtures.Load("deployment-web.json"));
        var client = api.CreateClient();

        var strategic = await client.AppsV1.PatchNamespacedDeploymentAsync(new V1Patch("""
            {"spec":{"template":{"spec":{
              "containers":[{"name":"sidecar","image":"busybox:1.36"},{"name":"web","image":"registry.example.com/shop/web:1.4.3","env":[{"name":"MODE","value":"prod"}]}],
              "imagePullSecrets":[{"name":"regcred","$patch":"delete"},{"name":"ghcr-pull"}]}}}}
            """, V1Patch.PatchType.StrategicMergePatch), "web", "shop");
        var containers = strategic.Spec.Template.Spec.Containers;
        Assert.Equal(["web", "sidecar"], containers.Select(c => c.Name));
        Assert.Equal("registry.example.com/shop/web:1.4.3", containers[0].Image);
        Assert.Equal(8080, containers[0].Ports.Single().ContainerPort);
        Assert.Equal("prod", containers[0].Env.Single().Value);
        Assert.Equal(["ghcr-pull"], strategic.Spec.Template.Spec.ImagePullSecrets.Select(s => s.Name));
        Assert.Equal(3, strategic.Metadata.Generation);

        var replaced = await client.AppsV1.PatchNamespacedDeploymentAsync(new V1Patch("""
            {"spec":{"template":{"spec":{"containers":[{"name":"only","image":"nginx:1.25"},{"$patch":"replace"}]}}}}
            """, V1Patch.PatchType.StrategicMergePatch), "web", "shop");
        Assert.Equal(["only"], replaced.Spec.Template.Spec.Containers.Select(c => c.Name));

        var merged = await client.AppsV1.PatchNamespacedDeploymentAsync(new V1Patch("""
            {"metadata":{"labels":{"team":"shop","app":null}},"spec":{"template":{"spec":{"containers":[{"name":"web","image":"registry.example.com/shop/web:1.4.2"}]}}}}
            """, V1Patch.PatchType.MergePatch), "web", "shop");
        Assert.Equal(new Dictionary<string, string> { ["team"] = "shop" }, merged.Metadata.Labels);
        var web = Assert.Single(merged.Spec.Template.Spec.Containers);
        Assert.Null(web.Ports);

        var jsonPatched = await client.AppsV1.PatchNamespacedDeploymentAsync(new V1Patch("""
            [{"op":"test","path":"/spec/template/spec/containers/0/name","value":"web"},
             {"op":"replace","path":"/spec/template/spec/containers/0/image","value":"registry.example.com/shop/web:1.4.4"},
             {"op":"add","path":"/metadata/annotations/kubectl.kubernetes.io~1restartedAt","value":"2026-11-25T20:00:00Z"}]
            """, V1Patch.PatchType.JsonPatch), "web", "shop");
        Assert.Equal("registry.example.com/shop/web:1.4.4", jsonPatched.Spec.Template.Spec.Containers[0].Image);
        Assert.Equal("2026-11-25T20:00:00Z", jsonPatched.Metadata.Annotations["kubectl.kubernetes.io/restartedAt"]);

        var failedTest = await Assert.ThrowsAsync<HttpOperationException>(() => client.AppsV1.PatchNamespacedDeploymentAsync(new V1Patch(
            """[{"op":"test","path":"/spec/replicas","value":99}]""", V1Patch.PatchType.JsonPatch), "web", "shop"));
        Assert.Equal((HttpStatusCode)422, failedTest.Response.StatusCode);

        var (code, _) = await RawAsync(api, HttpMethod.Patch, "/apis/apps/v1/namespaces/shop/deployments/web", "{}", "text/plain");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, code);
    }

    [Fact]
    public async Task Dry_run_validates_and_returns_the_would_be_object_but_stores_nothing()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        api.Seed(KubeFixtures.Load("deployment-web.json"));
        var client = api.CreateClient();
        var before = api.Store.ResourceVersion;

        var patched = await client.AppsV1.PatchNamespacedDeploymentAsync(new V1Patch(
            """{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"registry.example.com/shop/web:1.4.2"}]}}}}""",
            V1Patch.PatchType.StrategicMergePatch), "web", "shop", dryRun: "All");
        var created = await client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = "new-secret" }, Type = "Opaque" }, "shop", dryRun: "All");
        var invalid = await Assert.ThrowsAsync<HttpOperationException>(() =>
            client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = "Bad_Name" } }, "shop", dryRun: "All"));

        Assert.Equal("registry.example.com/shop/web:1.4.2", patched.Spec.Template.Spec.Containers[0].Image);
        Assert.Equal(3, patched.Metadata.Generation);
        Assert.Equal("new-secret", created.Metadata.Name);
        Assert.Equal((HttpStatusCode)422, invalid.Response.StatusCode);
        Assert.StartsWith("Secret \"Bad_Name\" is invalid: metadata.name: Invalid value", Message(invalid), StringComparison.Ordinal);
        Assert.Equal(before, api.Store.ResourceVersion);
        Assert.Equal("registry.example.com/shop/web:1.4.3-typo", (await client.AppsV1.ReadNamespacedDeploymentAsync("web", "shop")).Spec.Template.Spec.Containers[0].Image);
        Assert.Null(api.Store.Get(ResourceType.Of("secrets"), "shop", "new-secret"));
    }

    [Fact]
    public async Task Lease_create_and_update_follow_optimistic_concurrency()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        var client = api.CreateClient();
        var lease = new V1Lease { Metadata = new V1ObjectMeta { Name = "l" }, Spec = new V1LeaseSpec { HolderIdentity = "a", LeaseDurationSeconds = 15 } };
        var created = await client.CoordinationV1.CreateNamespacedLeaseAsync(lease, "default");
        var again = await Assert.ThrowsAsync<HttpOperationException>(() => client.CoordinationV1.CreateNamespacedLeaseAsync(lease, "default"));
        created.Spec.HolderIdentity = "b";
        var won = await client.CoordinationV1.ReplaceNamespacedLeaseAsync(created, "l", "default");
        created.Spec.HolderIdentity = "c";
        var lost = await Assert.ThrowsAsync<HttpOperationException>(() => client.CoordinationV1.ReplaceNamespacedLeaseAsync(created, "l", "default"));
        var missingNamespace = await Assert.ThrowsAsync<HttpOperationException>(() => client.CoordinationV1.CreateNamespacedLeaseAsync(lease, "nowhere"));

        Assert.Equal(HttpStatusCode.Conflict, again.Response.StatusCode);
        Assert.Equal("b", won.Spec.HolderIdentity);
        Assert.Equal(HttpStatusCode.Conflict, lost.Response.StatusCode);
        Assert.Contains("leases.coordination.k8s.io \"l\": the object has been modified", Message(lost), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, missingNamespace.Response.StatusCode);
        Assert.Equal("namespaces \"nowhere\" not found", Message(missingNamespace));
    }

    [Fact]
    public async Task A_deployment_rollout_creates_revisioned_replicasets_and_a_rollback_takes_a_new_revision()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        api.Seed(KubeFixtures.Load("node-worker-1.json"));
        api.Seed(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = "shop" } });
        var client = api.CreateClient();
        var body = KubernetesJson.Deserialize<V1Deployment>(KubeFixtures.Load("deployment-web.json").ToJsonString());
        body.Metadata = new V1ObjectMeta { Name = "web", Labels = body.Metadata.Labels };
        body.Status = null;
        body.Spec.Replicas = 3;
        body.Spec.Template.Spec.Containers[0].Image = "registry.example.com/shop/web:1.4.2";

        await client.AppsV1.CreateNamespacedDeploymentAsync(body, "shop");
        var v1 = await client.AppsV1.ReadNamespacedDeploymentAsync("web", "shop");
        Assert.Equal(("1", 1L, 1L), (v1.Metadata.Annotations["deployment.kubernetes.io/revision"], v1.Metadata.Generation!.Value, v1.Status.ObservedGeneration!.Value));
        Assert.Equal(3, (await client.CoreV1.ListNamespacedPodAsync("shop", labelSelector: "app=web")).Items.Count);

        await client.AppsV1.PatchNamespacedDeploymentAsync(new V1Patch(
            """{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"registry.example.com/shop/web:1.4.3-typo"}]}}}}""",
            V1Patch.PatchType.StrategicMergePatch), "web", "shop");
        var v2 = await client.AppsV1.ReadNamespacedDeploymentAsync("web", "shop");
        var sets = (await client.AppsV1.ListNamespacedReplicaSetAsync("shop")).Items;
        Assert.Equal(("2", 2L), (v2.Metadata.Annotations["deployment.kubernetes.io/revision"], v2.Status.ObservedGeneration!.Value));
        Assert.Equal(2, sets.Count);
        Assert.All(sets, rs => Assert.Equal(("Deployment", "web", true), (rs.Metadata.OwnerReferences[0].Kind, rs.Metadata.OwnerReferences[0].Name, rs.Metadata.OwnerReferences[0].Controller == true)));

        // A rolling update with the default 25% maxSurge/maxUnavailable of 3 replicas: one surge pod of the new template,
        // and no old pod may go while none of the new ones is available (rolling.go reconcileNewReplicaSet / reconcileOldReplicaSets).
        var newer = sets.Single(rs => rs.Metadata.Annotations["deployment.kubernetes.io/revision"] == "2");
        Assert.Equal(1, newer.Spec.Replicas);
        Assert.Equal(3, sets.Single(rs => rs != newer).Spec.Replicas);
        var pods = (await client.CoreV1.ListNamespacedPodAsync("shop", labelSelector: "app=web")).Items;
        Assert.Equal(4, pods.Count);
        Assert.Single(pods, p => p.Metadata.OwnerReferences[0].Name == newer.Metadata.Name);
        Assert.Null(v2.Status.ReadyReplicas);

        // Pods that come up let the rollout go on, one surge pod at a time, until the old ReplicaSet is at zero.
        Assert.InRange(api.MarkPodsReady("shop", "app=web"), 3, 6);
        var ready = await client.AppsV1.ReadNamespacedDeploymentAsync("web", "shop");
        Assert.Equal((3, 3, 3), (ready.Status.ReadyReplicas, ready.Status.UpdatedReplicas, ready.Status.AvailableReplicas));
        Assert.Equal("NewReplicaSetAvailable", ready.Status.Conditions.Single(c => c.Type == "Progressing").Reason);
        pods = (await client.CoreV1.ListNamespacedPodAsync("shop", labelSelector: "app=web")).Items;
        Assert.Equal(3, pods.Count);
        Assert.All(pods, p => Assert.Equal(newer.Metadata.Name, p.Metadata.OwnerReferences[0].Name));

        // Rollback: the revision-1 template comes back and its ReplicaSet takes revision 3.
        await client.AppsV1.PatchNamespacedDeploymentAsync(new V1Patch(
            """{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"registry.example.com/shop/web:1.4.2"}]}}}}""",
            V1Patch.PatchType.StrategicMergePatch), "web", "shop");
        var v3 = await client.AppsV1.ReadNamespacedDeploymentAsync("web", "shop");
        sets = (await client.AppsV1.ListNamespacedReplicaSetAsync("shop")).Items;
        Assert.Equal("3", v3.Metadata.Annotations["deployment.kubernetes.io/revision"]);
        Assert.Equal(2, sets.Count);
        Assert.Equal("registry.example.com/shop/web:1.4.2", sets.Single(rs => rs.Metadata.Annotations["deployment.kubernetes.io/revision"] == "3").Spec.Template.Spec.Containers[0].Image);
    }

    [Fact]
    public async Task Delete_returns_the_pod_or_a_success_status_and_cascades_to_dependents()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        api.Seed(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = "shop" } });
        var client = api.CreateClient();
        var body = KubernetesJson.Deserialize<V1Deployment>(KubeFixtures.Load("deployment-web.json").ToJsonString());
        body.Metadata = new V1ObjectMeta { Name = "web" };
        body.Status = null;
        body.Spec.Replicas = 2;
        await client.AppsV1.CreateNamespacedDeploymentAsync(body, "shop");
        var pods = await client.CoreV1.ListNamespacedPodAsync("shop");
        Assert.Equal(2, pods.Items.Count);

        var deletedPod = await client.CoreV1.DeleteNamespacedPodAsync(pods.Items[0].Metadata.Name, "shop");
        var replaced = await client.CoreV1.ListNamespacedPodAsync("shop");
        var status = await client.AppsV1.DeleteNamespacedDeploymentAsync("web", "shop");
        var again = await Assert.ThrowsAsync<HttpOperationException>(() => client.AppsV1.DeleteNamespacedDeploymentAsync("web", "shop"));

        Assert.Equal(pods.Items[0].Metadata.Uid, deletedPod.Metadata.Uid);
        Assert.NotNull(deletedPod.Metadata.DeletionTimestamp);
        Assert.Equal(2, replaced.Items.Count);
        Assert.DoesNotContain(replaced.Items, p => p.Metadata.Uid == deletedPod.Metadata.Uid);
        Assert.Equal(("Success", "web", "deployments"), (status.Status, status.Details.Name, status.Details.Kind));
        Assert.Equal(HttpStatusCode.NotFound, again.Response.StatusCode);
        Assert.Empty((await client.AppsV1.ListNamespacedReplicaSetAsync("shop")).Items);
        Assert.Empty((await client.CoreV1.ListNamespacedPodAsync("shop")).Items);
    }
}
