using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ChatOpsPull.Core.Images;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Registry;

/// <summary>
/// An OCI distribution API client (github.com/opencontainers/distribution-spec; Docker token auth spec): the /v2/ ping,
/// Basic and Bearer authorization from <c>WWW-Authenticate</c> challenges (anonymous or with credentials; identity tokens
/// as OAuth2 refresh tokens; tokens cached per scope until expiry), manifests by HEAD or GET with the Docker and OCI
/// media types, tag listing with <c>n=</c> and <c>Link</c> pagination, blobs. Statuses and error codes come back as
/// <see cref="RegistryAnswer"/>s, not exceptions; only transport failures (DNS, connect, TLS, timeout) and refused
/// destinations (<see cref="RegistryDestinations"/>, inside an <see cref="HttpRequestException"/>) throw. What an answer
/// copies from the registry is bounded and sanitized (<see cref="RegistryText"/>), and an answer that came from another
/// host (a token realm or redirect elsewhere) keeps only its status and error codes, never its messages.
/// </summary>
public sealed partial class RegistryClient
{
    private const int MaxManifestBytes = 4 * 1024 * 1024;
    private const int MaxTagPageBytes = 8 * 1024 * 1024;
    private const int MaxSmallBodyBytes = 256 * 1024;
    private readonly HttpClient _http;
    private readonly RegistryOptions _options;
    private readonly RegistryTokenCache _tokens;
    private readonly TimeProvider _time;

    public RegistryClient(HttpClient http, IOptions<RegistryOptions> options, RegistryTokenCache tokens, TimeProvider time)
    {
        _http = http;
        _options = options.Value;
        _tokens = tokens;
        _time = time;
    }

    /// <summary><c>GET /v2/</c>: whether this is a registry and how it wants to be authenticated.</summary>
    public async Task<RegistryPing> PingAsync(RegistryEndpoint endpoint, CancellationToken cancellationToken)
    {
        using var request = NewRequest(HttpMethod.Get, endpoint.Resolve("v2/"), endpoint, null);
        var exchange = await SendAsync(request, endpoint, MaxSmallBodyBytes, cancellationToken).ConfigureAwait(false);
        return new RegistryPing(exchange.Answer, exchange.ApiVersion, exchange.Answer.FromRegistry ? Snippet(exchange.Body) : string.Empty);
    }

    /// <summary>
    /// Gets what to send for pulling <paramref name="repository"/>: nothing (the registry is open), Basic credentials,
    /// a registry token, or a bearer token from the challenge's realm for scope <c>repository:NAME:pull</c>.
    /// </summary>
    public async Task<RegistryAuthorization> AuthorizeAsync(
        RegistryEndpoint endpoint,
        RegistryPing ping,
        string repository,
        RegistryCredentials? credentials,
        CancellationToken cancellationToken)
    {
        if (ping.Answer.Code != 401)
        {
            return new RegistryAuthorization(AuthorizationOutcome.NotNeeded, "none", "the registry answers /v2/ without authentication", null);
        }

        var bearer = ping.Answer.Challenges.FirstOrDefault(c => c.IsBearer);
        if (bearer is not null)
        {
            if (credentials?.RegistryToken is { } registryToken)
            {
                return new RegistryAuthorization(AuthorizationOutcome.Sent, "Bearer", "registry token from the credentials, sent as the bearer token", null) { HeaderValue = "Bearer " + registryToken };
            }

            return await FetchTokenAsync(endpoint, bearer, $"repository:{repository}:pull", credentials, cancellationToken).ConfigureAwait(false);
        }

        var basic = ping.Answer.Challenges.FirstOrDefault(c => c.IsBasic);
        if (basic is not null)
        {
            if (credentials is { HasBasic: true })
            {
                var value = Convert.ToBase64String(Encoding.UTF8.GetBytes(credentials.Username + ":" + credentials.Password));
                return new RegistryAuthorization(AuthorizationOutcome.Sent, "Basic", $"Basic credentials: {credentials} (realm {BasicRealm(basic)})", null) { HeaderValue = "Basic " + value };
            }

            return new RegistryAuthorization(
                AuthorizationOutcome.MissingCredentials,
                "Basic",
                credentials is null
                    ? $"the registry requires Basic credentials (realm {BasicRealm(basic)}) and none were given"
                    : $"the registry requires Basic credentials (realm {BasicRealm(basic)}) and the {credentials.Kind} given has no username/password",
                null);
        }

        var scheme = ping.Answer.Challenges.Count > 0 ? RegistryText.Line(ping.Answer.Challenges[0].Scheme, 40) : null;
        return new RegistryAuthorization(
            AuthorizationOutcome.Failed,
            scheme ?? "none",
            scheme is null ? "the registry answered 401 without a WWW-Authenticate challenge" : $"the registry asks for {scheme} authentication, which registries do not use for pulls",
            null);
    }

