using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ChatOpsPull.Chat.Teams.Auth;
using ChatOpsPull.Observability;
using Microsoft.Extensions.Options;
using Polly.Registry;

namespace ChatOpsPull.Chat.Teams;

/// <summary>What the Bot Connector answered. <see cref="Status"/> 0 means no HTTP answer (refused locally, network, timeout).</summary>
/// <param name="Transient">Worth trying again later: 429, 412, 5xx, network, timeout, token endpoint down.</param>
/// <param name="Error">The Bot Connector's error body (code and message) or what went wrong locally; never a token.</param>
public sealed record ConnectorResponse(int Status, JsonNode? Body, bool Transient, TimeSpan? RetryAfter, string? Error)
{
    public bool IsSuccess => Status is >= 200 and < 300;
}

/// <summary>
/// The Bot Connector REST API (v3), spoken directly: send to a conversation, update an activity in place,
/// create a conversation (a new thread in a channel). Each call carries the bot's client-credentials token.
/// Calls go only to a serviceUrl on <see cref="TeamsOptions.AllowedServiceUrlHosts"/> (https, or http on loopback
/// for the local stand-in). The only retry is the <see cref="TeamsConnectorRetry"/> pipeline's one fresh token after a
/// 401; everything else goes back to the outbox, which owns retries and pacing, so a POST is never sent twice blindly.
/// </summary>
public sealed partial class TeamsConnectorClient(
    HttpClient http,
    BotTokenSource tokens,
    ResiliencePipelineProvider<string> pipelines,
    IOptions<TeamsOptions> options,
    TimeProvider time,
    BotMetrics metrics,
    ILogger<TeamsConnectorClient> logger)
{
    private const int MaxErrorChars = 600;

    public Task<ConnectorResponse> SendToConversationAsync(string serviceUrl, string conversationId, JsonObject activity, CancellationToken cancellationToken) =>
        CallAsync(HttpMethod.Post, serviceUrl, $"v3/conversations/{Uri.EscapeDataString(conversationId)}/activities", activity, cancellationToken);

    public Task<ConnectorResponse> UpdateActivityAsync(string serviceUrl, string conversationId, string activityId, JsonObject activity, CancellationToken cancellationToken) =>
        CallAsync(HttpMethod.Put, serviceUrl, $"v3/conversations/{Uri.EscapeDataString(conversationId)}/activities/{Uri.EscapeDataString(activityId)}", activity, cancellationToken);

    public Task<ConnectorResponse> CreateConversationAsync(string serviceUrl, JsonObject parameters, CancellationToken cancellationToken) =>
        CallAsync(HttpMethod.Post, serviceUrl, "v3/conversations", parameters, cancellationToken);

    /// <summary>Whether the bot may call this serviceUrl at all.</summary>
    public bool IsTrusted(string serviceUrl) => IsTrusted(options.Value, serviceUrl);

    public static bool IsTrusted(TeamsOptions settings, string? serviceUrl) =>
        TeamsOptions.IsSafeUrl(serviceUrl)
        && Uri.TryCreate(serviceUrl, UriKind.Absolute, out var uri)
        && string.IsNullOrEmpty(uri.UserInfo) && string.IsNullOrEmpty(uri.Query) && string.IsNullOrEmpty(uri.Fragment)
        && settings.AllowedServiceUrlHosts.Exists(h => string.Equals(h, uri.Host, StringComparison.OrdinalIgnoreCase));

    private async Task<ConnectorResponse> CallAsync(HttpMethod method, string serviceUrl, string path, JsonObject body, CancellationToken cancellationToken)
    {
        if (!IsTrusted(serviceUrl))
        {
            LogUntrusted(logger, serviceUrl);
            return new ConnectorResponse(0, null, false, null, $"serviceUrl {serviceUrl} is not on Teams:AllowedServiceUrlHosts; nothing was sent");
        }

        var target = new Uri(serviceUrl.TrimEnd('/') + "/" + path);
        var json = body.ToJsonString();
        return await pipelines.GetPipeline<ConnectorResponse>(TeamsConnectorRetry.PipelineName).ExecuteAsync(
            static (state, token) => new ValueTask<ConnectorResponse>(state.client.SendOnceAsync(state.method, state.target, state.json, token)),
            (client: this, method, target, json),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One try: the bot's token, then the request.</summary>
    private async Task<ConnectorResponse> SendOnceAsync(HttpMethod method, Uri target, string json, CancellationToken cancellationToken)
    {
        var token = await tokens.GetAsync(cancellationToken).ConfigureAwait(false);
        if (token.Token is null)
        {
            return new ConnectorResponse(0, null, token.Transient, null, token.Error);
        }

        using var request = new HttpRequestMessage(method, target)
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Token);
        HttpResponseMessage response;
        var started = time.GetTimestamp();
        try
        {
            response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            LogNoAnswer(logger, method.Method, target.AbsolutePath, e.GetType().Name);
            return new ConnectorResponse(0, null, true, null, $"no answer from the Bot Connector ({e.GetType().Name})");
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            var elapsed = time.GetElapsedTime(started).TotalMilliseconds;
            LogCall(logger, method.Method, target.AbsolutePath, status, elapsed);
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                return new ConnectorResponse(status, TryParse(text), false, null, null);
            }

            var transient = status is 429 or 412 or >= 500;
            if (status == 429)
            {
                metrics.ChatThrottled("teams");
            }

            return new ConnectorResponse(status, null, transient, RetryAfter(response), $"HTTP {status}: {Shorten(text)}");
        }
    }

    private TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta;
        }

        if (header?.Date is { } date)
        {
            var wait = date - time.GetUtcNow();
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }

        return null;
    }

    private static JsonNode? TryParse(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Shorten(string text)
    {
        var flat = text.ReplaceLineEndings(" ").Trim();
        return flat.Length <= MaxErrorChars ? flat : flat[..MaxErrorChars] + string.Create(CultureInfo.InvariantCulture, $"… ({flat.Length} chars)");
    }

    [LoggerMessage(EventId = 3020, Level = LogLevel.Debug, Message = "Teams: {Method} {Path} → {Status} in {Milliseconds:F0} ms")]
    private static partial void LogCall(ILogger logger, string method, string path, int status, double milliseconds);

    [LoggerMessage(EventId = 3021, Level = LogLevel.Warning, Message = "Teams: {Method} {Path} got no answer ({Error})")]
    private static partial void LogNoAnswer(ILogger logger, string method, string path, string error);

    [LoggerMessage(EventId = 3022, Level = LogLevel.Error, Message = "Teams: refused to call untrusted serviceUrl {ServiceUrl}")]
    private static partial void LogUntrusted(ILogger logger, string serviceUrl);
}
