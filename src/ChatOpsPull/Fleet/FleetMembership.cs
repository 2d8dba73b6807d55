using ChatOpsPull.Kubernetes;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Fleet;

/// <summary>
/// This bot in the fleet: at start (before the job server takes work) it reads its API server's identity and joins —
/// refusing to start, with a sentence, when its cluster name collides with another's queue, when another live bot claims
/// the name from a different API server, or when a cluster bot cannot tell which API server it talks to. Then it beats
/// every Fleet:HeartbeatInterval (a beat that fails is logged and tried again at the next), and leaves on a clean stop.
/// Outside fleet mode it does nothing.
/// </summary>
public sealed partial class FleetMembership(
    FleetRegistry registry,
    KubernetesConnection connection,
    IOptions<FleetOptions> options,
    IOptions<BotOptions> bot,
    TimeProvider time,
    ILogger<FleetMembership> log) : IHostedService, IAsyncDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private Task? _beating;
    private int _disposed;

    /// <summary>This bot as the fleet knows it, once joined.</summary>
    public FleetBot? Self { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var fleet = options.Value;
        if (!fleet.Enabled)
        {
            return;
        }

        string? cluster = null;
        string? uid = null;
        if (fleet.Role == FleetRole.Cluster)
        {
            cluster = bot.Value.Cluster;
            var (read, problem) = await ApiServerIdentity.ReadAsync(connection, cancellationToken).ConfigureAwait(false);
            if (read is null)
            {
                throw new FleetConflictException(
                    $"This bot is cluster \"{cluster}\" of a fleet, but it cannot tell which API server it talks to: {problem}. A fleet compares API servers so two clusters never share a name.");
            }

            uid = read;
        }

        var host = Environment.GetEnvironmentVariable("POD_NAME") is { Length: > 0 } pod ? pod : Environment.MachineName;
        var self = new FleetBot($"{host}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..8]}", cluster, fleet.Role, uid, host) { Profile = bot.Value.Profile };
        await registry.JoinAsync(self, cancellationToken).ConfigureAwait(false);
        Self = self;
        var queues = ClusterQueuesOf(cluster);
        LogJoined(log, cluster ?? "(chat replica)", uid ?? "-", queues);
        _beating = BeatAsync(self, fleet.HeartbeatInterval, _stopping.Token);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // The host may dispose this singleton before it stops it (a factory-built host's disposal): stopping then has no beat to end.
        if (Volatile.Read(ref _disposed) == 0)
        {
            try
            {
                await _stopping.CancelAsync().ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                // disposed meanwhile: the beat was ended there
            }
        }

        if (_beating is not null)
        {
            await _beating.ConfigureAwait(false);
        }

        if (Self is { } self)
        {
            try
            {
                await registry.LeaveAsync(self.Instance, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is System.Data.Common.DbException or TimeoutException or OperationCanceledException or ObjectDisposedException)
            {
                LogLeaveFailed(log, e.GetType().Name);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_beating is not null)
        {
            await _beating.ConfigureAwait(false);
        }

        _stopping.Dispose();
    }

    private async Task BeatAsync(FleetBot self, TimeSpan interval, CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                try
                {
                    await registry.HeartbeatAsync(self, stopping).ConfigureAwait(false);
                }
                catch (Exception e) when (e is System.Data.Common.DbException or TimeoutException or InvalidOperationException)
                {
                    LogBeatFailed(log, e.GetType().Name, e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // stopping
        }
    }

    private static string ClusterQueuesOf(string? cluster) => cluster is null ? ClusterQueues.Shared : $"{ClusterQueues.QueueName(cluster)} and {ClusterQueues.Shared}";

    [LoggerMessage(Level = LogLevel.Information, Message = "Joined the fleet as {Cluster} (API server kube-system uid {Uid}); job queues {Queues}")]
    private static partial void LogJoined(ILogger logger, string cluster, string uid, string queues);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Fleet heartbeat failed ({Error}: {Message}); trying again at the next beat")]
    private static partial void LogBeatFailed(ILogger logger, string error, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Leaving the fleet failed ({Error}); the bot's row ages out after Fleet:LiveWindow")]
    private static partial void LogLeaveFailed(ILogger logger, string error);
}
