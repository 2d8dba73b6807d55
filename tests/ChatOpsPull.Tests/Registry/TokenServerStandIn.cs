using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ChatOpsPull.Tests.Registry;

/// <summary>
/// A stand-in for a registry token service (Docker token auth spec, token.md and oauth.md), because Debian's registry
/// has no token server of its own. The real registry verifies every token it issues: an ES256 JWT with the signing
/// certificate in <c>x5c</c>, issuer and audience as the registry's <c>auth.token</c> config names them, and an
/// <c>access</c> claim with the granted actions (the intersection of what was asked and what the account may do —
/// never an error for a partial grant, as the spec says).
/// <list type="bullet">
/// <item>GET /token?service=…&amp;scope=repository:NAME:pull with optional Basic credentials; wrong ones get 401 {"details":"incorrect username or password"} (Docker Hub's shape).</item>
/// <item>POST /token (application/x-www-form-urlencoded) with grant_type=refresh_token (an identity token) or password.</item>
/// </list>
/// Accounts: anonymous may pull <c>public/*</c>; <see cref="User"/> may pull and push everything but <c>other/*</c>.
/// </summary>
public sealed class TokenServerStandIn : IAsyncDisposable
{
    public const string Service = "chatopspull-test-registry";
    public const string Issuer = "chatopspull-test-token-issuer";
    public const string User = "alice";
    public const string Password = "alice-password";
    public const string IdentityToken = "alice-identity-token-7f3a";

    private readonly WebApplication _app;
    private readonly ECDsa _key;
    private readonly X509Certificate2 _certificate;
    private int _requests;

    private TokenServerStandIn(WebApplication app, ECDsa key, X509Certificate2 certificate)
    {
        _app = app;
        _key = key;
        _certificate = certificate;
    }

    /// <summary>The port the system picked (the stand-in listens on port 0); known once it has started.</summary>
    public int Port { get; private set; }

    public string Realm => $"http://127.0.0.1:{Port}/token";

    /// <summary>Token requests answered so far (GET and POST).</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Lifetime of issued tokens.</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Writes the PEM the registry's <c>rootcertbundle</c> points at.</summary>
    public void WriteRootCertificate(string path) => File.WriteAllText(path, _certificate.ExportCertificatePem());

    public static async Task<TokenServerStandIn> StartAsync()
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=chatopspull test token signer", key, HashAlgorithmName.SHA256);
        var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new TokenServerStandIn(app, key, certificate);
        app.MapGet("/token", (Func<HttpContext, IResult>)server.GetToken);
        app.MapPost("/token", (Func<HttpContext, Task<IResult>>)server.PostTokenAsync);
        await app.StartAsync().ConfigureAwait(false);
        server.Port = BoundPort.Of(app);
        return server;
    }

    private IResult GetToken(HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        var query = context.Request.Query;
        if (query["service"] != Service)
        {
            return Results.Json(new { details = "invalid service" }, statusCode: 400);
        }

        string? subject = null;
        var header = context.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            var (user, password) = colon < 0 ? (decoded, string.Empty) : (decoded[..colon], decoded[(colon + 1)..]);

            // containerd's fallback for identity tokens: Basic with the username and the identity token as password.
            if (user == User && (password == Password || password == IdentityToken))
            {
                subject = User;
            }
            else
            {
                return Results.Json(new { details = "incorrect username or password" }, statusCode: 401);
            }
        }

        var token = Issue(subject, query["scope"].Where(s => s is not null).Select(s => s!));
        return Results.Json(new JsonObject
        {
            ["token"] = token,
            ["access_token"] = token,
            ["expires_in"] = (int)TokenLifetime.TotalSeconds,
            ["issued_at"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
        });
    }

    private async Task<IResult> PostTokenAsync(HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        var form = await context.Request.ReadFormAsync().ConfigureAwait(false);
        if (form["service"] != Service)
        {
            return Results.Json(new { error = "invalid_request", error_description = "unknown service" }, statusCode: 400);
        }

        string? subject = form["grant_type"].ToString() switch
        {
            "refresh_token" when form["refresh_token"] == IdentityToken => User,
            "password" when form["username"] == User && form["password"] == Password => User,
            _ => null,
        };
        if (subject is null)
        {
            return Results.Json(new { error = "invalid_grant", error_description = "invalid refresh token or password" }, statusCode: 401);
        }

        var scopes = form["scope"].ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var token = Issue(subject, scopes);
        return Results.Json(new JsonObject
        {
            ["access_token"] = token,
            ["expires_in"] = (int)TokenLifetime.TotalSeconds,
            ["scope"] = string.Join(' ', scopes),
        });
    }

    private string Issue(string? subject, IEnumerable<string> scopes)
    {
        var access = new JsonArray();
        foreach (var scope in scopes)
        {
            // repository:NAME:ACTIONS — NAME may hold ':'-free slashes; actions are comma-separated.
            var parts = scope.Split(':');
            if (parts.Length != 3 || parts[0] != "repository")
            {
                continue;
            }

            var granted = parts[2].Split(',').Where(action => Allowed(subject, parts[1], action)).ToArray();
            access.Add(new JsonObject { ["type"] = "repository", ["name"] = parts[1], ["actions"] = new JsonArray(granted.Select(a => (JsonNode)a!).ToArray()) });
        }

        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = new JsonObject { ["typ"] = "JWT", ["alg"] = "ES256", ["x5c"] = new JsonArray(Convert.ToBase64String(_certificate.RawData)) };
        var claims = new JsonObject
        {
            ["iss"] = Issuer,
            ["sub"] = subject ?? string.Empty,
            ["aud"] = Service,
            ["exp"] = now + (long)TokenLifetime.TotalSeconds,
            ["nbf"] = now - 10,
            ["iat"] = now,
            ["jti"] = Guid.NewGuid().ToString("N"),
            ["access"] = access,
        };
        var signingInput = Base64Url(Encoding.UTF8.GetBytes(header.ToJsonString())) + "." + Base64Url(Encoding.UTF8.GetBytes(claims.ToJsonString()));
        var signature = _key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return signingInput + "." + Base64Url(signature);
    }

    private static bool Allowed(string? subject, string repository, string action) => subject switch
    {
        User => !repository.StartsWith("other/", StringComparison.Ordinal),
        _ => action == "pull" && repository.StartsWith("public/", StringComparison.Ordinal),
    };

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _key.Dispose();
        _certificate.Dispose();
    }
}
