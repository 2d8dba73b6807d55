using System.Globalization;

namespace ChatOpsPull.Core.Diagnoses;

/// <summary>
/// Kubelet's <c>imagePullCredentialsVerificationPolicy</c> (KEP-2535, ensure secret pulled images; feature gate
/// KubeletEnsureSecretPulledImages: alpha, off by default, in 1.33–1.34; beta, on by default, from 1.35). With any
/// policy but NeverVerify, an image kubelet pulled with a pull secret is not reused for a pod that lacks those
/// credentials: kubelet pulls again with the pod's own credentials (IfNotPresent), or refuses to start it (Never).
/// </summary>
public enum CredentialVerification
{
    /// <summary>Not known (no node, or a kubelet version that does not parse).</summary>
    Unknown,

    /// <summary>The feature is off or the policy is NeverVerify: images on the node are reused as before.</summary>
    Off,

    /// <summary>The default policy: images pulled by kubelet with credentials are verified; preloaded ones are not.</summary>
    NeverVerifyPreloadedImages,

    /// <summary>Only images matching the allowlist skip verification.</summary>
    NeverVerifyAllowlistedImages,

    /// <summary>Every image is verified.</summary>
    AlwaysVerify,
}

/// <summary>A kubelet credential provider plugin that supplies credentials for the image's registry on the node.</summary>
/// <param name="Name">The plugin's name as in kubelet's CredentialProviderConfig ("ecr-credential-provider").</param>
/// <param name="UsesServiceAccountToken">KEP-4412: the plugin is given the pod's service-account token.</param>
/// <param name="Basis">How the bot knows: "configured in Kubernetes:CredentialProviders", "the node runs on AWS (providerID aws://…)".</param>
public sealed record NodeCredentialProvider(string Name, bool UsesServiceAccountToken, string Basis);

/// <summary>What the node and the pod spec say about how kubelet pulls this image.</summary>
/// <param name="KubeletVersion">"v1.35.1" from the node's status.</param>
/// <param name="Verification">The credential verification policy that applies on the node.</param>
/// <param name="VerificationBasis">Why the bot believes so ("configured", "kubelet v1.35 default").</param>
/// <param name="ImageOnNode">True when the node's status lists the image; null when unknown (nodes list at most 50 images).</param>
/// <param name="PullPolicy">The container's imagePullPolicy.</param>
/// <param name="CredentialProvider">The node's credential provider for the image's registry, or null when none is known.</param>
public sealed record KubeletPullFacts(
    string? KubeletVersion,
    CredentialVerification Verification,
    string VerificationBasis,
    bool? ImageOnNode,
    string? PullPolicy,
    NodeCredentialProvider? CredentialProvider)
{
    public static KubeletPullFacts Unknown { get; } = new(null, CredentialVerification.Unknown, string.Empty, null, null, null);

    /// <summary>True when kubelet checks the pod's own credentials before reusing an image pulled with a secret.</summary>
    public bool VerifiesCredentials => Verification is CredentialVerification.NeverVerifyPreloadedImages
        or CredentialVerification.NeverVerifyAllowlistedImages or CredentialVerification.AlwaysVerify;

    /// <summary>
    /// The policy that applies to a kubelet of this version when the operator did not say: the feature gate is beta and
    /// on from 1.35 (policy NeverVerifyPreloadedImages), alpha and off in 1.33–1.34, absent before.
    /// </summary>
    public static (CredentialVerification Verification, string Basis) DefaultFor(string? kubeletVersion)
    {
        if (ParseMinor(kubeletVersion) is not { } version)
        {
            return (CredentialVerification.Unknown, "the kubelet version is not known");
        }

        var minor = version.Major > 1 ? int.MaxValue : version.Minor;
        return minor >= 35
            ? (CredentialVerification.NeverVerifyPreloadedImages, $"kubelet {kubeletVersion}: KubeletEnsureSecretPulledImages is on by default from 1.35, policy NeverVerifyPreloadedImages")
            : (CredentialVerification.Off, $"kubelet {kubeletVersion}: KubeletEnsureSecretPulledImages is {(minor >= 33 ? "alpha and off by default" : "not available")}");
    }

    /// <summary>(1, 35) from "v1.35.0", "1.35.0-eks-1234", "v1.35.0+k3s1".</summary>
    public static (int Major, int Minor)? ParseMinor(string? version)
    {
        if (string.IsNullOrEmpty(version))
        {
            return null;
        }

        var parts = version.TrimStart('v').Split('.', 3);
        return parts.Length >= 2
               && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var major)
               && int.TryParse(new string([.. parts[1].TakeWhile(char.IsAsciiDigit)]), NumberStyles.None, CultureInfo.InvariantCulture, out var minor)
            ? (major, minor)
            : null;
    }
}
