using BenchmarkDotNet.Attributes;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Detection.KubernetesWatch;
using ChatOpsPull.Kubernetes;
using ChatOpsPull.Observability;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.Registry;
using Prometheus;

namespace ChatOpsPull.Bench;

/// <summary>
/// What metrics cost the watcher per pod it reports, with prometheus-net's meter adapter listening as at <c>/metrics</c>:
/// one change delivered through the registered "kubernetes-watch-delivery" pipeline (Polly telemetry on, as
/// <c>AddResiliencePipeline</c> sets it up) whose callback counts the failure (<see cref="BotMetrics.FailureSeen"/>), as
/// <c>PullFailureIntake.ReportAsync</c> does. <c>AllInstruments</c> = true publishes every instrument (before
/// <see cref="PublishedInstruments"/>); false publishes what the bot publishes now. Each case runs in its own process,
/// so the adapter of one never listens in the other. <c>--filter '*DeliveryMetricsBenchmarks*' --job short</c>.
/// </summary>
[MemoryDiagnoser]
public class DeliveryMetricsBenchmarks
{
    private ServiceProvider _services = null!;
    private IDisposable _adapter = null!;
    private ResiliencePipeline _delivery = null!;
    private BotMetrics _metrics = null!;

    [Params(true, false)]
    public bool AllInstruments { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _adapter = MeterAdapter.StartListening(new MeterAdapterOptions
        {
            Registry = Metrics.NewCustomRegistry(),
            InstrumentFilterPredicate = AllInstruments ? _ => true : PublishedInstruments.Publishes,
        });
        var options = new KubernetesOptions();
        _services = new ServiceCollection()
            .AddLogging()
            .AddMetrics()
            .AddSingleton<BotMetrics>()
            .AddResiliencePipeline(WatchDeliveryRetry.PipelineName, (builder, _) => WatchDeliveryRetry.Configure(builder, options, TimeProvider.System, NullLogger.Instance))
            .BuildServiceProvider();
        _delivery = _services.GetRequiredService<ResiliencePipelineProvider<string>>().GetPipeline(WatchDeliveryRetry.PipelineName);
        _metrics = _services.GetRequiredService<BotMetrics>();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _adapter.Dispose();
        _services.Dispose();
    }

    [Benchmark]
    public ValueTask OneChangeDeliveredAndCounted() => _delivery.ExecuteAsync(
        static (metrics, _) =>
        {
            metrics.FailureSeen(FailureSource.KubernetesWatch);
            return ValueTask.CompletedTask;
        },
        _metrics,
        CancellationToken.None);
}
