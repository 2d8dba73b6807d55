using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;

namespace ChatOpsPull.Simulation.KubernetesApi;

/// <summary>
/// An in-process Kubernetes API server for tests (Kestrel on a free loopback port: plain HTTP/1.1, or with
/// <c>https</c> TLS offering h2 and http/1.1 by ALPN as a real API server does; it counts the connections it accepts and
/// the requests per protocol) that speaks the real
/// REST protocol to KubernetesClient and to kubectl: discovery (legacy and aggregated) and OpenAPI v3, GET/LIST (label
/// and field selectors, limit/continue over a consistent snapshot, server-side Table printing), chunked WATCH streams
/// (resourceVersion, BOOKMARK, 410 Expired after compaction, timeoutSeconds), POST/PUT/PATCH (merge, strategic merge,
/// JSON patch, server-side apply with managedFields and conflicts)/DELETE, dryRun=All, optimistic concurrency, API
/// defaulting, Status errors as the real server writes them, authentication by bearer token, impersonation, RBAC
/// (<see cref="UseRbac"/>) answering SelfSubjectAccessReview/RulesReview, custom resources from CRDs, and controllers
/// for Deployments, ReplicaSets, StatefulSets, DaemonSets and Jobs.
/// Objects live in <see cref="Store"/>; tests seed them with <see cref="Seed"/> or <see cref="SeedAll"/> (no RBAC, defaulted as
/// the server serves every stored object; the controllers carry on from the state seeded).
/// </summary>
public sealed class FakeKubernetesApi : IAsyncDisposable
{
    public const string BotToken = "chatopspull-bot-token";
    public const string BotUser = "system:serviceaccount:chatopspull:chatopspull";

    /// <summary>A token of a cluster administrator (group system:masters), as a kubeadm admin.conf gives.</summary>
    public const string AdminToken = "chatopspull-admin-token";
    public const string AdminUser = "kubernetes-admin";
    public const string GitVersion = "v1.33.0-fake";

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, UserInfo> _users = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<(string Verb, string Resource, string? Namespace, string? User)> _denials = [];
    private readonly ConcurrentQueue<string> _requests = new();
    private readonly ConcurrentQueue<string> _serverErrors = new();
    private readonly ConnectionCount _connections;
    private readonly ConcurrentDictionary<string, int> _protocols = new(StringComparer.Ordinal);
    private readonly Timer _bookmarkTimer;
    private readonly RbacAuthorizer _rbac;

    private FakeKubernetesApi(WebApplication app, ObjectStore store, WorkloadControllers controllers, int port, X509Certificate2? certificate, ConnectionCount connections)
    {
        _app = app;
        _connections = connections;
        Store = store;
        Controllers = controllers;
        Certificate = certificate;
        BaseAddress = new Uri($"{(certificate is null ? "http" : "https")}://127.0.0.1:{port}");
        _users[BotToken] = UserInfo.ServiceAccount("chatopspull", "chatopspull");
        _users[AdminToken] = UserInfo.User(AdminUser, "system:masters");
        _bookmarkTimer = new Timer(_ => Store.SendBookmarks());
        _rbac = new RbacAuthorizer(store);
    }

    public Uri BaseAddress { get; }

    /// <summary>The self-signed serving certificate (its own CA) when the server speaks HTTPS, as a real API server does.</summary>
    public X509Certificate2? Certificate { get; }

    public ObjectStore Store { get; }

    public WorkloadControllers Controllers { get; }

    /// <summary>The deployment and replicaset controllers (kept under this name for existing tests).</summary>
    public WorkloadControllers Controller => Controllers;

    /// <summary>How requests are authorized; <see cref="UseRbac"/> switches to RBAC.</summary>
    public AuthorizationMode Authorization { get; private set; } = AuthorizationMode.AlwaysAllow;

    /// <summary>How often watches that asked for bookmarks get one (the real server: about a minute).</summary>
    public TimeSpan BookmarkInterval
    {
        set => _bookmarkTimer.Change(value, value);
    }

    /// <summary>Answer a too-old watch with HTTP 410 instead of a 200 stream holding one ERROR event.</summary>
    public bool TooOldWatchAsHttpError { get; set; }

    /// <summary>Requests served, as "VERB /path?query" (for assertions about what a client asked).</summary>
    public IReadOnlyCollection<string> Requests => _requests;

    /// <summary>TCP connections clients opened to the server so far (before TLS), whatever they then carried.</summary>
    public long ConnectionsAccepted => _connections.Accepted;

    /// <summary>Requests served per protocol ("HTTP/1.1", "HTTP/2"), as the client and the server agreed on it.</summary>
    public IReadOnlyDictionary<string, int> RequestsByProtocol => _protocols;

    /// <summary>Exceptions the server did not expect while serving (a faithful server has none): "VERB /path: Type: message".</summary>
    public IReadOnlyCollection<string> ServerErrors => _serverErrors;

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

