namespace ChatOpsPull.Configuration;

/// <summary>The places people talk to the bot: the chat platforms configuration can name (routes, digest schedules, approval groups), and the bot's own web page.</summary>
public enum ChatPlatform
{
    Slack,
    Teams,
    Web,
}
