using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using ChatOpsPull.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ChatOpsPull.Tests.Teams.FakeConnector;

/// <summary>One call the bot made to the Bot Connector.</summary>
public sealed record RecordedCall(string Method, string Path, string? ConversationId, string? ActivityId, JsonNode? Body, int Status);

/// <summary>How to mint an inbound (channel → bot) token, with every way to get it wrong.</summary>
public sealed record TokenSpec
{
    public string? Audience { get; init; }

    public string Issuer { get; init; } = "https://api.botframework.com";

    public string? ServiceUrl { get; init; }

    public TimeSpan ExpiresIn { get; init; } = TimeSpan.FromMinutes(60);

    public TimeSpan NotBeforeOffset { get; init; } = TimeSpan.FromMinutes(-5);

    /// <summary>Sign with a key the stand-in does not publish (same kid).</summary>
    public bool WrongKey { get; init; }

    public string? Kid { get; init; }

    /// <summary>Extra claims (appid, azp, ver for Emulator tokens).</summary>
    public IReadOnlyDictionary<string, object>? Claims { get; init; }
}

/// <summary>
/// A local stand-in for the Bot Framework on loopback (Kestrel): the OpenID metadata and JWKS (keys with
/// <c>endorsements</c>), an Entra-like token endpoint for the bot's client-credentials flow, and the Bot Connector
/// REST API (v3) under a Teams-like serviceUrl. It checks what the bot sends as Teams does — Bearer token it issued,
/// conversation exists, Adaptive Card ≤ 1.5 of known shape, message under ~28 KB (413 MessageSizeTooBig), per-thread
/// rate limits (429 with Retry-After) — records every call, and can be told to fail the next calls (429 / 5xx).
/// </summary>
public sealed class BotConnectorStandIn : IAsyncDisposable
{
    public const string AppId = "3f0c3a4e-7a43-4f3d-9f3a-6b1a2c3d4e5f";
    public const string AppPassword = "stand-in-client-secret";
    public const string TenantId = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    public const string BotId = "28:" + AppId;

    private readonly WebApplication _app;
    private readonly object _gate = new();
    private readonly List<RecordedCall> _calls = [];
    private readonly Dictionary<string, DateTimeOffset> _issuedTokens = new(StringComparer.Ordinal);
    private readonly HashSet<string> _conversations = new(StringComparer.Ordinal);
    private readonly Dictionary<string, JsonNode?> _activities = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<DateTimeOffset>> _sendTimes = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(int Status, TimeSpan? RetryAfter)> _faults = new();
    private readonly Dictionary<string, (RSA Key, string[] Endorsements)> _keys = new(StringComparer.Ordinal);
    private readonly RSA _wrongKey = RSA.Create(2048);
    private int _nextActivity = 1000;

    private BotConnectorStandIn(WebApplication app)
    {
        _app = app;
        AddKey("stand-in-key-1", ["msteams"]);
    }

    /// <summary>Where the stand-in listens (on a port the system picked); known once it has started.</summary>
    public string BaseUrl { get; private set; } = null!;

    /// <summary>The serviceUrl activities carry (Teams' have a region path, e.g. "/amer/").</summary>
    public string ServiceUrl => BaseUrl + "/amer/";

    public string OpenIdMetadataUrl => BaseUrl + "/v1/.well-known/openidconfiguration";

    public string EmulatorOpenIdMetadataUrl => BaseUrl + "/emulator/v2.0/.well-known/openid-configuration";

    public string TokenEndpoint => BaseUrl + "/botframework.com/oauth2/v2.0/token";

    public string CurrentKid { get; private set; } = "stand-in-key-1";

    public int MetadataFetches { get; private set; }

    public int KeyFetches { get; private set; }

    public int TokenRequests { get; private set; }

    /// <summary>Answer connector calls with 429/5xx and rate limits like Teams (on by default).</summary>
    public bool EnforceRateLimits { get; set; } = true;

    public int TokenLifetimeSeconds { get; set; } = 3600;

    public IReadOnlyList<RecordedCall> Calls
    {
        get
        {
            lock (_gate)
            {
                return _calls.ToList();
            }
        }
    }

