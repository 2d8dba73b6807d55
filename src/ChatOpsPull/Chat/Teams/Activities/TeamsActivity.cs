using System.Text.Json;
using System.Text.Json.Serialization;

namespace ChatOpsPull.Chat.Teams.Activities;

/// <summary>
/// The parts of a Bot Framework activity (schema v3, as Teams sends it) the bot reads.
/// Unknown properties are ignored; nothing here is trusted until the token has been checked against it.
/// </summary>
public sealed class TeamsActivity
{
    public string? Type { get; set; }

    public string? Id { get; set; }

    /// <summary>Invoke name ("adaptiveCard/action").</summary>
    public string? Name { get; set; }

    public string? ServiceUrl { get; set; }

    public string? ChannelId { get; set; }

    public string? Text { get; set; }

    public string? ReplyToId { get; set; }

    /// <summary>installationUpdate: "add" / "remove".</summary>
    public string? Action { get; set; }

    public ChannelAccount? From { get; set; }

    public ChannelAccount? Recipient { get; set; }

    public ConversationAccount? Conversation { get; set; }

    public List<ChannelAccount>? MembersAdded { get; set; }

    public List<ChannelAccount>? MembersRemoved { get; set; }

    public TeamsChannelData? ChannelData { get; set; }

    public JsonElement Value { get; set; }

    /// <summary>The conversation without the thread suffix: "19:abc@thread.tacv2;messageid=123" → "19:abc@thread.tacv2".</summary>
    public static string BaseConversationId(string conversationId)
    {
        var cut = conversationId.IndexOf(";messageid=", StringComparison.OrdinalIgnoreCase);
        return cut < 0 ? conversationId : conversationId[..cut];
    }
}

public sealed class ChannelAccount
{
    public string? Id { get; set; }

    public string? Name { get; set; }

    public string? AadObjectId { get; set; }
}

public sealed class ConversationAccount
{
    public string? Id { get; set; }

    public string? Name { get; set; }

    /// <summary>"personal", "groupChat" or "channel".</summary>
    public string? ConversationType { get; set; }

    public string? TenantId { get; set; }

    public bool? IsGroup { get; set; }
}

public sealed class TeamsChannelData
{
    public TeamsChannelInfo? Team { get; set; }

    public TeamsChannelInfo? Channel { get; set; }

    public TeamsChannelInfo? Tenant { get; set; }

    /// <summary>"teamMemberAdded", "channelCreated", "channelRenamed", "teamRenamed", …</summary>
    public string? EventType { get; set; }
}

public sealed class TeamsChannelInfo
{
    public string? Id { get; set; }

    public string? Name { get; set; }

    public string? AadGroupId { get; set; }
}

[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, MaxDepth = 32)]
[JsonSerializable(typeof(TeamsActivity))]
public sealed partial class TeamsActivityJson : JsonSerializerContext;
