using System.ComponentModel.DataAnnotations;

namespace ChatOpsPull.Chat.Slack;

/// <summary>
/// Section "Slack". Leave it out entirely to run without Slack: the endpoints then answer 503 and say so.
/// Tokens and the signing secret are secrets: never logged, never shown on a card or in an error message.
/// </summary>
public sealed class SlackOptions : IValidatableObject
{
    public const string Section = "Slack";

    /// <summary>"Signing Secret" from the app's Basic Information page; verifies every inbound HTTP request.</summary>
    public string? SigningSecret { get; set; }

    /// <summary>Bot User OAuth Token (xoxb-…) for the Web API (chat.postMessage, chat.update …).</summary>
    public string? BotToken { get; set; }

    /// <summary>App-level token (xapp-…) with connections:write, needed for Socket Mode.</summary>
    public string? AppToken { get; set; }

    /// <summary>Receive events, clicks and commands over a WebSocket the bot opens, instead of inbound HTTP.</summary>
    public bool SocketMode { get; set; }

    /// <summary>Web API base URL. Tests point it at a local fake.</summary>
    public Uri ApiBaseUrl { get; set; } = new("https://slack.com/api/");

    /// <summary>
    /// response_url values are only followed when they start with one of these. Empty means Slack's own
    /// "https://hooks.slack.com/"; setting the list replaces that default.
    /// </summary>
    public List<string> ResponseUrlPrefixes { get; set; } = [];

    public IReadOnlyList<string> EffectiveResponseUrlPrefixes => ResponseUrlPrefixes.Count > 0 ? ResponseUrlPrefixes : ["https://hooks.slack.com/"];

    /// <summary>The slash command this bot owns.</summary>
    public string CommandName { get; set; } = "/pullbot";

    /// <summary>How long a slash command's acknowledgement waits for the handler's answer before saying "Working on it…".</summary>
    public TimeSpan InlineReplyBudget { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Timeout of one Web API call.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long seen event and envelope ids are remembered, so Slack's retries are not processed twice.</summary>
    public TimeSpan SeenEventRetention { get; set; } = TimeSpan.FromHours(2);

    /// <summary>True when any credential is set: Slack is meant to be on.</summary>
    public bool IsConfigured =>
        !string.IsNullOrWhiteSpace(SigningSecret) || !string.IsNullOrWhiteSpace(BotToken) || !string.IsNullOrWhiteSpace(AppToken);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!IsConfigured)
        {
            yield break;
        }

        if (string.IsNullOrWhiteSpace(BotToken) || !BotToken.StartsWith("xoxb-", StringComparison.Ordinal))
        {
            yield return new ValidationResult("Slack:BotToken must be the app's Bot User OAuth Token, which starts with \"xoxb-\".", [nameof(BotToken)]);
        }

        if (SocketMode && (string.IsNullOrWhiteSpace(AppToken) || !AppToken.StartsWith("xapp-", StringComparison.Ordinal)))
        {
            yield return new ValidationResult("Slack:AppToken must be an app-level token starting with \"xapp-\" (scope connections:write) when Slack:SocketMode is true.", [nameof(AppToken)]);
        }

        if (!SocketMode && string.IsNullOrWhiteSpace(SigningSecret))
        {
            yield return new ValidationResult("Slack:SigningSecret must be set (Basic Information → Signing Secret) so inbound Slack requests can be verified, or set Slack:SocketMode to true.", [nameof(SigningSecret)]);
        }

        if (!ApiBaseUrl.IsAbsoluteUri || ApiBaseUrl.Scheme is not ("https" or "http") || !ApiBaseUrl.AbsolutePath.EndsWith('/'))
        {
            yield return new ValidationResult("Slack:ApiBaseUrl must be an absolute http(s) URL ending in '/', such as https://slack.com/api/.", [nameof(ApiBaseUrl)]);
        }

        if (string.IsNullOrWhiteSpace(CommandName) || !CommandName.StartsWith('/'))
        {
            yield return new ValidationResult("Slack:CommandName must be the slash command, starting with '/', such as /pullbot.", [nameof(CommandName)]);
        }

        if (InlineReplyBudget < TimeSpan.Zero || InlineReplyBudget > TimeSpan.FromSeconds(2))
        {
            yield return new ValidationResult("Slack:InlineReplyBudget must be between 0 and 2 seconds: Slack waits only 3 seconds for an answer.", [nameof(InlineReplyBudget)]);
        }

        if (RequestTimeout <= TimeSpan.Zero || RequestTimeout > TimeSpan.FromMinutes(2))
        {
            yield return new ValidationResult("Slack:RequestTimeout must be between 0 and 2 minutes.", [nameof(RequestTimeout)]);
        }

        if (ResponseUrlPrefixes.Exists(p => !Uri.TryCreate(p, UriKind.Absolute, out _)))
        {
            yield return new ValidationResult("Slack:ResponseUrlPrefixes must list absolute URL prefixes, such as https://hooks.slack.com/.", [nameof(ResponseUrlPrefixes)]);
        }
    }
}
