using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using ChatOpsPull.Detection.KubernetesWatch;
using ChatOpsPull.Kubernetes;
using ChatOpsPull.Observability;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.Registry;

namespace ChatOpsPull.Tests.Observability;

/// <summary>
/// What <c>/metrics</c> leaves out, checked against the instruments the libraries really publish (a renamed meter or
/// instrument in a new Polly or ASP.NET Core would otherwise be published again without anyone noticing).
/// </summary>
public sealed class PublishedInstrumentsTests
{
    [Fact]
    public async Task Pollys_per_execution_durations_are_left_out_and_its_events_counter_is_published()
    {
        using var seen = new InstrumentsSeen();
        await using var services = new ServiceCollection()
            .AddLogging()
            .AddMetrics()
            .AddResiliencePipeline(WatchDeliveryRetry.PipelineName, (builder, _) => WatchDeliveryRetry.Configure(builder, new KubernetesOptions { DeliveryRetryDelay = TimeSpan.Zero }, TimeProvider.System, NullLogger.Instance))
            .BuildServiceProvider();
        var pipeline = services.GetRequiredService<ResiliencePipelineProvider<string>>().GetPipeline(WatchDeliveryRetry.PipelineName);

        var tries = 0;
        await pipeline.ExecuteAsync(_ => ++tries == 1 ? throw new IOException("first try fails") : ValueTask.CompletedTask);

        Assert.Equal(2, tries);
        var polly = seen.Of(PublishedInstruments.PollyMeter);
        Assert.Contains(polly, i => i.Name == "resilience.polly.pipeline.duration" && !PublishedInstruments.Publishes(i));
        Assert.Contains(polly, i => i.Name == "resilience.polly.strategy.attempt.duration" && !PublishedInstruments.Publishes(i));
        Assert.Contains(polly, i => i.Name == "resilience.polly.strategy.events" && PublishedInstruments.Publishes(i));
    }

    [Fact]
    public async Task Kestrels_memory_pool_is_left_out_and_its_request_durations_are_published()
    {
        using var seen = new InstrumentsSeen();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var app = builder.Build();
        app.MapGet("/", () => "ok");
        await app.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()) };

        Assert.Equal("ok", await client.GetStringAsync(new Uri("/", UriKind.Relative)));
        await app.StopAsync();

        var pool = seen.Of(PublishedInstruments.KestrelMemoryPoolMeter);
        Assert.NotEmpty(pool);
        Assert.All(pool, i => Assert.False(PublishedInstruments.Publishes(i), i.Name));
        Assert.Contains(seen.Of("Microsoft.AspNetCore.Hosting"), i => i.Name == "http.server.request.duration" && PublishedInstruments.Publishes(i));
    }

    [Fact]
    public void The_bots_own_meter_is_published()
    {
        using var meter = new Meter(BotMetrics.MeterName);
        var counter = meter.CreateCounter<long>("pull_failures_seen");

        Assert.True(PublishedInstruments.Publishes(counter));
    }

    /// <summary>Every instrument published while it listens (and at its start), whatever the meter.</summary>
    private sealed class InstrumentsSeen : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentBag<Instrument> _instruments = [];

        public InstrumentsSeen()
        {
            _listener.InstrumentPublished = (instrument, _) => _instruments.Add(instrument);
            _listener.Start();
        }

        public IReadOnlyList<Instrument> Of(string meter) => [.. _instruments.Where(i => i.Meter.Name == meter)];

        public void Dispose() => _listener.Dispose();
    }
}
