namespace ChatOpsPull.Chat.Outbox;

/// <summary>Where an outbox row is in its life. Stored as the lowercase name.</summary>
public enum OutboxState
{
    /// <summary>Waiting for its channel's turn.</summary>
    Pending,

    /// <summary>Claimed by a replica that is sending it now (or died doing so: the lease tells).</summary>
    Sending,

    Delivered,

    /// <summary>Refused for good or given up after the last attempt; <c>last_error</c> says why.</summary>
    Failed,

    /// <summary>A newer pending row with the same dedupe key replaced it before it could be resent.</summary>
    Superseded,
}

internal static class OutboxStateNames
{
    public const string Pending = "pending";
    public const string Sending = "sending";
    public const string Delivered = "delivered";
    public const string Failed = "failed";
    public const string Superseded = "superseded";

    public static OutboxState Parse(string name) => name switch
    {
        Pending => OutboxState.Pending,
        Sending => OutboxState.Sending,
        Delivered => OutboxState.Delivered,
        Failed => OutboxState.Failed,
        Superseded => OutboxState.Superseded,
        _ => throw new FormatException($"'{name}' is not an outbox state"),
    };

    public static string PlatformName(ChatPlatform platform) => platform switch
    {
        ChatPlatform.Slack => "slack",
        ChatPlatform.Teams => "teams",
        ChatPlatform.Web => "web",
        _ => throw new ArgumentOutOfRangeException(nameof(platform), platform, "not a chat platform"),
    };

    public static ChatPlatform ParsePlatform(string name) => name switch
    {
        "slack" => ChatPlatform.Slack,
        "teams" => ChatPlatform.Teams,
        "web" => ChatPlatform.Web,
        _ => throw new FormatException($"'{name}' is not a chat platform"),
    };
}