    /// <summary>
    /// Starts the server on a free loopback port: plain HTTP, or with <paramref name="https"/> TLS with a self-signed
    /// certificate for 127.0.0.1 (kubectl sends bearer tokens only over TLS).
    /// </summary>
    public static async Task<FakeKubernetesApi> StartAsync(TimeProvider? time = null, bool https = false)
    {
        time ??= TimeProvider.System;
        var port = LoopbackPort.Free();
        var certificate = https ? SelfSignedCertificate() : null;
        var connections = new ConnectionCount();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();

        // The real API server is Go's net/http: no minimum data rates (a watch whose reader is busy is held back by TCP,
        // never cut), the kernel's listen backlog, and no connection limit.
        builder.WebHost.UseSockets(o => o.Backlog = 4096);
        builder.WebHost.UseKestrel(o =>
        {
            // Over TLS, ALPN offers h2 and http/1.1 as Go's net/http does, and one HTTP/2 connection carries at most 100
            // streams at once (Kestrel's default, the limit kube-apiserver has used since CVE-2023-44487); plain HTTP is
            // HTTP/1.1 only, as a Go server without TLS (no h2c).
            o.Listen(IPAddress.Loopback, port, listen =>
            {
                listen.Use(next => connection =>
                {
                    connections.Opened();
                    return next(connection);
                });
                if (certificate is not null)
                {
                    listen.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1AndHttp2;
                    listen.UseHttps(certificate);
                }
                else
                {
                    listen.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1;
                }
            });
            o.Limits.Http2.MaxStreamsPerConnection = 100;
            o.Limits.MaxRequestBodySize = 3 * 1024 * 1024;
            o.Limits.MinResponseDataRate = null;
            o.Limits.MinRequestBodyDataRate = null;
            o.Limits.MaxConcurrentConnections = null;
            o.Limits.KeepAliveTimeout = TimeSpan.FromMinutes(3);
        });
        var app = builder.Build();
        var store = new ObjectStore(time);
        var controllers = new WorkloadControllers(store, time);
        var api = new FakeKubernetesApi(app, store, controllers, port, certificate, connections);
        foreach (var ns in new[] { "default", "kube-system", "kube-public", "kube-node-lease" })
        {
            store.Create(ResourceType.Of("namespaces"), null, new JsonObject
            {
                ["metadata"] = new JsonObject { ["name"] = ns, ["labels"] = new JsonObject { ["kubernetes.io/metadata.name"] = ns } },
                ["spec"] = new JsonObject { ["finalizers"] = new JsonArray("kubernetes") },
                ["status"] = new JsonObject { ["phase"] = "Active" },
            });
        }

        app.Run(api.HandleAsync);
        await app.StartAsync().ConfigureAwait(false);
        return api;
    }

    private static X509Certificate2 SelfSignedCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=kube-apiserver", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        names.AddDnsName("kubernetes.default.svc");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyCertSign, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>A bearer token that authenticates as <paramref name="user"/> (service account users get their groups).</summary>
    public void AddUser(string token, string user) =>
        _users[token] = user.StartsWith("system:serviceaccount:", StringComparison.Ordinal) && user.Split(':') is { Length: 4 } parts
            ? UserInfo.ServiceAccount(parts[2], parts[3])
            : UserInfo.User(user);

    public void AddUser(string token, UserInfo user) => _users[token] = user;

    /// <summary>Denies <paramref name="verb"/> on <paramref name="resource"/> ("pods", "secrets", "leases", "pods/status"), optionally only in one namespace or for one user.</summary>
    public void Deny(string verb, string resource, string? @namespace = null, string? user = null) => _denials.Add((verb, resource, @namespace, user));

    public void AllowAll() => _denials.Clear();

    /// <summary>
    /// Switches to the RBAC authorizer and stores the bootstrap policy (cluster-admin for system:masters, system:basic-user,
    /// system:discovery, system:public-info-viewer). From now on only Roles and bindings in the store allow anything.
    /// </summary>
    public void UseRbac()
    {
        foreach (var obj in RbacAuthorizer.BootstrapPolicy())
        {
            Seed(obj);
        }

        Authorization = AuthorizationMode.Rbac;
    }

    public KubernetesClientConfiguration ClientConfiguration(string token = BotToken) => new()
    {
        Host = BaseAddress.ToString(),
        AccessToken = token,
        Namespace = "default",
        SslCaCerts = Certificate is null ? null : new X509Certificate2Collection(X509CertificateLoader.LoadCertificate(Certificate.RawData)),
    };

    public IKubernetes CreateClient(string token = BotToken) => new k8s.Kubernetes(ClientConfiguration(token));

