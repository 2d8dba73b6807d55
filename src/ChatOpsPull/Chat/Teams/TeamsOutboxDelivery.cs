using System.Text.Json;
using System.Text.Json.Nodes;
using ChatOpsPull.Chat.Outbox;
using ChatOpsPull.Chat.Teams.Activities;
using ChatOpsPull.Storage;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Chat.Teams;

/// <summary>
/// Sends one Teams outbox entry through the Bot Connector. The serviceUrl always comes from the stored conversation
/// reference (written only from validated activities), never from the entry. 429, 412 and 5xx (and no answer) are
/// <see cref="DeliveryOutcome.Retry"/> with the Retry-After the Bot Connector gave; other 4xx are
/// <see cref="DeliveryOutcome.Failed"/> with the error body. Never throws for HTTP errors.
/// </summary>
public sealed partial class TeamsOutboxDelivery(TeamsConnectorClient connector, TeamsConversationStore store, ChatOutbox outbox, IOptionsMonitor<TeamsOptions> options, ILogger<TeamsOutboxDelivery> logger) : IOutboxDelivery
{
    /// <summary>First pause before recording a posted card's activity id again while the database cannot write.</summary>
    private static readonly TimeSpan RecordPause = TimeSpan.FromMilliseconds(100);

    public ChatPlatform Platform => ChatPlatform.Teams;

    public bool CanSend => options.CurrentValue.IsConfigured;

    public async Task<DeliveryResult> DeliverAsync(OutboxMessage message, CancellationToken cancellationToken)
    {
        TeamsOutboxPayload? payload;
        try
        {
            payload = JsonSerializer.Deserialize<TeamsOutboxPayload>(message.Payload);
        }
        catch (JsonException)
        {
            payload = null;
        }

        if (payload is null || string.IsNullOrEmpty(payload.ConversationId))
        {
            return Failed(message, "the outbox entry is not a Teams payload");
        }

        var baseId = TeamsActivity.BaseConversationId(payload.ConversationId);
        var reference = await store.FindReferenceAsync(baseId, cancellationToken).ConfigureAwait(false);
        if (reference is null)
        {
            return Failed(message, $"the bot has no conversation reference for {baseId}: add the bot to that team or chat (or @mention it there once) so Teams tells it where the conversation lives");
        }

        var result = message.Operation switch
        {
            TeamsMessages.CardPost or TeamsMessages.CardUpdate => await SyncCardAsync(reference, payload, cancellationToken).ConfigureAwait(false),
            TeamsMessages.ThreadReply => await ReplyInThreadAsync(reference, payload, cancellationToken).ConfigureAwait(false),
            TeamsMessages.Send => await SendAsync(reference, payload, cancellationToken).ConfigureAwait(false),
            _ => new DeliveryResult(DeliveryOutcome.Failed, Error: $"unknown Teams outbox operation \"{message.Operation}\""),
        };
        if (result.Outcome == DeliveryOutcome.Failed)
        {
            LogFailed(logger, message.Id, message.Operation, result.Error ?? string.Empty);
        }

        return result;
    }

    private async Task<DeliveryResult> SyncCardAsync(TeamsConversationReference reference, TeamsOutboxPayload payload, CancellationToken cancellationToken)
    {
        if (payload.CardKey is null)
        {
            return new DeliveryResult(DeliveryOutcome.Failed, Error: "card operation without a card key");
        }

        var card = await store.FindCardAsync(reference.ConversationId, payload.CardKey, cancellationToken).ConfigureAwait(false);
        if (card is null)
        {
            return new DeliveryResult(DeliveryOutcome.Failed, Error: $"card {payload.CardKey} was never stored for {reference.ConversationId}");
        }

        var activity = TeamsMessages.CardMessage(card.ViewerJson, card.FallbackText);
        if (card.ActivityId is not null)
        {
            activity["id"] = card.ActivityId;
            var conversation = card.ThreadConversationId ?? reference.ConversationId;
            return Outcome(await connector.UpdateActivityAsync(reference.ServiceUrl, conversation, card.ActivityId, activity, cancellationToken).ConfigureAwait(false));
        }

        if (reference.IsChannel)
        {
            // A proactive post in a channel starts a new thread: create a conversation in the channel.
            var parameters = new JsonObject
            {
                ["isGroup"] = true,
                ["bot"] = new JsonObject { ["id"] = reference.BotId, ["name"] = reference.BotName },
                ["channelData"] = new JsonObject
                {
                    ["channel"] = new JsonObject { ["id"] = reference.ChannelId ?? reference.ConversationId },
                    ["tenant"] = reference.TenantId is null ? null : new JsonObject { ["id"] = reference.TenantId },
                },
                ["tenantId"] = reference.TenantId,
                ["activity"] = activity,
            };
            var created = await connector.CreateConversationAsync(reference.ServiceUrl, parameters, cancellationToken).ConfigureAwait(false);
            if (!created.IsSuccess)
            {
                return Outcome(created);
            }

            var activityId = created.Body?["activityId"]?.GetValue<string>();
            var threadId = created.Body?["id"]?.GetValue<string>();
            if (string.IsNullOrEmpty(activityId))
            {
                return new DeliveryResult(DeliveryOutcome.Failed, Error: "the Bot Connector created the thread but returned no activityId");
            }

            // Posted: the activity id must be kept, or the next send posts the card a second time (held while the database cannot write).
            await StorageFaults.HoldWhileUnavailableAsync(
                token => store.SetCardActivityAsync(reference.ConversationId, card.CardKey, activityId, threadId ?? $"{reference.ConversationId};messageid={activityId}", token), RecordPause, null, cancellationToken).ConfigureAwait(false);
            return DeliveryResult.Delivered;
        }

        var sent = await connector.SendToConversationAsync(reference.ServiceUrl, reference.ConversationId, activity, cancellationToken).ConfigureAwait(false);
        if (!sent.IsSuccess)
        {
            return Outcome(sent);
        }

        var id = sent.Body?["id"]?.GetValue<string>();
        if (string.IsNullOrEmpty(id))
        {
            return new DeliveryResult(DeliveryOutcome.Failed, Error: "the Bot Connector accepted the card but returned no activity id");
        }

        // Posted: the activity id must be kept, or the next send posts the card a second time (held while the database cannot write).
        await StorageFaults.HoldWhileUnavailableAsync(
            token => store.SetCardActivityAsync(reference.ConversationId, card.CardKey, id, reference.ConversationId, token), RecordPause, null, cancellationToken).ConfigureAwait(false);
        return DeliveryResult.Delivered;
    }

