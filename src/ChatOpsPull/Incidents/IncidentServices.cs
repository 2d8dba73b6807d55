using ChatOpsPull.Storage;

namespace ChatOpsPull.Incidents;

public static class IncidentServices
{
    /// <summary>
    /// The incident engine (also registered as <see cref="IPullFailureSink"/>), its store and audit log. Diagnosis
    /// registers the <see cref="IDiagnosisScheduler"/> the engine asks for diagnoses; notifiers register themselves as
    /// <see cref="IIncidentNotifier"/>.
    /// </summary>
    public static IServiceCollection AddIncidents(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<IncidentOptions>()
            .Bind(configuration.GetSection(IncidentOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSchemaMigrations(IncidentSchema.Incidents);
        services.AddSingleton<IncidentStore>();
        services.AddSingleton<AuditLog>();
        services.AddSingleton<IncidentNotifications>();
        services.AddSingleton<IncidentEngine>();
        services.AddSingleton<IPullFailureSink>(provider => provider.GetRequiredService<IncidentEngine>());
        return services;
    }
}
