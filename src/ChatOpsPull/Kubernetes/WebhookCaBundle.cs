using System.Security.Cryptography.X509Certificates;
using System.Text;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace ChatOpsPull.Kubernetes;

/// <summary>What putting a CA into a webhook configuration's caBundle did.</summary>
public enum CaBundleOutcome
{
    /// <summary>Every webhook of the configuration already trusted the CA.</summary>
    AlreadyThere,

    /// <summary>The CA was added (and expired or surplus ones dropped).</summary>
    Added,

    /// <summary>The configuration does not exist (the admission overlay is not applied).</summary>
    NoConfiguration,

    /// <summary>The bot may not read or patch it (RBAC).</summary>
    Forbidden,
}

/// <summary>
/// The caBundle of one ValidatingWebhookConfiguration, the bot's own (Admission:WebhookConfiguration): read it, and add a CA
/// to every webhook's bundle with a JSON patch that changes nothing else and first tests the resourceVersion it read, so
/// two replicas adding their CAs at once both end up in it. The RBAC allows get and patch on this one name only.
/// A bundle keeps at most <see cref="MaxCertificates"/> CAs (the newest); expired ones are dropped.
/// </summary>
public sealed class WebhookCaBundle(IKubernetes client, TimeProvider time)
{
    public const int MaxCertificates = 8;
    private const int MaxRaces = 5;

    public async Task<CaBundleOutcome> EnsureAsync(string configurationName, X509Certificate2 ca, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ca);
        for (var race = 1; ; race++)
        {
            V1ValidatingWebhookConfiguration configuration;
            try
            {
                configuration = await client.AdmissionregistrationV1.ReadValidatingWebhookConfigurationAsync(configurationName, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (HttpOperationException e) when (ApiError.From(e) is { IsNotFound: true } or { IsForbidden: true })
            {
                return ApiError.From(e).IsNotFound ? CaBundleOutcome.NoConfiguration : CaBundleOutcome.Forbidden;
            }

            var operations = new List<object> { new { op = "test", path = "/metadata/resourceVersion", value = configuration.Metadata.ResourceVersion } };
            var webhooks = configuration.Webhooks ?? [];
            for (var i = 0; i < webhooks.Count; i++)
            {
                var current = Read(webhooks[i].ClientConfig?.CaBundle);
                if (current.Any(c => c.Thumbprint == ca.Thumbprint))
                {
                    continue;
                }

                var now = time.GetUtcNow();
                var kept = current.Where(c => c.NotAfter.ToUniversalTime() > now.UtcDateTime)
                    .OrderByDescending(c => c.NotBefore)
                    .Take(MaxCertificates - 1)
                    .Prepend(ca)
                    .ToList();
                var pem = string.Join('\n', kept.Select(c => c.ExportCertificatePem())) + "\n";
                operations.Add(new { op = webhooks[i].ClientConfig?.CaBundle is null ? "add" : "replace", path = $"/webhooks/{i}/clientConfig/caBundle", value = Convert.ToBase64String(Encoding.ASCII.GetBytes(pem)) });
            }

            if (operations.Count == 1)
            {
                return CaBundleOutcome.AlreadyThere;
            }

            try
            {
                await client.AdmissionregistrationV1.PatchValidatingWebhookConfigurationAsync(
                    new V1Patch(operations, V1Patch.PatchType.JsonPatch), configurationName, cancellationToken: cancellationToken).ConfigureAwait(false);
                return CaBundleOutcome.Added;
            }
            catch (HttpOperationException e) when (race < MaxRaces && (int)e.Response.StatusCode is 409 or 422)
            {
                // Another replica changed it since it was read (the test operation failed): read again.
            }
            catch (HttpOperationException e) when (ApiError.From(e).IsForbidden)
            {
                return CaBundleOutcome.Forbidden;
            }
        }
    }

    /// <summary>The PEM certificates of a caBundle (the API gives the bytes); unreadable parts are skipped.</summary>
    public static IReadOnlyList<X509Certificate2> Read(byte[]? bundle)
    {
        if (bundle is not { Length: > 0 })
        {
            return [];
        }

        var certificates = new X509Certificate2Collection();
        try
        {
            certificates.ImportFromPem(Encoding.ASCII.GetString(bundle));
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return [];
        }

        return certificates.ToList();
    }
}
