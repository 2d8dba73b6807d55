using ChatOpsPull.Kubernetes;
using ChatOpsPull.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Fleet;

public static class FleetServices
{
    /// <summary>
    /// The fleet: section "Fleet" (validated at start; fleet mode needs PostgreSQL), the queue names, the registry of clusters
    /// and bots (schema "1001-fleet") and this bot's membership (a hosted service: register it before the job server, after
    /// storage). A chat replica (Fleet:Role Chat) gets no cluster connection, whatever kubeconfig it can see.
    /// Needs AddStorage and AddKubernetes.
    /// </summary>
    public static IServiceCollection AddFleet(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<FleetOptions>()
            .Bind(configuration.GetSection(FleetOptions.Section))
            .ValidateDataAnnotations()
            .Validate<IOptions<StorageOptions>>(
                (fleet, storage) => !fleet.Enabled || storage.Value.Provider == DatabaseProvider.Postgres,
                "Fleet:Enabled is true, but Storage:Provider is not Postgres: the clusters of a fleet share one PostgreSQL database (an SQLite file belongs to one bot). Set Storage:Provider=Postgres and Storage:ConnectionString.")
            .ValidateOnStart();
        services.TryAddSingleton<ClusterQueues>();
        services.TryAddSingleton<DecisionKeys>();
        services.AddSchemaMigrations(FleetSchema.Fleet, FleetSchema.Relays);
        services.AddSingleton<FleetRelays>();
        services.AddSingleton<FleetRegistry>();
        services.AddSingleton<FleetMembership>();
        services.AddHostedService(sp => sp.GetRequiredService<FleetMembership>());

        var connection = services.LastOrDefault(d => d.ServiceType == typeof(KubernetesConnection));
        services.Replace(ServiceDescriptor.Singleton(sp =>
        {
            var fleet = sp.GetRequiredService<IOptions<FleetOptions>>().Value;
            if (fleet.Enabled && fleet.Role == FleetRole.Chat)
            {
                return KubernetesConnection.None("This bot is the fleet's chat replica (Fleet:Role Chat): it has no cluster of its own, so it does not watch or act on one.");
            }

            return connection?.ImplementationFactory?.Invoke(sp) as KubernetesConnection
                ?? KubernetesServices.Connect(sp.GetRequiredService<IOptions<KubernetesOptions>>().Value);
        }));
        return services;
    }
}
