using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using ChatOpsPull.Chat.Outbox;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Chat.Slack;

/// <summary>
/// Uploads a file (a digest chart) into a card's thread with Slack's external upload flow, through the outbox:
/// <c>files.getUploadURLExternal</c> (filename, length, alt_txt; form-encoded) → POST the raw bytes to the upload URL it
/// returns (no token: the URL is the credential) → <c>files.completeUploadExternal</c> with the file id, title,
/// <c>channel_id</c> and the card's <c>thread_ts</c>. Any step that fails sends the whole row through the outbox's
/// retry rules again (an upload that never completes is discarded by Slack). Needs the bot scope <c>files:write</c>.
/// </summary>
public sealed partial class SlackFileUpload(
    HttpClient http,
    SlackApiClient api,
    SlackCardMessages cards,
    IChatOutbox outbox,
    IOptionsMonitor<SlackOptions> options,
    ILogger<SlackFileUpload> log)
{
    /// <summary>The outbox operation of an upload row.</summary>
    public const string Operation = "slack.file_upload";

    /// <summary>Slack's limit on alt_txt (alt_txt_too_large).</summary>
    public const int MaxAltText = 1000;

    /// <summary>We never upload more than this (charts are tens of kilobytes).</summary>
    public const long MaxBytes = 10 * 1024 * 1024;

    /// <summary>Queues the upload of <paramref name="filePath"/> into the thread of card <paramref name="cardKey"/> (or the channel when the card has no message).</summary>
    public async Task EnqueueAsync(string channelId, string cardKey, string filePath, string title, string altText, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(channelId);
        ArgumentException.ThrowIfNullOrEmpty(filePath);
        if (!options.CurrentValue.IsConfigured)
        {
            LogNotConfigured(log, cardKey, channelId);
            return;
        }

        var body = new JsonObject
        {
            ["file"] = filePath,
            ["filename"] = Path.GetFileName(filePath),
            ["title"] = title,
            ["alt_txt"] = altText.Length > MaxAltText ? altText[..MaxAltText] : altText,
        };
        var payload = new SlackOutboxPayload(body, CardKey: cardKey);
        await outbox.EnqueueAsync(ChatPlatform.Slack, channelId, Operation, payload.Serialize(), $"slack.file:{channelId}:{cardKey}:{Path.GetFileName(filePath)}", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends one upload row (called by the Slack outbox delivery).</summary>
    public async Task<DeliveryResult> DeliverAsync(string channel, SlackOutboxPayload payload, CancellationToken cancellationToken)
    {
        var path = Text(payload.Body, "file");
        var filename = Text(payload.Body, "filename") ?? "chart.png";
        if (path is null || !File.Exists(path))
        {
            return new DeliveryResult(DeliveryOutcome.Failed, null, "the file to upload is gone");
        }

        var bytes = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        if (bytes.Length == 0 || bytes.Length > MaxBytes)
        {
            return new DeliveryResult(DeliveryOutcome.Failed, null, $"the file to upload has {bytes.Length} bytes");
        }

        var form = new List<KeyValuePair<string, string>>
        {
            new("filename", filename),
            new("length", bytes.Length.ToString(CultureInfo.InvariantCulture)),
        };
        if (Text(payload.Body, "alt_txt") is { Length: > 0 } alt)
        {
            form.Add(new("alt_txt", alt));
        }

        var reserved = await api.CallFormAsync("files.getUploadURLExternal", form, cancellationToken).ConfigureAwait(false);
        if (!reserved.Ok)
        {
            return reserved.ToDelivery();
        }

        var uploadUrl = reserved.Body is { } answer ? Text(answer, "upload_url") : null;
        var fileId = reserved.Body is { } answer2 ? Text(answer2, "file_id") : null;
        if (uploadUrl is null || fileId is null || !IsAllowedUploadUrl(uploadUrl))
        {
            LogBadUploadUrl(log, channel);
            return new DeliveryResult(DeliveryOutcome.Failed, null, "files.getUploadURLExternal answered without a usable upload_url");
        }

        var uploaded = await PostBytesAsync(uploadUrl, bytes, cancellationToken).ConfigureAwait(false);
        if (uploaded.Outcome != DeliveryOutcome.Delivered)
        {
            return uploaded;
        }

        var complete = new JsonObject
        {
            ["files"] = new JsonArray(new JsonObject { ["id"] = fileId, ["title"] = Text(payload.Body, "title") ?? filename }),
            ["channel_id"] = channel,
        };
        var threadTs = payload.CardKey is null ? null : await cards.FindTsAsync(channel, payload.CardKey, cancellationToken).ConfigureAwait(false);
        if (threadTs is not null)
        {
            complete["thread_ts"] = threadTs;
        }

        return (await api.CallAsync("files.completeUploadExternal", complete, cancellationToken).ConfigureAwait(false)).ToDelivery();
    }

    /// <summary>Upload URLs are https (files.slack.com), or on the configured API host itself (a local stand-in in tests).</summary>
    public bool IsAllowedUploadUrl(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return false;
        }

        var api = options.CurrentValue.ApiBaseUrl;
        return uri.Scheme == Uri.UriSchemeHttps
            || (uri.Scheme == api.Scheme && string.Equals(uri.Host, api.Host, StringComparison.OrdinalIgnoreCase) && uri.Port == api.Port);
    }

    private async Task<DeliveryResult> PostBytesAsync(string uploadUrl, byte[] bytes, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        try
        {
            using var response = await http.PostAsync(new Uri(uploadUrl), content, cancellationToken).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            if (response.IsSuccessStatusCode)
            {
                return DeliveryResult.Delivered;
            }

            LogUploadFailed(log, status);
            return status == 429 || status >= 500
                ? new DeliveryResult(DeliveryOutcome.Retry, response.Headers.RetryAfter?.Delta, $"upload answered HTTP {status}")
                : new DeliveryResult(DeliveryOutcome.Failed, null, $"upload answered HTTP {status}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new DeliveryResult(DeliveryOutcome.Retry, null, "upload timed out");
        }
        catch (HttpRequestException e)
        {
            return new DeliveryResult(DeliveryOutcome.Retry, null, "upload failed: " + e.HttpRequestError);
        }
    }

    private static string? Text(JsonObject json, string name) =>
        json[name] is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slack is not configured; the file for card {CardKey} in {Channel} is not uploaded.")]
    private static partial void LogNotConfigured(ILogger logger, string cardKey, string channel);

    [LoggerMessage(Level = LogLevel.Warning, Message = "files.getUploadURLExternal for {Channel} answered without a usable upload_url; the file is not uploaded.")]
    private static partial void LogBadUploadUrl(ILogger logger, string channel);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Uploading a file to Slack answered HTTP {Status}.")]
    private static partial void LogUploadFailed(ILogger logger, int status);
}
