using System.Text.RegularExpressions;

namespace ChatOpsPull.Core.Images;

/// <summary>
/// Registries whose pulls kubelet usually authenticates through a credential provider plugin (KEP-2133: the
/// ecr-credential-provider, gcp-credential-provider and acr-credential-provider binaries, matched by the image host
/// patterns their CredentialProviderConfig lists) rather than an image pull secret. A pod with no secret for such a
/// host may well pull: the node's provider gives kubelet the credentials, and the bot cannot see them. So a missing
/// secret there is "cannot verify from here", never a failure.
/// </summary>
public static partial class CredentialProviderHosts
{
    /// <summary>"Amazon ECR", "Google Artifact Registry / GCR", "Azure Container Registry", or null for any other host.</summary>
    /// <param name="host">The registry host as the image names it, with an optional port ("123456789012.dkr.ecr.eu-west-1.amazonaws.com").</param>
    public static string? ProviderFor(string host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var name = host.Split(':')[0].ToLowerInvariant();
        if (EcrRegex().IsMatch(name))
        {
            return "Amazon ECR";
        }

        if (name == "gcr.io" || name.EndsWith(".gcr.io", StringComparison.Ordinal) || name.EndsWith(".pkg.dev", StringComparison.Ordinal)
            || name == "container.cloud.google.com")
        {
            return "Google Artifact Registry / GCR";
        }

        if (name.EndsWith(".azurecr.io", StringComparison.Ordinal) || name.EndsWith(".azurecr.cn", StringComparison.Ordinal)
            || name.EndsWith(".azurecr.de", StringComparison.Ordinal) || name.EndsWith(".azurecr.us", StringComparison.Ordinal))
        {
            return "Azure Container Registry";
        }

        return null;
    }

    /// <summary>Private ECR registries: ACCOUNT.dkr.ecr[-fips].REGION.amazonaws.com[.cn] (and the isolated partitions).</summary>
    [GeneratedRegex(@"^[0-9]{12}\.dkr[.-]ecr(-fips)?\.[a-z0-9][a-z0-9-_]*\.(amazonaws\.com(\.cn)?|sc2s\.sgov\.gov|c2s\.ic\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)$", RegexOptions.CultureInvariant)]
    private static partial Regex EcrRegex();
}
