using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Tokens;

namespace ChatOpsPull.Chat.Teams.Auth;

public enum TokenOutcome
{
    Valid,

    /// <summary>The token fails a documented requirement: answer 401, process nothing.</summary>
    Rejected,

    /// <summary>The signing keys could not be fetched: nothing can be verified, answer 503.</summary>
    KeysUnavailable,
}

/// <param name="Reason">Which requirement failed, for the log and the 401 body. Never holds the token.</param>
public sealed record TokenCheck(TokenOutcome Outcome, string Reason)
{
    public static TokenCheck Valid { get; } = new(TokenOutcome.Valid, "valid");

    public static TokenCheck Reject(string reason) => new(TokenOutcome.Rejected, reason);
}

/// <summary>
/// Verifies the JWT the Bot Connector puts on every call to <c>/api/messages</c>, as "Authentication with the Bot
/// Connector API" documents it: Bearer scheme; issuer https://api.botframework.com; audience = the bot's App ID;
/// not expired (5 minutes clock skew); signed with an algorithm from <c>id_token_signing_alg_values_supported</c> by
/// a key from the <c>jwks_uri</c> document; the <c>serviceUrl</c> claim equals the activity's serviceUrl; the
/// signing key's <c>endorsements</c> include the activity's <c>channelId</c>. Keys are cached by
/// <see cref="ConfigurationManager{T}"/> (refreshed every 12 hours) and a token signed by an unknown <c>kid</c>
/// forces one refresh (at most one per <see cref="BaseConfigurationManager.RefreshInterval"/>).
/// Emulator tokens are a second, opt-in path (<see cref="TeamsOptions.AcceptEmulatorTokens"/>).
/// </summary>
public sealed partial class BotFrameworkTokenValidator
{
    public const string HttpClientName = "teams-openid";

    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan ForcedRefreshInterval = TimeSpan.FromMinutes(1);

    private readonly object _refreshGate = new();
    private readonly Dictionary<object, DateTimeOffset> _lastForcedRefresh = [];

