using System.Text.Json.Nodes;
using ChatOpsPull.Chat.Teams.Cards;

namespace ChatOpsPull.Chat.Teams;

/// <summary>Outgoing message activities (Bot Framework schema) and the outbox operations that carry them.</summary>
public static class TeamsMessages
{
    /// <summary>Post the stored card for (conversation, key), or update it in place once it has an activity id.</summary>
    public const string CardPost = "teams.card.post";

    /// <summary>Same as <see cref="CardPost"/> once the card is posted: PUT the newest rendering over the activity.</summary>
    public const string CardUpdate = "teams.card.update";

    /// <summary>A text reply in the card's thread.</summary>
    public const string ThreadReply = "teams.thread.reply";

    /// <summary>A message (text and/or card) to a conversation, optionally as a reply (command answers).</summary>
    public const string Send = "teams.send";

    /// <summary>A message whose only content is one Adaptive Card; <paramref name="summary"/> feeds notifications.</summary>
    public static JsonObject CardMessage(string cardJson, string summary, string? text = null, string? replyToId = null)
    {
        var activity = new JsonObject
        {
            ["type"] = "message",
            ["summary"] = summary.Length <= 200 ? summary : summary[..199] + "…",
            ["attachments"] = new JsonArray
            {
                new JsonObject { ["contentType"] = AdaptiveCardRenderer.ContentType, ["content"] = JsonNode.Parse(cardJson) },
            },
        };
        if (!string.IsNullOrEmpty(text))
        {
            activity["text"] = text;
            activity["textFormat"] = "markdown";
        }

        if (!string.IsNullOrEmpty(replyToId))
        {
            activity["replyToId"] = replyToId;
        }

        return activity;
    }

    public static JsonObject TextMessage(string text, string? replyToId = null)
    {
        var activity = new JsonObject { ["type"] = "message", ["text"] = text, ["textFormat"] = "markdown" };
        if (!string.IsNullOrEmpty(replyToId))
        {
            activity["replyToId"] = replyToId;
        }

        return activity;
    }
}

/// <summary>What an outbox entry for Teams carries: ids and content, never a URL or a token.</summary>
/// <param name="ConversationId">Card operations: the base conversation id. <see cref="TeamsMessages.Send"/>: the exact conversation (may include ";messageid=").</param>
public sealed record TeamsOutboxPayload(string ConversationId, string? CardKey = null, string? Text = null, string? ReplyToId = null, string? CardJson = null, string? Summary = null);
