using ChatOpsPull.Incidents.Engine;
using ChatOpsPull.Storage;

namespace ChatOpsPull.Incidents;

public static class IncidentServices
{
    /// <summary>
    /// The incident engine (also registered as <see cref="IPullFailureSink"/>) and its parts, its store, audit log and
    /// retry pipelines (<see cref="IncidentRetryPipelines"/>). Diagnosis registers the <see cref="IDiagnosisScheduler"/>
    /// the engine asks for diagnoses; notifiers register themselves as <see cref="IIncidentNotifier"/>.
    /// </summary>
    public static IServiceCollection AddIncidents(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<IncidentOptions>()
            .Bind(configuration.GetSection(IncidentOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddIncidentRetryPipelines();
        services.AddSchemaMigrations(IncidentSchema.Incidents, IncidentSchema.NewsOwed, IncidentSchema.AnnouncementsOwed, IncidentSchema.NewsOwedChangeVersion, IncidentSchema.DiagnosisTakenUntil, IncidentSchema.NewsOwedAtUnindexed, IncidentSchema.IncidentsHalfFilledPages);
        services.AddSingleton<IncidentStore>();
        services.AddSingleton<AuditLog>();
        services.AddSingleton<LatestIncidents>();
        services.AddSingleton<IncidentMutes>();
        services.AddSingleton<StormRollup>();
        services.AddSingleton<ToldNews>();
        services.AddSingleton<IncidentNewsDispatch>();
        services.AddHostedService<NewsRetell>();
        services.AddSingleton<SubjectWriter>();
        services.AddSingleton<PullFailureIntake>();
        services.AddSingleton<IncidentCommands>();
        services.AddSingleton(provider => new IncidentEngine(
            provider.GetRequiredService<PullFailureIntake>(),
            provider.GetRequiredService<IncidentCommands>(),
            provider.GetRequiredService<IncidentMutes>(),
            provider.GetRequiredService<IncidentNewsDispatch>()));
        services.AddSingleton<IPullFailureSink>(provider => provider.GetRequiredService<IncidentEngine>());
        return services;
    }
}
