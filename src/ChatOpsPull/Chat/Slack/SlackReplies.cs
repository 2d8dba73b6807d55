using System.Text.Json.Nodes;
using ChatOpsPull.Chat.Outbox;
using ChatOpsPull.Chat.Slack.BlockKit;

namespace ChatOpsPull.Chat.Slack;

/// <summary>
/// Turns a channel-neutral <see cref="ChatReply"/> into Slack messages and queues them in the outbox: through the
/// interaction's response_url where there is one, the Web API otherwise. Clicked cards that are ours are updated
/// through <see cref="SlackSurface"/>, so the card message stays the one recorded for its key.
/// </summary>
public sealed partial class SlackReplies(
    IChatOutbox outbox,
    SlackApiClient api,
    SlackCardMessages cards,
    SlackSurface surface,
    ILogger<SlackReplies> log)
{
    /// <summary>Slack cuts message text after 40,000 characters; we cut earlier and say so.</summary>
    private const int MaxReplyText = 39_000;

    /// <summary>{"text", "blocks"?} for a reply (its <see cref="ChatReply.Card"/> rendered when present).</summary>
    public static JsonObject Message(ChatReply reply)
    {
        if (reply.Card is { } card)
        {
            var message = BlockKitRenderer.Render(card).ToJson();
            if (!string.IsNullOrWhiteSpace(reply.Text))
            {
                message["text"] = BlockKitRenderer.FallbackText(reply.Text, card.Title);
            }

            return message;
        }

        return new JsonObject { ["text"] = ReplyText(reply.Text) };
    }

    /// <summary>The immediate answer to a slash command (the HTTP response body or the Socket Mode ack payload).</summary>
    public static JsonObject CommandAck(ChatReply reply)
    {
        var message = Message(reply);
        message["response_type"] = reply.Ephemeral ? "ephemeral" : "in_channel";
        return message;
    }

    public static JsonObject Ephemeral(string text) => new() { ["response_type"] = "ephemeral", ["text"] = ReplyText(text) };

    /// <summary>A slash command's answer that came too late for the acknowledgement; replaces "Working on it…" when ephemeral.</summary>
    public async Task ReplyToCommandAsync(SlackSlashCommand command, ChatReply reply, CancellationToken cancellationToken)
    {
        var body = Message(reply);
        if (api.IsAllowedResponseUrl(command.ResponseUrl))
        {
            body["response_type"] = reply.Ephemeral ? "ephemeral" : "in_channel";
            body["replace_original"] = reply.Ephemeral;
            await EnqueueResponseUrlAsync(command.ChannelId, command.ResponseUrl!, body, command.UserId, cancellationToken).ConfigureAwait(false);
            return;
        }

        await PostAsync(command.ChannelId, command.UserId, reply.Ephemeral, null, body, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A click's answer: the clicked card updated in place, and/or a message to the person who clicked.</summary>
    public async Task ReplyToClickAsync(SlackBlockAction click, ChatReply reply, CancellationToken cancellationToken)
    {
        if (reply.UpdatedCard is { } updated)
        {
            var clickedKey = click.MessageTs is null ? null : await cards.FindCardKeyAsync(click.ChannelId, click.MessageTs, cancellationToken).ConfigureAwait(false);
            if (clickedKey == updated.Key || !api.IsAllowedResponseUrl(click.ResponseUrl))
            {
                await surface.PublishAsync(click.ChannelId, updated, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var replacement = BlockKitRenderer.Render(updated).ToJson();
                replacement["replace_original"] = true;
                await EnqueueResponseUrlAsync(click.ChannelId, click.ResponseUrl!, replacement, click.UserId, cancellationToken).ConfigureAwait(false);
            }
        }

        if (!string.IsNullOrWhiteSpace(reply.Text) || reply.Card is not null)
        {
            var body = Message(reply);
            if (api.IsAllowedResponseUrl(click.ResponseUrl))
            {
                body["response_type"] = reply.Ephemeral ? "ephemeral" : "in_channel";
                body["replace_original"] = false;
                await EnqueueResponseUrlAsync(click.ChannelId, click.ResponseUrl!, body, click.UserId, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await PostAsync(click.ChannelId, click.UserId, reply.Ephemeral, null, body, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Answers a mention in the channel's thread (or only to its author when ephemeral), a DM in the DM.</summary>
    public async Task ReplyToEventAsync(SlackEvent slackEvent, ChatReply reply, CancellationToken cancellationToken)
    {
        if (slackEvent.ChannelId is null)
        {
            LogNowhereToReply(log, slackEvent.EventId);
            return;
        }

        var body = Message(reply);
        if (slackEvent.ChannelType == "im")
        {
            await PostAsync(slackEvent.ChannelId, slackEvent.UserId, ephemeral: false, slackEvent.ThreadTs, body, cancellationToken).ConfigureAwait(false);
            return;
        }

        await PostAsync(slackEvent.ChannelId, slackEvent.UserId, reply.Ephemeral, slackEvent.ThreadTs ?? slackEvent.Ts, body, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A short ephemeral note to whoever clicked ("This button is not valid any more.").</summary>
    public Task TellClickerAsync(SlackBlockAction click, string text, CancellationToken cancellationToken) =>
        ReplyToClickAsync(click, new ChatReply(text), cancellationToken);

    private async Task PostAsync(string channel, string? user, bool ephemeral, string? threadTs, JsonObject body, CancellationToken cancellationToken)
    {
        body["channel"] = channel;
        if (threadTs is not null)
        {
            body["thread_ts"] = threadTs;
        }

        var operation = SlackOperations.PostMessage;
        if (ephemeral && user is not null)
        {
            body["user"] = user;
            operation = SlackOperations.PostEphemeral;
        }

        var payload = new SlackOutboxPayload(body, NotifyUser: user);
        await outbox.EnqueueAsync(ChatPlatform.Slack, channel, operation, payload.Serialize(), null, cancellationToken).ConfigureAwait(false);
    }

    private async Task EnqueueResponseUrlAsync(string channel, string responseUrl, JsonObject body, string? notifyUser, CancellationToken cancellationToken)
    {
        var payload = new SlackOutboxPayload(body, NotifyUser: notifyUser, ResponseUrl: responseUrl);
        await outbox.EnqueueAsync(ChatPlatform.Slack, channel, SlackOperations.ResponseUrl, payload.Serialize(), null, cancellationToken).ConfigureAwait(false);
    }

    private static string ReplyText(string? text)
    {
        var value = string.IsNullOrWhiteSpace(text) ? "Done." : SlackText.Mrkdwn(text);
        return value.Length <= MaxReplyText
            ? value
            : SlackText.Prefix(value, MaxReplyText) + $"\n_…cut at {SlackText.Count(MaxReplyText)} of {SlackText.Count(value.Length)} characters._";
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slack event {EventId} has no channel to answer in.")]
    private static partial void LogNowhereToReply(ILogger logger, string eventId);
}
