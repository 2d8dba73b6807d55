using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ChatOpsPull.Chat.Outbox;
using ChatOpsPull.Observability;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Chat.Slack;

public enum SlackCallOutcome
{
    Ok,

    /// <summary>HTTP 429 or "ratelimited": wait <see cref="SlackApiResult.RetryAfter"/>.</summary>
    RateLimited,

    /// <summary>5xx, timeouts, connection errors, Slack's internal_error/fatal_error/service_unavailable: try again later.</summary>
    Transient,

    /// <summary>Slack said no for a reason that will not change by itself (channel_not_found, invalid_blocks, invalid_auth …).</summary>
    Refused,
}

/// <summary>The answer to one Web API call or response_url post.</summary>
public sealed record SlackApiResult(SlackCallOutcome Outcome, int StatusCode, string? Error, TimeSpan? RetryAfter, JsonObject? Body)
{
    public bool Ok => Outcome == SlackCallOutcome.Ok;

    /// <summary>The message timestamp chat.postMessage / chat.update answered with.</summary>
    public string? Ts => Body?["ts"] is JsonValue value && value.TryGetValue<string>(out var ts) ? ts : null;

    public DeliveryResult ToDelivery() => Outcome switch
    {
        SlackCallOutcome.Ok => DeliveryResult.Delivered,
        SlackCallOutcome.RateLimited => new DeliveryResult(DeliveryOutcome.Retry, RetryAfter ?? TimeSpan.FromSeconds(1), Error ?? "ratelimited"),
        SlackCallOutcome.Transient => new DeliveryResult(DeliveryOutcome.Retry, null, Error),
        SlackCallOutcome.Refused => new DeliveryResult(DeliveryOutcome.Failed, null, Error),
        _ => throw new ArgumentOutOfRangeException(nameof(Outcome), Outcome, "unknown outcome"),
    };
}

/// <summary>
/// The Slack Web API spoken directly (typed HttpClient). The bot token is added per request and never logged; response
/// URLs are capabilities too and are not logged either. No automatic retries here: the outbox decides when to try again
/// (a blind retry of chat.postMessage would post twice).
/// </summary>
public sealed partial class SlackApiClient(HttpClient http, IOptionsMonitor<SlackOptions> options, BotMetrics metrics, ILogger<SlackApiClient> log)
{
    private const int MaxResponseBytes = 1 << 20;

    /// <summary>Errors that go away by themselves; everything else Slack answers with ok:false is permanent.</summary>
    private static readonly HashSet<string> TransientErrors = new(StringComparer.Ordinal)
    {
        "internal_error", "fatal_error", "service_unavailable", "request_timeout", "timeout",
    };

    /// <summary>A JSON Web API call with the bot token (chat.postMessage, chat.update, chat.postEphemeral …).</summary>
    public Task<SlackApiResult> CallAsync(string method, JsonObject body, CancellationToken cancellationToken)
    {
        var content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        return SendAsync(method, content, options.CurrentValue.BotToken, cancellationToken);
    }

    /// <summary>A form-encoded Web API call (read methods such as usergroups.list take no JSON bodies).</summary>
    public Task<SlackApiResult> CallFormAsync(string method, IEnumerable<KeyValuePair<string, string>> form, CancellationToken cancellationToken) =>
        SendAsync(method, new FormUrlEncodedContent(form), options.CurrentValue.BotToken, cancellationToken);

    /// <summary>apps.connections.open with the app-level token: a fresh single-use WebSocket URL for Socket Mode.</summary>
    public Task<SlackApiResult> OpenConnectionAsync(CancellationToken cancellationToken) =>
        SendAsync("apps.connections.open", new FormUrlEncodedContent([]), options.CurrentValue.AppToken, cancellationToken);

    /// <summary>True when <paramref name="responseUrl"/> may be followed (it starts with a configured prefix).</summary>
    public bool IsAllowedResponseUrl(string? responseUrl) =>
        !string.IsNullOrEmpty(responseUrl)
        && Uri.TryCreate(responseUrl, UriKind.Absolute, out var uri)
        && uri.Scheme is "https" or "http"
        && options.CurrentValue.EffectiveResponseUrlPrefixes.Any(p => responseUrl.StartsWith(p, StringComparison.OrdinalIgnoreCase));

    /// <summary>Posts a message to a response_url (no token: the URL is the credential).</summary>
    public async Task<SlackApiResult> PostToResponseUrlAsync(string responseUrl, JsonObject body, CancellationToken cancellationToken)
    {
        if (!IsAllowedResponseUrl(responseUrl))
        {
            return new SlackApiResult(SlackCallOutcome.Refused, 0, "response_url_not_allowed", null, null);
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, responseUrl)
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        return await ExchangeAsync("response_url", request, cancellationToken).ConfigureAwait(false);
    }

    private async Task<SlackApiResult> SendAsync(string method, HttpContent content, string? token, CancellationToken cancellationToken)
    {
        if (!MethodName().IsMatch(method))
        {
            content.Dispose();
            throw new ArgumentException($"'{method}' is not a Slack Web API method name", nameof(method));
        }

        if (string.IsNullOrEmpty(token))
        {
            content.Dispose();
            return new SlackApiResult(SlackCallOutcome.Refused, 0, "not_authed", null, null);
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(options.CurrentValue.ApiBaseUrl, method)) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await ExchangeAsync(method, request, cancellationToken).ConfigureAwait(false);
    }