    /// <summary>Forgets a cached bearer token (after the registry refused it) so the next authorization fetches a new one.</summary>
    public void Forget(RegistryAuthorization authorization)
    {
        if (authorization.CacheKey is not null)
        {
            _tokens.Remove(authorization.CacheKey);
        }
    }

    public Task<ManifestResponse> GetManifestAsync(RegistryEndpoint endpoint, string repository, string reference, RegistryAuthorization authorization, CancellationToken cancellationToken) =>
        ManifestAsync(HttpMethod.Get, endpoint, repository, reference, authorization, cancellationToken);

    /// <summary>HEAD: digest and media type without the body (Docker Hub does not count HEAD against the pull limit).</summary>
    public Task<ManifestResponse> HeadManifestAsync(RegistryEndpoint endpoint, string repository, string reference, RegistryAuthorization authorization, CancellationToken cancellationToken) =>
        ManifestAsync(HttpMethod.Head, endpoint, repository, reference, authorization, cancellationToken);

    /// <summary>Lists tags page by page (<c>n=</c> page size, following <c>Link: &lt;…&gt;; rel="next"</c>) up to the configured maximum.</summary>
    public async Task<TagListResponse> ListTagsAsync(RegistryEndpoint endpoint, string repository, RegistryAuthorization authorization, CancellationToken cancellationToken)
    {
        var uri = endpoint.Resolve($"v2/{repository}/tags/list?n={_options.TagPageSize.ToString(CultureInfo.InvariantCulture)}");
        var registryOrigin = endpoint.BaseUri;
        var tags = new List<string>();
        var pages = 0;
        var duration = TimeSpan.Zero;
        while (true)
        {
            using var request = NewRequest(HttpMethod.Get, uri, endpoint, authorization);
            var exchange = await SendAsync(request, endpoint, MaxTagPageBytes, cancellationToken).ConfigureAwait(false);
            pages++;
            duration += exchange.Answer.Duration;
            if (exchange.Answer.Code != 200)
            {
                return new TagListResponse(exchange.Answer with { Duration = duration }, tags, pages, Truncated: pages > 1);
            }

            tags.AddRange(ReadTags(exchange.Body));
            // A Link to another host is not followed: tag pages come from the registry itself.
            var next = NextLink(exchange.Link, uri) is { } link && endpoint.IsSelf(link) && link.Scheme == registryOrigin.Scheme ? link : null;
            if (next is null || tags.Count >= _options.MaxTagsListed)
            {
                return new TagListResponse(exchange.Answer with { Duration = duration }, tags, pages, Truncated: next is not null);
            }

            uri = next;
        }
    }

    /// <summary>GET of a small blob (an image config), following the registry's redirect to its storage.</summary>
    public async Task<(RegistryAnswer Answer, byte[] Body)> GetBlobAsync(RegistryEndpoint endpoint, string repository, string digest, RegistryAuthorization authorization, int maxBytes, CancellationToken cancellationToken)
    {
        using var request = NewRequest(HttpMethod.Get, endpoint.Resolve($"v2/{repository}/blobs/{digest}"), endpoint, authorization);
        var exchange = await SendAsync(request, endpoint, maxBytes, cancellationToken).ConfigureAwait(false);
        return (exchange.Answer, exchange.Body);
    }

