using ChatOpsPull.Kubernetes;
using ChatOpsPull.Storage;
using Microsoft.Extensions.Options;
using Polly;

namespace ChatOpsPull.Detection.KubernetesWatch;

public static class KubernetesWatchServices
{
    /// <summary>
    /// Detection from the cluster: the pod watch (a hosted service, when a cluster is connected), its status for
    /// /readyz, the pull-event store (pull times for the digest) and the delivery pipeline
    /// (<see cref="WatchDeliveryRetry.PipelineName"/>, from Kubernetes:DeliveryAttempts and DeliveryRetryDelay).
    /// Needs <see cref="KubernetesServices.AddKubernetes"/>.
    /// </summary>
    public static IServiceCollection AddKubernetesWatch(this IServiceCollection services)
    {
        services.AddResiliencePipeline(WatchDeliveryRetry.PipelineName, (builder, context) => WatchDeliveryRetry.Configure(
            builder,
            context.ServiceProvider.GetRequiredService<IOptions<KubernetesOptions>>().Value,
            context.ServiceProvider.GetRequiredService<TimeProvider>(),
            context.ServiceProvider.GetRequiredService<ILogger<KubernetesPodWatcher>>()));
        services.AddSingleton<KubernetesWatchStatus>();
        services.AddSingleton<PullEventStore>();
        services.AddSchemaMigrations(PullEventStore.Migration);
        services.AddHostedService<KubernetesWatchService>();
        return services;
    }
}
