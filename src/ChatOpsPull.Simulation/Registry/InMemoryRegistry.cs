using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ChatOpsPull.Simulation.KubernetesApi;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ChatOpsPull.Simulation.Registry;

/// <summary>What pulling an image from the simulated registry gives, as the container runtime would meet it.</summary>
public enum SimulatedPull
{
    Pulled,
    NotFound,
    Unauthorized,
    InvalidName,
}

/// <summary>
/// A small OCI distribution registry (distribution-spec v1.1 pull side) served from memory over plain HTTP on a free
/// loopback port: <c>GET /v2/</c>, manifests by tag or digest (GET and HEAD, Docker-Content-Digest), blobs, tag lists
/// (<c>n</c>/<c>last</c> pagination) and the spec's error bodies (NAME_UNKNOWN, MANIFEST_UNKNOWN, NAME_INVALID,
/// UNAUTHORIZED). Public repositories answer anonymously; a private one answers 401 with a Bearer challenge whose realm
/// (<c>/token</c>, the Docker token protocol) gives a token only for the right user name and password.
/// </summary>
public sealed partial class InMemoryRegistry : IAsyncDisposable
{
    public const string Service = "simulated-registry";
    private const string ManifestType = "application/vnd.oci.image.manifest.v1+json";
    private const string ConfigType = "application/vnd.oci.image.config.v1+json";

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Repository> _repositories = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _tokens = new(StringComparer.Ordinal);

    private InMemoryRegistry(WebApplication app, int port)
    {
        _app = app;
        Host = $"127.0.0.1:{port}";
    }

    /// <summary>host:port as image references name it.</summary>
    public string Host { get; }

    public Uri BaseAddress => new($"http://{Host}");

    private sealed record Repository(string? User, string? Password, ConcurrentDictionary<string, string> Tags, ConcurrentDictionary<string, byte[]> Blobs);

    public static async Task<InMemoryRegistry> StartAsync()
    {
        var port = LoopbackPort.Free();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        var registry = new InMemoryRegistry(app, port);
        app.Run(registry.ServeAsync);
        await app.StartAsync().ConfigureAwait(false);
        return registry;
    }

