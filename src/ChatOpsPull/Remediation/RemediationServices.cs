using ChatOpsPull.Diagnosing;
using ChatOpsPull.Remediation.Actions;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ChatOpsPull.Remediation;

public static class RemediationServices
{
    /// <summary>
    /// Remediation: options (section "Remediation", validated at start), the run store, the Kubernetes calls with their retry pipeline
    /// (<see cref="KubernetesCallRetry"/>) and RBAC explanations, the seven actions, the rollout watcher, the run progress
    /// recorder, the Hangfire job and its scheduler, and the
    /// recurring sweep (approval expiry, stalled runs); the diagnosis learns which registries have a credential source.
    /// </summary>
    public static IServiceCollection AddRemediation(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RemediationOptions>()
            .Bind(configuration.GetSection(RemediationOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.Replace(ServiceDescriptor.Singleton<ICredentialSourceCatalog, ConfiguredCredentialSources>());
        services.AddSingleton<RemediationRunStore>();
        services.AddKubernetesCalls();
        services.AddSingleton<ClusterAccess>();
        services.AddSingleton<RolloutWatcher>();
        services.AddSingleton<RemediationProgress>();
        services.AddSingleton<StuckPods>();
        services.AddSingleton<WorkloadPullCheck>();
        services.AddSingleton<ServiceAccountSecrets>();
        services.AddSingleton<RefreshCredentialsAction>();
        services.AddSingleton<AttachPullSecretToServiceAccountAction>();
        services.AddSingleton<AttachPullSecretToWorkloadAction>();
        services.AddSingleton<RestartWorkloadAction>();
        services.AddSingleton<DeleteBackoffPodsAction>();
        services.AddSingleton<SetImageTagAction>();
        services.AddSingleton<RollBackAction>();
        services.AddSingleton<RemediationActions>();
        services.AddSingleton<IRemediationScheduler, HangfireRemediationScheduler>();
        services.AddTransient<RemediationJob>();
        services.AddTransient<RemediationSweepJob>();
        services.AddHostedService<RemediationSweepRegistration>();
        return services;
    }
}
