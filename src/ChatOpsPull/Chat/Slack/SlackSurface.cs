using System.Text.Json.Nodes;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Chat.Outbox;
using ChatOpsPull.Chat.Slack.BlockKit;
using ChatOpsPull.Fleet;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Chat.Slack;

/// <summary>
/// Cards in Slack: posted the first time a card key appears in a channel, chat.update'd in place afterwards (the
/// decision is made when the outbox sends, from the recorded ts). Pending updates of one card coalesce into one send.
/// </summary>
public sealed partial class SlackSurface(IChatOutbox outbox, IOptionsMonitor<SlackOptions> options, ClusterQueues clusters, ILogger<SlackSurface> log) : IChatSurface
{
    public ChatPlatform Platform => ChatPlatform.Slack;

    public async Task PublishAsync(string channelId, Card card, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(channelId);
        ArgumentNullException.ThrowIfNull(card);
        if (!Sends)
        {
            LogNotConfigured(log, card.Key, channelId);
            return;
        }

        var content = BlockKitRenderer.Render(card);
        var payload = new SlackOutboxPayload(content.ToJson(), CardKey: card.Key);
        await outbox.EnqueueAsync(ChatPlatform.Slack, channelId, SlackOperations.Card, payload.Serialize(), CardDedupeKey(channelId, card.Key), cancellationToken).ConfigureAwait(false);
    }

    public async Task ReplyInThreadAsync(string channelId, string cardKey, string text, string? onceKey, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(channelId);
        ArgumentException.ThrowIfNullOrEmpty(cardKey);
        if (!Sends)
        {
            LogNotConfigured(log, cardKey, channelId);
            return;
        }

        var body = new JsonObject { ["text"] = SlackText.Cut(SlackText.Mrkdwn(text), BlockKitLimits.SectionText) };
        var payload = new SlackOutboxPayload(body, CardKey: cardKey);
        if (onceKey is null)
        {
            await outbox.EnqueueAsync(ChatPlatform.Slack, channelId, SlackOperations.ThreadReply, payload.Serialize(), null, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await outbox.EnqueueOnceAsync(ChatPlatform.Slack, channelId, SlackOperations.ThreadReply, payload.Serialize(), ThreadLineKey(channelId, onceKey), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Whether Slack messages are queued here: when this bot has Slack credentials, and in a fleet even without them (a
    /// cluster's bot behind a chat replica): the queue is shared, and a bot that has them sends.
    /// </summary>
    private bool Sends => options.CurrentValue.IsConfigured || clusters.FleetMode;

    public static string CardDedupeKey(string channelId, string cardKey) => $"slack.card:{channelId}:{cardKey}";

    /// <summary>The outbox's once key of a thread line telling the news <paramref name="onceKey"/> in <paramref name="channelId"/>.</summary>
    public static string ThreadLineKey(string channelId, string onceKey) => $"slack.line:{channelId}:{onceKey}";

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slack is not configured (and this bot is not in a fleet whose other bots could send); card {CardKey} for {Channel} is not sent.")]
    private static partial void LogNotConfigured(ILogger logger, string cardKey, string channel);
}
