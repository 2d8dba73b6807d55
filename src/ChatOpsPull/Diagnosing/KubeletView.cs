using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Images;
using ChatOpsPull.Kubernetes;
using ChatOpsPull.Registry;

namespace ChatOpsPull.Diagnosing;

/// <summary>
/// What the failing pod's kubelet does with its image, read from the node's status (version, cloud, cached images), the
/// container's pull policy and Kubernetes:Kubelet (what the API does not show): whether kubelet verifies the pod's own
/// credentials before reusing a cached image (KEP-2535), whether the image is in its cache, and whether a credential
/// provider plugin supplies the credentials for the image's registry (so that no pull secret is expected).
/// </summary>
public static class KubeletView
{
    /// <summary>kubelet's nodeStatusMaxImages default: a list this long may have been cut.</summary>
    public const int NodeStatusMaxImages = 50;

    /// <summary>
    /// The providers EKS, GKE and AKS configure for their own registries (their CredentialProviderConfig matchImages),
    /// assumed on nodes whose spec.providerID names that cloud.
    /// </summary>
    private static readonly (string Cloud, string Scheme, string Name, string[] MatchImages)[] CloudProviders =
    [
        ("AWS", "aws://", "ecr-credential-provider", ["*.dkr.ecr.*.amazonaws.com", "*.dkr.ecr.*.amazonaws.com.cn", "*.dkr.ecr-fips.*.amazonaws.com", "*.dkr.ecr.*.c2s.ic.gov", "*.dkr.ecr.*.sc2s.sgov.gov"]),
        ("Google Cloud", "gce://", "gcp-credential-provider", ["container.cloud.google.com", "gcr.io", "*.gcr.io", "*.pkg.dev"]),
        ("Azure", "azure://", "acr-credential-provider", ["*.azurecr.io", "*.azurecr.cn", "*.azurecr.de", "*.azurecr.us"]),
    ];

    public static (KubeletPullFacts Facts, IReadOnlyList<Evidence> Evidence) Read(NodeFacts? node, ImageReference? image, string? pullPolicy, KubeletOptions options)
    {
        if (node is null)
        {
            return (KubeletPullFacts.Unknown with { PullPolicy = pullPolicy }, []);
        }

        var evidence = new List<Evidence>();
        var (verification, basis) = Verification(node.KubeletVersion, options);
        evidence.Add(new Evidence($"kubelet on {node.Name}", EvidenceOutcome.Info,
            $"{node.KubeletVersion ?? "version unknown"}; imagePullCredentialsVerificationPolicy: {Describe(verification)} ({basis})"));

        bool? onNode = null;
        if (image is not null)
        {
            onNode = node.Images.Any(name => SameImage(name, image)) ? true : node.ImagesListed < NodeStatusMaxImages ? false : null;
            evidence.Add(new Evidence($"image cache of {node.Name}", EvidenceOutcome.Info, onNode switch
            {
                true => $"`{image.FamiliarString}` is on the node (in its status's image list)",
                false => $"`{image.FamiliarString}` is not among the node's {node.ImagesListed} images",
                null => $"`{image.FamiliarString}` is not among the {node.ImagesListed} images the node lists (kubelet lists at most {NodeStatusMaxImages}, so it may still be there)",
            }));
        }

        var provider = image is null ? null : Provider(node, image, options);
        if (provider is not null)
        {
            evidence.Add(new Evidence($"credential provider on {node.Name}", EvidenceOutcome.Info,
                $"kubelet gets credentials for {image!.Domain} from `{provider.Name}`{(provider.UsesServiceAccountToken ? " with the pod's service-account token (KEP-4412)" : string.Empty)} ({provider.Basis}); the bot cannot use them, so its registry check is anonymous"));
        }

        return (new KubeletPullFacts(node.KubeletVersion, verification, basis, onNode, pullPolicy, provider), evidence);
    }

    private static (CredentialVerification Verification, string Basis) Verification(string? kubeletVersion, KubeletOptions options) =>
        options.ImagePullCredentialsVerificationPolicy switch
        {
            null or "" => KubeletPullFacts.DefaultFor(kubeletVersion),
            "NeverVerify" => (CredentialVerification.Off, "set in Kubernetes:Kubelet:ImagePullCredentialsVerificationPolicy"),
            var configured => (Enum.Parse<CredentialVerification>(configured), "set in Kubernetes:Kubelet:ImagePullCredentialsVerificationPolicy"),
        };

    private static string Describe(CredentialVerification verification) => verification switch
    {
        CredentialVerification.Unknown => "not known",
        CredentialVerification.Off => "off (NeverVerify)",
        _ => verification.ToString(),
    };

    /// <summary>The configured provider whose matchImages match the image as kubelet matches them, else the cloud's own.</summary>
    private static NodeCredentialProvider? Provider(NodeFacts node, ImageReference image, KubeletOptions options)
    {
        foreach (var configured in options.CredentialProviders)
        {
            if (configured.MatchImages.Any(m => DockerKeyring.Matches(m, image.KubeletName, out _)))
            {
                return new NodeCredentialProvider(configured.Name, configured.ServiceAccountToken, "configured in Kubernetes:Kubelet:CredentialProviders");
            }
        }

        if (!options.InferCloudCredentialProviders || node.ProviderId is not { } providerId)
        {
            return null;
        }

        foreach (var (cloud, scheme, name, matchImages) in CloudProviders)
        {
            if (providerId.StartsWith(scheme, StringComparison.Ordinal) && matchImages.Any(m => DockerKeyring.Matches(m, image.KubeletName, out _)))
            {
                return new NodeCredentialProvider(name, false, $"assumed: the node runs on {cloud} (spec.providerID {scheme}…), whose managed nodes use it for {image.Domain}");
            }
        }

        return null;
    }

    /// <summary>A name from the node's image list ("docker.io/library/nginx:1.27", "…@sha256:…") that is the image.</summary>
    private static bool SameImage(string listed, ImageReference image) =>
        ImageReference.TryParse(listed, out var parsed, out _)
        && parsed.Name == image.Name
        && ((image.Digest is not null && parsed.Digest == image.Digest) || (image.Digest is null && parsed.Digest is null && parsed.Tag == image.Tag));
}
