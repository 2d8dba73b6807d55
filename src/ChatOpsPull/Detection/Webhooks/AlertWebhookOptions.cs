using System.ComponentModel.DataAnnotations;

namespace ChatOpsPull.Detection.Webhooks;

/// <summary>Section "Alerts": what both alert webhooks share.</summary>
public sealed class AlertWebhookOptions
{
    public const string Section = "Alerts";

    /// <summary>Largest request body accepted, in bytes; larger bodies get 413 and are not read further.</summary>
    [Range(1024, 64 * 1024 * 1024, ErrorMessage = "Alerts:MaxBodyBytes must be between 1024 and 67108864 (64 MiB).")]
    public int MaxBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Waiting reasons that count as image-pull failures besides kubelet's own (ErrImagePull, ImagePullBackOff,
    /// InvalidImageName, ErrImageNeverPull), e.g. a runtime-specific reason your alert rules emit.
    /// </summary>
    public List<string> ExtraPullReasons { get; set; } = [];

    /// <summary>
    /// PostgreSQL: how many alert inbox rounds (group commits of the requests waiting for their answer) may be written at
    /// once, each its own transaction on its own connection; the requests that arrive meanwhile wait for the next free
    /// one. 1 (the default) writes one round after another. SQLite writes one at a time whatever this says (one writer).
    /// More helps only where the database has cores of its own: with it on the bot's two cores, 4 at once made rounds of
    /// 2.2 requests instead of 7–8 and accepted fewer requests in each of four alternated runs (20.5–25.6k vs 26.1–32.8k).
    /// </summary>
    [Range(1, 64, ErrorMessage = "Alerts:InboxRoundsAtOnce must be between 1 and 64.")]
    public int InboxRoundsAtOnce { get; set; } = 1;
}

/// <summary>How one webhook endpoint authenticates its callers. Never open by default.</summary>
public abstract class WebhookAuthOptions : IValidatableObject
{
    public const int MinimumSecretLength = 16;

    /// <summary>Expected in <c>Authorization: Bearer …</c> (Alertmanager's <c>http_config.authorization</c> sends it).</summary>
    public string? BearerToken { get; set; }

    /// <summary>Key for the HMAC-SHA256 signature in <c>X-ChatOpsPull-Signature</c> over timestamp and raw body.</summary>
    public string? HmacSecret { get; set; }

    /// <summary>Accept requests without credentials. For local testing only.</summary>
    public bool AllowAnonymous { get; set; }

    /// <summary>How far <c>X-ChatOpsPull-Timestamp</c> may be from the bot's clock, either way.</summary>
    public int SignatureToleranceSeconds { get; set; } = 300;

    /// <summary>The configuration section, for messages ("Alerts:Alertmanager").</summary>
    public abstract string SectionName { get; }

    /// <summary>Whether any way in is configured (a credential, or anonymous access on purpose).</summary>
    public bool IsConfigured => AllowAnonymous || !string.IsNullOrEmpty(BearerToken) || !string.IsNullOrEmpty(HmacSecret);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (BearerToken is { Length: > 0 } token && (token.Length < MinimumSecretLength || token.Any(char.IsWhiteSpace)))
        {
            yield return new ValidationResult(
                $"{SectionName}:BearerToken must be at least {MinimumSecretLength} characters without spaces (e.g. the output of `openssl rand -hex 32`).",
                [nameof(BearerToken)]);
        }

        if (SignatureToleranceSeconds is < 1 or > 3600)
        {
            yield return new ValidationResult($"{SectionName}:SignatureToleranceSeconds must be between 1 and 3600.", [nameof(SignatureToleranceSeconds)]);
        }

        if (HmacSecret is { Length: > 0 } secret && secret.Length < MinimumSecretLength)
        {
            yield return new ValidationResult(
                $"{SectionName}:HmacSecret must be at least {MinimumSecretLength} characters (e.g. the output of `openssl rand -hex 32`).",
                [nameof(HmacSecret)]);
        }
    }
}

/// <summary>Section "Alerts:Alertmanager": <c>POST /alerts/alertmanager</c>.</summary>
public sealed class AlertmanagerWebhookOptions : WebhookAuthOptions
{
    public const string Section = "Alerts:Alertmanager";

    public override string SectionName => Section;

    /// <summary>
    /// Glob patterns of the alert names that may carry pull failures ("KubeContainerWaiting", "Kube*"). Empty: any
    /// alert name. An alert counts only when, in addition, its reason label is a pull reason.
    /// </summary>
    public List<string> AlertNames { get; set; } = [];

    [Required(AllowEmptyStrings = false, ErrorMessage = "Alerts:Alertmanager:ReasonLabel must name the label that carries the waiting reason (kube-state-metrics: \"reason\").")]
    public string ReasonLabel { get; set; } = "reason";

    [Required(AllowEmptyStrings = false, ErrorMessage = "Alerts:Alertmanager:ClusterLabel must name the label that carries the cluster (e.g. \"cluster\").")]
    public string ClusterLabel { get; set; } = "cluster";

    [Required(AllowEmptyStrings = false, ErrorMessage = "Alerts:Alertmanager:ImageLabel must name the label that carries the image (e.g. \"image\").")]
    public string ImageLabel { get; set; } = "image";

    /// <summary>How many delivered alerts (fingerprint + startsAt + status) are remembered to drop Alertmanager's re-sends. 0 turns it off.</summary>
    [Range(0, 10_000_000, ErrorMessage = "Alerts:Alertmanager:DeduplicationCapacity must be between 0 and 10000000.")]
    public int DeduplicationCapacity { get; set; } = 50_000;
}

/// <summary>Section "Alerts:Generic": <c>POST /alerts</c>.</summary>
public sealed class GenericWebhookOptions : WebhookAuthOptions
{
    public const string Section = "Alerts:Generic";

    public override string SectionName => Section;

    /// <summary>Most alerts one request may carry.</summary>
    [Range(1, 100_000, ErrorMessage = "Alerts:Generic:MaxBatchSize must be between 1 and 100000.")]
    public int MaxBatchSize { get; set; } = 1000;
}