    /// <summary>Adds a repository with images under these tags (each a small OCI image manifest with its config blob).</summary>
    /// <param name="user">With <paramref name="password"/>: the repository is private, pulled only with these credentials.</param>
    public void AddRepository(string name, IEnumerable<string> tags, string? user = null, string? password = null)
    {
        if (!IsRepositoryName(name))
        {
            throw new ArgumentException($"'{name}' is not a repository name", nameof(name));
        }

        var repository = _repositories.GetOrAdd(name, _ => new Repository(user, password, new(StringComparer.Ordinal), new(StringComparer.Ordinal)));
        foreach (var tag in tags)
        {
            var config = Encoding.UTF8.GetBytes(new JsonObject
            {
                ["architecture"] = "amd64",
                ["os"] = "linux",
                ["config"] = new JsonObject { ["Labels"] = new JsonObject { ["io.chatopspull.simulated"] = "true", ["tag"] = tag } },
                ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = new JsonArray() },
            }.ToJsonString());
            var configDigest = Digest(config);
            repository.Blobs[configDigest] = config;
            var manifest = Encoding.UTF8.GetBytes(new JsonObject
            {
                ["schemaVersion"] = 2,
                ["mediaType"] = ManifestType,
                ["config"] = new JsonObject { ["mediaType"] = ConfigType, ["digest"] = configDigest, ["size"] = config.Length },
                ["layers"] = new JsonArray(),
                ["annotations"] = new JsonObject { ["org.opencontainers.image.ref.name"] = tag },
            }.ToJsonString());
            var digest = Digest(manifest);
            repository.Blobs[digest] = manifest;
            repository.Tags[tag] = digest;
        }
    }

    /// <summary>
    /// What a container runtime on a node meets pulling <paramref name="repository"/>:<paramref name="reference"/> with
    /// these registry credentials (from the pod's pull secrets; none for an anonymous pull).
    /// </summary>
    public SimulatedPull Pull(string repository, string reference, IReadOnlyCollection<(string User, string Password)> credentials)
    {
        if (!IsRepositoryName(repository))
        {
            return SimulatedPull.InvalidName;
        }

        if (!_repositories.TryGetValue(repository, out var repo))
        {
            // A registry with authentication does not say whether a repository it will not show you exists.
            return credentials.Count == 0 ? SimulatedPull.Unauthorized : SimulatedPull.NotFound;
        }

        if (repo.User is not null && !credentials.Any(c => c.User == repo.User && c.Password == repo.Password))
        {
            return SimulatedPull.Unauthorized;
        }

        return Resolve(repo, reference) is null ? SimulatedPull.NotFound : SimulatedPull.Pulled;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private static string? Resolve(Repository repository, string reference) =>
        reference.StartsWith("sha256:", StringComparison.Ordinal)
            ? repository.Blobs.ContainsKey(reference) && repository.Tags.Values.Contains(reference) ? reference : null
            : repository.Tags.TryGetValue(reference, out var digest) ? digest : null;

    private async Task ServeAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        response.Headers["Docker-Distribution-API-Version"] = "registry/2.0";
        var path = request.Path.Value ?? "/";
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            await ErrorAsync(context, HttpStatusCode.MethodNotAllowed, "UNSUPPORTED", "this registry is read-only").ConfigureAwait(false);
            return;
        }

        if (path == "/token")
        {
            await TokenAsync(context).ConfigureAwait(false);
            return;
        }

        if (path is "/v2/" or "/v2")
        {
            response.ContentType = "application/json";
            await response.WriteAsync("{}").ConfigureAwait(false);
            return;
        }

        var match = RoutePattern().Match(path);
        if (!match.Success)
        {
            await ErrorAsync(context, HttpStatusCode.NotFound, "NOT_FOUND", "no such endpoint").ConfigureAwait(false);
            return;
        }

        var name = match.Groups["name"].Value;
        var kind = match.Groups["kind"].Value;
        var reference = match.Groups["reference"].Value;
        if (!IsRepositoryName(name))
        {
            await ErrorAsync(context, HttpStatusCode.BadRequest, "NAME_INVALID", "invalid repository name", name).ConfigureAwait(false);
            return;
        }

        _repositories.TryGetValue(name, out var repository);
        if (repository?.User is not null && !Authorized(request, name))
        {
            var scope = $"repository:{name}:pull";
            var error = request.Headers.Authorization.Count > 0 ? ",error=\"insufficient_scope\"" : string.Empty;
            response.Headers.WWWAuthenticate = $"Bearer realm=\"{BaseAddress}token\",service=\"{Service}\",scope=\"{scope}\"{error}";
            await ErrorAsync(context, HttpStatusCode.Unauthorized, "UNAUTHORIZED", "authentication required", new JsonArray(new JsonObject { ["Type"] = "repository", ["Class"] = string.Empty, ["Name"] = name, ["Action"] = "pull" })).ConfigureAwait(false);
            return;
        }

        if (repository is null)
        {
            await ErrorAsync(context, HttpStatusCode.NotFound, "NAME_UNKNOWN", "repository name not known to registry", new JsonObject { ["name"] = name }).ConfigureAwait(false);
            return;
        }

        switch (kind)
        {
            case "tags" when reference == "list":
                await TagsAsync(context, name, repository).ConfigureAwait(false);
                return;
            case "manifests":
                var digest = Resolve(repository, reference);
                if (digest is null)
                {
                    await ErrorAsync(context, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN", "manifest unknown", new JsonObject { ["Tag"] = reference }).ConfigureAwait(false);
                    return;
                }

                await ContentAsync(context, repository.Blobs[digest], digest, ManifestType).ConfigureAwait(false);
                return;
            case "blobs" when repository.Blobs.TryGetValue(reference, out var blob):
                await ContentAsync(context, blob, reference, "application/octet-stream").ConfigureAwait(false);
                return;
            case "blobs":
                await ErrorAsync(context, HttpStatusCode.NotFound, "BLOB_UNKNOWN", "blob unknown to registry", reference).ConfigureAwait(false);
                return;
            default:
                await ErrorAsync(context, HttpStatusCode.NotFound, "NOT_FOUND", "no such endpoint").ConfigureAwait(false);
                return;
        }
    }

    private bool Authorized(HttpRequest request, string name)
    {
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.Ordinal)
            && _tokens.TryGetValue(header["Bearer ".Length..].Trim(), out var granted)
            && granted == name;
    }

    /// <summary>The Docker token protocol: ?service=…&amp;scope=repository:NAME:pull, Basic credentials for a private repository.</summary>
    private async Task TokenAsync(HttpContext context)
    {
        var scope = context.Request.Query["scope"].ToString();
        var name = scope.StartsWith("repository:", StringComparison.Ordinal) && scope.EndsWith(":pull", StringComparison.Ordinal)
            ? scope["repository:".Length..^":pull".Length]
            : null;
        var (user, password) = Basic(context.Request.Headers.Authorization.ToString());
        if (user is not null && (name is null || !_repositories.TryGetValue(name, out var repository) || repository.User != user || repository.Password != password))
        {
            context.Response.Headers.WWWAuthenticate = $"Basic realm=\"{Service}\"";
            await ErrorAsync(context, HttpStatusCode.Unauthorized, "UNAUTHORIZED", "invalid username/password").ConfigureAwait(false);
            return;
        }

        // Anonymous: a token that grants nothing private (the repository then answers insufficient_scope).
        var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        _tokens[token] = user is not null && name is not null ? name : string.Empty;
        context.Response.ContentType = "application/json";
        var issued = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        await context.Response.WriteAsync($$"""{"token":"{{token}}","access_token":"{{token}}","expires_in":300,"issued_at":"{{issued}}"}""").ConfigureAwait(false);
    }

    private static (string? User, string? Password) Basic(string header)
    {
        if (!header.StartsWith("Basic ", StringComparison.Ordinal))
        {
            return (null, null);
        }

        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..].Trim()));
            return text.Split(':', 2) is [var user, var password] ? (user, password) : (null, null);
        }
        catch (FormatException)
        {
            return (null, null);
        }
    }

    private static async Task TagsAsync(HttpContext context, string name, Repository repository)
    {
        var tags = repository.Tags.Keys.Order(StringComparer.Ordinal).ToList();
        var last = context.Request.Query["last"].ToString();
        if (last.Length > 0)
        {
            tags = tags.Where(t => string.CompareOrdinal(t, last) > 0).ToList();
        }

        if (int.TryParse(context.Request.Query["n"], NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n < tags.Count)
        {
            tags = tags.Take(n).ToList();
            context.Response.Headers.Link = $"</v2/{name}/tags/list?n={n}&last={Uri.EscapeDataString(tags[^1])}>; rel=\"next\"";
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(new JsonObject { ["name"] = name, ["tags"] = new JsonArray([.. tags.Select(t => (JsonNode)t)]) }.ToJsonString()).ConfigureAwait(false);
    }

    private static async Task ContentAsync(HttpContext context, byte[] content, string digest, string contentType)
    {
        context.Response.ContentType = contentType;
        context.Response.ContentLength = content.Length;
        context.Response.Headers["Docker-Content-Digest"] = digest;
        context.Response.Headers.ETag = $"\"{digest}\"";
        if (HttpMethods.IsGet(context.Request.Method))
        {
            await context.Response.Body.WriteAsync(content).ConfigureAwait(false);
        }
    }

    /// <summary>The spec's error body: {"errors":[{"code","message","detail"}]}; a HEAD gets the status alone.</summary>
    private static async Task ErrorAsync(HttpContext context, HttpStatusCode status, string code, string message, JsonNode? detail = null)
    {
        context.Response.StatusCode = (int)status;
        if (HttpMethods.IsHead(context.Request.Method))
        {
            return;
        }

        context.Response.ContentType = "application/json";
        var error = new JsonObject { ["code"] = code, ["message"] = message };
        if (detail is not null)
        {
            error["detail"] = detail;
        }

        await context.Response.WriteAsync(new JsonObject { ["errors"] = new JsonArray(error) }.ToJsonString()).ConfigureAwait(false);
    }

    private static string Digest(byte[] content) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content));

    public static bool IsRepositoryName(string name) => name.Length <= 255 && NamePattern().IsMatch(name);

    [GeneratedRegex("^[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^/v2/(?<name>.+)/(?<kind>manifests|blobs|tags)/(?<reference>[^/]+)$")]
    private static partial Regex RoutePattern();
}
