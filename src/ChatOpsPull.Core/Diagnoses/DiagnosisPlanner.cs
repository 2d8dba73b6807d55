using System.Globalization;
using ChatOpsPull.Core.Classification;
using MessageClassification = ChatOpsPull.Core.Classification.Classification;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Remediation;

namespace ChatOpsPull.Core.Diagnoses;

/// <summary>
/// Weighs the facts into one diagnosis: live evidence (registry, secrets, node) wins over the runtime message,
/// and the remediations that fit the cause are offered best first. Pure; the evidence list comes from the gatherer.
/// </summary>
public static class DiagnosisPlanner
{
    public static Diagnosis Plan(DiagnosisFacts facts, IReadOnlyList<Evidence> evidence, DateTimeOffset now)
    {
        var message = MessageClassifier.Classify(facts.RawMessage, facts.Reason);
        var (cause, confidence, summary) = Decide(facts, message, now);
        var (remediations, withheld) = FixPlanner.Plan(facts, cause);
        return new Diagnosis(cause, confidence, summary, evidence, facts.RawMessage, remediations)
        {
            DiagnosedAt = now,
            Withheld = withheld,
            Owner = facts.Shape?.Owner,
        };
    }

    private static (PullCause Cause, double Confidence, string Summary) Decide(DiagnosisFacts facts, MessageClassification message, DateTimeOffset now)
    {
        if (facts.Image is null || facts.Reason == "InvalidImageName")
        {
            return (PullCause.InvalidName, 0.99, $"The image reference `{facts.ImageText}` is invalid: {facts.ImageError ?? message.Summary} Fix the image in the pod template.");
        }

        var kubelet = facts.Kubelet;
        var node = facts.NodeName ?? "(unknown)";
        if (message.Cause == PullCause.ImageNotEnsured
            || (kubelet.VerifiesCredentials && kubelet.ImageOnNode == true
                && (facts.Reason == "ErrImageNeverPull" || (facts.Registry?.Cause is PullCause.AuthFailed or PullCause.AccessDenied && kubelet.PullPolicy is null or "IfNotPresent"))))
        {
            return (PullCause.ImageNotEnsured, message.Cause == PullCause.ImageNotEnsured || facts.Registry is not null ? 0.9 : 0.75, NotEnsuredSummary(facts));
        }

        if (message.Cause == PullCause.NodePullLimit)
        {
            return (PullCause.NodePullLimit, 0.9,
                $"Kubelet on node {node} throttled its own image pulls (\"pull QPS exceeded\": registryPullQPS / registryBurst in the kubelet configuration); "
                + $"{facts.Image?.Domain ?? "the registry"} was not asked and is not at fault. Kubelet retries by itself; raise registryPullQPS/registryBurst on the node (0 = no limit) or stagger the rollout.");
        }

        if (message.Cause == PullCause.PolicyRejected)
        {
            var served = facts.Registry is { Cause: null } ? " The registry serves the image: the node's policy is what refuses it." : string.Empty;
            return (PullCause.PolicyRejected, 0.85, $"{message.Summary} (node {node}){served}");
        }

        if (facts.Reason == "ErrImageNeverPull")
        {
            return (PullCause.NeverPull, 0.99, $"imagePullPolicy is Never and `{facts.Image.FamiliarString}` is not on node {facts.NodeName ?? "(unknown)"}. Pre-load the image or set imagePullPolicy to IfNotPresent.");
        }

        if (message.Cause == PullCause.NodeStorage)
        {
            return (PullCause.NodeStorage, facts.NodeDiskPressure == true ? 0.97 : 0.85, NodeStorageSummary(facts));
        }

        // A node under DiskPressure explains a failure only when the registry has nothing against the image itself.
        if (facts.NodeDiskPressure == true && facts.Registry is null or { Cause: null })
        {
            return (PullCause.NodeStorage, 0.8, NodeStorageSummary(facts));
        }

        if (facts.Registry is not { } registry)
        {
            var provided = message.Cause is PullCause.AuthFailed or PullCause.AccessDenied && ProviderSuppliesCredentials(facts) is { } p
                ? $" Node {node}'s credential provider `{p.Name}` supplies the credentials for {facts.Image.Domain}, not a pull secret: check the provider on the node."
                : string.Empty;
            return (message.Cause, Math.Min(message.Confidence, 0.6), message.Summary + provided + " (The registry could not be checked; this is from the message alone.)");
        }

        var host = facts.Image.Domain;
        var image = facts.Image.FamiliarString;

        // The node reached the registry (its message is the registry's answer) but the bot could not: the bot's own
        // network is the odd one out, so the node's message is the better evidence.
        if (registry.Cause is PullCause.Network or PullCause.Tls && ReachedRegistry(message.Cause))
        {
            return (message.Cause, Math.Min(message.Confidence, 0.7), $"{message.Summary} (The bot could not reach {host} itself — {registry.Summary} — so this rests on the node's message.)");
        }

        switch (registry.Cause)
        {
            case null:
                if (message.Cause is PullCause.Network or PullCause.Tls)
                {
                    return (message.Cause, 0.6, $"The bot reaches {host} and can pull `{image}`, but the node could not: check the node's DNS, proxy and firewall (or its CA trust). Retry once fixed.");
                }

                if (message.Cause == PullCause.PlatformMismatch && facts.NodePlatform is { } platform)
                {
                    return (PullCause.PlatformMismatch, 0.7, $"`{image}` exists, but node {facts.NodeName} ({platform}) reported no matching platform. Available: {string.Join(", ", registry.AvailablePlatforms)}.");
                }

                // The message's cause no longer holds; only transient causes are worth keeping as the label.
                var transient = message.Cause is PullCause.RateLimited or PullCause.RegistryError ? message.Cause : PullCause.BackoffOnly;
                return (transient, 0.55,
                    $"The registry serves `{image}` to the pod's credentials right now, so the failure was transient or is already fixed. Retry the pull.");
            case PullCause.ImageNotFound:
                return (PullCause.ImageNotFound, 0.97, NotFoundSummary(facts, registry));
            case PullCause.AuthFailed or PullCause.AccessDenied when ProviderSuppliesCredentials(facts) is { } provider:
                return (registry.Cause.Value, 0.6, ProviderSummary(facts, provider, registry));
            case PullCause.AuthFailed:
                return (PullCause.AuthFailed, 0.95, AuthSummary(facts, registry, now));
            case PullCause.AccessDenied:
                return (PullCause.AccessDenied, 0.7, $"{host} denied access to `{image}`: the repository is private and these credentials lack access, or it does not exist. {SecretHint(facts)}");
            case PullCause.Network:
                return (PullCause.Network, 0.85, $"{registry.Summary} (from the bot's network). If the node's view differs, check its DNS/proxy/firewall.");
            case PullCause.Tls:
                return (PullCause.Tls, 0.9, $"{registry.Summary}. Add the registry's CA to the nodes' trust (containerd hosts.toml) or fix its certificate.");
            case PullCause.RateLimited:
                return (PullCause.RateLimited, 0.95, $"{registry.Summary}. Pull with authenticated credentials (higher limits) or use a mirror/cache.");
            case PullCause.PlatformMismatch:
                return (PullCause.PlatformMismatch, 0.95, $"`{image}` has no variant for {facts.NodePlatform ?? "the node's platform"}; it has {string.Join(", ", registry.AvailablePlatforms)}. Build for that platform or pin the pods to matching nodes.");
            case PullCause.RegistryError:
                return (PullCause.RegistryError, 0.8, $"{registry.Summary}. The registry is failing; retry when it recovers.");
            case PullCause.Unknown or PullCause.BackoffOnly or PullCause.InvalidName or PullCause.NeverPull or PullCause.NodeStorage
                or PullCause.ImageNotEnsured or PullCause.NodePullLimit or PullCause.PolicyRejected:
                return (message.Cause, message.Confidence, message.Summary);
            default:
                throw new ArgumentOutOfRangeException(nameof(facts), registry.Cause, "unknown cause");
        }
    }

    /// <summary>The node's credential provider for the image's registry, when the pod has no pull secret for it.</summary>
    internal static NodeCredentialProvider? ProviderSuppliesCredentials(DiagnosisFacts facts) =>
        facts.Secrets.MatchingSecret is null ? facts.Kubelet.CredentialProvider : null;

    private static string ProviderSummary(DiagnosisFacts facts, NodeCredentialProvider provider, RegistryFacts registry)
    {
        var host = facts.Image!.Domain;
        var token = provider.UsesServiceAccountToken
            ? $" from the pod's service-account token (ServiceAccount `{facts.ServiceAccount ?? "default"}`, KEP-4412)"
            : string.Empty;
        var identity = provider.UsesServiceAccountToken ? "the identity bound to the pod's ServiceAccount" : "the node's cloud identity (instance role, managed identity)";
        return $"No pull secret is missing: node {facts.NodeName ?? "(unknown)"}'s credential provider `{provider.Name}` supplies kubelet's credentials for {host}{token}. "
            + $"The bot cannot use those, so it asked {host} anonymously, and it answered: {registry.Summary}. "
            + $"If the node still cannot pull, check the provider on the node (plugin binary, CredentialProviderConfig) and that {identity} may pull `{facts.Image.Path}`.";
    }

    private static string NotEnsuredSummary(DiagnosisFacts facts)
    {
        var kubelet = facts.Kubelet;
        var image = facts.Image?.FamiliarString ?? facts.ImageText;
        var host = facts.Image?.Domain ?? "the registry";
        var version = kubelet.KubeletVersion is { } v ? $"kubelet {v}" : "kubelet";
        var policy = kubelet.Verification is CredentialVerification.Unknown or CredentialVerification.Off
            ? "imagePullCredentialsVerificationPolicy"
            : $"imagePullCredentialsVerificationPolicy {kubelet.Verification}";
        var what = facts.Reason == "ErrImageNeverPull"
            ? "With imagePullPolicy Never it cannot pull to check them, so it will not start the container."
            : facts.Registry is { Cause: not null } registry
                ? $"So it pulled again with this pod's credentials, and {host} refused them: {registry.Summary}."
                : "So it pulls again with this pod's own credentials, and those are refused.";
        var secrets = facts.Secrets.MatchingSecret is { } secret
            ? $"Refresh pull secret `{secret}` (it is wrong or expired)."
            : $"Attach a pull secret for {host} to the pod or its ServiceAccount `{facts.ServiceAccount ?? "default"}`.";
        return $"`{image}` is on node {facts.NodeName ?? "(unknown)"}, pulled earlier with credentials this pod does not have, and {version} checks the pod's own credentials before reusing it (KEP-2535, {policy}). {what} {secrets}";
    }

    /// <summary>Causes a node can only report after talking to the registry.</summary>
    private static bool ReachedRegistry(PullCause cause) =>
        cause is PullCause.ImageNotFound or PullCause.AuthFailed or PullCause.AccessDenied or PullCause.RateLimited or PullCause.PlatformMismatch;

    private static string NodeStorageSummary(DiagnosisFacts facts) =>
        $"Node {facts.NodeName ?? "(unknown)"} is out of disk space{(facts.NodeDiskPressure == true ? " (DiskPressure)" : string.Empty)}; kubelet cannot store the image. Free space on the node or move the pods.";

    private static string NotFoundSummary(DiagnosisFacts facts, RegistryFacts registry)
    {
        var image = facts.Image!;
        if (registry.SuggestedTags.Count == 0)
        {
            return $"`{image.FamiliarString}` does not exist in {image.Domain}: {registry.Summary}.";
        }

        return $"Tag `{image.Tag ?? image.ManifestReference}` does not exist in {image.Domain}/{image.Path}; nearest existing tag{(registry.SuggestedTags.Count > 1 ? "s" : string.Empty)}: {string.Join(", ", registry.SuggestedTags.Take(3))}.";
    }

    private static string AuthSummary(DiagnosisFacts facts, RegistryFacts registry, DateTimeOffset now)
    {
        var secrets = facts.Secrets;
        var host = facts.Image!.Domain;
        if (secrets.MatchingSecret is { } matching)
        {
            if (registry.CredentialExpiry is { } expiry && expiry <= now)
            {
                return $"The credentials in secret `{matching}` for {host} expired {Ago(now - expiry)} ago. Refresh them.";
            }

            return $"{host} rejected the credentials in secret `{matching}` (wrong password, revoked or expired token). Refresh them.";
        }

        if (secrets.Missing.Count > 0)
        {
            return $"Pull secret `{secrets.Missing[0]}` is referenced but does not exist in namespace {facts.Namespace}, so the pull is anonymous and {host} refuses it.";
        }

        if (secrets.UnattachedMatchingSecrets.Count > 0)
        {
            return $"Secret `{secrets.UnattachedMatchingSecrets[0]}` has credentials for {host} but is not attached to the pod or its ServiceAccount `{facts.ServiceAccount ?? "default"}`.";
        }

        if (!secrets.Readable)
        {
            return $"{host} requires credentials and the bot may not read secrets in {facts.Namespace} to check the pod's. {registry.Summary}.";
        }

        return secrets.Referenced.Count == 0
            ? $"{host} requires credentials and the pod has no pull secret (none on the pod or ServiceAccount `{facts.ServiceAccount ?? "default"}`)."
            : $"None of the pod's pull secrets ({string.Join(", ", secrets.Referenced)}) has an entry for {host}, so the pull is anonymous and refused.";
    }

    private static string SecretHint(DiagnosisFacts facts) => facts.Secrets.MatchingSecret is { } s
        ? $"The pull used secret `{s}`."
        : "The pull was anonymous (no matching pull secret).";

    /// <summary>A secret name for a registry host: "pull-ghcr-io".</summary>
    public static string PullSecretName(string host)
    {
        var chars = host.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray();
        return Shorten("pull-" + new string(chars).Trim('-'), 63).TrimEnd('-', '…');
    }

    private static string Ago(TimeSpan span) => span.TotalDays >= 1
        ? string.Create(CultureInfo.InvariantCulture, $"{span.TotalDays:0} day(s)")
        : span.TotalHours >= 1 ? string.Create(CultureInfo.InvariantCulture, $"{span.TotalHours:0} h") : string.Create(CultureInfo.InvariantCulture, $"{Math.Max(1, span.TotalMinutes):0} min");

    internal static string Shorten(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";
}
