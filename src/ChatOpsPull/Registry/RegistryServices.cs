using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Registry;

public static class RegistryServices
{
    /// <summary>
    /// Registers registry checking: options section "Registry" (validated at start), the typed <see cref="RegistryClient"/>
    /// with per-registry TLS settings and timeouts, the network probe, pull secret resolution and <see cref="RegistryChecker"/>.
    /// Every connection goes through <see cref="RegistryDestinations"/>; the cluster's API server it refuses is read from the
    /// pod's environment unless the host registers a <see cref="ClusterApiServer"/> of its own (the bot's cluster connection).
    /// </summary>
    public static IServiceCollection AddRegistry(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RegistryOptions>()
            .Bind(configuration.GetSection(RegistryOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<RegistryTrust>();
        services.TryAddSingleton<RegistryNetwork>();
        services.TryAddSingleton(_ => ClusterApiServer.FromEnvironment());
        services.TryAddSingleton<RegistryDestinations>();
        services.TryAddSingleton<RegistryEndpoints>();
        services.TryAddSingleton<RegistryTokenCache>();
        services.TryAddSingleton<RegistryProbe>();
        services.TryAddSingleton<RegistryCheckCache>();
        services.TryAddSingleton<RegistrySharedAnswers>();
        services.TryAddSingleton<PullSecretResolver>();
        services.TryAddSingleton<RegistryChecker>();

        // The checker is a singleton holding this typed client, so the handler lives as long as the process; connections
        // are recycled by PooledConnectionLifetime instead (DNS changes are still seen).
        services.AddHttpClient<RegistryClient>((sp, http) => http.Timeout = sp.GetRequiredService<IOptions<RegistryOptions>>().Value.RequestTimeout)
            .ConfigurePrimaryHttpMessageHandler(sp => new RegistryHttpHandler(sp.GetRequiredService<RegistryTrust>(), sp.GetRequiredService<IOptions<RegistryOptions>>(), sp.GetRequiredService<RegistryDestinations>()))
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
            .RedactLoggedHeaders(_ => true);
        return services;
    }
}
