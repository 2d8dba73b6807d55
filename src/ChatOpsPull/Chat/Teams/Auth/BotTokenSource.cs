using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Chat.Teams.Auth;

/// <param name="Token">The access token; null when <see cref="Error"/> says why not. Never logged.</param>
/// <param name="Transient">True when asking again later may work (5xx, timeout).</param>
public sealed record BotToken(string? Token, string? Error, bool Transient);

/// <summary>
/// The bot's own access token for the Bot Connector: OAuth 2.0 client credentials against the Microsoft identity
/// platform (scope https://api.botframework.com/.default), cached until 5 minutes before it expires.
/// The token and the client secret never reach a log line or an error message.
/// A singleton (the cache must outlive one request); it takes a fresh client from the factory for each call.
/// </summary>
public sealed partial class BotTokenSource(IHttpClientFactory httpClients, IOptions<TeamsOptions> options, TimeProvider time, ILogger<BotTokenSource> logger) : IDisposable
{
    public const string HttpClientName = "teams-token";

    private static readonly TimeSpan RenewBefore = TimeSpan.FromMinutes(5);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private string? _token;
    private DateTimeOffset _renewAt;

    public async Task<BotToken> GetAsync(CancellationToken cancellationToken)
    {
        if (_token is not null && time.GetUtcNow() < _renewAt)
        {
            return new BotToken(_token, null, false);
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_token is not null && time.GetUtcNow() < _renewAt)
            {
                return new BotToken(_token, null, false);
            }

            return await RequestAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();

    /// <summary>Forgets the cached token (the Bot Connector answered 401 with it).</summary>
    public void Invalidate() => _token = null;

    private async Task<BotToken> RequestAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = settings.MicrosoftAppId ?? string.Empty,
            ["client_secret"] = settings.MicrosoftAppPassword ?? string.Empty,
            ["scope"] = settings.Scope,
        });
        var http = httpClients.CreateClient(HttpClientName);
        HttpResponseMessage response;
        try
        {
            response = await http.PostAsync(new Uri(settings.EffectiveTokenEndpoint), form, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            LogTokenFailed(logger, settings.EffectiveTokenEndpoint, e.GetType().Name);
            return new BotToken(null, $"token endpoint unreachable ({e.GetType().Name})", true);
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                var code = await ReadErrorCodeAsync(response, cancellationToken).ConfigureAwait(false);
                LogTokenRefused(logger, (int)response.StatusCode, code);
                var transient = (int)response.StatusCode >= 500 || (int)response.StatusCode == 429;
                return new BotToken(null, $"token endpoint answered {(int)response.StatusCode} {code}", transient);
            }

            TokenResponse? body;
            try
            {
                body = await response.Content.ReadFromJsonAsync<TokenResponse>(cancellationToken).ConfigureAwait(false);
            }
            catch (JsonException)
            {
                body = null;
            }

            if (body?.AccessToken is not { Length: > 0 } token || body.ExpiresIn <= 0)
            {
                return new BotToken(null, "token endpoint answered without an access_token/expires_in", true);
            }

            _token = token;
            var lifetime = TimeSpan.FromSeconds(body.ExpiresIn);
            _renewAt = time.GetUtcNow() + (lifetime > RenewBefore ? lifetime - RenewBefore : TimeSpan.Zero);
            LogTokenIssued(logger, body.ExpiresIn);
            return new BotToken(token, null, false);
        }
    }

    /// <summary>Only the OAuth error code ("invalid_client"), never the description (it may echo input).</summary>
    private static async Task<string> ReadErrorCodeAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var error = await response.Content.ReadFromJsonAsync<TokenError>(cancellationToken).ConfigureAwait(false);
            return error?.Error is { Length: > 0 and <= 64 } code && code.All(c => char.IsAsciiLetterOrDigit(c) || c == '_') ? code : "error";
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException)
        {
            return "error";
        }
    }

    private sealed record TokenResponse(
        [property: JsonPropertyName("access_token")] string? AccessToken,
        [property: JsonPropertyName("expires_in")] int ExpiresIn);

    private sealed record TokenError([property: JsonPropertyName("error")] string? Error);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Debug, Message = "Teams: got a Bot Connector token valid for {Seconds} s")]
    private static partial void LogTokenIssued(ILogger logger, int seconds);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Error, Message = "Teams: the token endpoint refused the bot's credentials: HTTP {Status} {Code}")]
    private static partial void LogTokenRefused(ILogger logger, int status, string code);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Warning, Message = "Teams: token endpoint {Endpoint} unreachable ({Error})")]
    private static partial void LogTokenFailed(ILogger logger, string endpoint, string error);
}
