using ChatOpsPull.Incidents;
using ChatOpsPull.Kubernetes;
using Microsoft.Extensions.Options;
using Polly.Registry;

namespace ChatOpsPull.Detection.KubernetesWatch;

/// <summary>
/// Hosts the watcher: off (with one plain log sentence) when there is no cluster connection; otherwise it runs on the
/// replica that holds the Lease (or on every replica when Kubernetes:Lease:Enabled is false). Others serve HTTP only.
/// </summary>
public sealed partial class KubernetesWatchService : BackgroundService
{
    private readonly IServiceProvider _services;
    private readonly KubernetesConnection _connection;
    private readonly KubernetesOptions _options;
    private readonly ILogger<KubernetesWatchService> _logger;

    public KubernetesWatchService(IServiceProvider services, KubernetesConnection connection, IOptions<KubernetesOptions> options, ILogger<KubernetesWatchService> logger)
    {
        _services = services;
        _connection = connection;
        _options = options.Value;
        _logger = logger;
    }

    /// <summary>This replica's leader election, when one runs.</summary>
    public WatcherLeadership? Leadership { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        if (_connection.Client is not { } client)
        {
            LogOff(_logger, _connection.Description);
            return;
        }

        if (!_options.WatchEnabled)
        {
            LogOff(_logger, "Kubernetes:WatchEnabled is false, so the Kubernetes watcher is off.");
            return;
        }

        var sink = _services.GetService<IPullFailureSink>();
        if (sink is null)
        {
            LogOff(_logger, "No pull-failure sink (incident store) is registered, so the Kubernetes watcher is off.");
            return;
        }

        LogOn(_logger, _connection.Description);
        var watcher = new KubernetesPodWatcher(
            client,
            _options,
            sink,
            _services.GetService<PullEventStore>(),
            _services.GetRequiredService<IOptions<BotOptions>>().Value.Cluster,
            _services.GetRequiredService<TimeProvider>(),
            _services.GetRequiredService<KubernetesWatchStatus>(),
            _services.GetRequiredService<ILogger<KubernetesPodWatcher>>(),
            _services.GetRequiredService<ResiliencePipelineProvider<string>>().GetPipeline(WatchDeliveryRetry.PipelineName),
            _services.GetService<ReportedPodCredentials>(),
            _services.GetService<OwnerResolver>());

        if (!_options.Lease.Enabled)
        {
            await watcher.RunUntilStoppedAsync(stoppingToken).ConfigureAwait(false);
            return;
        }

        Leadership = new WatcherLeadership(
            client,
            _options.Lease,
            string.IsNullOrEmpty(_options.Lease.Namespace) ? _connection.OwnNamespace ?? "default" : _options.Lease.Namespace,
            WatcherLeadership.NewIdentity(),
            _services.GetRequiredService<ILogger<WatcherLeadership>>());
        await Leadership.RunWhileLeadingAsync(watcher.RunUntilStoppedAsync, stoppingToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Sentence}")]
    private static partial void LogOff(ILogger logger, string sentence);

    [LoggerMessage(Level = LogLevel.Information, Message = "Kubernetes watcher on. {Sentence}")]
    private static partial void LogOn(ILogger logger, string sentence);
}
