using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;

namespace ChatOpsPull.Prevention;

/// <summary>What the admission check does when an image cannot be pulled.</summary>
public enum AdmissionMode
{
    /// <summary>Admit it, with warnings (kubectl and CI print them).</summary>
    Warn,

    /// <summary>Refuse it, with a message naming the image, the cause and the fix.</summary>
    Deny,
}

/// <summary>Where the admission endpoint's TLS certificate comes from.</summary>
public enum AdmissionCertificateSource
{
    /// <summary>The bot makes its own CA and serving certificate at start and puts the CA into its webhook configuration's caBundle.</summary>
    SelfManaged,

    /// <summary>PEM files (a mounted kubernetes.io/tls Secret, e.g. cert-manager's), read again when they change.</summary>
    Files,
}

/// <summary>
/// Section "Admission": the opt-in admission check (<c>POST /admission/validate</c> over HTTPS on <see cref="Port"/>),
/// which answers before a pod or a pod-template change is admitted whether its images can be pulled with the pod's own
/// credentials. docs/prevention.md describes it; manifests/components/admission installs it.
/// </summary>
public sealed partial class AdmissionOptions : IValidatableObject
{
    public const string Section = "Admission";

    /// <summary>The namespace label that sets the mode per namespace: "deny", "warn" or "skip".</summary>
    public const string NamespaceLabel = "chatopspull.io/admission";

    /// <summary>The longest time the API server gives a webhook here (the webhook configuration's timeoutSeconds).</summary>
    public static readonly TimeSpan WebhookTimeout = TimeSpan.FromSeconds(3);

    /// <summary>Serve admission reviews. Off by default: the webhook is opt-in (manifests/overlays/admission).</summary>
    public bool Enabled { get; set; }

    /// <summary>The HTTPS port that serves admission reviews (and only them); Urls must list an https address on it.</summary>
    [Range(1, 65535, ErrorMessage = "Admission:Port must be a TCP port (1-65535).")]
    public int Port { get; set; } = 8443;

    /// <summary>What happens to an image that cannot be pulled, unless the namespace's label says otherwise.</summary>
    [EnumDataType(typeof(AdmissionMode), ErrorMessage = "Admission:Mode must be Warn or Deny.")]
    public AdmissionMode Mode { get; set; } = AdmissionMode.Warn;

    /// <summary>Namespaces (globs) where an image that cannot be pulled is refused, as if labelled chatopspull.io/admission=deny.</summary>
    public List<string> DenyNamespaces { get; set; } = [];

    /// <summary>Namespaces (globs) never checked, besides the bot's own and kube-system (which never are).</summary>
    public List<string> SkipNamespaces { get; set; } = [];

    /// <summary>How long one review may take; then it is admitted with "could not verify in time". Below the webhook's 3 s.</summary>
    public TimeSpan Budget { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long ServiceAccounts, pull secrets and namespace labels read for reviews are reused.</summary>
    public TimeSpan LookupCacheWindow { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The largest AdmissionReview body accepted (an object and its old version); larger ones get 400.</summary>
    [Range(64 * 1024, 64 * 1024 * 1024, ErrorMessage = "Admission:MaxReviewBytes must be between 65536 and 67108864.")]
    public int MaxReviewBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>SelfManaged (the bot's own CA, injected into the webhook configuration) or Files (cert-manager's Secret, mounted).</summary>
    [EnumDataType(typeof(AdmissionCertificateSource), ErrorMessage = "Admission:Certificate must be SelfManaged or Files.")]
    public AdmissionCertificateSource Certificate { get; set; } = AdmissionCertificateSource.SelfManaged;

    /// <summary>Files: the serving certificate (PEM, leaf first).</summary>
    public string CertificateFile { get; set; } = "/etc/chatopspull/admission-tls/tls.crt";

    /// <summary>Files: its private key (PEM).</summary>
    public string KeyFile { get; set; } = "/etc/chatopspull/admission-tls/tls.key";

    /// <summary>SelfManaged: the ValidatingWebhookConfiguration whose caBundle the bot fills (and the only one RBAC lets it patch).</summary>
    public string WebhookConfiguration { get; set; } = "chatopspull";

    /// <summary>SelfManaged: the Service the API server calls; the certificate names SERVICE.NAMESPACE.svc.</summary>
    public string ServiceName { get; set; } = "chatopspull";

    /// <summary>SelfManaged: further DNS names or IP addresses the certificate is for.</summary>
    public List<string> CertificateNames { get; set; } = [];

    /// <summary>SelfManaged: how often the bot checks that its CA is still in the caBundle (and renews a certificate near its end).</summary>
    public TimeSpan CaBundleCheckInterval { get; set; } = TimeSpan.FromMinutes(5);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Budget <= TimeSpan.Zero || Budget >= WebhookTimeout)
        {
            yield return new ValidationResult(
                $"Admission:Budget must be more than 0 and less than the webhook's timeoutSeconds ({WebhookTimeout.TotalSeconds:0} s), so the bot answers before the API server gives up.",
                [nameof(Budget)]);
        }

        if (LookupCacheWindow < TimeSpan.Zero || LookupCacheWindow > TimeSpan.FromHours(1))
        {
            yield return new ValidationResult("Admission:LookupCacheWindow must be between 0 and 1 hour.", [nameof(LookupCacheWindow)]);
        }

        if (CaBundleCheckInterval < TimeSpan.FromSeconds(1) || CaBundleCheckInterval > TimeSpan.FromDays(1))
        {
            yield return new ValidationResult("Admission:CaBundleCheckInterval must be between 1 second and 1 day.", [nameof(CaBundleCheckInterval)]);
        }

        foreach (var (list, name) in new[] { (DenyNamespaces, nameof(DenyNamespaces)), (SkipNamespaces, nameof(SkipNamespaces)) })
        {
            if (list.Any(string.IsNullOrWhiteSpace))
            {
                yield return new ValidationResult($"Admission:{name} must hold namespace globs such as \"prod-*\", not empty entries.", [name]);
            }
        }

        if (Enabled && Certificate == AdmissionCertificateSource.Files && (string.IsNullOrWhiteSpace(CertificateFile) || string.IsNullOrWhiteSpace(KeyFile)))
        {
            yield return new ValidationResult("Admission:CertificateFile and Admission:KeyFile must name the PEM files when Admission:Certificate is Files.", [nameof(CertificateFile)]);
        }

        if (!NameRegex().IsMatch(WebhookConfiguration) || !NameRegex().IsMatch(ServiceName))
        {
            yield return new ValidationResult("Admission:WebhookConfiguration and Admission:ServiceName must be Kubernetes object names (lowercase letters, digits, '-' and '.').", [nameof(WebhookConfiguration)]);
        }
    }

    [GeneratedRegex("^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex NameRegex();
}
