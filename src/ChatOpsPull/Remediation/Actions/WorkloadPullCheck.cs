using System.Text.Json.Nodes;
using ChatOpsPull.Core.Images;
using ChatOpsPull.Registry;
using k8s;
using k8s.Models;

namespace ChatOpsPull.Remediation.Actions;

/// <summary>
/// Asks the registry whether an image can be pulled with the credentials the workload's new pods would get: the pod
/// template's imagePullSecrets, or its ServiceAccount's when the template names none (what admission copies into a pod).
/// </summary>
public sealed class WorkloadPullCheck(ClusterAccess cluster, RegistryChecker checker)
{
    public async Task<KubeletPullCheck> CheckAsync(string @namespace, JsonObject? template, ImageReference image, CancellationToken cancellationToken)
    {
        var names = (template?["spec"]?["imagePullSecrets"] as JsonArray ?? [])
            .Select(s => s?["name"]?.GetValue<string>())
            .OfType<string>()
            .ToList();
        if (names.Count == 0)
        {
            var account = template?["spec"]?["serviceAccountName"]?.GetValue<string>() ?? "default";
            names = await ServiceAccountSecretsAsync(@namespace, account, cancellationToken).ConfigureAwait(false);
        }

        var secrets = new List<V1Secret>();
        foreach (var name in names.Distinct(StringComparer.Ordinal))
        {
            if (await ReadSecretAsync(@namespace, name, cancellationToken).ConfigureAwait(false) is { } secret)
            {
                secrets.Add(secret);
            }
        }

        return await checker.CheckWithPullSecretsAsync(image, secrets, null, cancellationToken).ConfigureAwait(false);
    }

    public async Task<V1Secret?> ReadSecretAsync(string @namespace, string name, CancellationToken cancellationToken)
    {
        var client = cluster.Client;
        try
        {
            return await cluster.Calls.RunAsync(
                KubeTarget.For("get", "Secret", @namespace),
                ct => client.CoreV1.ReadNamespacedSecretAsync(name, @namespace, cancellationToken: ct),
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (KubernetesCalls.IsNotFound(e))
        {
            return null;
        }
    }

    private async Task<List<string>> ServiceAccountSecretsAsync(string @namespace, string account, CancellationToken cancellationToken)
    {
        var client = cluster.Client;
        try
        {
            var sa = await cluster.Calls.RunAsync(
                KubeTarget.For("get", "ServiceAccount", @namespace),
                ct => client.CoreV1.ReadNamespacedServiceAccountAsync(account, @namespace, cancellationToken: ct),
                cancellationToken).ConfigureAwait(false);
            return sa.ImagePullSecrets?.Select(s => s.Name).Where(n => !string.IsNullOrEmpty(n)).ToList() ?? [];
        }
        catch (Exception e) when (KubernetesCalls.IsNotFound(e))
        {
            return [];
        }
    }
}
