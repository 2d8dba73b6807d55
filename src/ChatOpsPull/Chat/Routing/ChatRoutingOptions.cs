namespace ChatOpsPull.Chat.Routing;

/// <summary>
/// Section "Routing": which channel hears about which cluster/namespace. Patterns are globs ("prod-*", "*").
/// A namespace matching no route goes to the platform's default channel, if one is set.
/// </summary>
public sealed class ChatRoutingOptions
{
    public const string Section = "Routing";

    public List<ChatRoute> Routes { get; set; } = [];

    /// <summary>Slack channel id for anything no route matches (e.g. "C0123456789"), or null.</summary>
    public string? DefaultSlackChannel { get; set; }

    /// <summary>Teams conversation id for anything no route matches, or null.</summary>
    public string? DefaultTeamsChannel { get; set; }
}

public sealed class ChatRoute
{
    public ChatPlatform Platform { get; set; } = ChatPlatform.Slack;

    /// <summary>Slack channel id or Teams conversation id.</summary>
    public string Channel { get; set; } = string.Empty;

    public string Cluster { get; set; } = "*";

    public string Namespace { get; set; } = "*";
}
