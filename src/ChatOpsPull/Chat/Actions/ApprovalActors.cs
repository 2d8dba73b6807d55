using ChatOpsPull.Approvals;
using ChatOpsPull.Chat.Slack;
using ChatOpsPull.Core.Approvals;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Chat.Actions;

/// <summary>
/// Turns the person a platform vouched for into the policy's <see cref="Actor"/>, with their groups: Slack user groups
/// as Slack reports them (the Slack layer passes them; when it did not, they are asked for through
/// <see cref="SlackUserGroups"/>, cached for a few minutes — and only when some rule names a Slack group), and for Teams
/// and web users the groups configured in Approvals:GroupMembers.
/// </summary>
public sealed class ApprovalActors(IOptionsMonitor<ApprovalOptions> options, IServiceProvider services)
{
    public static string PlatformName(ChatPlatform platform) => platform switch
    {
        ChatPlatform.Slack => "slack",
        ChatPlatform.Teams => "teams",
        ChatPlatform.Web => "web",
        _ => throw new ArgumentOutOfRangeException(nameof(platform), platform, "not a chat platform"),
    };

    public async Task<Actor> ResolveAsync(ChatUser user, CancellationToken cancellationToken)
    {
        var current = options.CurrentValue;
        var platform = PlatformName(user.Platform);
        var groups = new HashSet<string>(user.Groups, StringComparer.Ordinal);
        if (user.Platform == ChatPlatform.Slack && groups.Count == 0 && NamesSlackGroups(current)
            && services.GetService<SlackUserGroups>() is { } slack)
        {
            groups.UnionWith(await slack.GroupsOfAsync(user.Id, cancellationToken).ConfigureAwait(false));
        }

        var prefix = platform + ":";
        foreach (var group in current.GroupMembers)
        {
            if (group.Group.StartsWith(prefix, StringComparison.Ordinal) && group.Members.Contains(user.Id, StringComparer.Ordinal))
            {
                groups.Add(group.Group[prefix.Length..]);
            }
        }

        return new Actor(platform, user.Id, string.IsNullOrWhiteSpace(user.DisplayName) ? user.Id : user.DisplayName, groups.Order(StringComparer.Ordinal).ToList());
    }

    private static bool NamesSlackGroups(ApprovalOptions options) =>
        options.Rules.Any(r => r.ApproverGroups.Any(g => g.StartsWith("slack:", StringComparison.Ordinal)));
}