    /// <summary>Writes a kubeconfig for this server (current context "fake", token auth) and returns its path.</summary>
    public string WriteKubeconfig(string directory, string? contextNamespace = null, string token = BotToken)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "kubeconfig");
        var nsLine = contextNamespace is null ? string.Empty : $"\n    namespace: {contextNamespace}";
        var caLine = Certificate is null ? string.Empty : $"\n    certificate-authority-data: {Convert.ToBase64String(Encoding.ASCII.GetBytes(Certificate.ExportCertificatePem()))}";
        File.WriteAllText(path, $$"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: fake
              cluster:
                server: {{BaseAddress}}{{caLine}}
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

    /// <summary>
    /// Stores an object as if a client had created it (namespace created when missing), bypassing RBAC and validation.
    /// It is defaulted as every object the real API server serves is (defaults apply on each write and again when an
    /// object is decoded from etcd), so an object seeded in short form reads, and compares in an update's oldObject, as
    /// it would in a cluster. Defaulting a defaulted object (a fixture) changes nothing.
    /// </summary>
    public JsonObject Seed(JsonObject obj)
    {
        var (type, ns, name) = Identify(obj);
        JsonObject stored = null!;
        Store.WithLock(() =>
        {
            JsonObject? before = null;
            Controllers.Quietly(() =>
            {
                if (ns is not null && !Store.NamespaceExists(ns))
                {
                    Store.Create(ResourceType.Of("namespaces"), null, new JsonObject
                    {
                        ["metadata"] = new JsonObject { ["name"] = ns, ["labels"] = new JsonObject { ["kubernetes.io/metadata.name"] = ns } },
                        ["spec"] = new JsonObject { ["finalizers"] = new JsonArray("kubernetes") },
                        ["status"] = new JsonObject { ["phase"] = "Active" },
                    });
                }

                before = Store.Get(type, ns, name);
                if (before is null)
                {
                    // Like a client creating it and a controller or kubelet reporting its status: ADDED, then MODIFIED.
                    var body = (JsonObject)obj.DeepClone();
                    if (type.HasStatus)
                    {
                        body.Remove("status");
                    }

                    ApiDefaults.Apply(type, body);

                    stored = Store.CreateHandedOver(type, ns, body, keepIdentity: true);
                }
                else
                {
                    var replaced = (JsonObject)obj.DeepClone();
                    ((JsonObject)replaced["metadata"]!).Remove("resourceVersion");
                    ApiDefaults.Apply(type, replaced);
                    stored = Store.Replace(type, ns, name, replaced);
                }

                if (type.HasStatus && obj["status"] is not null)
                {
                    var withStatus = (JsonObject)Store.Get(type, ns, name)!.DeepClone();
                    withStatus["status"] = obj["status"]!.DeepClone();
                    stored = Store.Replace(type, ns, name, withStatus, "status");
                }
            });

            // The controllers see the seeded object as it ends up (a Deployment without status gets its ReplicaSet and pods).
            Controllers.Notice(type, stored, before);
        });
        return stored;
    }

    /// <summary>
    /// Seeds several objects as one restore: the controllers look only once all are stored (so a StatefulSet seeded
    /// before its pods does not make the pods itself), then react to each as if they saw it written.
    /// </summary>
    public IReadOnlyList<JsonObject> SeedAll(IEnumerable<JsonObject> objects)
    {
        var stored = new List<(ResourceType Type, string? Namespace, string Name)>();
        Store.WithLock(() =>
        {
            Controllers.Quietly(() =>
            {
                foreach (var obj in objects)
                {
                    Seed(obj);
                    stored.Add(Identify(obj));
                }
            });
            foreach (var (type, ns, name) in stored)
            {
                if (Store.Get(type, ns, name) is { } current)
                {
                    Controllers.Notice(type, current, null);
                }
            }
        });
        return stored.Select(s => Store.Get(s.Type, s.Namespace, s.Name)).OfType<JsonObject>().ToList();
    }

    /// <summary>
    /// Creates an object the way a client does through the API (defaulted, recorded in managedFields under
    /// <paramref name="manager"/>, controllers react), without an HTTP round trip.
    /// </summary>
    public JsonObject Create(JsonObject obj, string manager = "kubectl-create")
    {
        var (type, ns, _) = Identify(obj);
        return Store.Create(type, ns, obj, manager: manager);
    }

    /// <summary>
    /// Sets one container of a pod waiting with a reason and message (what kubelet writes after a failed pull): a PUT of
    /// /status carrying the resourceVersion it read, so a write in between is a 409 Conflict. Only the status is copied
    /// to edit (<see cref="ObjectStore.StatusBody"/>).
    /// </summary>
    public JsonObject SetContainerWaiting(string ns, string pod, string container, string reason, string message)
    {
        var type = ResourceType.Of("pods");
        var current = Store.Get(type, ns, pod) ?? throw ApiStatus.NotFound(type, pod);
        var obj = ObjectStore.StatusBody(current, current["status"]?.DeepClone());
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

        return Store.ReplaceStatus(type, ns, pod, obj);
    }

    public int MarkPodsReady(string ns, string? labelSelector = null) => Controllers.MarkPodsReady(ns, labelSelector);

    public int DropWatches() => Store.DropWatches();

    public void SendBookmarks() => Store.SendBookmarks();

    public async ValueTask DisposeAsync()
    {
        await _bookmarkTimer.DisposeAsync().ConfigureAwait(false);

        // A server going away gracefully ends its watch streams cleanly (the client re-watches elsewhere); it does not reset them.
        Store.CloseWatches();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(stop.Token).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private (ResourceType Type, string? Namespace, string Name) Identify(JsonObject obj)
    {
        var apiVersion = obj["apiVersion"]?.GetValue<string>() ?? "v1";
        var kind = obj["kind"]?.GetValue<string>() ?? throw new ArgumentException("object has no kind", nameof(obj));
        var type = Store.FindKind(apiVersion, kind)
            ?? throw new ArgumentException($"the fake does not serve {apiVersion} {kind} (a custom resource needs its CustomResourceDefinition seeded first)", nameof(obj));
        var name = obj["metadata"]?["name"]?.GetValue<string>() ?? throw new ArgumentException("object has no name", nameof(obj));
        var ns = type.Namespaced ? obj["metadata"]?["namespace"]?.GetValue<string>() ?? "default" : null;
        return (type, ns, name);
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        _requests.Enqueue($"{request.Method} {request.Path}{request.QueryString}");
        _protocols.AddOrUpdate(request.Protocol, 1, (_, n) => n + 1);
        try
        {
            var user = Authenticate(request);
            var path = request.Path.Value ?? string.Empty;
            if (await ServeNonResourceAsync(context, user, path).ConfigureAwait(false))
            {
                return;
            }

            await ServeResourceAsync(context, user, path).ConfigureAwait(false);
        }
        catch (ApiStatusException e)
        {
            if (!context.Response.HasStarted)
            {
                await WriteJsonAsync(context, e.Code, e.ToStatus()).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away.
        }
        catch (IOException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away mid-write.
        }
        catch (Exception e)
        {
            _serverErrors.Enqueue($"{request.Method} {request.Path}{request.QueryString}: {e.GetType().Name}: {e.Message}");
            if (!context.Response.HasStarted)
            {
                await WriteJsonAsync(context, HttpStatusCode.InternalServerError, ApiStatus.Failure(HttpStatusCode.InternalServerError, "InternalError", $"Internal error occurred: {e.GetType().Name}: {e.Message}")).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Bearer token → user; then Impersonate-User/-Group headers, allowed only with the impersonate verb.</summary>
    private UserInfo Authenticate(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        var user = header.StartsWith("Bearer ", StringComparison.Ordinal) && _users.TryGetValue(header[7..], out var u) ? u : UserInfo.Anonymous;
        if (header.StartsWith("Bearer ", StringComparison.Ordinal) && user == UserInfo.Anonymous)
        {
            throw new ApiStatusException(HttpStatusCode.Unauthorized, "Unauthorized", "Unauthorized");
        }

        var impersonate = request.Headers["Impersonate-User"].ToString();
        if (impersonate.Length == 0)
        {
            return user;
        }

        var groups = request.Headers["Impersonate-Group"].Where(g => !string.IsNullOrEmpty(g)).Select(g => g!).ToList();
        UserInfo target;
        RequestAttributes check;
        if (impersonate.StartsWith("system:serviceaccount:", StringComparison.Ordinal) && impersonate.Split(':') is { Length: 4 } parts)
        {
            target = UserInfo.ServiceAccount(parts[2], parts[3]);
            check = new RequestAttributes("impersonate", string.Empty, "serviceaccounts", null, parts[2], parts[3]);
        }
        else
        {
            target = UserInfo.User(impersonate, [.. groups]);
            check = new RequestAttributes("impersonate", string.Empty, "users", null, null, impersonate);
        }

        if (!Allowed(user, check))
        {
            throw RbacAuthorizer.Forbidden(check, user, null);
        }

        foreach (var group in groups)
        {
            var groupCheck = new RequestAttributes("impersonate", string.Empty, "groups", null, null, group);
            if (!Allowed(user, groupCheck))
            {
                throw RbacAuthorizer.Forbidden(groupCheck, user, null);
            }
        }

        return target with { Groups = [.. target.Groups.Union(groups)] };
    }

    private bool Allowed(UserInfo user, RequestAttributes request)
    {
        if (request.IsResourceRequest)
        {
            var resource = request.Subresource is null ? request.Resource : $"{request.Resource}/{request.Subresource}";
            foreach (var (v, r, ns, who) in _denials)
            {
                if (v == request.Verb && r == resource && (ns is null || ns == request.Namespace) && (who is null || who == user.Name))
                {
                    return false;
                }
            }
        }

        return Authorization == AuthorizationMode.AlwaysAllow || _rbac.Authorize(user, request).Allowed;
    }

    private (bool Allowed, string Reason) Review(UserInfo user, RequestAttributes request)
    {
        if (Authorization == AuthorizationMode.AlwaysAllow)
        {
            return (Allowed(user, request), string.Empty);
        }

        return Allowed(user, request) ? _rbac.Authorize(user, request) : (false, string.Empty);
    }

    private async Task<bool> ServeNonResourceAsync(HttpContext context, UserInfo user, string path)
    {
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var discovery = (segments.Length is 1 or 2 && segments[0] == "api") || (segments.Length is 1 or 2 or 3 && segments[0] == "apis");
        var nonResource = path is "/version" or "/version/" or "/healthz" or "/livez" or "/readyz" || discovery || path.StartsWith("/openapi/", StringComparison.Ordinal) || path == "/openapi";
        if (!nonResource)
        {
            return false;
        }

        if (context.Request.Method != "GET")
        {
            throw ApiStatus.MethodNotAllowed();
        }

        var check = new RequestAttributes("get", string.Empty, string.Empty, null, null, null, path);
        if (!Allowed(user, check))
        {
            throw RbacAuthorizer.Forbidden(check, user, null);
        }

        var types = Store.Types;
        switch (path)
        {
            case "/version" or "/version/":
                await WriteJsonAsync(context, HttpStatusCode.OK, new JsonObject
                {
                    ["major"] = "1",
                    ["minor"] = "33",
                    ["emulationMajor"] = "1",
                    ["emulationMinor"] = "33",
                    ["minCompatibilityMajor"] = "1",
                    ["minCompatibilityMinor"] = "32",
                    ["gitVersion"] = GitVersion,
                    ["gitCommit"] = "0000000000000000000000000000000000000000",
                    ["gitTreeState"] = "clean",
                    ["buildDate"] = "2025-04-23T00:00:00Z",
                    ["goVersion"] = "go1.24.2",
                    ["compiler"] = "gc",
                    ["platform"] = "linux/amd64",
                }).ConfigureAwait(false);
                return true;
            case "/healthz" or "/livez" or "/readyz":
                context.Response.ContentType = "text/plain; charset=utf-8";
                await context.Response.WriteAsync("ok").ConfigureAwait(false);
                return true;
            case "/openapi/v3":
                await WriteJsonAsync(context, HttpStatusCode.OK, Discovery.OpenApiIndex(types)).ConfigureAwait(false);
                return true;
        }

        if (path.StartsWith("/openapi/v3/", StringComparison.Ordinal))
        {
            var rest = path["/openapi/v3/".Length..].Split('/');
            var doc = rest switch
            {
                ["api", var v] => Discovery.OpenApi(types, string.Empty, v),
                ["apis", var g, var v] => Discovery.OpenApi(types, g, v),
                _ => null,
            };
            if (doc is null)
            {
                throw ApiStatus.NoSuchResource();
            }

            if (context.Request.Query.ContainsKey("hash"))
            {
                context.Response.Headers.CacheControl = "public, immutable";
            }

            await WriteJsonAsync(context, HttpStatusCode.OK, doc).ConfigureAwait(false);
            return true;
        }

        if (path.StartsWith("/openapi", StringComparison.Ordinal))
        {
            // OpenAPI v2 (protobuf) is not served; kubectl reads v3.
            throw ApiStatus.NoSuchResource();
        }

        var aggregated = Discovery.AggregatedVersion(context.Request.Headers.Accept.ToString());
        JsonObject? body = segments switch
        {
            ["api"] when aggregated is not null => Discovery.Aggregated(types, core: true, aggregated),
            ["apis"] when aggregated is not null => Discovery.Aggregated(types, core: false, aggregated),
            ["api"] => Discovery.ApiVersions(BaseAddress),
            ["apis"] => Discovery.GroupList(types),
            ["api", var v] => Discovery.ResourceList(types, string.Empty, v),
            ["apis", var g] => Discovery.Group(types, g),
            ["apis", var g, var v] => Discovery.ResourceList(types, g, v),
            _ => null,
        };
        if (body is null)
        {
            throw ApiStatus.NoSuchResource();
        }

        if (aggregated is not null && segments.Length == 1)
        {
            context.Response.StatusCode = 200;
            context.Response.ContentType = aggregated == "v2" ? Discovery.AggregatedContentType : Discovery.AggregatedContentType.Replace("v=v2", "v=v2beta1", StringComparison.Ordinal);
            context.Response.Headers.Vary = "Accept";
            await context.Response.WriteAsync(body.ToJsonString(ObjectStore.Wire)).ConfigureAwait(false);
            return true;
        }

        await WriteJsonAsync(context, HttpStatusCode.OK, body).ConfigureAwait(false);
        return true;
    }

    private async Task ServeResourceAsync(HttpContext context, UserInfo user, string path)
    {
        var request = context.Request;
        var route = Route.Parse(path, Store) ?? throw ApiStatus.NoSuchResource();
        var query = request.Query;
        var watch = query["watch"].ToString() is "1" or "true";
        var dryRun = query["dryRun"].ToString();
        if (dryRun.Length > 0 && dryRun != "All")
        {
            throw ApiStatus.BadRequest($"Invalid dry run value: {dryRun}; supported values: All");
        }

        if (route.Subresource is not null && route.Subresource is not ("status" or "scale"))
        {
            throw ApiStatus.NoSuchResource();
        }

        if ((route.Subresource == "status" && !route.Type.HasStatus) || (route.Subresource == "scale" && !route.Type.HasScale))
        {
            throw ApiStatus.NoSuchResource();
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
            ("DELETE", null, _) => "deletecollection",
            _ => throw ApiStatus.MethodNotAllowed(),
        };
        if (!route.Type.Verbs.Contains(verb))
        {
            throw ApiStatus.MethodNotAllowed();
        }

        var attributes = new RequestAttributes(verb, route.Type.Group, route.Type.Plural, route.Subresource, route.Namespace, route.Name);
        if (!Allowed(user, attributes))
        {
            throw RbacAuthorizer.Forbidden(attributes, user, route.Type);
        }

        var served = new FakeRequest(verb, route.Subresource is null ? route.Type.Plural : $"{route.Type.Plural}/{route.Subresource}", route.Namespace, route.Name, dryRun == "All")
        {
            Continue = verb == "list" && query["continue"].ToString() is { Length: > 0 } token ? token : null,
        };
        if (BeforeServing is { } before)
        {
            await before(served).ConfigureAwait(false);
        }

        var table = Tables.RequestedVersion(request.Headers.Accept.ToString());
        var manager = Manager(request);
        switch (verb)
        {
            case "watch":
                await WatchAsync(context, route, table).ConfigureAwait(false);
                return;
            case "list":
                await WriteListAsync(context, route, table).ConfigureAwait(false);
                return;
            case "get":
                var found = Store.GetSerialized(route.Type, route.Namespace, route.Name!) ?? throw ApiStatus.NotFound(route.Type, route.Name!);
                if (route.Subresource == "scale")
                {
                    await WriteJsonAsync(context, HttpStatusCode.OK, Scale(route.Type, found.Object)).ConfigureAwait(false);
                }
                else if (table is not null)
                {
                    await WriteTableAsync(context, Tables.Build(route.Type, [found.Object], table, query["includeObject"], Store.Time.GetUtcNow(), new JsonObject { ["resourceVersion"] = ObjectStore.Version(found.Object) })).ConfigureAwait(false);
                }
                else
                {
                    // The bytes its watch event carries (or the first GET serialized): once per resourceVersion, not per read.
                    context.Response.StatusCode = (int)HttpStatusCode.OK;
                    context.Response.ContentType = "application/json";
                    await context.Response.Body.WriteAsync(found.Utf8).ConfigureAwait(false);
                }

                return;
            case "create":
                if (route.Subresource is not null)
                {
                    throw ApiStatus.MethodNotAllowed();
                }

                var body = await ReadObjectAsync(request).ConfigureAwait(false);
                if (!route.Type.Persisted)
                {
                    await WriteJsonAsync(context, HttpStatusCode.Created, Answer(route.Type, body, user)).ConfigureAwait(false);
                    return;
                }

                var created = Store.Create(route.Type, route.Namespace, body, dryRun == "All", manager: manager);
                await AfterWriteAsync(served).ConfigureAwait(false);
                await WriteJsonAsync(context, HttpStatusCode.Created, created).ConfigureAwait(false);
                return;
            case "update":
                if (route.Subresource == "scale")
                {
                    var scale = await ReadObjectAsync(request).ConfigureAwait(false);
                    await WriteJsonAsync(context, HttpStatusCode.OK, SetScale(route, scale, manager, dryRun == "All")).ConfigureAwait(false);
                    return;
                }

                var replaced = Store.Replace(route.Type, route.Namespace, route.Name!, await ReadObjectAsync(request).ConfigureAwait(false), route.Subresource, dryRun == "All", manager);
                await AfterWriteAsync(served).ConfigureAwait(false);
                await WriteJsonAsync(context, HttpStatusCode.OK, replaced).ConfigureAwait(false);
                return;
            case "patch":
                var patched = await PatchAsync(request, route, dryRun == "All", manager).ConfigureAwait(false);
                await AfterWriteAsync(served).ConfigureAwait(false);
                await WriteJsonAsync(context, patched.Status, patched.Object).ConfigureAwait(false);
                return;
            case "delete":
                var options = request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0 ? await ReadObjectAsync(request).ConfigureAwait(false) : null;
                var policy = query["propagationPolicy"].ToString() is { Length: > 0 } p ? p : options?["propagationPolicy"]?.GetValue<string>();
                if (query["orphanDependents"].ToString() == "true" || options?["orphanDependents"]?.GetValue<bool>() == true)
                {
                    policy = "Orphan";
                }

                var bodyDryRun = (options?["dryRun"] as JsonArray)?.Any(d => d?.GetValue<string>() == "All") == true;
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

                var deleted = Store.Delete(route.Type, route.Namespace, route.Name!, precondition, dryRun == "All" || bodyDryRun, policy == "Orphan");
                await AfterWriteAsync(served).ConfigureAwait(false);
                var stillThere = deleted["metadata"]?["deletionTimestamp"] is not null && Store.Get(route.Type, route.Namespace, route.Name!) is not null;
                await WriteJsonAsync(context, HttpStatusCode.OK, route.Type.ReturnsDeletedObject || stillThere
                    ? deleted
                    : ApiStatus.Success(route.Type, route.Name!, deleted["metadata"]?["uid"]?.GetValue<string>())).ConfigureAwait(false);
                return;
            case "deletecollection":
                var labels = LabelSelector.Parse(query["labelSelector"]);
                var fields = FieldSelector.Parse(query["fieldSelector"], route.Type);
                var gone = new JsonArray();
                foreach (var item in Store.List(route.Type, route.Namespace).Where(o => labels.Matches(o) && fields.Matches(o)))
                {
                    gone.Add(Store.Delete(route.Type, route.Type.Namespaced ? ObjectStore.Namespace(item) : null, ObjectStore.Name(item), dryRun: dryRun == "All").DeepClone());
                }

                await WriteJsonAsync(context, HttpStatusCode.OK, new JsonObject
                {
                    ["kind"] = route.Type.ListKind,
                    ["apiVersion"] = route.Type.ApiVersion,
                    ["metadata"] = new JsonObject { ["resourceVersion"] = Store.ResourceVersion.ToString(CultureInfo.InvariantCulture) },
                    ["items"] = gone,
                }).ConfigureAwait(false);
                return;
            default:
                throw ApiStatus.MethodNotAllowed();
        }
    }

    /// <summary>The field manager of a write: ?fieldManager=, else the User-Agent's product name (as the real server derives it).</summary>
    private static string Manager(HttpRequest request)
    {
        var named = request.Query["fieldManager"].ToString();
        if (named.Length > 128)
        {
            throw ApiStatus.Invalid(ResourceType.Of("namespaces") with { Kind = "PatchOptions" }, string.Empty, [("fieldManager", "FieldValueTooLong", "Too long: may not be longer than 128")]);
        }

        if (named.Length > 0)
        {
            return named;
        }

        var agent = request.Headers.UserAgent.ToString();
        var product = agent.Split('/')[0].Trim();
        return product.Length == 0 ? "unknown" : product[..Math.Min(product.Length, 128)];
    }

    /// <summary>The answer to a review resource (nothing is stored): SelfSubjectAccessReview, -RulesReview, SelfSubjectReview.</summary>
    private JsonObject Answer(ResourceType type, JsonObject body, UserInfo user)
    {
        var answer = (JsonObject)body.DeepClone();
        answer["kind"] = type.Kind;
        answer["apiVersion"] = type.ApiVersion;
        var metadata = answer["metadata"] as JsonObject ?? new JsonObject();
        metadata["creationTimestamp"] = null;
        answer["metadata"] = metadata;
        switch (type.Kind)
        {
            case "SelfSubjectAccessReview":
                var spec = body["spec"] as JsonObject ?? throw ApiStatus.Invalid(type, string.Empty, [("spec", "FieldValueRequired", "Required value")]);
                RequestAttributes attributes;
                if (spec["resourceAttributes"] is JsonObject r)
                {
                    attributes = new RequestAttributes(
                        r["verb"]?.GetValue<string>() ?? string.Empty,
                        r["group"]?.GetValue<string>() ?? string.Empty,
                        r["resource"]?.GetValue<string>() ?? string.Empty,
                        r["subresource"]?.GetValue<string>() is { Length: > 0 } sub ? sub : null,
                        r["namespace"]?.GetValue<string>() is { Length: > 0 } ns ? ns : null,
                        r["name"]?.GetValue<string>() is { Length: > 0 } name ? name : null);
                }
                else if (spec["nonResourceAttributes"] is JsonObject n)
                {
                    attributes = new RequestAttributes(n["verb"]?.GetValue<string>() ?? string.Empty, string.Empty, string.Empty, null, null, null, n["path"]?.GetValue<string>() ?? string.Empty);
                }
                else
                {
                    throw ApiStatus.Invalid(type, string.Empty, [("spec.resourceAttributes", "FieldValueRequired", "Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified")]);
                }

                var (allowed, reason) = Review(user, attributes);
                var status = new JsonObject { ["allowed"] = allowed };
                if (reason.Length > 0)
                {
                    status["reason"] = reason;
                }

                answer["status"] = status;
                break;
            case "SelfSubjectRulesReview":
                var rulesNamespace = body["spec"]?["namespace"]?.GetValue<string>() ?? string.Empty;
                answer["status"] = Authorization == AuthorizationMode.AlwaysAllow
                    ? new JsonObject
                    {
                        ["resourceRules"] = new JsonArray(new JsonObject { ["verbs"] = new JsonArray("*"), ["apiGroups"] = new JsonArray("*"), ["resources"] = new JsonArray("*") }),
                        ["nonResourceRules"] = new JsonArray(new JsonObject { ["verbs"] = new JsonArray("*"), ["nonResourceURLs"] = new JsonArray("*") }),
                        ["incomplete"] = false,
                    }
                    : _rbac.Rules(user, rulesNamespace);
                break;
            case "SelfSubjectReview":
                var info = new JsonObject { ["username"] = user.Name };
                if (user.Uid is not null)
                {
                    info["uid"] = user.Uid;
                }

                info["groups"] = new JsonArray([.. user.Groups.Select(g => (JsonNode)JsonValue.Create(g))]);
                answer["status"] = new JsonObject { ["userInfo"] = info };
                break;
        }

        return answer;
    }

    private static JsonObject Scale(ResourceType type, JsonObject obj)
    {
        var selector = obj["spec"]?["selector"]?["matchLabels"] as JsonObject;
        var status = new JsonObject { ["replicas"] = ObjectStore.Number(obj["status"]?["replicas"]) ?? 0 };
        if (selector is not null)
        {
            status["selector"] = string.Join(',', selector.Select(p => $"{p.Key}={p.Value?.GetValue<string>()}"));
        }

        return new JsonObject
        {
            ["kind"] = "Scale",
            ["apiVersion"] = "autoscaling/v1",
            ["metadata"] = new JsonObject
            {
                ["name"] = obj["metadata"]?["name"]?.DeepClone(),
                ["namespace"] = obj["metadata"]?["namespace"]?.DeepClone(),
                ["uid"] = obj["metadata"]?["uid"]?.DeepClone(),
                ["resourceVersion"] = obj["metadata"]?["resourceVersion"]?.DeepClone(),
                ["creationTimestamp"] = obj["metadata"]?["creationTimestamp"]?.DeepClone(),
            },
            ["spec"] = new JsonObject { ["replicas"] = ObjectStore.Number(obj["spec"]?["replicas"]) ?? 1 },
            ["status"] = status,
        };
    }

    private JsonObject SetScale(Route route, JsonObject scale, string manager, bool dryRun)
    {
        var replicas = ObjectStore.Number(scale["spec"]?["replicas"]) ?? throw ApiStatus.BadRequest("spec.replicas is required");
        var updated = Store.Patch(route.Type, route.Namespace, route.Name!, current =>
        {
            current["spec"]!["replicas"] = replicas;
            if (scale["metadata"]?["resourceVersion"]?.GetValue<string>() is { Length: > 0 } version)
            {
                current["metadata"]!["resourceVersion"] = version;
            }

            return current;
        }, null, dryRun, manager);
        return Scale(route.Type, updated);
    }

    private Task AfterWriteAsync(FakeRequest request) =>
        AfterWriting is { } after && !request.DryRun ? after(request) : Task.CompletedTask;

    private async Task<(HttpStatusCode Status, JsonObject Object)> PatchAsync(HttpRequest request, Route route, bool dryRun, string manager)
    {
        var contentType = request.ContentType?.Split(';')[0].Trim() ?? string.Empty;
        if (contentType == "application/apply-patch+yaml")
        {
            if (request.Query["fieldManager"].ToString().Length == 0)
            {
                throw ApiStatus.Invalid(ResourceType.Of("namespaces") with { Kind = "PatchOptions", Group = "meta.k8s.io" }, string.Empty, [("fieldManager", "FieldValueRequired", "Required value: is required for apply patch")]);
            }

            var config = await ReadApplyConfigurationAsync(request).ConfigureAwait(false);
            var force = request.Query["force"].ToString() == "true";
            var existed = Store.Get(route.Type, route.Namespace, route.Name!) is not null;
            var applied = Store.Apply(route.Type, route.Namespace, route.Name!, config, manager, force, route.Subresource, dryRun);
            return (existed ? HttpStatusCode.OK : HttpStatusCode.Created, applied);
        }

        if (request.Query.ContainsKey("force"))
        {
            throw ApiStatus.Invalid(ResourceType.Of("namespaces") with { Kind = "PatchOptions", Group = "meta.k8s.io" }, string.Empty, [("force", "FieldValueForbidden", "Forbidden: may not be specified for non-apply patch")]);
        }

        var body = await ReadNodeAsync(request).ConfigureAwait(false);
        Func<JsonObject, JsonObject> apply = contentType switch
        {
            "application/merge-patch+json" => current => Patches.MergePatch(current, body) as JsonObject ?? throw ApiStatus.BadRequest("the patch must be a JSON object"),
            "application/strategic-merge-patch+json" when route.Type.Custom => throw ApiStatus.UnsupportedPatch(route.Type),
            "application/strategic-merge-patch+json" => current => Patches.StrategicMergePatch(current, body) as JsonObject ?? throw ApiStatus.BadRequest("the patch must be a JSON object"),
            "application/json-patch+json" => current => body is JsonArray operations
                ? Patches.JsonPatch(current, operations) as JsonObject ?? throw ApiStatus.BadRequest("the patched document is not an object")
                : throw ApiStatus.BadRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch"),
            _ => throw ApiStatus.UnsupportedPatch(route.Type),
        };
        if (route.Subresource == "scale")
        {
            var current = Store.Get(route.Type, route.Namespace, route.Name!) ?? throw ApiStatus.NotFound(route.Type, route.Name!);
            return (HttpStatusCode.OK, SetScale(route, apply(Scale(route.Type, current)), manager, dryRun));
        }

        return (HttpStatusCode.OK, Store.Patch(route.Type, route.Namespace, route.Name!, apply, route.Subresource, dryRun, manager));
    }

    private async Task WriteListAsync(HttpContext context, Route route, string? table)
    {
        var query = context.Request.Query;
        var labels = LabelSelector.Parse(query["labelSelector"]);
        var fields = FieldSelector.Parse(query["fieldSelector"], route.Type);
        int? limit = int.TryParse(query["limit"], NumberStyles.None, CultureInfo.InvariantCulture, out var l) && l > 0 ? l : null;
        var selectorsGiven = query["labelSelector"].ToString().Length > 0 || query["fieldSelector"].ToString().Length > 0;
        var (items, version, next, remaining) = Store.ListPage(route.Type, route.Namespace, labels, fields, limit, query["continue"], selectorsGiven, query["resourceVersion"]);
        var listMetadata = new JsonObject { ["resourceVersion"] = version.ToString(CultureInfo.InvariantCulture) };
        if (next is not null)
        {
            listMetadata["continue"] = next;
        }

        if (remaining is not null)
        {
            listMetadata["remainingItemCount"] = remaining.Value;
        }

        if (table is not null)
        {
            await WriteTableAsync(context, Tables.Build(route.Type, items, table, query["includeObject"], Store.Time.GetUtcNow(), listMetadata)).ConfigureAwait(false);
            return;
        }

        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(context.Response.Body, new JsonWriterOptions { Encoder = ObjectStore.Wire.Encoder });
        writer.WriteStartObject();
        writer.WriteString("kind", route.Type.ListKind);
        writer.WriteString("apiVersion", route.Type.ApiVersion);
        writer.WritePropertyName("metadata");
        listMetadata.WriteTo(writer);
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
            if (writer.BytesPending >= ListFlushBytes)
            {
                // Streamed as the real server writes a list, not buffered whole: a page of 500 pods is megabytes, and
                // a buffer that size is a large-object allocation per page, each pushing the GC to a full collection
                // of the whole store.
                await writer.FlushAsync().ConfigureAwait(false);
            }
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
        await writer.FlushAsync().ConfigureAwait(false);
    }

    /// <summary>How much of a list the writer holds before it is sent on.</summary>
    private const int ListFlushBytes = 32 * 1024;

    /// <summary>
    /// A watch stream: one JSON event per line, flushed per batch. The stream ends cleanly (last chunk) at timeoutSeconds
    /// or when the server closes it; only <see cref="DropWatches"/> aborts the connection. Writes are never cancelled by a
    /// timer (cancelling a Kestrel write aborts the connection: the client would see a reset); a slow reader holds the
    /// stream back through TCP and loses nothing.
    /// </summary>
    private async Task WatchAsync(HttpContext context, Route route, string? table)
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

        var aborted = context.RequestAborted;
        context.Response.StatusCode = 200;
        context.Response.ContentType = table is null ? "application/json" : Tables.ContentType;
        using var timer = new CancellationTokenSource(timeout, Store.Time);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(aborted, subscription.Dropped.Token, timer.Token);
        var includeObject = query["includeObject"].ToString();
        var columnsSent = false;
        try
        {
            await context.Response.StartAsync(aborted).ConfigureAwait(false);
            await context.Response.Body.FlushAsync(aborted).ConfigureAwait(false);
            var reader = subscription.Events.Reader;
            var body = context.Response.BodyWriter;
            while (await WaitAsync(reader, wait.Token).ConfigureAwait(false))
            {
                var batch = 0;
                while (batch < 512 && reader.TryRead(out var watchEvent))
                {
                    batch++;
                    if (table is null || watchEvent.Type is "ERROR" or "BOOKMARK")
                    {
                        watchEvent.WriteLine(body);
                        columnsSent = true;
                        continue;
                    }

                    var line = ObjectStore.Line(watchEvent.Type, Tables.Build(route.Type, [watchEvent.Item], table, includeObject, Store.Time.GetUtcNow(), new JsonObject { ["resourceVersion"] = ObjectStore.Version(watchEvent.Item) }, withColumns: !columnsSent).ToJsonString(ObjectStore.Wire));
                    columnsSent = true;
                    var bytes = Encoding.UTF8.GetByteCount(line) + 1;
                    var span = body.GetSpan(bytes);
                    var written = Encoding.UTF8.GetBytes(line, span);
                    span[written] = (byte)'\n';
                    body.Advance(written + 1);
                }

                await body.FlushAsync(aborted).ConfigureAwait(false);
                if (subscription.Dropped.IsCancellationRequested)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
        {
            // timeoutSeconds passed or the watch was dropped: handled below.
        }
        finally
        {
            Store.Unwatch(subscription);
        }

        if (subscription.Dropped.IsCancellationRequested)
        {
            // A dropped connection: the client sees the stream break mid-flight, not a clean end.
            context.Abort();
        }
    }

    private static async Task<bool> WaitAsync(System.Threading.Channels.ChannelReader<WatchEvent> reader, CancellationToken token)
    {
        try
        {
            return await reader.WaitToReadAsync(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static async Task<JsonObject> ReadObjectAsync(HttpRequest request)
    {
        if (request.ContentType?.StartsWith(ProtobufBodies.ContentType, StringComparison.Ordinal) == true)
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer).ConfigureAwait(false);
            return ProtobufBodies.Decode(buffer.ToArray());
        }

        return await ReadNodeAsync(request).ConfigureAwait(false) as JsonObject ?? throw ApiStatus.BadRequest("the request body must be a JSON object");
    }

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

    /// <summary>An apply configuration: JSON (what kubectl and KubernetesClient send) or YAML.</summary>
    private static async Task<JsonObject> ReadApplyConfigurationAsync(HttpRequest request)
    {
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync().ConfigureAwait(false);
        try
        {
            if (text.TrimStart().StartsWith('{'))
            {
                return JsonNode.Parse(text) as JsonObject ?? throw ApiStatus.BadRequest("the apply configuration must be an object");
            }

            var yaml = new YamlDotNet.Serialization.DeserializerBuilder().Build().Deserialize<object>(text);
            var json = new YamlDotNet.Serialization.SerializerBuilder().JsonCompatible().Build().Serialize(yaml);
            return JsonNode.Parse(json) as JsonObject ?? throw ApiStatus.BadRequest("the apply configuration must be an object");
        }
        catch (Exception e) when (e is JsonException or YamlDotNet.Core.YamlException)
        {
            throw ApiStatus.BadRequest($"error decoding YAML: {e.Message}");
        }
    }

    private static Task WriteJsonAsync(HttpContext context, HttpStatusCode code, JsonObject body) => WriteJsonAsync(context, code, body, "application/json");

    private static async Task WriteJsonAsync(HttpContext context, HttpStatusCode code, JsonObject body, string contentType)
    {
        context.Response.StatusCode = (int)code;
        context.Response.ContentType = contentType;
        await context.Response.WriteAsync(body.ToJsonString(ObjectStore.Wire)).ConfigureAwait(false);
    }

    private static Task WriteTableAsync(HttpContext context, JsonObject table) => WriteJsonAsync(context, HttpStatusCode.OK, table, Tables.ContentType);

    /// <summary>/api/v1/namespaces/{ns}/pods/{name}/status and friends.</summary>
    /// <summary>Connections accepted, counted by a connection middleware that starts before the server's tasks exist.</summary>
    private sealed class ConnectionCount
    {
        private long _accepted;

        public long Accepted => Interlocked.Read(ref _accepted);

        public void Opened() => Interlocked.Increment(ref _accepted);
    }

    private sealed record Route(ResourceType Type, string? Namespace, string? Name, string? Subresource)
    {
        public static Route? Parse(string path, ObjectStore store)
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
                var type = store.FindType(group, version, rest[2]);
                if (type is null || !type.Namespaced || rest.Length > 5)
                {
                    return null;
                }

                return new Route(type, rest[1], rest.Length > 3 ? rest[3] : null, rest.Length > 4 ? rest[4] : null);
            }

            if (rest.Length is >= 1 and <= 3)
            {
                var type = store.FindType(group, version, rest[0]);
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
public sealed record FakeRequest(string Verb, string Resource, string? Namespace, string? Name, bool DryRun)
{
    /// <summary>A list's continue token: the request asks for a next page (a test may expire it first).</summary>
    public string? Continue { get; init; }
}
