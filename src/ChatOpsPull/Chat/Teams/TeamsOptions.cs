using System.ComponentModel.DataAnnotations;

namespace ChatOpsPull.Chat.Teams;

/// <summary>
/// Section "Teams": the bot's Microsoft App registration and where the Bot Framework lives.
/// Leave <see cref="MicrosoftAppId"/> empty to run without Teams: <c>/api/messages</c> then answers 503.
/// </summary>
public sealed class TeamsOptions : IValidatableObject
{
    public const string Section = "Teams";

    public const string BotFrameworkOpenIdMetadataUrl = "https://login.botframework.com/v1/.well-known/openidconfiguration";

    public const string BotFrameworkIssuer = "https://api.botframework.com";

    public const string BotFrameworkScope = "https://api.botframework.com/.default";

    /// <summary>The tenant the Bot Framework's own app registrations (and the Emulator's tokens) live in.</summary>
    public const string BotFrameworkTenantId = "d6d49420-f39b-4df7-a1dc-d59a935871db";

    /// <summary>The bot's Microsoft App ID (a GUID): the audience of every inbound token and the client id outbound.</summary>
    public string? MicrosoftAppId { get; set; }

    /// <summary>The App's client secret, used only against the token endpoint. Never logged.</summary>
    public string? MicrosoftAppPassword { get; set; }

    /// <summary>
    /// The bot's own tenant for a single-tenant App registration: outbound tokens are then requested from
    /// <c>https://login.microsoftonline.com/{TenantId}/oauth2/v2.0/token</c>. Empty for multi-tenant bots.
    /// </summary>
    public string? TenantId { get; set; }

    /// <summary>Where the Bot Connector publishes its signing keys (OpenID metadata with a <c>jwks_uri</c>).</summary>
    public string OpenIdMetadataUrl { get; set; } = BotFrameworkOpenIdMetadataUrl;

    /// <summary>The issuer every channel token must carry.</summary>
    public string Issuer { get; set; } = BotFrameworkIssuer;

    /// <summary>Client-credentials token endpoint. Empty: botframework.com's, or the tenant's when <see cref="TenantId"/> is set.</summary>
    public string? TokenEndpoint { get; set; }

    public string Scope { get; set; } = BotFrameworkScope;

    /// <summary>
    /// Hosts the bot may call back (the activity's <c>serviceUrl</c>). Activities from other hosts are refused and
    /// nothing is ever sent to a host outside this list. Teams uses smba.trafficmanager.net (commercial) and the
    /// smba.infra.*.teams.microsoft.* hosts in government clouds.
    /// </summary>
    public List<string> AllowedServiceUrlHosts { get; set; } = ["smba.trafficmanager.net"];

    /// <summary>
    /// Accept tokens the Bot Framework Emulator mints with the bot's own credentials (issuer is the botframework.com
    /// tenant, or <see cref="TenantId"/>, v1 or v2). Off unless set: a production bot should only hear the Bot Connector.
    /// </summary>
    public bool AcceptEmulatorTokens { get; set; }

    /// <summary>OpenID metadata for Emulator tokens (Microsoft Entra ID's botframework.com tenant).</summary>
    public string EmulatorOpenIdMetadataUrl { get; set; } = "https://login.microsoftonline.com/botframework.com/v2.0/.well-known/openid-configuration";

    /// <summary>Largest activity accepted on <c>/api/messages</c>, in bytes.</summary>
    [Range(1024, 4 * 1024 * 1024, ErrorMessage = "Teams:MaxRequestBytes must be between 1 KiB and 4 MiB.")]
    public int MaxRequestBytes { get; set; } = 256 * 1024;

    /// <summary>AAD object ids who see approve/deny buttons when no approval policy says otherwise (see <see cref="ITeamsCardApprovers"/>).</summary>
    public List<string> CardApprovers { get; set; } = [];

    /// <summary>Timeout for one call to the Bot Connector or the token endpoint.</summary>
    [Range(1, 300, ErrorMessage = "Teams:HttpTimeoutSeconds must be between 1 and 300.")]
    public int HttpTimeoutSeconds { get; set; } = 30;

    public bool IsConfigured => !string.IsNullOrWhiteSpace(MicrosoftAppId);

    public string EffectiveTokenEndpoint =>
        !string.IsNullOrWhiteSpace(TokenEndpoint) ? TokenEndpoint
        : !string.IsNullOrWhiteSpace(TenantId) ? $"https://login.microsoftonline.com/{TenantId}/oauth2/v2.0/token"
        : "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token";

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!IsConfigured)
        {
            yield break;
        }

        if (!Guid.TryParse(MicrosoftAppId, out _))
        {
            yield return new ValidationResult(
                "Teams:MicrosoftAppId must be the bot's Microsoft App ID, a GUID such as 0a1b2c3d-4e5f-6789-abcd-ef0123456789.",
                [nameof(MicrosoftAppId)]);
        }

        if (string.IsNullOrWhiteSpace(MicrosoftAppPassword))
        {
            yield return new ValidationResult(
                "Teams:MicrosoftAppPassword must be set to the App registration's client secret when Teams:MicrosoftAppId is set.",
                [nameof(MicrosoftAppPassword)]);
        }

        if (!string.IsNullOrWhiteSpace(TenantId) && !Guid.TryParse(TenantId, out _))
        {
            yield return new ValidationResult("Teams:TenantId must be a tenant GUID, or empty for a multi-tenant bot.", [nameof(TenantId)]);
        }

        foreach (var (name, value) in new[]
                 {
                     (nameof(OpenIdMetadataUrl), OpenIdMetadataUrl),
                     (nameof(TokenEndpoint), EffectiveTokenEndpoint),
                     (nameof(EmulatorOpenIdMetadataUrl), EmulatorOpenIdMetadataUrl),
                 })
        {
            if (!IsSafeUrl(value))
            {
                yield return new ValidationResult(
                    $"Teams:{name} must be an absolute https URL (http is allowed only on loopback, for local stand-ins); it is \"{value}\".",
                    [name]);
            }
        }

        if (string.IsNullOrWhiteSpace(Issuer))
        {
            yield return new ValidationResult("Teams:Issuer must be set (the Bot Connector's is https://api.botframework.com).", [nameof(Issuer)]);
        }

        if (AllowedServiceUrlHosts.Count == 0 || AllowedServiceUrlHosts.Exists(h => string.IsNullOrWhiteSpace(h) || h.Contains('/', StringComparison.Ordinal)))
        {
            yield return new ValidationResult(
                "Teams:AllowedServiceUrlHosts must list at least one host name (e.g. smba.trafficmanager.net), without scheme or path.",
                [nameof(AllowedServiceUrlHosts)]);
        }
    }

    /// <summary>https anywhere; http only to a loopback address (the local Bot Connector stand-in in tests).</summary>
    public static bool IsSafeUrl(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback));
}
