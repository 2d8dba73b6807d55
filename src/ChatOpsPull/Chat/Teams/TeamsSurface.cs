using System.Text.Json;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Chat.Outbox;
using ChatOpsPull.Chat.Teams.Activities;
using ChatOpsPull.Chat.Teams.Cards;

namespace ChatOpsPull.Chat.Teams;

/// <summary>
/// Shows cards in Teams. The first publish of a card key in a conversation posts it (a new thread in a channel);
/// later publishes update that same activity in place; thread replies go under it. Every send goes through the
/// <see cref="IChatOutbox"/>; the outbox entry names only the conversation and the card key, and the delivery sends
/// the newest stored rendering, so several quick updates coalesce into one PUT.
/// </summary>
public sealed class TeamsSurface(IChatOutbox outbox, TeamsConversationStore store, ITeamsCardApprovers approvers) : IChatSurface
{
    public ChatPlatform Platform => ChatPlatform.Teams;

    public async Task PublishAsync(string channelId, Card card, CancellationToken cancellationToken)
    {
        var conversationId = TeamsActivity.BaseConversationId(channelId);
        var posted = await StoreAsync(conversationId, card, cancellationToken).ConfigureAwait(false);
        var payload = JsonSerializer.Serialize(new TeamsOutboxPayload(conversationId, card.Key));
        await outbox.EnqueueAsync(
            ChatPlatform.Teams,
            conversationId,
            posted.ActivityId is null ? TeamsMessages.CardPost : TeamsMessages.CardUpdate,
            payload,
            DedupeKey(conversationId, card.Key),
            cancellationToken).ConfigureAwait(false);
    }

    public async Task ReplyInThreadAsync(string channelId, string cardKey, string text, string? onceKey, CancellationToken cancellationToken)
    {
        var conversationId = TeamsActivity.BaseConversationId(channelId);
        var payload = JsonSerializer.Serialize(new TeamsOutboxPayload(conversationId, cardKey, text));
        if (onceKey is null)
        {
            await outbox.EnqueueAsync(ChatPlatform.Teams, conversationId, TeamsMessages.ThreadReply, payload, null, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await outbox.EnqueueOnceAsync(ChatPlatform.Teams, conversationId, TeamsMessages.ThreadReply, payload, ThreadLineKey(conversationId, onceKey), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Renders the card for everyone and for approvers and stores both. With approvers, the posted card carries a
    /// <c>refresh</c> listing their Teams user ids, so their Teams asks the bot for the approver view.
    /// </summary>
    public async Task<TeamsPostedCard> StoreAsync(string conversationId, Card card, CancellationToken cancellationToken)
    {
        var approverIds = await approvers.ApproversForAsync(conversationId, card, cancellationToken).ConfigureAwait(false);
        string viewer;
        string approver;
        IReadOnlyList<string> stored;
        if (approverIds is null || !card.Actions.Any(a => AdaptiveCardRenderer.IsApproverOnly(a.Payload.Verb)))
        {
            viewer = approver = AdaptiveCardRenderer.Serialize(AdaptiveCardRenderer.Render(card, CardView.Everyone));
            stored = approverIds ?? [];
        }
        else
        {
            var userIds = await store.FindUserIdsAsync(approverIds.ToList(), cancellationToken).ConfigureAwait(false);
            viewer = AdaptiveCardRenderer.Serialize(AdaptiveCardRenderer.Render(card, new CardView(false, userIds)));
            approver = AdaptiveCardRenderer.Serialize(AdaptiveCardRenderer.Render(card, new CardView(true, userIds)));
            stored = approverIds;
        }

        await store.SaveCardAsync(conversationId, card.Key, viewer, approver, stored, card.FallbackText, cancellationToken).ConfigureAwait(false);
        return (await store.FindCardAsync(conversationId, card.Key, cancellationToken).ConfigureAwait(false))!;
    }

    public static string DedupeKey(string conversationId, string cardKey) => $"teams.card:{conversationId}:{cardKey}";

    /// <summary>The outbox's once key of a thread line telling the news <paramref name="onceKey"/> in <paramref name="conversationId"/>.</summary>
    public static string ThreadLineKey(string conversationId, string onceKey) => $"teams.line:{conversationId}:{onceKey}";
}
