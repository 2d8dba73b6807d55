using System.Text.Json;
using System.Text.Json.Nodes;

namespace ChatOpsPull.Chat.Slack;

/// <summary>Operation names of Slack outbox rows.</summary>
public static class SlackOperations
{
    /// <summary>A card: chat.postMessage the first time its key is seen in the channel, chat.update of that message afterwards.</summary>
    public const string Card = "slack.card";

    /// <summary>A reply under a card's message (thread_ts resolved when sent).</summary>
    public const string ThreadReply = "slack.thread_reply";

    public const string PostMessage = "chat.postMessage";
    public const string Update = "chat.update";
    public const string PostEphemeral = "chat.postEphemeral";

    /// <summary>A post to an interaction's response_url.</summary>
    public const string ResponseUrl = "response_url";
}

/// <summary>
/// What a Slack outbox row carries: the Web API body, plus what the delivery needs to know. Never a token.
/// </summary>
/// <param name="NotifyUser">Who to tell in a direct message when the send fails for good (the person who triggered it).</param>
public sealed record SlackOutboxPayload(JsonObject Body, string? CardKey = null, string? NotifyUser = null, string? ResponseUrl = null)
{
    public string Serialize()
    {
        var json = new JsonObject { ["body"] = Body.DeepClone() };
        if (CardKey is not null)
        {
            json["card_key"] = CardKey;
        }

        if (NotifyUser is not null)
        {
            json["notify_user"] = NotifyUser;
        }

        if (ResponseUrl is not null)
        {
            json["response_url"] = ResponseUrl;
        }

        return json.ToJsonString();
    }

    public static SlackOutboxPayload? TryParse(string text)
    {
        try
        {
            if (JsonNode.Parse(text) is not JsonObject json || json["body"] is not JsonObject body)
            {
                return null;
            }

            return new SlackOutboxPayload(
                (JsonObject)body.DeepClone(),
                Text(json, "card_key"),
                Text(json, "notify_user"),
                Text(json, "response_url"));
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? Text(JsonObject json, string name) =>
        json[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
}
