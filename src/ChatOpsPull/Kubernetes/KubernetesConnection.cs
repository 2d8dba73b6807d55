using k8s;

namespace ChatOpsPull.Kubernetes;

/// <summary>Where the cluster connection came from.</summary>
public enum ConnectionSource
{
    None,
    Kubeconfig,
    InCluster,
}

/// <summary>
/// The bot's connection to the cluster, resolved once at start: an explicit kubeconfig, the in-cluster service
/// account, $KUBECONFIG, then ~/.kube/config. <see cref="Client"/> is null when none exists; the watcher is then off.
/// </summary>
public sealed class KubernetesConnection : IDisposable
{
    private const string InClusterNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

    private KubernetesConnection(IKubernetes? client, ConnectionSource source, string description, string? ownNamespace)
    {
        Client = client;
        Source = source;
        Description = description;
        OwnNamespace = ownNamespace;
    }

    public IKubernetes? Client { get; }

    public ConnectionSource Source { get; }

    /// <summary>One plain sentence: where the connection came from, or why there is none.</summary>
    public string Description { get; }

    /// <summary>The bot's own namespace (in-cluster) or the kubeconfig context's namespace, when known.</summary>
    public string? OwnNamespace { get; }

    /// <summary>No connection; <paramref name="sentence"/> says why.</summary>
    public static KubernetesConnection None(string sentence) => new(null, ConnectionSource.None, sentence, null);

    public static KubernetesConnection Resolve(KubernetesOptions options) =>
        Resolve(options, KubernetesClientConfiguration.IsInCluster(), DefaultKubeconfigPath());

    /// <summary>The resolution order, with the environment's answers passed in (tests pass their own).</summary>
    public static KubernetesConnection Resolve(KubernetesOptions options, bool inCluster, string? defaultKubeconfig)
    {
        if (!string.IsNullOrWhiteSpace(options.KubeconfigPath))
        {
            return FromKubeconfig(KubernetesOptions.ExpandHome(options.KubeconfigPath), options.Context);
        }

        if (inCluster)
        {
            var config = KubernetesClientConfiguration.InClusterConfig();
            var ns = File.Exists(InClusterNamespaceFile) ? File.ReadAllText(InClusterNamespaceFile).Trim() : null;
            return new KubernetesConnection(new k8s.Kubernetes(config), ConnectionSource.InCluster, "Connected with the in-cluster service account.", ns);
        }

        if (defaultKubeconfig is not null)
        {
            return FromKubeconfig(defaultKubeconfig, options.Context);
        }

        return new KubernetesConnection(
            null,
            ConnectionSource.None,
            "No kubeconfig (Kubernetes:KubeconfigPath, $KUBECONFIG or ~/.kube/config) and no in-cluster service account were found, so the Kubernetes watcher is off.",
            null);
    }

    public static KubernetesConnection FromKubeconfig(string path, string? context)
    {
        var config = KubernetesClientConfiguration.BuildConfigFromConfigFile(path, string.IsNullOrWhiteSpace(context) ? null : context);
        var contextName = config.CurrentContext ?? "(current)";
        return new KubernetesConnection(
            new k8s.Kubernetes(config),
            ConnectionSource.Kubeconfig,
            $"Connected with kubeconfig {path}, context {contextName}, server {config.Host}.",
            config.Namespace);
    }

    /// <summary>The first file named by $KUBECONFIG, else ~/.kube/config, if it exists.</summary>
    public static string? DefaultKubeconfigPath()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("KUBECONFIG");
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            var first = fromEnvironment.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(File.Exists);
            if (first is not null)
            {
                return first;
            }
        }

        var home = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".kube", "config");
        return File.Exists(home) ? home : null;
    }

    public void Dispose() => (Client as IDisposable)?.Dispose();
}
