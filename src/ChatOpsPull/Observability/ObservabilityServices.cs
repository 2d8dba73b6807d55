using Prometheus;

namespace ChatOpsPull.Observability;

public static class ObservabilityServices
{
    public static IServiceCollection AddObservability(this IServiceCollection services)
    {
        services.AddMetrics();
        services.AddSingleton<BotMetrics>();
        services.AddHostedService<StartMeterAdapter>();
        return services;
    }

    /// <summary>
    /// <c>/metrics</c> in Prometheus text format: the bot's meter plus .NET runtime and HTTP metrics
    /// (prometheus-net publishes System.Diagnostics.Metrics meters through its meter adapter).
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