    public static async Task<BotConnectorStandIn> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(BoundPort.LoopbackAnyPort);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var standIn = new BotConnectorStandIn(app);
        standIn.Map(app);
        await app.StartAsync().ConfigureAwait(false);
        standIn.BaseUrl = $"http://127.0.0.1:{BoundPort.Of(app)}";
        return standIn;
    }

    /// <summary>Publishes a new signing key (a Bot Connector key roll-over) and signs new tokens with it.</summary>
    public void AddKey(string kid, string[] endorsements, bool makeCurrent = true)
    {
        lock (_gate)
        {
            _keys[kid] = (RSA.Create(2048), endorsements);
            if (makeCurrent)
            {
                CurrentKid = kid;
            }
        }
    }

    public void AddConversation(string conversationId)
    {
        lock (_gate)
        {
            _conversations.Add(conversationId);
        }
    }

    /// <summary>The next connector calls answer with these statuses (e.g. 429 with Retry-After, 502).</summary>
    public void FailNext(int status, TimeSpan? retryAfter = null, int times = 1)
    {
        for (var i = 0; i < times; i++)
        {
            _faults.Enqueue((status, retryAfter));
        }
    }

    public JsonNode? Activity(string activityId)
    {
        lock (_gate)
        {
            return _activities.TryGetValue(activityId, out var a) ? a?.DeepClone() : null;
        }
    }

    public void ClearCalls()
    {
        lock (_gate)
        {
            _calls.Clear();
        }
    }

    /// <summary>A channel → bot token as the Bot Connector signs it (or broken as <paramref name="spec"/> says).</summary>
    public string CreateToken(TokenSpec spec)
    {
        var kid = spec.Kid ?? CurrentKid;
        RSA rsa;
        lock (_gate)
        {
            rsa = spec.WrongKey ? _wrongKey : _keys.TryGetValue(kid, out var k) ? k.Key : _wrongKey;
        }

        var claims = new Dictionary<string, object>(StringComparer.Ordinal);
        if (spec.ServiceUrl is not null)
        {
            claims["serviceurl"] = spec.ServiceUrl;
        }

        foreach (var (key, value) in spec.Claims ?? new Dictionary<string, object>())
        {
            claims[key] = value;
        }

        var now = DateTime.UtcNow;
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = spec.Issuer,
            Audience = spec.Audience ?? AppId,
            NotBefore = now + spec.NotBeforeOffset,
            IssuedAt = now + spec.NotBeforeOffset,
            Expires = now + spec.ExpiresIn,
            Claims = claims,
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(rsa) { KeyId = kid }, SecurityAlgorithms.RsaSha256),
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }

    /// <summary>The same claims with <c>alg: none</c> and no signature.</summary>
    public string CreateUnsignedToken(string serviceUrl)
    {
        var header = Base64UrlEncoder.Encode($$"""{"alg":"none","typ":"JWT","kid":"{{CurrentKid}}"}""");
        var exp = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds();
        var payload = Base64UrlEncoder.Encode($$"""{"iss":"https://api.botframework.com","aud":"{{AppId}}","serviceurl":"{{serviceUrl}}","exp":{{exp}},"nbf":{{exp - 7200}}}""");
        return header + "." + payload + ".";
    }

    /// <summary>A correctly signed token whose payload was then changed (audience swapped): the signature no longer matches.</summary>
    public string CreateTamperedToken(string serviceUrl)
    {
        var parts = CreateToken(new TokenSpec { ServiceUrl = serviceUrl }).Split('.');
        var payload = JsonNode.Parse(Base64UrlEncoder.Decode(parts[1]))!.AsObject();
        payload["serviceurl"] = "https://attacker.example/";
        return parts[0] + "." + Base64UrlEncoder.Encode(payload.ToJsonString()) + "." + parts[2];
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        lock (_gate)
        {
            foreach (var (key, _) in _keys.Values)
            {
                key.Dispose();
            }
        }

        _wrongKey.Dispose();
    }

    private void Map(WebApplication app)
    {
        app.MapGet("/v1/.well-known/openidconfiguration", () =>
        {
            MetadataFetches++;
            return Results.Json(new JsonObject
            {
                ["issuer"] = "https://api.botframework.com",
                ["authorization_endpoint"] = "https://invalid.botframework.com",
                ["jwks_uri"] = BaseUrl + "/v1/.well-known/keys",
                ["id_token_signing_alg_values_supported"] = new JsonArray("RS256"),
                ["token_endpoint_auth_methods_supported"] = new JsonArray("private_key_jwt"),
            });
        });
        app.MapGet("/v1/.well-known/keys", () =>
        {
            KeyFetches++;
            return Results.Json(Jwks(withEndorsements: true));
        });
        app.MapGet("/emulator/v2.0/.well-known/openid-configuration", () => Results.Json(new JsonObject
        {
            ["issuer"] = "https://login.microsoftonline.com/{tenantid}/v2.0",
            ["jwks_uri"] = BaseUrl + "/emulator/discovery/v2.0/keys",
            ["id_token_signing_alg_values_supported"] = new JsonArray("RS256"),
        }));
        app.MapGet("/emulator/discovery/v2.0/keys", () => Results.Json(Jwks(withEndorsements: false)));
        app.MapPost("/botframework.com/oauth2/v2.0/token", IssueTokenAsync);
        app.MapPost("/amer/v3/conversations", CreateConversationAsync);
        app.MapPost("/amer/v3/conversations/{conversationId}/activities", SendAsync);
        app.MapPost("/amer/v3/conversations/{conversationId}/activities/{activityId}", SendAsync);
        app.MapPut("/amer/v3/conversations/{conversationId}/activities/{activityId}", UpdateAsync);
    }

    private JsonObject Jwks(bool withEndorsements)
    {
        var keys = new JsonArray();
        lock (_gate)
        {
            foreach (var (kid, (rsa, endorsements)) in _keys)
            {
                var p = rsa.ExportParameters(false);
                var key = new JsonObject
                {
                    ["kty"] = "RSA",
                    ["use"] = "sig",
                    ["kid"] = kid,
                    ["x5t"] = kid,
                    ["n"] = Base64UrlEncoder.Encode(p.Modulus),
                    ["e"] = Base64UrlEncoder.Encode(p.Exponent),
                };
                if (withEndorsements)
                {
                    key["endorsements"] = new JsonArray(endorsements.Select(e => (JsonNode?)e).ToArray());
                }

                keys.Add(key);
            }
        }

        return new JsonObject { ["keys"] = keys };
    }

    private async Task<IResult> IssueTokenAsync(HttpRequest request)
    {
        TokenRequests++;
        var form = await request.ReadFormAsync().ConfigureAwait(false);
        if (form["grant_type"] != "client_credentials" || form["scope"] != "https://api.botframework.com/.default")
        {
            return Results.Json(new JsonObject { ["error"] = "invalid_request", ["error_description"] = "AADSTS900144: The request body must contain grant_type and scope." }, statusCode: 400);
        }

        if (form["client_id"] != AppId || form["client_secret"] != AppPassword)
        {
            return Results.Json(new JsonObject { ["error"] = "invalid_client", ["error_description"] = "AADSTS7000215: Invalid client secret provided." }, statusCode: 401);
        }

        var token = "stand-in-access-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        lock (_gate)
        {
            _issuedTokens[token] = DateTimeOffset.UtcNow.AddSeconds(TokenLifetimeSeconds);
        }

        return Results.Json(new JsonObject
        {
            ["token_type"] = "Bearer",
            ["expires_in"] = TokenLifetimeSeconds,
            ["ext_expires_in"] = TokenLifetimeSeconds,
            ["access_token"] = token,
        });
    }

    private async Task<IResult> CreateConversationAsync(HttpRequest request)
    {
        var (denied, body) = await ReadAsync(request).ConfigureAwait(false);
        var channel = body?["channelData"]?["channel"]?["id"]?.GetValue<string>();
        return Answer("POST", request.Path, channel, null, body, denied ?? Check(channel, body?["activity"], () =>
        {
            var id = NextActivityId();
            lock (_gate)
            {
                _activities[id] = body!["activity"]!.DeepClone();
            }

            return Results.Json(new JsonObject { ["id"] = $"{channel};messageid={id}", ["activityId"] = id }, statusCode: 201);
        }, requireGroup: body?["isGroup"]?.GetValue<bool>() != true));
    }

    private async Task<IResult> SendAsync(HttpRequest request, string conversationId, string? activityId = null)
    {
        var (denied, body) = await ReadAsync(request).ConfigureAwait(false);
        return Answer("POST", request.Path, conversationId, activityId, body, denied ?? Check(conversationId, body, () =>
        {
            var id = NextActivityId();
            lock (_gate)
            {
                _activities[id] = body!.DeepClone();
            }

            return Results.Json(new JsonObject { ["id"] = id }, statusCode: 201);
        }));
    }

    private async Task<IResult> UpdateAsync(HttpRequest request, string conversationId, string activityId)
    {
        var (denied, body) = await ReadAsync(request).ConfigureAwait(false);
        return Answer("PUT", request.Path, conversationId, activityId, body, denied ?? Check(conversationId, body, () =>
        {
            lock (_gate)
            {
                if (!_activities.ContainsKey(activityId))
                {
                    return Error(404, "ActivityNotFound", "The activity to update does not exist in this conversation.");
                }

                _activities[activityId] = body!.DeepClone();
            }

            return Results.Json(new JsonObject { ["id"] = activityId });
        }));
    }

    private async Task<(IResult? Denied, JsonNode? Body)> ReadAsync(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        bool known;
        lock (_gate)
        {
            known = authorization.StartsWith("Bearer ", StringComparison.Ordinal)
                    && _issuedTokens.TryGetValue(authorization[7..], out var expires) && expires > DateTimeOffset.UtcNow;
        }

        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync().ConfigureAwait(false);
        if (!known)
        {
            return (Results.Json(new JsonObject { ["message"] = "Authorization has been denied for this request." }, statusCode: 401), null);
        }

        if (text.Length * 2 > AdaptiveCardCheck.MaxMessageUtf16Bytes)
        {
            return (Error(413, "MessageSizeTooBig", "Message size too large"), null);
        }

        try
        {
            return (null, JsonNode.Parse(text));
        }
        catch (System.Text.Json.JsonException)
        {
            return (Error(400, "BadSyntax", "The request body is not JSON."), null);
        }
    }

    private IResult Check(string? conversationId, JsonNode? activity, Func<IResult> accept, bool requireGroup = false)
    {
        if (_faults.TryDequeue(out var fault))
        {
            return Fault(fault.Status, fault.RetryAfter);
        }

        if (requireGroup)
        {
            return Error(400, "BadArgument", "Creating a conversation in a channel needs isGroup: true.");
        }

        var baseId = conversationId?.Split(";messageid=")[0];
        lock (_gate)
        {
            if (baseId is null || !_conversations.Contains(baseId))
            {
                return Error(404, "ConversationNotFound", "Conversation not found.");
            }

            if (EnforceRateLimits && Throttled(baseId, out var wait))
            {
                return Fault(429, wait);
            }
        }

        if (activity?["type"]?.GetValue<string>() != "message")
        {
            return Error(400, "BadArgument", "Activity type must be message.");
        }

        foreach (var attachment in activity["attachments"] as JsonArray ?? [])
        {
            if (attachment?["contentType"]?.GetValue<string>() == "application/vnd.microsoft.card.adaptive")
            {
                var errors = AdaptiveCardCheck.Validate(attachment["content"]);
                if (errors.Count > 0)
                {
                    return Error(400, "BadArgument", "Invalid Adaptive Card: " + string.Join("; ", errors));
                }
            }
        }

        if (activity["attachments"] is null && string.IsNullOrEmpty(activity["text"]?.GetValue<string>()))
        {
            return Error(400, "BadArgument", "Message has no text and no attachments.");
        }

        return accept();
    }

    /// <summary>Teams' per bot per thread limits: 7 per second, 8 per 2 seconds, 60 per 30 seconds.</summary>
    private bool Throttled(string conversationId, out TimeSpan wait)
    {
        var now = DateTimeOffset.UtcNow;
        if (!_sendTimes.TryGetValue(conversationId, out var times))
        {
            _sendTimes[conversationId] = times = [];
        }

        times.RemoveAll(t => now - t > TimeSpan.FromSeconds(30));
        foreach (var (window, max) in new[] { (TimeSpan.FromSeconds(1), 7), (TimeSpan.FromSeconds(2), 8), (TimeSpan.FromSeconds(30), 60) })
        {
            if (times.Count(t => now - t < window) >= max)
            {
                wait = TimeSpan.FromSeconds(Math.Ceiling(window.TotalSeconds));
                return true;
            }
        }

        times.Add(now);
        wait = TimeSpan.Zero;
        return false;
    }

    private IResult Answer(string method, string path, string? conversationId, string? activityId, JsonNode? body, IResult result)
    {
        var status = result is IStatusCodeHttpResult s ? s.StatusCode ?? 200 : 200;
        lock (_gate)
        {
            _calls.Add(new RecordedCall(method, path, conversationId, activityId, body, status));
        }

        return result;
    }

    private static FaultResult Fault(int status, TimeSpan? retryAfter) => new(status, retryAfter);

    private static IResult Error(int status, string code, string message) =>
        Results.Json(new JsonObject { ["error"] = new JsonObject { ["code"] = code, ["message"] = message } }, statusCode: status);

    private string NextActivityId() =>
        "1" + Interlocked.Increment(ref _nextActivity).ToString(CultureInfo.InvariantCulture) + "000";

    private sealed class FaultResult(int status, TimeSpan? retryAfter) : IResult, IStatusCodeHttpResult
    {
        public int? StatusCode => status;

        public async Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = status;
            if (retryAfter is { } wait)
            {
                httpContext.Response.Headers.RetryAfter = ((int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            }

            var code = status == 429 ? "TooManyRequests" : status >= 500 ? "ServiceError" : "Error";
            await httpContext.Response.WriteAsJsonAsync(new JsonObject
            {
                ["error"] = new JsonObject { ["code"] = code, ["message"] = ((HttpStatusCode)status).ToString() },
            }).ConfigureAwait(false);
        }
    }
}
