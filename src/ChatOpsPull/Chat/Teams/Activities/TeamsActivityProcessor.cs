using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Chat.Outbox;
using ChatOpsPull.Chat.Teams.Cards;

namespace ChatOpsPull.Chat.Teams.Activities;

/// <summary>The HTTP answer to one activity: 200 with an invoke response body, 200 empty, or an error status.</summary>
public sealed record TeamsActivityResult(int StatusCode, JsonNode? Body)
{
    public static TeamsActivityResult Ok { get; } = new(200, null);
}

/// <summary>
/// Handles one validated activity: conversation updates store where the bot can post; messages are commands
/// ("@pullbot status"); <c>adaptiveCard/action</c> invokes are button clicks (and card refreshes), answered with the
/// documented invoke response. Handlers are optional until the lead's command/action handlers are registered.
/// </summary>
public sealed partial class TeamsActivityProcessor(
    TeamsConversationStore store,
    TeamsSurface surface,
    IChatOutbox outbox,
    IChatCommandHandler? commands,
    IChatActionHandler? actions,
    ILogger<TeamsActivityProcessor> logger)
{
    public const string AdaptiveCardActionInvoke = "adaptiveCard/action";
    public const string CardResponseType = "application/vnd.microsoft.card.adaptive";
    public const string MessageResponseType = "application/vnd.microsoft.activity.message";
    public const string ErrorResponseType = "application/vnd.microsoft.error";

    public async Task<TeamsActivityResult> ProcessAsync(TeamsActivity activity, CancellationToken cancellationToken)
    {
        if (activity.Conversation?.Id is not { Length: > 0 } || activity.Recipient?.Id is not { Length: > 0 } || string.IsNullOrEmpty(activity.ServiceUrl))
        {
            return new TeamsActivityResult(400, Problem("The activity has no conversation, recipient or serviceUrl."));
        }

        switch (activity.Type)
        {
            case "conversationUpdate":
                await OnConversationUpdateAsync(activity, cancellationToken).ConfigureAwait(false);
                return TeamsActivityResult.Ok;
            case "installationUpdate":
                if (activity.Action?.StartsWith("remove", StringComparison.OrdinalIgnoreCase) == true)
                {
                    await store.RemoveReferenceAsync(TeamsActivity.BaseConversationId(activity.Conversation.Id), cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await RememberAsync(activity, cancellationToken).ConfigureAwait(false);
                }

                return TeamsActivityResult.Ok;
            case "message":
                await RememberAsync(activity, cancellationToken).ConfigureAwait(false);
                await OnMessageAsync(activity, cancellationToken).ConfigureAwait(false);
                return TeamsActivityResult.Ok;
            case "invoke" when activity.Name == AdaptiveCardActionInvoke:
                await RememberAsync(activity, cancellationToken).ConfigureAwait(false);
                return await OnCardActionAsync(activity, cancellationToken).ConfigureAwait(false);
            case "invoke":
                // Other invokes (messaging extensions, task modules, file consent) are not this bot's.
                return new TeamsActivityResult(501, Problem($"The invoke \"{activity.Name}\" is not handled by this bot."));
            default:
                return TeamsActivityResult.Ok;
        }
    }

    /// <summary>Removes &lt;at&gt;…&lt;/at&gt; mentions and HTML entities Teams puts around a command.</summary>
    public static string CommandText(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }

        var withoutMentions = Mention().Replace(text, " ");
        var withoutTags = HtmlTag().Replace(withoutMentions, " ");
        var decoded = WebUtility.HtmlDecode(withoutTags).Replace('\u00a0', ' ');
        return Spaces().Replace(decoded, " ").Trim();
    }

    private async Task OnConversationUpdateAsync(TeamsActivity activity, CancellationToken cancellationToken)
    {
        var botId = activity.Recipient!.Id!;
        var data = activity.ChannelData;
        if (activity.MembersRemoved?.Exists(m => m.Id == botId) == true)
        {
            if (data?.Team?.Id is { Length: > 0 } teamId)
            {
                await store.RemoveTeamAsync(teamId, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await store.RemoveReferenceAsync(TeamsActivity.BaseConversationId(activity.Conversation!.Id!), cancellationToken).ConfigureAwait(false);
            }

            LogBotRemoved(logger, activity.Conversation!.Id!);
            return;
        }

        await RememberAsync(activity, cancellationToken).ConfigureAwait(false);
        if (activity.MembersAdded?.Exists(m => m.Id == botId) == true)
        {
            var name = data?.Team?.Name ?? activity.Conversation!.Name ?? string.Empty;
            var where = TeamsActivity.BaseConversationId(activity.Conversation!.Id!);
            LogBotAdded(logger, name, where);
        }

        foreach (var member in activity.MembersAdded ?? [])
        {
            if (member.Id is { Length: > 0 } id && member.AadObjectId is { Length: > 0 } aad && id != botId)
            {
                await store.SaveUserAsync(aad, id, member.Name, cancellationToken).ConfigureAwait(false);
            }
        }

        // A channel created (or renamed) in a team the bot is in: remember it too, so it can be a route target.
        if (data?.EventType is "channelCreated" or "channelRenamed" or "channelRestored" && data.Channel?.Id is { Length: > 0 } channelId)
        {
            var team = await store.FindReferenceAsync(TeamsActivity.BaseConversationId(activity.Conversation!.Id!), cancellationToken).ConfigureAwait(false);
            await store.SaveReferenceAsync(
                new TeamsConversationReference(
                    channelId,
                    activity.ServiceUrl!,
                    TenantOf(activity),
                    data.Team?.Id ?? team?.TeamId,
                    data.Team?.Name ?? team?.TeamName,
                    channelId,
                    data.Channel.Name,
                    "channel",
                    botId,
                    activity.Recipient.Name),
                cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task OnMessageAsync(TeamsActivity activity, CancellationToken cancellationToken)
    {
        var conversation = activity.Conversation!.Id!;
        var channelId = TeamsActivity.BaseConversationId(conversation);
        string text;
        string? card = null;
        string? summary = null;
        var user = UserOf(activity, requireAad: false);
        if (commands is null)
        {
            text = "Commands are not available on this bot yet (no command handler is registered).";
        }
        else if (user is null)
        {
            text = "Teams did not say who sent this, so the bot did nothing.";
        }
        else
        {
            var reply = await commands.HandleAsync(new ChatCommandRequest(user, CommandText(activity.Text), channelId), cancellationToken).ConfigureAwait(false);
            text = reply.Text;
            if (reply.Card is not null)
            {
                card = AdaptiveCardRenderer.Serialize(AdaptiveCardRenderer.Render(reply.Card, CardView.Everyone));
                summary = reply.Card.FallbackText;
            }
        }

        var payload = new TeamsOutboxPayload(conversation, Text: text, ReplyToId: activity.Id, CardJson: card, Summary: summary);
        await outbox.EnqueueAsync(ChatPlatform.Teams, channelId, TeamsMessages.Send, JsonSerializer.Serialize(payload), null, cancellationToken).ConfigureAwait(false);
    }

    private async Task<TeamsActivityResult> OnCardActionAsync(TeamsActivity activity, CancellationToken cancellationToken)
    {
        var channelId = TeamsActivity.BaseConversationId(activity.Conversation!.Id!);
        if (activity.Value.ValueKind != JsonValueKind.Object
            || !activity.Value.TryGetProperty("action", out var action) || action.ValueKind != JsonValueKind.Object
            || !action.TryGetProperty("verb", out var verbElement) || verbElement.ValueKind != JsonValueKind.String)
        {
            return InvokeError(400, "The card action has no verb.");
        }

        var verb = verbElement.GetString()!;
        var data = action.TryGetProperty("data", out var d) && d.ValueKind == JsonValueKind.Object ? d : default;
        var cardKey = data.ValueKind == JsonValueKind.Object && data.TryGetProperty("cardKey", out var k) && k.ValueKind == JsonValueKind.String ? k.GetString() : null;
        var user = UserOf(activity, requireAad: true);
        if (user is null)
        {
            return InvokeError(400, "Teams did not say who clicked (no AAD object id), so nothing was done.");
        }

        if (verb == AdaptiveCardRenderer.RefreshVerb)
        {
            if (cardKey is null)
            {
                return InvokeError(400, "The refresh names no card.");
            }

            var stored = await store.FindCardAsync(channelId, cardKey, cancellationToken).ConfigureAwait(false);
            return stored is null
                ? InvokeMessage("This card is no longer tracked by the bot.")
                : InvokeCard(ViewFor(stored, user.Id));
        }

        var payloadText = data.ValueKind == JsonValueKind.Object && data.TryGetProperty("payload", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
        if (!CardActionPayload.TryParse(payloadText, out var payload) || CardActionPayload.VerbName(payload.Verb) != verb)
        {
            var shown = verb.Length <= 40 ? verb : verb[..40];
            LogBadClick(logger, shown);
            return InvokeError(400, "This button's data is not one the bot issued; nothing was done.");
        }

        if (actions is null)
        {
            return InvokeMessage("Buttons are not available on this bot yet (no action handler is registered). Nothing was done.");
        }

        var reply = await actions.HandleAsync(new ChatActionRequest(user, payload, channelId, cardKey), cancellationToken).ConfigureAwait(false);
        if (reply.Card is not null)
        {
            var extra = new TeamsOutboxPayload(
                activity.Conversation.Id!,
                Text: null,
                CardJson: AdaptiveCardRenderer.Serialize(AdaptiveCardRenderer.Render(reply.Card, CardView.Everyone)),
                Summary: reply.Card.FallbackText);
            await outbox.EnqueueAsync(ChatPlatform.Teams, channelId, TeamsMessages.Send, JsonSerializer.Serialize(extra), null, cancellationToken).ConfigureAwait(false);
        }

        if (reply.UpdatedCard is not null)
        {
            // Everyone's copy is updated in place (through the outbox); the clicker sees their own view at once.
            await surface.PublishAsync(channelId, reply.UpdatedCard, cancellationToken).ConfigureAwait(false);
            if (reply.ChangedNothing)
            {
                // An invoke answers with a card or a message, not both: a refused click needs its reason in words.
                return InvokeMessage(reply.Text);
            }

            var stored = await store.FindCardAsync(channelId, reply.UpdatedCard.Key, cancellationToken).ConfigureAwait(false);
            return InvokeCard(ViewFor(stored!, user.Id));
        }

        return InvokeMessage(reply.Text);
    }

    private static string ViewFor(TeamsPostedCard card, string aadObjectId) =>
        card.Approvers.Contains(aadObjectId, StringComparer.OrdinalIgnoreCase) ? card.ApproverJson : card.ViewerJson;

    private async Task RememberAsync(TeamsActivity activity, CancellationToken cancellationToken)
    {
        var conversation = activity.Conversation!;
        var data = activity.ChannelData;
        var baseId = TeamsActivity.BaseConversationId(conversation.Id!);
        var type = conversation.ConversationType
                   ?? (data?.Channel is not null || data?.Team is not null ? "channel" : conversation.IsGroup == true ? "groupChat" : "personal");
        await store.SaveReferenceAsync(
            new TeamsConversationReference(
                baseId,
                activity.ServiceUrl!,
                TenantOf(activity),
                data?.Team?.Id,
                data?.Team?.Name,
                type == "channel" ? data?.Channel?.Id ?? baseId : null,
                data?.Channel?.Name ?? conversation.Name,
                type,
                activity.Recipient!.Id!,
                activity.Recipient.Name),
            cancellationToken).ConfigureAwait(false);
        if (activity.From is { Id.Length: > 0, AadObjectId.Length: > 0 } from)
        {
            await store.SaveUserAsync(from.AadObjectId!, from.Id!, from.Name, cancellationToken).ConfigureAwait(false);
        }
    }

    private static string? TenantOf(TeamsActivity activity) => activity.Conversation?.TenantId ?? activity.ChannelData?.Tenant?.Id;

    /// <summary>The user as Teams vouched for them: AAD object id (required for clicks), else the Teams user id.</summary>
    private static ChatUser? UserOf(TeamsActivity activity, bool requireAad)
    {
        var from = activity.From;
        var id = from?.AadObjectId is { Length: > 0 } aad ? aad : requireAad ? null : from?.Id;
        return id is null ? null : new ChatUser(ChatPlatform.Teams, id, from?.Name ?? id, []);
    }

    private static TeamsActivityResult InvokeCard(string cardJson) => new(200, new JsonObject
    {
        ["statusCode"] = 200,
        ["type"] = CardResponseType,
        ["value"] = JsonNode.Parse(cardJson),
    });

    private static TeamsActivityResult InvokeMessage(string text) => new(200, new JsonObject
    {
        ["statusCode"] = 200,
        ["type"] = MessageResponseType,
        ["value"] = text,
    });

    private static TeamsActivityResult InvokeError(int status, string message) => new(200, new JsonObject
    {
        ["statusCode"] = status,
        ["type"] = ErrorResponseType,
        ["value"] = new JsonObject { ["code"] = status == 400 ? "BadRequest" : "Error", ["message"] = message },
    });

    private static JsonObject Problem(string message) => new() { ["error"] = new JsonObject { ["message"] = message } };

    [GeneratedRegex("<at[^>]*>.*?</at>", RegexOptions.IgnoreCase | RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex Mention();

    [GeneratedRegex("<[^>]{1,200}>", RegexOptions.CultureInvariant)]
    private static partial Regex HtmlTag();

    [GeneratedRegex(@"\s+", RegexOptions.CultureInvariant)]
    private static partial Regex Spaces();

    [LoggerMessage(EventId = 3040, Level = LogLevel.Information, Message = "Teams: the bot was added to {Name} ({ConversationId})")]
    private static partial void LogBotAdded(ILogger logger, string name, string conversationId);

    [LoggerMessage(EventId = 3041, Level = LogLevel.Information, Message = "Teams: the bot was removed from {ConversationId}")]
    private static partial void LogBotRemoved(ILogger logger, string conversationId);

    [LoggerMessage(EventId = 3042, Level = LogLevel.Warning, Message = "Teams: refused a card action with verb {Verb} and data the bot did not issue")]
    private static partial void LogBadClick(ILogger logger, string verb);
}
