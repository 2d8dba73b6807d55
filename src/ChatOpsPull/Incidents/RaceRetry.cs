using Polly;
using Polly.Retry;
using Polly.Telemetry;

namespace ChatOpsPull.Incidents;

/// <summary>
/// Retries of a database write that lost a race to another writer (a newer version, a busy SQLite file, a PostgreSQL
/// serialization failure or deadlock): what the named resilience pipelines of Incidents and Approvals share. Before try
/// n+1 the write waits a random time between a fifth of <c>delayStep</c> and n × <c>delayStep</c>, so writers that
/// collided spread out. Losing a race is routine in a storm, so these retries are logged at Debug, not as warnings.
/// </summary>
public static class RaceRetry
{
    /// <summary>Retry options for a pipeline: <paramref name="attempts"/> tries in all; <paramref name="isLostRace"/> picks what is tried again.</summary>
    public static RetryStrategyOptions Options(int attempts, TimeSpan delayStep, Func<Outcome<object>, bool> isLostRace) => new()
    {
        MaxRetryAttempts = Math.Max(attempts - 1, 0),
        ShouldHandle = args => ValueTask.FromResult(isLostRace(args.Outcome)),
        DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(DelayBefore(args.AttemptNumber + 1, delayStep)),
    };

    /// <summary>The wait after try <paramref name="failedTry"/> (1-based) failed.</summary>
    public static TimeSpan DelayBefore(int failedTry, TimeSpan delayStep)
    {
        var floor = delayStep.Ticks / 5;
        var ceiling = delayStep.Ticks * failedTry;
        return ceiling <= floor ? TimeSpan.FromTicks(floor) : TimeSpan.FromTicks(Random.Shared.NextInt64(floor, ceiling));
    }

    /// <summary>Polly reports a retry as a warning; for the pipelines whose names start with <paramref name="namePrefix"/> it is Debug.</summary>
    public static IServiceCollection LogRetriesAtDebug(this IServiceCollection services, string namePrefix) =>
        services.Configure<TelemetryOptions>(telemetry =>
        {
            var earlier = telemetry.SeverityProvider;
            telemetry.SeverityProvider = args =>
                args.Event.EventName == "OnRetry" && args.Source.PipelineName?.StartsWith(namePrefix, StringComparison.Ordinal) == true
                    ? ResilienceEventSeverity.Debug
                    : earlier?.Invoke(args) ?? args.Event.Severity;
        });
}
