using ChatOpsPull.Incidents;

namespace ChatOpsPull.Chat;

/// <summary>The audit log's name for a person a chat platform (or the web page) vouched for.</summary>
public static class ChatUserAudit
{
    public static AuditActor ToAuditActor(this ChatUser user) => new(user.Platform switch
    {
        ChatPlatform.Slack => "slack",
        ChatPlatform.Teams => "teams",
        ChatPlatform.Web => "web",
        _ => "unknown",
    }, user.Id, user.DisplayName);
}
