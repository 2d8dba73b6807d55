using ChatOpsPull.Kubernetes;
using k8s;
using k8s.Autorest;

namespace ChatOpsPull.Fleet;

/// <summary>
/// Which API server a bot talks to, as a fleet compares it: the uid of its kube-system namespace, made when the cluster was
/// created and the same from every replica of every bot of that cluster, and different in every other cluster.
/// </summary>
public static class ApiServerIdentity
{
    public const string Namespace = "kube-system";

    /// <summary>The uid, or a sentence saying why it could not be read (no connection, RBAC, API error).</summary>
    public static async Task<(string? Uid, string? Problem)> ReadAsync(KubernetesConnection connection, CancellationToken cancellationToken)
    {
        if (connection.Client is not { } client)
        {
            return (null, connection.Description);
        }

        try
        {
            var ns = await client.CoreV1.ReadNamespaceAsync(Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
            return string.IsNullOrEmpty(ns.Metadata?.Uid)
                ? (null, $"the API server returned the namespace {Namespace} without a uid")
                : (ns.Metadata.Uid, null);
        }
        catch (HttpOperationException e)
        {
            var error = ApiError.From(e);
            return (null, error.IsForbidden
                ? $"the bot may not read the namespace {Namespace} (grant get on namespaces, resourceNames [{Namespace}]: manifests/components/fleet does)"
                : $"reading the namespace {Namespace} failed: {error.Message}");
        }
        catch (HttpRequestException e)
        {
            return (null, $"the API server did not answer: {e.Message}");
        }
    }
}
