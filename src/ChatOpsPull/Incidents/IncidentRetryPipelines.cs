using ChatOpsPull.Storage;
using Polly;

namespace ChatOpsPull.Incidents;

/// <summary>The named resilience pipelines of incident writes (Polly, registered with <c>AddResiliencePipeline</c>), built from <see cref="IncidentOptions"/>.</summary>
public static class IncidentRetryPipelines
{
    /// <summary>Reports, resolves and storm roll-ups: a unique-key violation is a lost race too (another replica opened the incident first).</summary>
    public const string Write = "incidents.write";

    /// <summary>Transitions, snoozes and diagnoses: a unique-key violation is an answer (the key is taken), not a race.</summary>
    public const string Command = "incidents.command";

    /// <summary><see cref="IncidentStore.UpdateAsync"/>: read-modify-write that lost to a newer version.</summary>
    public const string StoreUpdate = "incidents.store-update";

    public static IServiceCollection AddIncidentRetryPipelines(this IServiceCollection services)
    {
        services.AddResiliencePipeline(Write, (pipeline, context) =>
        {
            var options = context.GetOptions<IncidentOptions>();
            pipeline.AddRetry(RaceRetry.Options(options.WriteAttempts, options.WriteRetryDelay, o => o.Exception is { } e && IsLostRace(e, uniqueViolations: true)));
            context.EnableReloads<IncidentOptions>();
        });
        services.AddResiliencePipeline(Command, (pipeline, context) =>
        {
            var options = context.GetOptions<IncidentOptions>();
            pipeline.AddRetry(RaceRetry.Options(options.WriteAttempts, options.WriteRetryDelay, o => o.Exception is { } e && IsLostRace(e, uniqueViolations: false)));
            context.EnableReloads<IncidentOptions>();
        });
        services.AddResiliencePipeline(StoreUpdate, (pipeline, context) =>
        {
            var options = context.GetOptions<IncidentOptions>();
            pipeline.AddRetry(RaceRetry.Options(options.StoreUpdateAttempts, options.StoreUpdateRetryDelay, o => o.Exception is IncidentConcurrencyException));
            context.EnableReloads<IncidentOptions>();
        });
        return services.LogRetriesAtDebug("incidents.");
    }

    /// <summary>
    /// An incident write that lost a race: another writer changed the incident, or the database asks to try again
    /// (SQLite busy or locked; PostgreSQL serialization failure or deadlock), or — when <paramref name="uniqueViolations"/> —
    /// another writer inserted the same open key.
    /// </summary>
    public static bool IsLostRace(Exception e, bool uniqueViolations) =>
        e is IncidentConcurrencyException
        || SqlDialects.All.Any(dialect => dialect.IsTransient(e) || (uniqueViolations && dialect.IsUniqueViolation(e)));

}
