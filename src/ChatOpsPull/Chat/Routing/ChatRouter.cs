using Microsoft.Extensions.Options;

namespace ChatOpsPull.Chat.Routing;

public sealed record ChatDestination(ChatPlatform Platform, string Channel);

/// <summary>Picks the channels for a cluster/namespace: every matching route, else the platform defaults.</summary>
public sealed class ChatRouter(IOptionsMonitor<ChatRoutingOptions> options)
{
    public IReadOnlyList<ChatDestination> Route(string cluster, string @namespace)
    {
        var current = options.CurrentValue;
        var matches = current.Routes
            .Where(r => Glob.IsMatch(r.Cluster, cluster) && Glob.IsMatch(r.Namespace, @namespace) && r.Channel.Length > 0)
            .Select(r => new ChatDestination(r.Platform, r.Channel))
            .Distinct()
            .ToList();
        foreach (var platform in new[] { ChatPlatform.Slack, ChatPlatform.Teams })
        {
            var fallback = platform == ChatPlatform.Slack ? current.DefaultSlackChannel : current.DefaultTeamsChannel;
            if (!matches.Exists(m => m.Platform == platform) && !string.IsNullOrEmpty(fallback))
            {
                matches.Add(new ChatDestination(platform, fallback));
            }
        }

        return matches;
    }
}
