using Polly.Telemetry;

namespace ChatOpsPull.Observability;

/// <summary>
/// Polly logs every execution attempt of a retry pipeline, at Information when the attempt is not one to retry
/// ("Execution attempt. Source: 'kubernetes-watch-delivery/…', … Handled: 'False'"): one line per watched change
/// delivered and per incident write — in a 5,000-pod storm about 7,400 lines, more than the watcher's own. Those are
/// Debug here; attempts that failed and are retried, and the retries themselves, keep their severity (or the one a
/// pipeline gives them, <c>RaceRetry.LogRetriesAtDebug</c>).
/// </summary>
public static class ResilienceLogging
{
    public static IServiceCollection LogPlainAttemptsAtDebug(this IServiceCollection services) =>
        services.Configure<TelemetryOptions>(telemetry =>
        {
            var earlier = telemetry.SeverityProvider;
            telemetry.SeverityProvider = args =>
                args.Event is { EventName: "ExecutionAttempt", Severity: ResilienceEventSeverity.Information }
                    ? ResilienceEventSeverity.Debug
                    : earlier?.Invoke(args) ?? args.Event.Severity;
        });
}
