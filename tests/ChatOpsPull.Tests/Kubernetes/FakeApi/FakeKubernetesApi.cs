using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ChatOpsPull.Tests.Infrastructure;
using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ChatOpsPull.Tests.Kubernetes.FakeApi;

/// <summary>
/// An in-process Kubernetes API server for tests (Kestrel, plain HTTP on a free loopback port) that speaks the real
/// REST protocol to KubernetesClient: GET/LIST (label and field selectors, limit/continue over a consistent snapshot),
/// chunked WATCH streams (resourceVersion, BOOKMARK, 410 Expired after compaction, timeoutSeconds), POST/PUT/PATCH
/// (merge, strategic merge, JSON patch)/DELETE, dryRun=All, optimistic concurrency, Status errors as the real server
/// writes them, per-user RBAC denials, and a deployment controller for rollout bookkeeping.
/// Objects live in <see cref="Store"/>; tests seed them with <see cref="Seed"/> (like restoring etcd: no RBAC, no controller).
/// </summary>
public sealed class FakeKubernetesApi : IAsyncDisposable
{
    public const string BotToken = "chatopspull-bot-token";
    public const string BotUser = "system:serviceaccount:chatopspull:chatopspull";
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, string> _users = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<(string Verb, string Resource, string? Namespace, string? User)> _denials = [];
    private readonly ConcurrentQueue<string> _requests = new();
    private readonly Timer _bookmarkTimer;

    private FakeKubernetesApi(WebApplication app, ObjectStore store, DeploymentController controller, int port)
    {
        _app = app;
        Store = store;
        Controller = controller;
        BaseAddress = new Uri($"http://127.0.0.1:{port}");
        _users[BotToken] = BotUser;
        _bookmarkTimer = new Timer(_ => Store.SendBookmarks());
    }

    public Uri BaseAddress { get; }

    public ObjectStore Store { get; }

    public DeploymentController Controller { get; }

    /// <summary>How often watches that asked for bookmarks get one (the real server: about a minute).</summary>
    public TimeSpan BookmarkInterval
    {
        set => _bookmarkTimer.Change(value, value);
    }

    /// <summary>Answer a too-old watch with HTTP 410 instead of a 200 stream holding one ERROR event.</summary>
    public bool TooOldWatchAsHttpError { get; set; }

    /// <summary>Requests served, as "VERB /path?query" (for assertions about what a client asked).</summary>
    public IReadOnlyCollection<string> Requests => _requests;

    /// <summary>
    /// Fault injection: runs before each authorized request is served. Throw an <see cref="ApiStatusException"/> to answer
    /// with it (a 503 the way the real server writes it), or write to <see cref="Store"/> first (another writer got there
    /// first: a request carrying the old resourceVersion then meets the real 409).
    /// </summary>
    public Func<FakeRequest, Task>? BeforeServing { get; set; }

    /// <summary>
    /// Fault injection: runs after a write (create/update/patch/delete, not dry runs) was stored and before its answer is
    /// written. Await to hold the answer back: the server acted and the client has not heard (a connection lost, a
    /// process stopped mid-call).
    /// </summary>
    public Func<FakeRequest, Task>? AfterWriting { get; set; }

    public static async Task<FakeKubernetesApi> StartAsync(TimeProvider? time = null)
    {
        time ??= TimeProvider.System;
        var port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o =>
        {
            o.Listen(IPAddress.Loopback, port);
            o.Limits.MaxRequestBodySize = 3 * 1024 * 1024;
        });
        var app = builder.Build();
        var store = new ObjectStore(time);
        var controller = new DeploymentController(store, time);
        var api = new FakeKubernetesApi(app, store, controller, port);
        foreach (var ns in new[] { "default", "kube-system", "kube-public", "kube-node-lease" })
        {
            store.Create(ResourceType.Of("namespaces"), null, new JsonObject { ["metadata"] = new JsonObject { ["name"] = ns }, ["spec"] = new JsonObject { ["finalizers"] = new JsonArray("kubernetes") }, ["status"] = new JsonObject { ["phase"] = "Active" } });
        }

