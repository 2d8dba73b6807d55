using ChatOpsPull.Chat;
using ChatOpsPull.Chat.Routing;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Chat.Routing;

/// <summary>Section "Routing" checked at start: every route names a channel on a chat platform and non-empty patterns.</summary>
public sealed class ChatRoutingValidation : IValidateOptions<ChatRoutingOptions>
{
    public ValidateOptionsResult Validate(string? name, ChatRoutingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        for (var i = 0; i < options.Routes.Count; i++)
        {
            var route = options.Routes[i];
            if (route.Platform is not (ChatPlatform.Slack or ChatPlatform.Teams))
            {
                problems.Add($"Routing:Routes:{i}:Platform must be Slack or Teams.");
            }

            if (string.IsNullOrWhiteSpace(route.Channel))
            {
                problems.Add($"Routing:Routes:{i}:Channel must be set to a Slack channel id (C0123456789) or a Teams channel id (19:…@thread.tacv2).");
            }

            if (string.IsNullOrWhiteSpace(route.Cluster) || string.IsNullOrWhiteSpace(route.Namespace))
            {
                problems.Add($"Routing:Routes:{i}:Cluster and Namespace must be glob patterns such as \"prod-*\" or \"*\" (leave them out to mean every one).");
            }
        }

        if (options.DefaultSlackChannel is { } slack && string.IsNullOrWhiteSpace(slack))
        {
            problems.Add("Routing:DefaultSlackChannel must be a Slack channel id (C0123456789), or left out.");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