    private async Task<SlackApiResult> ExchangeAsync(string method, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            LogCallFailed(log, method, "timeout");
            return new SlackApiResult(SlackCallOutcome.Transient, 0, "timeout", null, null);
        }
        catch (HttpRequestException ex)
        {
            var error = "connection_failed: " + (ex.HttpRequestError.ToString());
            LogCallFailed(log, method, error);
            return new SlackApiResult(SlackCallOutcome.Transient, 0, error, null, null);
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            string text;
            try
            {
                text = await ReadLimitedAsync(response.Content, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or InvalidDataException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                LogCallFailed(log, method, "unreadable response");
                return new SlackApiResult(SlackCallOutcome.Transient, status, "unreadable_response", null, null);
            }

            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                var retryAfter = RetryAfter(response) ?? TimeSpan.FromSeconds(1);
                LogRateLimited(log, method, (long)retryAfter.TotalMilliseconds);
                metrics.ChatThrottled("slack");
                return new SlackApiResult(SlackCallOutcome.RateLimited, status, "ratelimited", retryAfter, null);
            }

            if (status >= 500)
            {
                LogCallFailed(log, method, $"HTTP {status}");
                return new SlackApiResult(SlackCallOutcome.Transient, status, $"http_{status}", null, null);
            }

            var body = ParseObject(text);
            if (status >= 400)
            {
                var error = body?["error"]?.GetValueKind() == JsonValueKind.String ? body["error"]!.GetValue<string>() : Sanitize(text, status);
                LogCallFailed(log, method, error);
                return new SlackApiResult(SlackCallOutcome.Refused, status, error, null, body);
            }

            if (body is null)
            {
                // response_url answers 200 with a plain "ok"; the Web API always answers JSON.
                if (method == "response_url")
                {
                    return new SlackApiResult(SlackCallOutcome.Ok, status, null, null, null);
                }

                LogCallFailed(log, method, "not JSON");
                return new SlackApiResult(SlackCallOutcome.Transient, status, "unexpected_response", null, null);
            }

            if (body["ok"]?.GetValueKind() == JsonValueKind.True || (method == "response_url" && body["ok"] is null))
            {
                return new SlackApiResult(SlackCallOutcome.Ok, status, null, null, body);
            }

            var slackError = body["error"]?.GetValueKind() == JsonValueKind.String ? body["error"]!.GetValue<string>() : "unknown_error";
            if (slackError == "ratelimited")
            {
                var retryAfter = RetryAfter(response) ?? TimeSpan.FromSeconds(1);
                LogRateLimited(log, method, (long)retryAfter.TotalMilliseconds);
                metrics.ChatThrottled("slack");
                return new SlackApiResult(SlackCallOutcome.RateLimited, status, slackError, retryAfter, body);
            }

            var outcome = TransientErrors.Contains(slackError) ? SlackCallOutcome.Transient : SlackCallOutcome.Refused;
            LogSlackError(log, method, slackError, Detail(body));
            return new SlackApiResult(outcome, status, slackError, null, body);
        }
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        if (response.Headers.RetryAfter is { } header)
        {
            if (header.Delta is { } delta)
            {
                return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
            }

            if (header.Date is { } date)
            {
                var wait = date - DateTimeOffset.UtcNow;
                return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
            }
        }

        return response.Headers.TryGetValues("Retry-After", out var values)
            && int.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            ? TimeSpan.FromSeconds(seconds)
            : null;
    }

    private static async Task<string> ReadLimitedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        await using var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var buffer = new byte[MaxResponseBytes + 1];
        var total = 0;
        int read;
        while (total < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken).ConfigureAwait(false)) > 0)
        {
            total += read;
        }

        if (total > MaxResponseBytes)
        {
            throw new InvalidDataException("Slack's answer is larger than 1 MiB");
        }

        return Encoding.UTF8.GetString(buffer, 0, total);
    }

    private static JsonObject? ParseObject(string text)
    {
        if (string.IsNullOrWhiteSpace(text) || text.TrimStart()[0] != '{')
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(text) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The short error word a response_url answers with ("expired_url", "used_url"), never echoing anything long.</summary>
    private static string Sanitize(string text, int status)
    {
        var trimmed = text.Trim();
        return trimmed.Length is > 0 and <= 64 && ErrorWord().IsMatch(trimmed) ? trimmed : $"http_{status}";
    }

    /// <summary>invalid_blocks and friends say what was wrong in response_metadata.messages.</summary>
    private static string Detail(JsonObject body) =>
        body["response_metadata"]?["messages"] is JsonArray messages
            ? string.Join("; ", messages.Select(m => m?.ToString()).Take(5))
            : string.Empty;

    [GeneratedRegex("^[a-zA-Z]+(\\.[a-zA-Z]+)+$", RegexOptions.CultureInvariant)]
    private static partial Regex MethodName();

    [GeneratedRegex("^[a-z_]+$", RegexOptions.CultureInvariant)]
    private static partial Regex ErrorWord();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slack {Method} failed: {Error}")]
    private static partial void LogCallFailed(ILogger logger, string method, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Slack {Method} rate limited; Retry-After {RetryAfterMs} ms")]
    private static partial void LogRateLimited(ILogger logger, string method, long retryAfterMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slack {Method} answered error {SlackError} {Detail}")]
    private static partial void LogSlackError(ILogger logger, string method, string slackError, string detail);
}
