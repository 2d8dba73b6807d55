using Hangfire;
using Hangfire.Common;
using Prometheus;

namespace ChatOpsPull.Observability;

public static class ObservabilityServices
{
    /// <summary>
    /// The bot's meter (<see cref="BotMetrics"/>), the job-state counter and the rejected-request counter.
    /// Must run before <c>AddJobs</c>: the job filter provider registered here is the one Hangfire's client and server take.
    /// </summary>
    public static IServiceCollection AddObservability(this IServiceCollection services)
    {
        services.AddMetrics();
        // Process-wide, read once when prometheus-net's default registry first collects (StartMeterAdapter below):
        // every host in a process sets the same filter.
        Metrics.ConfigureMeterAdapter(adapter => adapter.InstrumentFilterPredicate = PublishedInstruments.Publishes);
        services.AddSingleton<BotMetrics>();
        services.AddHostedService<StartMeterAdapter>();
        services.AddSingleton<JobStateMetrics>();
        services.LogPlainAttemptsAtDebug();
        // Hangfire's own providers (attribute filters such as AutomaticRetry, global filters) plus this host's job counter.
        // Per host, not global: several hosts in one process (tests) each count their own jobs.
        services.AddSingleton<IJobFilterProvider>(provider =>
        {
            var own = new JobFilterCollection { provider.GetRequiredService<JobStateMetrics>() };
            return new JobFilterProviderCollection(JobFilterProviders.Providers, own);
        });
        return services;
    }

    /// <summary>Counts refused requests; goes first in the pipeline so refusals by authentication are counted too.</summary>
    public static IApplicationBuilder UseRejectedRequestMetrics(this IApplicationBuilder app) =>
        app.UseMiddleware<RejectedRequestMetrics>();

    /// <summary>
    /// <c>/metrics</c> in Prometheus text format: the bot's meter plus .NET runtime and HTTP metrics
    /// (prometheus-net publishes System.Diagnostics.Metrics meters through its meter adapter, but not the per-buffer and
    /// per-call instruments <see cref="PublishedInstruments"/> leaves out).
    /// </summary>
    public static IEndpointRouteBuilder MapObservability(this IEndpointRouteBuilder app)
    {
        app.MapMetrics("/metrics");
        return app;
    }

    /// <summary>
    /// prometheus-net connects its meter adapter to System.Diagnostics.Metrics on the first collection
    /// (prometheus-net/prometheus-net#487); collect once at start so nothing counted before the first scrape is lost.
    /// </summary>
    private sealed class StartMeterAdapter : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) =>
            Metrics.DefaultRegistry.CollectAndExportAsTextAsync(Stream.Null, cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