    private async Task<ManifestResponse> ManifestAsync(HttpMethod method, RegistryEndpoint endpoint, string repository, string reference, RegistryAuthorization authorization, CancellationToken cancellationToken)
    {
        using var request = NewRequest(method, endpoint.Resolve($"v2/{repository}/manifests/{reference}"), endpoint, authorization);
        foreach (var mediaType in ManifestMediaTypes.Accepted)
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(mediaType));
        }

        var exchange = await SendAsync(request, endpoint, MaxManifestBytes, cancellationToken).ConfigureAwait(false);
        if (exchange.Answer.Code != 200)
        {
            return new ManifestResponse(exchange.Answer, null, null, null, null);
        }

        var content = method == HttpMethod.Get ? ManifestContent.Parse(exchange.Body) : null;
        var digest = exchange.ContentDigest
                     ?? (method == HttpMethod.Get ? "sha256:" + Convert.ToHexStringLower(SHA256.HashData(exchange.Body)) : null);
        var mediaType2 = exchange.ContentType ?? content?.MediaType;
        return new ManifestResponse(exchange.Answer, digest, mediaType2, exchange.ContentLength ?? exchange.Body.Length, content);
    }

    private async Task<RegistryAuthorization> FetchTokenAsync(RegistryEndpoint endpoint, AuthChallenge challenge, string scope, RegistryCredentials? credentials, CancellationToken cancellationToken)
    {
        if (challenge.Realm is not { } realm || !Uri.TryCreate(realm, UriKind.Absolute, out var realmUri) || realmUri.Scheme is not ("https" or "http"))
        {
            return new RegistryAuthorization(AuthorizationOutcome.Failed, "Bearer", $"the Bearer challenge has no usable realm ({challenge})", null);
        }

        var tokenService = RealmName(realmUri, endpoint);
        if (realmUri.Scheme == "http" && !endpoint.PlainHttp)
        {
            // Credentials would cross the network in the clear, to a host the registry chose.
            return Refused(new RefusedDestination(
                $"http://{realmUri.Authority}",
                $"a token realm over plain HTTP, and {endpoint.Domain} is not configured as a plain-HTTP registry (Registry:Hosts PlainHttp)"));
        }

        var key = RegistryTokenCache.Key(realm, challenge.Service, scope, credentials);
        if (_tokens.TryGet(key, out var cached, out var cachedExpiry))
        {
            return new RegistryAuthorization(AuthorizationOutcome.TokenIssued, "Bearer", $"cached token for {scope} from {tokenService}, expires in {CredentialLifetime.Span(cachedExpiry - _time.GetUtcNow())}", null)
            {
                HeaderValue = "Bearer " + cached,
                FromCache = true,
                CacheKey = key,
                ExpiresAt = cachedExpiry,
            };
        }

        Exchange exchange;
        var how = credentials is null ? "anonymously" : $"for the {credentials.Kind}";
        try
        {
            exchange = await RequestTokenAsync(endpoint, challenge, realmUri, scope, credentials, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e) when (RegistryDestinationRefusedException.Find(e) is { } refused)
        {
            return Refused(refused);
        }

        var answer = exchange.Answer;
        var withheld = answer.FromRegistry || answer.Code == 200 ? string.Empty : " (the token service is not the registry's own host, so its message is not shown)";
        switch (answer.Code)
        {
            case 200 when TryReadToken(exchange.Body, out var token, out var expiresIn, out var issuedAt):
                var expiresAt = (issuedAt ?? _time.GetUtcNow()) + expiresIn;
                _tokens.Put(key, token, expiresAt);
                return new RegistryAuthorization(AuthorizationOutcome.TokenIssued, "Bearer", $"token for {scope} issued {how} by {tokenService}, valid {CredentialLifetime.Span(expiresIn)}", answer)
                {
                    HeaderValue = "Bearer " + token,
                    CacheKey = key,
                    ExpiresAt = expiresAt,
                };
            case 200:
                return new RegistryAuthorization(AuthorizationOutcome.Failed, "Bearer", $"the token service {tokenService} answered 200 without a token", answer);
            case 401:
                return new RegistryAuthorization(
                    credentials is null ? AuthorizationOutcome.MissingCredentials : AuthorizationOutcome.Rejected,
                    "Bearer",
                    credentials is null
                        ? $"the token service {tokenService} requires credentials for {scope}: {answer.Describe()}{withheld}"
                        : $"the token service {tokenService} rejected the credentials ({how}): {answer.Describe()}{withheld}",
                    answer);
            case 403:
                return new RegistryAuthorization(AuthorizationOutcome.Denied, "Bearer", $"the token service {tokenService} denied {scope} {how}: {answer.Describe()}{withheld}", answer);
            case 429:
                return new RegistryAuthorization(AuthorizationOutcome.RateLimited, "Bearer", $"the token service {tokenService} is rate limiting: {answer.Describe()}{withheld}", answer);
            default:
                return new RegistryAuthorization(AuthorizationOutcome.Failed, "Bearer", $"the token service {tokenService} answered {answer.Describe()}{withheld}", answer);
        }

        RegistryAuthorization Refused(RefusedDestination refused) =>
            new(AuthorizationOutcome.Refused, "Bearer", $"the token realm was not asked: {refused}", null) { Refusal = refused };
    }

    /// <summary>The token request: the OAuth2 refresh-token POST for an identity token, else the GET with optional Basic credentials.</summary>
    private async Task<Exchange> RequestTokenAsync(RegistryEndpoint endpoint, AuthChallenge challenge, Uri realmUri, string scope, RegistryCredentials? credentials, CancellationToken cancellationToken)
    {
        Exchange exchange;
        if (credentials?.IdentityToken is { } refreshToken)
        {
            // OAuth2 refresh-token grant (POST); registries without it answer 404/405/400/401 and get the GET form, as containerd does.
            using (var post = NewRequest(HttpMethod.Post, realmUri, endpoint, null))
            {
                var form = new List<KeyValuePair<string, string>>
                {
                    new("grant_type", "refresh_token"),
                    new("refresh_token", refreshToken),
                    new("client_id", "chatopspull"),
                    new("scope", scope),
                };
                if (challenge.Service is not null)
                {
                    form.Add(new("service", challenge.Service));
                }

                post.Content = new FormUrlEncodedContent(form);
                exchange = await SendAsync(post, endpoint, MaxSmallBodyBytes, cancellationToken).ConfigureAwait(false);
            }

            if (exchange.Answer.Code is 400 or 401 or 404 or 405 && credentials.Username is not null)
            {
                exchange = await GetTokenAsync(endpoint, realmUri, challenge.Service, scope, credentials.Username, refreshToken, cancellationToken).ConfigureAwait(false);
            }
        }
        else
        {
            exchange = await GetTokenAsync(endpoint, realmUri, challenge.Service, scope, credentials is { HasBasic: true } ? credentials.Username : null, credentials?.Password, cancellationToken).ConfigureAwait(false);
        }

        return exchange;
    }

    private async Task<Exchange> GetTokenAsync(RegistryEndpoint endpoint, Uri realm, string? service, string scope, string? username, string? password, CancellationToken cancellationToken)
    {
        var query = new StringBuilder(realm.Query.TrimStart('?'));
        void Add(string name, string value) => query.Append(query.Length == 0 ? string.Empty : "&").Append(name).Append('=').Append(Uri.EscapeDataString(value));
        if (service is not null)
        {
            Add("service", service);
        }

        Add("scope", scope);
        if (username is not null)
        {
            Add("account", username);
        }

        var uri = new UriBuilder(realm) { Query = query.ToString() }.Uri;
        using var request = NewRequest(HttpMethod.Get, uri, endpoint, null);
        if (username is not null && password is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(username + ":" + password)));
        }

        return await SendAsync(request, endpoint, MaxSmallBodyBytes, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>"auth.docker.io", or "the registry itself (host:port)" when the realm is on the registry's own host and port.</summary>
    private static string RealmName(Uri realm, RegistryEndpoint endpoint)
    {
        var host = realm.IdnHost.Trim('[', ']');
        host = host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host;
        return RegistryText.Line(realm.IsDefaultPort && !endpoint.IsSelf(realm) ? host : $"{host}:{realm.Port}", 120);
    }

    private static string BasicRealm(AuthChallenge basic) => basic.Realm is { } realm ? RegistryText.Line(realm, 80) : "?";

    private static bool TryReadToken(byte[] body, [NotNullWhen(true)] out string? token, out TimeSpan expiresIn, out DateTimeOffset? issuedAt)
    {
        token = null;
        expiresIn = TimeSpan.FromSeconds(60);
        issuedAt = null;
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            foreach (var name in new[] { "token", "access_token" })
            {
                if (root.TryGetProperty(name, out var t) && t.ValueKind == JsonValueKind.String && t.GetString() is { Length: > 0 } value)
                {
                    token = value;
                    break;
                }
            }

            if (root.TryGetProperty("expires_in", out var e) && e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var seconds) && seconds > 0)
            {
                // The spec: a token never has less than 60 s to live; older clients assume 60 s.
                expiresIn = TimeSpan.FromSeconds(Math.Max(seconds, 60));
            }

            if (root.TryGetProperty("issued_at", out var i) && i.ValueKind == JsonValueKind.String
                && DateTimeOffset.TryParse(i.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
            {
                issuedAt = at;
            }

            return token is not null;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static List<string> ReadTags(byte[] body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("tags", out var tags) && tags.ValueKind == JsonValueKind.Array)
            {
                // Only names the tag grammar allows: what a registry lists may end up on a card as a suggestion.
                return tags.EnumerateArray().Where(t => t.ValueKind == JsonValueKind.String).Select(t => t.GetString()!).Where(IsTag).ToList();
            }
        }
        catch (JsonException)
        {
            // an unreadable page lists nothing
        }

        return [];
    }

    /// <summary>RFC 8288 <c>Link: &lt;/v2/app/tags/list?last=b&amp;n=2&gt;; rel="next"</c>, resolved against the current page.</summary>
    internal static Uri? NextLink(string? link, Uri current)
    {
        if (link is null)
        {
            return null;
        }

        foreach (var part in link.Split(','))
        {
            var open = part.IndexOf('<', StringComparison.Ordinal);
            var close = part.IndexOf('>', StringComparison.Ordinal);
            if (open < 0 || close < open || !part[close..].Contains("rel=\"next\"", StringComparison.OrdinalIgnoreCase) && !part[close..].Contains("rel=next", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            return Uri.TryCreate(current, part[(open + 1)..close], out var next) ? next : null;
        }

        return null;
    }

    private static HttpRequestMessage NewRequest(HttpMethod method, Uri uri, RegistryEndpoint endpoint, RegistryAuthorization? authorization)
    {
        var request = new HttpRequestMessage(method, uri);
        request.Options.Set(RegistryHttpHandler.EndpointKey, endpoint);
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("chatopspull", "1.0"));
        if (authorization?.HeaderValue is { } header)
        {
            request.Headers.TryAddWithoutValidation("Authorization", header);
        }

        return request;
    }

    private async Task<Exchange> SendAsync(HttpRequestMessage request, RegistryEndpoint endpoint, int maxBody, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        var fromRegistry = endpoint.IsSelf(response.RequestMessage?.RequestUri ?? request.RequestUri);
        var body = await ReadLimitedAsync(response.Content, maxBody, cancellationToken).ConfigureAwait(false);
        var elapsed = _time.GetElapsedTime(started);
        var challenges = fromRegistry && response.Headers.TryGetValues("WWW-Authenticate", out var values) ? AuthChallenge.Parse(values) : [];
        TimeSpan? retryAfter = response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - _time.GetUtcNow(),
            _ => null,
        };
        var errors = response.IsSuccessStatusCode ? [] : RegistryError.Parse(body);
        var answer = new RegistryAnswer(
            response.StatusCode,
            fromRegistry && response.ReasonPhrase is { Length: > 0 } reason ? RegistryText.Line(reason, 60) : StandardReason(response.StatusCode),
            fromRegistry ? errors : errors.Where(e => e.Code.Length > 0).Select(e => e with { Message = string.Empty }).ToList(),
            challenges,
            RateLimitHeadroom.FromHeaders(response),
            retryAfter,
            elapsed)
        {
            FromRegistry = fromRegistry,
        };
        return new Exchange(
            answer,
            body,
            response.Content.Headers.ContentType?.MediaType,
            response.Headers.TryGetValues("Docker-Content-Digest", out var digests) && digests.FirstOrDefault() is { } digest && IsDigest(digest) ? digest : null,
            response.Content.Headers.ContentLength,
            response.Headers.TryGetValues("Docker-Distribution-API-Version", out var versions) ? versions.FirstOrDefault() : null,
            response.Headers.TryGetValues("Link", out var links) ? string.Join(",", links) : null);
    }

    private static async Task<byte[]> ReadLimitedAsync(HttpContent content, int maxBytes, CancellationToken cancellationToken)
    {
        var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int read;
            while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > maxBytes)
                {
                    throw new HttpRequestException($"the registry sent more than {maxBytes / 1024} KiB where a small JSON document was expected");
                }

                buffer.Write(chunk, 0, read);
            }

            return buffer.ToArray();
        }
    }

    private static string Snippet(byte[] body) => RegistryText.Line(Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 1000)));

    /// <summary>"404 Not Found" words for a status, instead of a reason phrase another host chose.</summary>
    private static string StandardReason(HttpStatusCode status)
    {
        var name = status.ToString();
        if (int.TryParse(name, NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
        {
            return "(no reason)";
        }

        var words = new StringBuilder();
        foreach (var c in name)
        {
            if (char.IsUpper(c) && words.Length > 0)
            {
                words.Append(' ');
            }

            words.Append(c);
        }

        return words.ToString();
    }

    /// <summary>OCI digest grammar: algorithm ":" encoded (sha256:64 hex …), at most 200 characters.</summary>
    internal static bool IsDigest(string value) => value.Length <= 200 && DigestPattern().IsMatch(value);

    /// <summary>The tag grammar: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.</summary>
    internal static bool IsTag(string value) => TagPattern().IsMatch(value);

    [System.Text.RegularExpressions.GeneratedRegex(@"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex DigestPattern();

    [System.Text.RegularExpressions.GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex TagPattern();

    private sealed record Exchange(RegistryAnswer Answer, byte[] Body, string? ContentType, string? ContentDigest, long? ContentLength, string? ApiVersion, string? Link);
}

/// <summary>The /v2/ answer. <see cref="ApiVersion"/> is "registry/2.0" from a Docker/OCI registry.</summary>
public sealed record RegistryPing(RegistryAnswer Answer, string? ApiVersion, string BodySnippet)
{
    /// <summary>It looks like a registry: 200 or 401 on /v2/, or the Docker-Distribution-API-Version header.</summary>
    public bool IsRegistry => Answer.Code is 200 or 401 || ApiVersion is not null;
}

public enum AuthorizationOutcome
{
    /// <summary>The registry is open; nothing is sent.</summary>
    NotNeeded,

    /// <summary>Basic credentials or a registry token are sent; the registry's answer decides.</summary>
    Sent,

    /// <summary>The token service issued a bearer token (its scope may still be empty: the registry decides).</summary>
    TokenIssued,

    /// <summary>Credentials are required and none (or none usable) were given.</summary>
    MissingCredentials,

    /// <summary>The token service rejected the credentials (401).</summary>
    Rejected,

    /// <summary>The token service refused the scope (403).</summary>
    Denied,

    /// <summary>The token service answered 429.</summary>
    RateLimited,

    /// <summary>Anything else: no realm, unsupported scheme, 5xx.</summary>
    Failed,

    /// <summary>The token realm is a place the bot does not go (<see cref="RegistryDestinations"/>): nothing was sent there.</summary>
    Refused,
}

/// <summary>What will be sent to the registry for a pull. The header value is never shown; <see cref="ToString"/> is safe.</summary>
public sealed record RegistryAuthorization(AuthorizationOutcome Outcome, string Scheme, string Detail, RegistryAnswer? TokenAnswer)
{
    internal string? HeaderValue { get; init; }

    internal string? CacheKey { get; init; }

    /// <summary>What was refused when <see cref="Outcome"/> is <see cref="AuthorizationOutcome.Refused"/>.</summary>
    public RefusedDestination? Refusal { get; init; }

    public bool FromCache { get; init; }

    public DateTimeOffset? ExpiresAt { get; init; }

    public bool CanProceed => Outcome is AuthorizationOutcome.NotNeeded or AuthorizationOutcome.Sent or AuthorizationOutcome.TokenIssued;

    public override string ToString() => $"{Scheme}: {Outcome} ({Detail})";
}

/// <param name="Digest">Docker-Content-Digest, or the sha256 of the body when the registry omitted it.</param>
/// <param name="Content">Parsed body (GET only).</param>
public sealed record ManifestResponse(RegistryAnswer Answer, string? Digest, string? MediaType, long? Size, ManifestContent? Content);

/// <param name="Truncated">More tags exist than were listed (pagination stopped at the configured maximum, or a later page failed).</param>
public sealed record TagListResponse(RegistryAnswer Answer, IReadOnlyList<string> Tags, int Pages, bool Truncated);
