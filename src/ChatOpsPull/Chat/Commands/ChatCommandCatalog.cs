namespace ChatOpsPull.Chat.Commands;

/// <summary>One chat command as people see it listed: in the help answer, Slack's usage hint and the Teams command menu.</summary>
/// <param name="Name">The first word (<c>status</c>).</param>
/// <param name="Arguments">What follows it, as written in the help (<c>[namespace]</c>); empty when nothing does.</param>
/// <param name="Description">What it does, one line.</param>
public sealed record ChatCommandInfo(string Name, string Arguments, string Description)
{
    /// <summary>"status [namespace]".</summary>
    public string Usage => Arguments.Length == 0 ? Name : $"{Name} {Arguments}";
}

/// <summary>
/// The commands <see cref="ChatCommandParser"/> understands, in the order help lists them. The Slack app manifest's usage
/// hint and the Teams app package's command list are made from (and tested against) this list.
/// </summary>
public static class ChatCommandCatalog
{
    public static IReadOnlyList<ChatCommandInfo> All { get; } =
    [
        new("status", "[namespace] [--cluster GLOB]", "open incidents, waiting approvals, recent actions and the fleet's clusters"),
        new("diagnose", "[cluster/]<namespace>/<pod>", "diagnose one pod now"),
        new("check", "<image>", "ask the registry whether an image can be pulled"),
        new("retry", "[cluster/]<namespace>/<workload> [anyway]", "restart a workload, or run a cronjob now (needs approval)"),
        new("snooze", "<incident> <duration>", "quiet an incident's card, e.g. snooze inc-4f2a9c 2h (at most 7d)"),
        new("digest", string.Empty, "post this channel's digest now"),
        new("help", string.Empty, "this list"),
    ];
}
