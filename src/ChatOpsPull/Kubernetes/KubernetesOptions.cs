using System.ComponentModel.DataAnnotations;

namespace ChatOpsPull.Kubernetes;

/// <summary>Section "Kubernetes": how the bot reaches the cluster, what the watcher watches, and leader election.</summary>
public sealed class KubernetesOptions : IValidatableObject
{
    public const string Section = "Kubernetes";

    /// <summary>Turn the watcher off even when a cluster is reachable (the CLI and inspection still work).</summary>
    public bool WatchEnabled { get; set; } = true;

    /// <summary>Kubeconfig file; empty means in-cluster service account, then $KUBECONFIG, then ~/.kube/config.</summary>
    public string? KubeconfigPath { get; set; }

    /// <summary>Kubeconfig context; empty means the file's current-context.</summary>
    public string? Context { get; set; }

    /// <summary>Namespaces to watch; empty watches all namespaces.</summary>
    public List<string> Namespaces { get; set; } = [];

    /// <summary>
    /// Names of pull secrets the diagnosis also looks for in a failing pod's namespace when none of the pod's own secrets
    /// has credentials for its registry (e.g. "regcred"), besides the name the bot itself writes ("pull-ghcr-io"). The
    /// bot never lists Secrets: it reads them by name only, so a secret with another name is not found.
    /// </summary>
    public List<string> PullSecretNames { get; set; } = [];

    /// <summary>How often the watcher relists everything to reconcile what a watch may have missed.</summary>
    public TimeSpan ResyncPeriod { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Server-side timeout asked for on each watch request; the watcher re-watches from its last resourceVersion after it.</summary>
    public TimeSpan WatchTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Page size for list calls, so a relist of a large cluster never holds every object at once.</summary>
    [Range(1, 10000, ErrorMessage = "Kubernetes:ListPageSize must be between 1 and 10000.")]
    public int ListPageSize { get; set; } = 500;

    /// <summary>First wait after a dropped watch stream; doubles up to <see cref="ReconnectMaxDelay"/>.</summary>
    public TimeSpan ReconnectMinDelay { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Tries to hand one pod change (a pull failure or its resolution) to the incident engine before the watcher drops it and goes on.</summary>
    [Range(1, 20, ErrorMessage = "Kubernetes:DeliveryAttempts must be between 1 and 20.")]
    public int DeliveryAttempts { get; set; } = 5;

    /// <summary>Wait before the first retry of a delivery; the n-th retry waits n times this.</summary>
    public TimeSpan DeliveryRetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    public LeaseOptions Lease { get; set; } = new();

    /// <summary>What the nodes' kubelets are configured with that the Kubernetes API does not show.</summary>
    public KubeletOptions Kubelet { get; set; } = new();

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!string.IsNullOrWhiteSpace(KubeconfigPath) && !File.Exists(ExpandHome(KubeconfigPath)))
        {
            yield return new ValidationResult(
                $"Kubernetes:KubeconfigPath points at \"{KubeconfigPath}\", which does not exist; set it to a kubeconfig file or leave it empty.",
                [nameof(KubeconfigPath)]);
        }

        foreach (var ns in Namespaces)
        {
            if (!IsDnsLabel(ns))
            {
                yield return new ValidationResult(
                    $"Kubernetes:Namespaces contains \"{ns}\", which is not a namespace name (lowercase letters, digits and '-', at most 63).",
                    [nameof(Namespaces)]);
            }
        }

        foreach (var name in PullSecretNames)
        {
            if (!IsDnsSubdomain(name))
            {
                yield return new ValidationResult(
                    $"Kubernetes:PullSecretNames contains \"{name}\", which is not a Secret name (lowercase letters, digits, '-' and '.', at most 253).",
                    [nameof(PullSecretNames)]);
            }
        }

        if (ResyncPeriod < TimeSpan.FromSeconds(10))
        {
            yield return new ValidationResult("Kubernetes:ResyncPeriod must be at least 10 seconds (e.g. \"00:10:00\").", [nameof(ResyncPeriod)]);
        }

        if (WatchTimeout < TimeSpan.FromSeconds(1))
        {
            yield return new ValidationResult("Kubernetes:WatchTimeout must be at least 1 second (e.g. \"00:05:00\").", [nameof(WatchTimeout)]);
        }

        if (ReconnectMinDelay <= TimeSpan.Zero || ReconnectMaxDelay < ReconnectMinDelay)
        {
            yield return new ValidationResult(
                "Kubernetes:ReconnectMinDelay must be positive and no larger than Kubernetes:ReconnectMaxDelay.",
                [nameof(ReconnectMinDelay), nameof(ReconnectMaxDelay)]);
        }

        if (DeliveryRetryDelay < TimeSpan.Zero || DeliveryRetryDelay > TimeSpan.FromMinutes(1))
        {
            yield return new ValidationResult("Kubernetes:DeliveryRetryDelay must be between 00:00:00 and 00:01:00 (e.g. \"00:00:00.200\").", [nameof(DeliveryRetryDelay)]);
        }

        foreach (var result in Lease.Validate().Concat(Kubelet.Validate()))
        {
            yield return result;
        }
    }

    internal static string ExpandHome(string path) =>
        path.StartsWith("~/", StringComparison.Ordinal)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), path[2..])
            : path;

    internal static bool IsDnsLabel(string value) =>
        value.Length is > 0 and <= 63
        && value[0] != '-'
        && value[^1] != '-'
        && value.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');

    /// <summary>A DNS-1123 subdomain, as object names such as Secrets' are: dot-separated labels, at most 253 characters.</summary>
    internal static bool IsDnsSubdomain(string value) =>
        value.Length is > 0 and <= 253
        && value.Split('.').All(label => label.Length > 0 && char.IsAsciiLetterOrDigit(label[0]) && char.IsAsciiLetterOrDigit(label[^1])
            && label.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'));
}

