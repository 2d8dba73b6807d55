using System.Text.Json.Nodes;
using ChatOpsPull.Chat.Outbox;
using ChatOpsPull.Chat.Slack.BlockKit;
using ChatOpsPull.Storage;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Chat.Slack;

/// <summary>
/// Sends Slack outbox rows. Cards are idempotent: once a card's message ts is recorded, a resend becomes chat.update of
/// that message, so a row retried after a crash does not post the card twice.
/// </summary>
public sealed partial class SlackOutboxDelivery(
    SlackApiClient api,
    SlackCardMessages cards,
    IChatOutbox outbox,
    ChatOutbox queued,
    SlackFileUpload files,
    IOptionsMonitor<SlackOptions> options,
    ILogger<SlackOutboxDelivery> log) : IOutboxDelivery
{
    /// <summary>First pause before recording a posted card's ts again while the database cannot write.</summary>
    private static readonly TimeSpan RecordPause = TimeSpan.FromMilliseconds(100);

    public ChatPlatform Platform => ChatPlatform.Slack;

    public bool CanSend => options.CurrentValue.IsConfigured;

    public async Task<DeliveryResult> DeliverAsync(OutboxMessage message, CancellationToken cancellationToken)
    {
        var payload = SlackOutboxPayload.TryParse(message.Payload);
        if (payload is null)
        {
            return new DeliveryResult(DeliveryOutcome.Failed, null, "unreadable outbox payload");
        }

        var result = message.Operation switch
        {
            SlackOperations.Card => await SendCardAsync(message.Channel, payload, cancellationToken).ConfigureAwait(false),
            SlackOperations.ThreadReply => await SendThreadReplyAsync(message.Channel, payload, cancellationToken).ConfigureAwait(false),
            SlackOperations.PostMessage or SlackOperations.Update or SlackOperations.PostEphemeral =>
                (await api.CallAsync(message.Operation, WithChannel(payload.Body, message.Channel), cancellationToken).ConfigureAwait(false)).ToDelivery(),
            SlackFileUpload.Operation => await files.DeliverAsync(message.Channel, payload, cancellationToken).ConfigureAwait(false),
            SlackOperations.ResponseUrl when payload.ResponseUrl is { } url =>
                (await api.PostToResponseUrlAsync(url, payload.Body, cancellationToken).ConfigureAwait(false)).ToDelivery(),
            _ => new DeliveryResult(DeliveryOutcome.Failed, null, $"unknown Slack operation '{message.Operation}'"),
        };

        if (result.Outcome == DeliveryOutcome.Failed && payload.NotifyUser is { Length: > 0 } user)
        {
            await TellUserAsync(user, message, result.Error, cancellationToken).ConfigureAwait(false);
        }

        return result;
    }

    /// <summary>The row's channel is where the message goes (a DM row's channel is the user id).</summary>
    private static JsonObject WithChannel(JsonObject body, string channel)
    {
        var copy = (JsonObject)body.DeepClone();
        copy["channel"] = channel;
        return copy;
    }

    private async Task<DeliveryResult> SendCardAsync(string channel, SlackOutboxPayload payload, CancellationToken cancellationToken)
    {
        var key = payload.CardKey ?? throw new InvalidOperationException("a card row without card key");
        var ts = await cards.FindTsAsync(channel, key, cancellationToken).ConfigureAwait(false);
        if (ts is not null)
        {
            var update = (JsonObject)payload.Body.DeepClone();
            update["channel"] = channel;
            update["ts"] = ts;
            var updated = await api.CallAsync(SlackOperations.Update, update, cancellationToken).ConfigureAwait(false);
            if (updated.Ok)
            {
                await cards.TouchAsync(channel, key, cancellationToken).ConfigureAwait(false);
                return DeliveryResult.Delivered;
            }

            if (updated.Error != "message_not_found")
            {
                return updated.ToDelivery();
            }

            // Someone deleted the message: post the card again rather than lose it.
            LogCardMessageGone(log, key, channel);
            await cards.ForgetAsync(channel, key, cancellationToken).ConfigureAwait(false);
        }

        var post = (JsonObject)payload.Body.DeepClone();
        post["channel"] = channel;
        var posted = await api.CallAsync(SlackOperations.PostMessage, post, cancellationToken).ConfigureAwait(false);
        if (posted.Ok)
        {
            if (posted.Ts is { } newTs)
            {
                // The card is in the channel now: its ts must be kept, or the next send posts it a second time. While
                // the database cannot write, hold on to it until it can.
                await StorageFaults.HoldWhileUnavailableAsync(
                    token => cards.RecordAsync(channel, key, newTs, token), RecordPause, null, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                LogNoTs(log, key, channel);
            }
        }

        return posted.ToDelivery();
    }

    private async Task<DeliveryResult> SendThreadReplyAsync(string channel, SlackOutboxPayload payload, CancellationToken cancellationToken)
    {
        var body = (JsonObject)payload.Body.DeepClone();
        body["channel"] = channel;
        var parent = payload.CardKey is null ? null : await cards.FindTsAsync(channel, payload.CardKey, cancellationToken).ConfigureAwait(false);
        if (parent is not null)
        {
            body["thread_ts"] = parent;
        }
        else if (payload.CardKey is { } key && await queued.IsWaitingAsync(SlackSurface.CardDedupeKey(channel, key), cancellationToken).ConfigureAwait(false))
        {
            // Its card's post is queued behind it (a newer version of the card replaced a post Slack put off): step aside,
            // or the reply would land in the channel instead of the card's thread.
            return DeliveryResult.CardNotPostedYet;
        }
        else
        {
            // The card never made it to the channel (it failed or was never published): say it in the channel instead.
            LogNoParent(log, payload.CardKey ?? "(none)", channel);
        }

        return (await api.CallAsync(SlackOperations.PostMessage, body, cancellationToken).ConfigureAwait(false)).ToDelivery();
    }

    /// <summary>A direct message (posting to a user id opens the app's DM) so the person who acted learns it failed.</summary>
    private async Task TellUserAsync(string user, OutboxMessage message, string? error, CancellationToken cancellationToken)
    {
        var what = message.Operation == SlackOperations.ResponseUrl ? "my answer" : "a message";
        var text = $"I could not deliver {what} to <#{SlackText.Escape(message.Channel)}>: Slack said `{SlackText.Escape(error ?? "unknown error")}`.";
        var body = new JsonObject { ["channel"] = user, ["text"] = text };
        await outbox.EnqueueAsync(ChatPlatform.Slack, user, SlackOperations.PostMessage, new SlackOutboxPayload(body).Serialize(), null, cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The Slack message of card {CardKey} in {Channel} is gone; posting the card again.")]
    private static partial void LogCardMessageGone(ILogger logger, string cardKey, string channel);

    [LoggerMessage(Level = LogLevel.Warning, Message = "chat.postMessage for card {CardKey} in {Channel} answered without ts; later updates will post anew.")]
    private static partial void LogNoTs(ILogger logger, string cardKey, string channel);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Card {CardKey} has no message in {Channel}; its thread reply goes to the channel.")]
    private static partial void LogNoParent(ILogger logger, string cardKey, string channel);
}