    private readonly TeamsOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<BotFrameworkTokenValidator> _logger;
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };
    private readonly ConfigurationManager<BotFrameworkSigningKeys> _channelKeys;
    private readonly ConfigurationManager<BotFrameworkSigningKeys>? _emulatorKeys;
    private readonly HashSet<string> _emulatorIssuers;

    public BotFrameworkTokenValidator(IOptions<TeamsOptions> options, TimeProvider time, IHttpClientFactory httpClients, ILogger<BotFrameworkTokenValidator> logger)
    {
        _options = options.Value;
        _time = time;
        _logger = logger;
        var documents = new HttpDocumentRetriever(httpClients.CreateClient(HttpClientName)) { RequireHttps = false };
        _channelKeys = new ConfigurationManager<BotFrameworkSigningKeys>(_options.OpenIdMetadataUrl, new BotFrameworkSigningKeysRetriever(), documents)
        {
            AutomaticRefreshInterval = TimeSpan.FromHours(12),
            RefreshInterval = ForcedRefreshInterval,
        };
        _emulatorIssuers = new HashSet<string>(StringComparer.Ordinal);
        if (_options.AcceptEmulatorTokens)
        {
            _emulatorKeys = new ConfigurationManager<BotFrameworkSigningKeys>(_options.EmulatorOpenIdMetadataUrl, new BotFrameworkSigningKeysRetriever(), documents)
            {
                AutomaticRefreshInterval = TimeSpan.FromHours(12),
                RefreshInterval = ForcedRefreshInterval,
            };
            foreach (var tenant in new[] { TeamsOptions.BotFrameworkTenantId, _options.TenantId })
            {
                if (!string.IsNullOrWhiteSpace(tenant))
                {
                    _emulatorIssuers.Add($"https://sts.windows.net/{tenant}/");
                    _emulatorIssuers.Add($"https://login.microsoftonline.com/{tenant}/v2.0");
                }
            }
        }
    }

    /// <summary>Checks the Authorization header of one inbound activity against that activity's serviceUrl and channelId.</summary>
    public async Task<TokenCheck> ValidateAsync(string? authorization, string? activityServiceUrl, string? activityChannelId, CancellationToken cancellationToken)
    {
        var check = await CheckAsync(authorization, activityServiceUrl, activityChannelId, cancellationToken).ConfigureAwait(false);
        if (check.Outcome != TokenOutcome.Valid)
        {
            LogRejected(_logger, check.Outcome, check.Reason);
        }

        return check;
    }

    private async Task<TokenCheck> CheckAsync(string? authorization, string? serviceUrl, string? channelId, CancellationToken cancellationToken)
    {
        const string bearer = "Bearer ";
        if (string.IsNullOrEmpty(authorization) || !authorization.StartsWith(bearer, StringComparison.Ordinal))
        {
            return TokenCheck.Reject("the Authorization header must carry a Bearer token");
        }

        var raw = authorization[bearer.Length..].Trim();
        if (!TryRead(raw, out var jwt))
        {
            return TokenCheck.Reject("the bearer token is not a well-formed JWT");
        }

        if (string.IsNullOrEmpty(jwt.Kid))
        {
            return TokenCheck.Reject("the token names no signing key (kid)");
        }

        var emulator = _emulatorKeys is not null && _emulatorIssuers.Contains(jwt.Issuer);
        var manager = emulator ? _emulatorKeys! : _channelKeys;
        BotFrameworkSigningKeys keys;
        try
        {
            keys = await manager.GetConfigurationAsync(cancellationToken).ConfigureAwait(false);
            if (!keys.Keys.ContainsKey(jwt.Kid))
            {
                keys = await RefreshOnceAsync(manager, keys, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (InvalidOperationException e)
        {
            LogKeysUnavailable(_logger, manager.MetadataAddress, e.Message);
            return new TokenCheck(TokenOutcome.KeysUnavailable, "the Bot Connector's signing keys could not be fetched");
        }

        if (!keys.Keys.TryGetValue(jwt.Kid, out var signingKey))
        {
            return TokenCheck.Reject("the token is signed by a key the Bot Connector does not publish");
        }

        var parameters = new TokenValidationParameters
        {
            ValidIssuers = emulator ? _emulatorIssuers : [_options.Issuer],
            ValidAudience = _options.MicrosoftAppId,
            IssuerSigningKey = signingKey.Key,
            TryAllIssuerSigningKeys = false,
            ValidAlgorithms = keys.Algorithms,
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            ValidateLifetime = true,
            ValidateIssuer = true,
            ValidateAudience = true,
            ClockSkew = ClockSkew,
            LifetimeValidator = IsWithinLifetime,
        };
        var result = await _handler.ValidateTokenAsync(raw, parameters).ConfigureAwait(false);
        if (!result.IsValid)
        {
            return TokenCheck.Reject(Describe(result.Exception));
        }

        if (emulator)
        {
            // Emulator tokens carry the bot's own App ID as appid (v1) or azp (v2).
            var version = Claim(result, "ver");
            var caller = version == "2.0" ? Claim(result, "azp") : Claim(result, "appid");
            return caller == _options.MicrosoftAppId
                ? TokenCheck.Valid
                : TokenCheck.Reject("the Emulator token was not minted for this bot's App ID");
        }

        var claimedServiceUrl = Claim(result, "serviceurl") ?? Claim(result, "serviceUrl");
        if (string.IsNullOrEmpty(serviceUrl) || !string.Equals(claimedServiceUrl, serviceUrl, StringComparison.OrdinalIgnoreCase))
        {
            return TokenCheck.Reject("the token's serviceUrl claim does not match the activity's serviceUrl");
        }

        if (string.IsNullOrEmpty(channelId) || !signingKey.Endorsements.Contains(channelId, StringComparer.Ordinal))
        {
            return TokenCheck.Reject($"the signing key is not endorsed for channel \"{Printable(channelId)}\"");
        }

        return TokenCheck.Valid;
    }

    /// <summary>
    /// Keys roll over: a token signed by an unknown kid makes the manager fetch the keys again, at most once per
    /// <see cref="ForcedRefreshInterval"/> (so random kids cannot make the bot hammer the metadata endpoint).
    /// <see cref="ConfigurationManager{T}.RequestRefresh"/> refreshes in the background, so wait briefly for it.
    /// </summary>
    private async Task<BotFrameworkSigningKeys> RefreshOnceAsync(ConfigurationManager<BotFrameworkSigningKeys> manager, BotFrameworkSigningKeys current, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        lock (_refreshGate)
        {
            if (_lastForcedRefresh.TryGetValue(manager, out var last) && now - last < ForcedRefreshInterval)
            {
                return current;
            }

            _lastForcedRefresh[manager] = now;
        }

        manager.RequestRefresh();
        var deadline = _time.GetUtcNow() + TimeSpan.FromSeconds(5);
        while (true)
        {
            var keys = await manager.GetConfigurationAsync(cancellationToken).ConfigureAwait(false);
            if (!ReferenceEquals(keys, current) || _time.GetUtcNow() >= deadline)
            {
                return keys;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(25), _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Not expired and already valid, with 5 minutes of clock skew, on the injected clock.</summary>
    private bool IsWithinLifetime(DateTime? notBefore, DateTime? expires, SecurityToken token, TokenValidationParameters parameters)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        return expires is { } exp && now <= exp.ToUniversalTime() + ClockSkew
               && (notBefore is not { } nbf || now >= nbf.ToUniversalTime() - ClockSkew);
    }

    private static bool TryRead(string raw, [NotNullWhen(true)] out JsonWebToken? jwt)
    {
        jwt = null;
        if (raw.Length is 0 or > 16 * 1024)
        {
            return false;
        }

        try
        {
            jwt = new JsonWebToken(raw);
            return true;
        }
        catch (Exception e) when (e is ArgumentException or SecurityTokenException or FormatException or System.Text.Json.JsonException)
        {
            return false;
        }
    }

    private static string? Claim(TokenValidationResult result, string name) =>
        result.Claims.TryGetValue(name, out var value) ? value?.ToString() : null;

    private static string Describe(Exception? exception) => exception switch
    {
        SecurityTokenExpiredException => "the token has expired",
        SecurityTokenInvalidLifetimeException => "the token has expired, is not valid yet or has no expiry",
        SecurityTokenNotYetValidException => "the token is not valid yet",
        SecurityTokenNoExpirationException => "the token has no expiry",
        SecurityTokenInvalidAudienceException => "the token's audience is not this bot's App ID",
        SecurityTokenInvalidIssuerException => "the token's issuer is not the Bot Connector",
        SecurityTokenInvalidAlgorithmException => "the token is signed with an algorithm the Bot Connector does not use",
        SecurityTokenInvalidSignatureException or SecurityTokenSignatureKeyNotFoundException => "the token's signature does not verify",
        SecurityTokenMalformedException => "the bearer token is not a well-formed JWT",
        _ => "the token failed validation",
    };

    private static string Printable(string? value) =>
        value is null ? string.Empty : new string(value.Take(40).Where(c => !char.IsControl(c)).ToArray());

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Teams: refused an inbound activity ({Outcome}): {Reason}")]
    private static partial void LogRejected(ILogger logger, TokenOutcome outcome, string reason);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Error, Message = "Teams: could not fetch signing keys from {MetadataAddress}: {Error}")]
    private static partial void LogKeysUnavailable(ILogger logger, string metadataAddress, string error);
}