/// <summary>Section "Kubernetes:Lease": only the replica holding this coordination.k8s.io/v1 Lease runs the watcher.</summary>
public sealed class LeaseOptions
{
    /// <summary>Off: every replica watches (fine for one replica).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Namespace of the Lease; empty means the bot's own namespace in-cluster, else "default".</summary>
    public string? Namespace { get; set; }

    public string Name { get; set; } = "chatopspull-watcher";

    /// <summary>How long a leader's claim is valid without renewal (whole seconds are written to the Lease).</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long the leader keeps trying to renew before it gives leadership up.</summary>
    public TimeSpan RenewDeadline { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often candidates try to acquire and the leader renews.</summary>
    public TimeSpan RetryPeriod { get; set; } = TimeSpan.FromSeconds(2);

    internal IEnumerable<ValidationResult> Validate()
    {
        if (!Enabled)
        {
            yield break;
        }

        if (string.IsNullOrWhiteSpace(Name) || !KubernetesOptions.IsDnsLabel(Name))
        {
            yield return new ValidationResult("Kubernetes:Lease:Name must be a lowercase name such as \"chatopspull-watcher\".", ["Lease.Name"]);
        }

        if (!string.IsNullOrEmpty(Namespace) && !KubernetesOptions.IsDnsLabel(Namespace))
        {
            yield return new ValidationResult($"Kubernetes:Lease:Namespace \"{Namespace}\" is not a namespace name.", ["Lease.Namespace"]);
        }

        if (LeaseDuration < TimeSpan.FromSeconds(1))
        {
            yield return new ValidationResult("Kubernetes:Lease:LeaseDuration must be at least 1 second (e.g. \"00:00:15\").", ["Lease.LeaseDuration"]);
        }

        if (RetryPeriod <= TimeSpan.Zero || RenewDeadline <= RetryPeriod || LeaseDuration <= RenewDeadline)
        {
            yield return new ValidationResult(
                "Kubernetes:Lease needs RetryPeriod < RenewDeadline < LeaseDuration (defaults 2s < 10s < 15s).",
                ["Lease.RetryPeriod", "Lease.RenewDeadline", "Lease.LeaseDuration"]);
        }
    }
}

/// <summary>
/// Section "Kubernetes:Kubelet": the parts of the kubelet configuration that change a diagnosis and that the API does not
/// show (reading them from a node needs nodes/proxy, which the bot is never given).
/// </summary>
public sealed class KubeletOptions
{
    public static readonly IReadOnlyList<string> VerificationPolicies = ["NeverVerify", "NeverVerifyPreloadedImages", "NeverVerifyAllowlistedImages", "AlwaysVerify"];

    /// <summary>
    /// The nodes' imagePullCredentialsVerificationPolicy (KEP-2535). Empty: inferred from each node's kubelet version
    /// (on by default from 1.35 with NeverVerifyPreloadedImages, off before).
    /// </summary>
    public string? ImagePullCredentialsVerificationPolicy { get; set; }

    /// <summary>The credential provider plugins in the nodes' CredentialProviderConfig (kubelet --image-credential-provider-config).</summary>
    public List<CredentialProviderOptions> CredentialProviders { get; set; } = [];

    /// <summary>
    /// Assume the cloud's own provider on nodes of that cloud (by spec.providerID): ecr-credential-provider on AWS,
    /// the GCP provider on GCE, acr-credential-provider on Azure, each for its registries — as EKS, GKE and AKS set up.
    /// </summary>
    public bool InferCloudCredentialProviders { get; set; } = true;

    internal IEnumerable<ValidationResult> Validate()
    {
        if (!string.IsNullOrEmpty(ImagePullCredentialsVerificationPolicy) && !VerificationPolicies.Contains(ImagePullCredentialsVerificationPolicy))
        {
            yield return new ValidationResult(
                $"Kubernetes:Kubelet:ImagePullCredentialsVerificationPolicy \"{ImagePullCredentialsVerificationPolicy}\" is not a kubelet policy; set it to one of {string.Join(", ", VerificationPolicies)}, or leave it empty to infer it from the kubelet version.",
                ["Kubelet.ImagePullCredentialsVerificationPolicy"]);
        }

        for (var i = 0; i < CredentialProviders.Count; i++)
        {
            var provider = CredentialProviders[i];
            if (string.IsNullOrWhiteSpace(provider.Name) || provider.MatchImages.Count == 0 || provider.MatchImages.Any(string.IsNullOrWhiteSpace))
            {
                yield return new ValidationResult(
                    $"Kubernetes:Kubelet:CredentialProviders:{i} needs a Name and at least one MatchImages entry (as in the kubelet's CredentialProviderConfig, e.g. \"*.dkr.ecr.*.amazonaws.com\").",
                    [$"Kubelet.CredentialProviders.{i}"]);
            }
        }
    }
}

/// <summary>One provider of the kubelet's CredentialProviderConfig.</summary>
public sealed class CredentialProviderOptions
{
    /// <summary>The plugin's name ("ecr-credential-provider").</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>Its matchImages, matched as kubelet matches them ("*.azurecr.io", "123456789012.dkr.ecr.eu-west-1.amazonaws.com").</summary>
    public List<string> MatchImages { get; set; } = [];

    /// <summary>KEP-4412: the plugin gets the pod's service-account token (tokenAttributes set in the config).</summary>
    public bool ServiceAccountToken { get; set; }
}