        app.Map("/api/{**path}", api.HandleAsync);
        app.Map("/apis/{**path}", api.HandleAsync);
        app.MapGet("/version", () => Results.Json(new { major = "1", minor = "33", gitVersion = "v1.33.0-fake" }));
        await app.StartAsync().ConfigureAwait(false);
        return api;
    }

    /// <summary>A bearer token that authenticates as <paramref name="user"/>.</summary>
    public void AddUser(string token, string user) => _users[token] = user;

    /// <summary>Denies <paramref name="verb"/> on <paramref name="resource"/> ("pods", "secrets", "leases", "pods/status"), optionally only in one namespace or for one user.</summary>
    public void Deny(string verb, string resource, string? @namespace = null, string? user = null) => _denials.Add((verb, resource, @namespace, user));

    public void AllowAll() => _denials.Clear();

    public KubernetesClientConfiguration ClientConfiguration(string token = BotToken) => new()
    {
        Host = BaseAddress.ToString(),
        AccessToken = token,
        Namespace = "default",
    };

    public IKubernetes CreateClient(string token = BotToken) => new k8s.Kubernetes(ClientConfiguration(token));

    /// <summary>Writes a kubeconfig for this server (current context "fake", token auth) and returns its path.</summary>
    public string WriteKubeconfig(string directory, string? contextNamespace = null, string token = BotToken)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "kubeconfig");
        var nsLine = contextNamespace is null ? string.Empty : $"\n    namespace: {contextNamespace}";
        File.WriteAllText(path, $$"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: fake
              cluster:
                server: {{BaseAddress}}
            users:
            - name: bot
              user:
                token: {{token}}
            contexts:
            - name: fake
              context:
                cluster: fake
                user: bot{{nsLine}}
            current-context: fake
            preferences: {}
            """);
        return path;
    }

    /// <summary>Stores an object as given (namespace created when missing), bypassing RBAC and admission.</summary>
    public JsonObject Seed(JsonObject obj)
    {
        var (type, ns, name) = Identify(obj);
        if (ns is not null && !Store.NamespaceExists(ns))
        {
            Store.Create(ResourceType.Of("namespaces"), null, new JsonObject { ["metadata"] = new JsonObject { ["name"] = ns }, ["status"] = new JsonObject { ["phase"] = "Active" } });
        }

        var existing = Store.Get(type, ns, name);
        if (existing is null)
        {
            var created = Store.Create(type, ns, obj, keepIdentity: true);
            if (type.HasStatus && obj["status"] is not null)
            {
                var withStatus = (JsonObject)created.DeepClone();
                withStatus["status"] = obj["status"]!.DeepClone();
                return Store.Replace(type, ns, name, withStatus, "status");
            }

            return created;
        }

        var replaced = (JsonObject)obj.DeepClone();
        replaced["metadata"]!["resourceVersion"] = null;
        ((JsonObject)replaced["metadata"]!).Remove("resourceVersion");
        var stored = Store.Replace(type, ns, name, replaced);
        if (type.HasStatus && obj["status"] is not null)
        {
            var withStatus = (JsonObject)stored.DeepClone();
            withStatus["status"] = obj["status"]!.DeepClone();
            stored = Store.Replace(type, ns, name, withStatus, "status");
        }

        return stored;
    }

    /// <summary>Sets one container of a pod waiting with a reason and message (what kubelet writes after a failed pull).</summary>
    public JsonObject SetContainerWaiting(string ns, string pod, string container, string reason, string message)
    {
        var type = ResourceType.Of("pods");
        var obj = (JsonObject)(Store.Get(type, ns, pod) ?? throw ApiStatus.NotFound(type, pod)).DeepClone();
        foreach (var list in new[] { "containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses" })
        {
            foreach (var status in (obj["status"]?[list] as JsonArray ?? []).OfType<JsonObject>())
            {
                if (status["name"]?.GetValue<string>() == container)
                {
                    status["ready"] = false;
                    status["started"] = false;
                    status["state"] = new JsonObject { ["waiting"] = new JsonObject { ["message"] = message, ["reason"] = reason } };
                }
            }
        }

        return Store.Replace(type, ns, pod, obj, "status");
    }

    public int MarkPodsReady(string ns, string? labelSelector = null) => Controller.MarkPodsReady(ns, labelSelector);

    public int DropWatches() => Store.DropWatches();

    public void SendBookmarks() => Store.SendBookmarks();

    public async ValueTask DisposeAsync()
    {
        await _bookmarkTimer.DisposeAsync().ConfigureAwait(false);
        Store.DropWatches();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(stop.Token).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private static (ResourceType Type, string? Namespace, string Name) Identify(JsonObject obj)
    {
        var apiVersion = obj["apiVersion"]?.GetValue<string>() ?? "v1";
        var kind = obj["kind"]?.GetValue<string>() ?? throw new ArgumentException("object has no kind", nameof(obj));
        var type = ResourceType.All.FirstOrDefault(t => t.Kind == kind && t.ApiVersion == apiVersion)
            ?? throw new ArgumentException($"the fake does not serve {apiVersion} {kind}", nameof(obj));
        var name = obj["metadata"]?["name"]?.GetValue<string>() ?? throw new ArgumentException("object has no name", nameof(obj));
        var ns = type.Namespaced ? obj["metadata"]?["namespace"]?.GetValue<string>() ?? "default" : null;
        return (type, ns, name);
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        _requests.Enqueue($"{request.Method} {request.Path}{request.QueryString}");
        try
        {
            var route = Route.Parse(request.Path.Value ?? string.Empty) ?? throw ApiStatus.NoSuchResource();
            var query = request.Query;
            var watch = query["watch"].ToString() is "1" or "true";
            var dryRun = query["dryRun"].ToString();
            if (dryRun.Length > 0 && dryRun != "All")
            {
                throw ApiStatus.BadRequest($"Invalid dry run value: {dryRun}; supported values: All");
            }

            var verb = (request.Method, route.Name, watch) switch
            {
                ("GET", null, true) => "watch",
                ("GET", null, false) => "list",
                ("GET", _, _) => "get",
                ("POST", null, _) => "create",
                ("PUT", not null, _) => "update",
                ("PATCH", not null, _) => "patch",
                ("DELETE", not null, _) => "delete",
                _ => throw ApiStatus.MethodNotAllowed(),
            };
            Authorize(context, route, verb);
            var served = new FakeRequest(verb, route.Subresource is null ? route.Type.Plural : $"{route.Type.Plural}/{route.Subresource}", route.Namespace, route.Name, dryRun == "All");
            if (BeforeServing is { } before)
            {
                await before(served).ConfigureAwait(false);
            }

            switch (verb)
            {
                case "watch":
                    await WatchAsync(context, route).ConfigureAwait(false);
                    return;
                case "list":
                    await WriteListAsync(context, route).ConfigureAwait(false);
                    return;
                case "get":
                    var found = Store.Get(route.Type, route.Namespace, route.Name!) ?? throw ApiStatus.NotFound(route.Type, route.Name!);
                    await WriteJsonAsync(context, HttpStatusCode.OK, found).ConfigureAwait(false);
                    return;
                case "create":
                    if (route.Subresource is not null)
                    {
                        throw ApiStatus.MethodNotAllowed();
                    }

                    var created = Store.Create(route.Type, route.Namespace, await ReadObjectAsync(request).ConfigureAwait(false), dryRun == "All");
                    await AfterWriteAsync(served).ConfigureAwait(false);
                    await WriteJsonAsync(context, HttpStatusCode.Created, created).ConfigureAwait(false);
                    return;
                case "update":
                    var replaced = Store.Replace(route.Type, route.Namespace, route.Name!, await ReadObjectAsync(request).ConfigureAwait(false), route.Subresource, dryRun == "All");
                    await AfterWriteAsync(served).ConfigureAwait(false);
                    await WriteJsonAsync(context, HttpStatusCode.OK, replaced).ConfigureAwait(false);
                    return;
                case "patch":
                    var patched = await PatchAsync(request, route, dryRun == "All").ConfigureAwait(false);
                    await AfterWriteAsync(served).ConfigureAwait(false);
                    await WriteJsonAsync(context, HttpStatusCode.OK, patched).ConfigureAwait(false);
                    return;
                case "delete":
                    var options = request.ContentLength > 0 ? await ReadObjectAsync(request).ConfigureAwait(false) : null;
                    var policy = query["propagationPolicy"].ToString() is { Length: > 0 } p ? p : options?["propagationPolicy"]?.GetValue<string>();
                    var precondition = options?["preconditions"]?["resourceVersion"]?.GetValue<string>();
                    var uidPrecondition = options?["preconditions"]?["uid"]?.GetValue<string>();
                    if (uidPrecondition is not null && Store.Get(route.Type, route.Namespace, route.Name!)?["metadata"]?["uid"]?.GetValue<string>() is { } actualUid && actualUid != uidPrecondition)
                    {
                        throw new ApiStatusException(
                            HttpStatusCode.Conflict,
                            "Conflict",
                            $"Operation cannot be fulfilled on {route.Type.QualifiedName} \"{route.Name}\": Precondition failed: UID in precondition: {uidPrecondition}, UID in object meta: {actualUid}",
                            ApiStatus.Details(route.Type, route.Name));
                    }

                    var deleted = Store.Delete(route.Type, route.Namespace, route.Name!, precondition, dryRun == "All", policy == "Orphan");
                    await AfterWriteAsync(served).ConfigureAwait(false);
                    await WriteJsonAsync(context, HttpStatusCode.OK, route.Type.ReturnsDeletedObject
                        ? deleted
                        : ApiStatus.Success(route.Type, route.Name!, deleted["metadata"]?["uid"]?.GetValue<string>())).ConfigureAwait(false);
                    return;
                default:
                    throw ApiStatus.MethodNotAllowed();
            }
        }
        catch (ApiStatusException e)
        {
            if (!context.Response.HasStarted)
            {
                await WriteJsonAsync(context, e.Code, e.ToStatus()).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException or KeyNotFoundException or NullReferenceException or JsonException)
        {
            if (!context.Response.HasStarted)
            {
                await WriteJsonAsync(context, HttpStatusCode.InternalServerError, ApiStatus.Failure(HttpStatusCode.InternalServerError, "InternalError", $"Internal error occurred: {e.GetType().Name}: {e.Message}")).ConfigureAwait(false);
            }
        }
    }

    private Task AfterWriteAsync(FakeRequest request) =>
        AfterWriting is { } after && !request.DryRun ? after(request) : Task.CompletedTask;

    private void Authorize(HttpContext context, Route route, string verb)
    {
        var header = context.Request.Headers.Authorization.ToString();
        var user = header.StartsWith("Bearer ", StringComparison.Ordinal) && _users.TryGetValue(header[7..], out var u) ? u : "system:anonymous";
        var resource = route.Subresource is null ? route.Type.Plural : $"{route.Type.Plural}/{route.Subresource}";
        foreach (var (v, r, ns, who) in _denials)
        {
            if (v == verb && r == resource && (ns is null || ns == route.Namespace) && (who is null || who == user))
            {
                throw ApiStatus.Forbidden(route.Type, route.Subresource, verb, route.Name, route.Namespace, user);
            }
        }
    }

    private async Task<JsonObject> PatchAsync(HttpRequest request, Route route, bool dryRun)
    {
        var contentType = request.ContentType?.Split(';')[0].Trim() ?? string.Empty;
        var body = await ReadNodeAsync(request).ConfigureAwait(false);
        Func<JsonObject, JsonObject> apply = contentType switch
        {
            "application/merge-patch+json" => current => Patches.MergePatch(current, body) as JsonObject ?? throw ApiStatus.BadRequest("the patch must be a JSON object"),
            "application/strategic-merge-patch+json" => current => Patches.StrategicMergePatch(current, body) as JsonObject ?? throw ApiStatus.BadRequest("the patch must be a JSON object"),
            "application/json-patch+json" => current => body is JsonArray operations
                ? Patches.JsonPatch(current, operations) as JsonObject ?? throw ApiStatus.BadRequest("the patched document is not an object")
                : throw ApiStatus.BadRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch"),
            _ => throw ApiStatus.UnsupportedPatch(contentType),
        };
        return Store.Patch(route.Type, route.Namespace, route.Name!, apply, route.Subresource, dryRun);
    }

    private async Task WriteListAsync(HttpContext context, Route route)
    {
        var query = context.Request.Query;
        var labels = LabelSelector.Parse(query["labelSelector"]);
        var fields = FieldSelector.Parse(query["fieldSelector"], route.Type);
        int? limit = int.TryParse(query["limit"], NumberStyles.None, CultureInfo.InvariantCulture, out var l) && l > 0 ? l : null;
        var selectorsGiven = query["labelSelector"].ToString().Length > 0 || query["fieldSelector"].ToString().Length > 0;
        var (items, version, next, remaining) = Store.ListPage(route.Type, route.Namespace, labels, fields, limit, query["continue"], selectorsGiven);

        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(context.Response.Body, new JsonWriterOptions { Encoder = ObjectStore.Wire.Encoder });
        writer.WriteStartObject();
        writer.WriteString("kind", route.Type.ListKind);
        writer.WriteString("apiVersion", route.Type.ApiVersion);
        writer.WriteStartObject("metadata");
        writer.WriteString("resourceVersion", version.ToString(CultureInfo.InvariantCulture));
        if (next is not null)
        {
            writer.WriteString("continue", next);
        }

        if (remaining is not null)
        {
            writer.WriteNumber("remainingItemCount", remaining.Value);
        }

        writer.WriteEndObject();
        writer.WriteStartArray("items");
        foreach (var item in items)
        {
            // A list's items carry no kind/apiVersion on the wire (kubectl adds them when it prints).
            writer.WriteStartObject();
            foreach (var (key, value) in item)
            {
                if (key is "kind" or "apiVersion")
                {
                    continue;
                }

                writer.WritePropertyName(key);
                if (value is null)
                {
                    writer.WriteNullValue();
                }
                else
                {
                    value.WriteTo(writer);
                }
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
        await writer.FlushAsync().ConfigureAwait(false);
    }

    private async Task WatchAsync(HttpContext context, Route route)
    {
        var query = context.Request.Query;
        var labels = LabelSelector.Parse(query["labelSelector"]);
        var fields = FieldSelector.Parse(query["fieldSelector"], route.Type);
        if (route.Name is not null)
        {
            throw ApiStatus.MethodNotAllowed();
        }

        var bookmarks = query["allowWatchBookmarks"].ToString() is "1" or "true";
        var timeout = int.TryParse(query["timeoutSeconds"], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds > 0
            ? TimeSpan.FromSeconds(seconds)
            : TimeSpan.FromMinutes(30);
        WatchSubscription subscription;
        try
        {
            subscription = Store.Watch(route.Type, route.Namespace, labels, fields, query["resourceVersion"], bookmarks);
        }
        catch (ApiStatusException e) when (e.Code == HttpStatusCode.Gone && !TooOldWatchAsHttpError)
        {
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(ObjectStore.Line("ERROR", e.ToStatus().ToJsonString(ObjectStore.Wire)) + "\n").ConfigureAwait(false);
            return;
        }

        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        await context.Response.StartAsync().ConfigureAwait(false);
        using var ends = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, subscription.Dropped.Token);
        ends.CancelAfter(timeout);
        try
        {
            var reader = subscription.Lines.Reader;
            while (await reader.WaitToReadAsync(ends.Token).ConfigureAwait(false))
            {
                while (reader.TryRead(out var line))
                {
                    await context.Response.WriteAsync(line + "\n", ends.Token).ConfigureAwait(false);
                }

                await context.Response.Body.FlushAsync(ends.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            if (subscription.Dropped.IsCancellationRequested)
            {
                // A dropped connection: the client sees the stream break mid-flight, not a clean end.
                context.Abort();
            }
        }
        finally
        {
            Store.Unwatch(subscription);
        }
    }

    private static async Task<JsonObject> ReadObjectAsync(HttpRequest request) =>
        await ReadNodeAsync(request).ConfigureAwait(false) as JsonObject ?? throw ApiStatus.BadRequest("the request body must be a JSON object");

    private static async Task<JsonNode?> ReadNodeAsync(HttpRequest request)
    {
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync().ConfigureAwait(false);
        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException e)
        {
            throw ApiStatus.BadRequest($"the body of the request could not be decoded: {e.Message}");
        }
    }

    private static async Task WriteJsonAsync(HttpContext context, HttpStatusCode code, JsonObject body)
    {
        context.Response.StatusCode = (int)code;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString(ObjectStore.Wire)).ConfigureAwait(false);
    }

    /// <summary>/api/v1/namespaces/{ns}/pods/{name}/status and friends.</summary>
    private sealed record Route(ResourceType Type, string? Namespace, string? Name, string? Subresource)
    {
        public static Route? Parse(string path)
        {
            var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
            string group, version;
            string[] rest;
            if (segments.Length >= 2 && segments[0] == "api")
            {
                (group, version, rest) = (string.Empty, segments[1], segments[2..]);
            }
            else if (segments.Length >= 3 && segments[0] == "apis")
            {
                (group, version, rest) = (segments[1], segments[2], segments[3..]);
            }
            else
            {
                return null;
            }

            if (rest.Length >= 3 && rest[0] == "namespaces")
            {
                var type = ResourceType.Find(group, version, rest[2]);
                if (type is null || !type.Namespaced || rest.Length > 5)
                {
                    return null;
                }

                return new Route(type, rest[1], rest.Length > 3 ? rest[3] : null, rest.Length > 4 ? rest[4] : null);
            }

            if (rest.Length is >= 1 and <= 3)
            {
                var type = ResourceType.Find(group, version, rest[0]);
                if (type is null || (type.Namespaced && rest.Length > 1))
                {
                    return null;
                }

                return new Route(type, null, rest.Length > 1 ? rest[1] : null, rest.Length > 2 ? rest[2] : null);
            }

            return null;
        }
    }
}

/// <summary>A request the fake serves, as fault injection sees it.</summary>
/// <param name="Resource">"deployments", "pods", "pods/status".</param>
public sealed record FakeRequest(string Verb, string Resource, string? Namespace, string? Name, bool DryRun);