    private async Task<DeliveryResult> ReplyInThreadAsync(TeamsConversationReference reference, TeamsOutboxPayload payload, CancellationToken cancellationToken)
    {
        if (payload.CardKey is null || string.IsNullOrEmpty(payload.Text))
        {
            return new DeliveryResult(DeliveryOutcome.Failed, Error: "thread reply without a card key or text");
        }

        var card = await store.FindCardAsync(reference.ConversationId, payload.CardKey, cancellationToken).ConfigureAwait(false);
        if (card is null)
        {
            return new DeliveryResult(DeliveryOutcome.Failed, Error: $"card {payload.CardKey} was never published in {reference.ConversationId}, so there is no thread to reply in");
        }

        if (card.ActivityId is null)
        {
            // Its card's post may be queued behind it (a newer version of the card replaced a post that failed): step aside.
            // A post that failed for good will never come: the reply fails too, rather than wait for it forever.
            return await outbox.IsWaitingAsync(TeamsSurface.DedupeKey(reference.ConversationId, payload.CardKey), cancellationToken).ConfigureAwait(false)
                ? DeliveryResult.CardNotPostedYet
                : new DeliveryResult(DeliveryOutcome.Failed, Error: $"card {payload.CardKey} could not be posted in {reference.ConversationId} (see its failed send), so there is no thread to reply in");
        }

        var thread = reference.IsChannel ? card.ThreadConversationId ?? $"{reference.ConversationId};messageid={card.ActivityId}" : reference.ConversationId;
        var activity = TeamsMessages.TextMessage(payload.Text, card.ActivityId);
        return Outcome(await connector.SendToConversationAsync(reference.ServiceUrl, thread, activity, cancellationToken).ConfigureAwait(false));
    }

    private async Task<DeliveryResult> SendAsync(TeamsConversationReference reference, TeamsOutboxPayload payload, CancellationToken cancellationToken)
    {
        JsonObject activity;
        if (payload.CardJson is not null)
        {
            activity = TeamsMessages.CardMessage(payload.CardJson, payload.Summary ?? payload.Text ?? "ChatOpsPull", payload.Text, payload.ReplyToId);
        }
        else if (!string.IsNullOrEmpty(payload.Text))
        {
            activity = TeamsMessages.TextMessage(payload.Text, payload.ReplyToId);
        }
        else
        {
            return new DeliveryResult(DeliveryOutcome.Failed, Error: "a Teams message needs text or a card");
        }

        // The exact conversation (a channel thread keeps its ";messageid="), but always one this reference vouches for.
        return Outcome(await connector.SendToConversationAsync(reference.ServiceUrl, payload.ConversationId, activity, cancellationToken).ConfigureAwait(false));
    }

    private static DeliveryResult Outcome(ConnectorResponse response) =>
        response.IsSuccess ? DeliveryResult.Delivered
        : response.Transient ? new DeliveryResult(DeliveryOutcome.Retry, response.RetryAfter, response.Error)
        : new DeliveryResult(DeliveryOutcome.Failed, Error: response.Error);

    private static DeliveryResult Failed(OutboxMessage message, string error) => new(DeliveryOutcome.Failed, Error: error);

    [LoggerMessage(EventId = 3030, Level = LogLevel.Warning, Message = "Teams: outbox entry {Id} ({Operation}) failed for good: {Error}")]
    private static partial void LogFailed(ILogger logger, long id, string operation, string error);
}
