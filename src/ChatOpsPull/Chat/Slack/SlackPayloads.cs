using System.Text.Json;
using System.Text.RegularExpressions;

namespace ChatOpsPull.Chat.Slack;

/// <summary>A slash command invocation (form fields over HTTP, the envelope payload in Socket Mode).</summary>
public sealed record SlackSlashCommand(string Command, string Text, string UserId, string UserName, string ChannelId, string? TeamId, string? ResponseUrl, string? TriggerId);

/// <summary>One button click from a block_actions payload.</summary>
public sealed record SlackBlockAction(string UserId, string UserName, string ChannelId, string? MessageTs, string? ResponseUrl, string ActionId, string? Value, string? BlockId);

/// <summary>An Events API event_callback, reduced to what the bot acts on.</summary>
/// <param name="FromBot">Posted by a bot (ours included) or a message subtype: never treated as a command.</param>
public sealed record SlackEvent(string EventId, string Type, string? UserId, string? Text, string? ChannelId, string? ChannelType, string? Ts, string? ThreadTs, bool FromBot);

/// <summary>A parse result: the value, or why the input was refused.</summary>
public sealed record SlackParse<T>(T? Value, string? Error = null)
    where T : class;

/// <summary>Reads Slack's inbound payloads strictly: missing or mistyped fields are errors, never defaults.</summary>
public static partial class SlackPayloads
{
    public const string BlockActions = "block_actions";

    public static SlackParse<SlackSlashCommand> ParseCommand(Func<string, string?> field)
    {
        var command = field("command");
        var userId = field("user_id");
        var channelId = field("channel_id");
        if (string.IsNullOrEmpty(command) || string.IsNullOrEmpty(userId) || string.IsNullOrEmpty(channelId))
        {
            return new SlackParse<SlackSlashCommand>(null, "a slash command needs command, user_id and channel_id");
        }

        if (!command.StartsWith('/') || command.Length > 64 || !SlackId().IsMatch(userId) || !SlackId().IsMatch(channelId))
        {
            return new SlackParse<SlackSlashCommand>(null, "the slash command's command, user_id or channel_id is malformed");
        }

        var text = field("text") ?? string.Empty;
        if (text.Length > 4000)
        {
            return new SlackParse<SlackSlashCommand>(null, "the slash command's text is too long");
        }

        return new SlackParse<SlackSlashCommand>(new SlackSlashCommand(
            command, text.Trim(), userId, field("user_name") is { Length: > 0 } name ? name : userId, channelId,
            field("team_id"), field("response_url"), field("trigger_id")));
    }

    /// <summary>A block_actions payload (the JSON in the "payload" form field, or a Socket Mode envelope's payload).</summary>
    public static SlackParse<SlackBlockAction> ParseBlockActions(JsonElement payload)
    {
        if (payload.ValueKind != JsonValueKind.Object || Text(payload, "type") != BlockActions)
        {
            return new SlackParse<SlackBlockAction>(null, "not a block_actions payload");
        }

        var user = Object(payload, "user");
        var userId = user is { } u ? Text(u, "id") : null;
        if (userId is null || !SlackId().IsMatch(userId))
        {
            return new SlackParse<SlackBlockAction>(null, "the click has no valid user.id");
        }

        var container = Object(payload, "container");
        var channelId = (Object(payload, "channel") is { } channel ? Text(channel, "id") : null)
            ?? (container is { } c ? Text(c, "channel_id") : null);
        if (channelId is null || !SlackId().IsMatch(channelId))
        {
            return new SlackParse<SlackBlockAction>(null, "the click has no valid channel");
        }

        if (!payload.TryGetProperty("actions", out var actions) || actions.ValueKind != JsonValueKind.Array || actions.GetArrayLength() == 0
            || actions[0].ValueKind != JsonValueKind.Object)
        {
            return new SlackParse<SlackBlockAction>(null, "the click has no actions");
        }

        var action = actions[0];
        var actionId = Text(action, "action_id");
        if (string.IsNullOrEmpty(actionId) || actionId.Length > 255)
        {
            return new SlackParse<SlackBlockAction>(null, "the click's action has no valid action_id");
        }

        var messageTs = (Object(payload, "message") is { } message ? Text(message, "ts") : null)
            ?? (container is { } box ? Text(box, "message_ts") : null);
        var userName = user is { } who ? Text(who, "username") ?? Text(who, "name") ?? userId : userId;
        return new SlackParse<SlackBlockAction>(new SlackBlockAction(
            userId, userName, channelId, messageTs, Text(payload, "response_url"), actionId, Text(action, "value"), Text(action, "block_id")));
    }

    /// <summary>The event of an event_callback envelope.</summary>
    public static SlackParse<SlackEvent> ParseEventCallback(JsonElement envelope)
    {
        var eventId = Text(envelope, "event_id");
        if (string.IsNullOrEmpty(eventId) || eventId.Length > 100)
        {
            return new SlackParse<SlackEvent>(null, "the event_callback has no event_id");
        }

        if (Object(envelope, "event") is not { } e || Text(e, "type") is not { Length: > 0 } type)
        {
            return new SlackParse<SlackEvent>(null, "the event_callback has no event.type");
        }

        var fromBot = e.TryGetProperty("bot_id", out _) || e.TryGetProperty("subtype", out _);
        return new SlackParse<SlackEvent>(new SlackEvent(
            eventId, type, Text(e, "user"), Text(e, "text"), Text(e, "channel"), Text(e, "channel_type"), Text(e, "ts"), Text(e, "thread_ts"), fromBot));
    }

    /// <summary>
    /// The command words of a mention or DM: leading "&lt;@U123&gt;" mentions removed and Slack's escaping undone.
    /// </summary>
    public static string CommandText(string? messageText)
    {
        var text = LeadingMentions().Replace(messageText ?? string.Empty, string.Empty);
        return text.Replace("&lt;", "<", StringComparison.Ordinal).Replace("&gt;", ">", StringComparison.Ordinal)
            .Replace("&amp;", "&", StringComparison.Ordinal).Trim();
    }

    public static string? Text(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    private static JsonElement? Object(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object
            ? value
            : null;

    /// <summary>Slack ids: U…, W…, C…, G…, D…, T… — upper-case letters and digits.</summary>
    [GeneratedRegex("^[A-Z0-9]{2,32}$", RegexOptions.CultureInvariant)]
    private static partial Regex SlackId();

    [GeneratedRegex("^\\s*(<@[A-Z0-9]+(\\|[^>]*)?>[\\s:,]*)+", RegexOptions.CultureInvariant)]
    private static partial Regex LeadingMentions();
}
