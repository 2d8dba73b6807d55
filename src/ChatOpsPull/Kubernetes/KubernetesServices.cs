using ChatOpsPull.Storage;
using k8s.Exceptions;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Kubernetes;

public static class KubernetesServices
{
    /// <summary>
    /// Cluster connection, inspection (owners, pull secrets, nodes), the leader-elected watcher and the pull_events table.
    /// Inspection services need a connection: check <see cref="KubernetesConnection.Client"/> before resolving them.
    /// </summary>
    public static IServiceCollection AddKubernetes(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<KubernetesOptions>()
            .Bind(configuration.GetSection(KubernetesOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton(sp => Connect(sp.GetRequiredService<IOptions<KubernetesOptions>>().Value));
        services.AddSingleton(sp => new OwnerResolver(RequireClient(sp)));
        services.AddSingleton<SharedReads>();
        services.TryAddSingleton<ReportedPodCredentials>();
        services.AddSingleton(sp => new PullSecretInspector(RequireClient(sp), sp.GetRequiredService<SharedReads>()));
        services.AddSingleton(sp => new NodeInspector(RequireClient(sp), sp.GetRequiredService<SharedReads>()));
        services.AddSingleton(sp => new PodInspector(
            RequireClient(sp),
            sp.GetRequiredService<OwnerResolver>(),
            sp.GetRequiredService<PullSecretInspector>(),
            sp.GetRequiredService<NodeInspector>(),
            sp.GetRequiredService<TimeProvider>()));
        return services;
    }

    /// <summary>Resolves the connection; a kubeconfig that cannot be read leaves the bot without one (and says why).</summary>
    public static KubernetesConnection Connect(KubernetesOptions options)
    {
        try
        {
            return KubernetesConnection.Resolve(options);
        }
        catch (KubeConfigException e)
        {
            return KubernetesConnection.None($"The Kubernetes configuration could not be used ({e.Message}), so the Kubernetes watcher is off.");
        }
    }

    private static k8s.IKubernetes RequireClient(IServiceProvider services) =>
        services.GetRequiredService<KubernetesConnection>().Client
        ?? throw new InvalidOperationException(services.GetRequiredService<KubernetesConnection>().Description);
}
