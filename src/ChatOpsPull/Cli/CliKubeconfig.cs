using ChatOpsPull.Kubernetes;
using k8s.Exceptions;

namespace ChatOpsPull.Cli;

/// <summary>The cluster connection of a terminal verb: <c>--kubeconfig</c>, else $KUBECONFIG or ~/.kube/config.</summary>
public static class CliKubeconfig
{
    /// <summary>The connection, or null after saying on standard error why there is none.</summary>
    /// <param name="noKubeconfig">What to tell a person who has no kubeconfig at all.</param>
    public static async Task<KubernetesConnection?> ConnectAsync(string verb, string? kubeconfig, string? context, CliIo io, string noKubeconfig)
    {
        ArgumentNullException.ThrowIfNull(io);
        var path = kubeconfig ?? KubernetesConnection.DefaultKubeconfigPath();
        if (path is null || !File.Exists(path))
        {
            await io.Error.WriteLineAsync(path is null ? $"chatopspull {verb}: {noKubeconfig}" : $"chatopspull {verb}: the kubeconfig {path} does not exist.").ConfigureAwait(false);
            return null;
        }

        try
        {
            return KubernetesConnection.FromKubeconfig(path, context);
        }
        catch (KubeConfigException e)
        {
            await io.Error.WriteLineAsync($"chatopspull {verb}: the kubeconfig cannot be used: {e.Message}").ConfigureAwait(false);
            return null;
        }
    }
}
