using ChatOpsPull.Storage;

namespace ChatOpsPull.Detection.KubernetesWatch;

public static class KubernetesWatchServices
{
    /// <summary>
    /// Detection from the cluster: the pod watch (a hosted service, when a cluster is connected), its status for
    /// /readyz and the pull-event store (pull times for the digest). Needs <see cref="Kubernetes.KubernetesServices.AddKubernetes"/>.
    /// </summary>
    public static IServiceCollection AddKubernetesWatch(this IServiceCollection services)
    {
        services.AddSingleton<KubernetesWatchStatus>();
        services.AddSingleton<PullEventStore>();
        services.AddSchemaMigrations(PullEventStore.Migration);
        services.AddHostedService<KubernetesWatchService>();
        return services;
    }
}
