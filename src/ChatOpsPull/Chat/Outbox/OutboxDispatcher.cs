using System.Security.Cryptography;
using ChatOpsPull.Fleet;
using ChatOpsPull.Observability;
using ChatOpsPull.Storage;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Chat.Outbox;

/// <summary>
/// Sends the outbox: one message at a time per (platform, channel), at most one per <see cref="OutboxOptions.MessageInterval"/>,
/// several channels in parallel. Honours Retry-After for the whole channel, backs off on transient errors, gives up after
/// <see cref="OutboxOptions.MaxAttempts"/>, and picks up what a previous run (or a dead replica) left behind.
/// </summary>
public sealed partial class OutboxDispatcher : BackgroundService
{
    private readonly OutboxQueue _queue;
    private readonly BotDatabase _database;
    private readonly IReadOnlyDictionary<ChatPlatform, IOutboxDelivery> _deliveries;
    private readonly ClusterQueues _clusters;
    private readonly OutboxSignal _signal;
    private readonly IOptionsMonitor<OutboxOptions> _options;
    private readonly TimeProvider _time;
    private readonly BotMetrics _metrics;
    private readonly ILogger<OutboxDispatcher> _log;

    public OutboxDispatcher(
        BotDatabase database,
        SqliteWriteGate gate,
        IEnumerable<IOutboxDelivery> deliveries,
        ClusterQueues clusters,
        OutboxSignal signal,
        IOptionsMonitor<OutboxOptions> options,
        TimeProvider time,
        BotMetrics metrics,
        ILogger<OutboxDispatcher> log)
    {
        _database = database;
        _queue = new OutboxQueue(database, gate);
        _deliveries = deliveries.GroupBy(d => d.Platform).ToDictionary(g => g.Key, g => g.Last());
        _clusters = clusters;
        _signal = signal;
        _options = options;
        _time = time;
        _metrics = metrics;
        _log = log;
    }

    /// <summary>This replica's name in leases.</summary>
    public string ReplicaId { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_deliveries.Count == 0)
        {
            LogNoDelivery(_log);
            return;
        }

        using var sendCancellation = new CancellationTokenSource();
        await using var onStop = stoppingToken.Register(() => sendCancellation.CancelAfter(_options.CurrentValue.ShutdownGrace));
        var running = new List<Task>();
        var lastRecovery = long.MinValue;
        var purges = new PurgeSchedule(Now());
        var firstRound = true;

        while (!stoppingToken.IsCancellationRequested)
        {
            var options = _options.CurrentValue;
            var platforms = Served();
            try
            {
                var now = Now();
                if (firstRound || now - lastRecovery > options.LeaseDuration.TotalMilliseconds / 2)
                {
                    // Only a database no other process shares (SQLite) lets a fresh start take back every 'sending' row.
                    var recovered = await _queue.RecoverAsync(firstRound && _database.Dialect.OneProcess, now, stoppingToken).ConfigureAwait(false);
                    if (recovered > 0)
                    {
                        LogRecovered(_log, recovered);
                    }

                    lastRecovery = now;
                    firstRound = false;
                }

                if (purges.Due(now))
                {
                    await _queue.PurgeAsync(now - (long)options.KeepDelivered.TotalMilliseconds, stoppingToken).ConfigureAwait(false);
                    purges.Purged(now);
                }

                running.RemoveAll(t => t.IsCompleted);
                var free = options.MaxParallelChannels - running.Count;
                var started = 0;
                if (free > 0)
                {
                    var lanes = await _queue.ReadyLanesAsync(platforms, now, free * 2, stoppingToken).ConfigureAwait(false);
                    foreach (var lane in lanes)
                    {
                        if (started == free)
                        {
                            break;
                        }

                        var leaseUntil = now + (long)options.LeaseDuration.TotalMilliseconds;
                        var (leased, message) = await _queue.LeaseAndClaimAsync(lane, ReplicaId, now, leaseUntil, stoppingToken).ConfigureAwait(false);
                        if (leased && message is not null)
                        {
                            running.Add(SendAsync(lane, _deliveries[lane.Platform], message, sendCancellation.Token));
                            started++;
                        }
                    }
                }

                if (started == 0)
                {
                    await WaitAsync(platforms, running, options, stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
#pragma warning disable CA1031 // the dispatcher must outlive a database hiccup
            catch (Exception ex)
#pragma warning restore CA1031
            {
                LogLoopError(_log, ex);
                await Task.Delay(options.PollInterval, _time, CancellationToken.None).ConfigureAwait(false);
            }
        }

        try
        {
            await Task.WhenAll(running).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // sends cut off after the grace period were put back to pending
        }
    }

    /// <summary>
    /// The platforms this bot sends: all it has a delivery for, except, in a fleet, those it holds no credentials for
    /// (their lanes wait for a bot of the fleet that has them, instead of being claimed and failed here).
    /// </summary>
    private string[] Served() =>
        [.. _deliveries.Values.Where(d => d.CanSend || !_clusters.FleetMode).Select(d => OutboxStateNames.PlatformName(d.Platform))];

    private async Task WaitAsync(string[] platforms, List<Task> running, OutboxOptions options, CancellationToken stoppingToken)
    {
        var now = Now();
        var wait = options.PollInterval;
        var nextDue = await _queue.NextDueAsync(platforms, now, stoppingToken).ConfigureAwait(false);
        if (nextDue is { } due)
        {
            wait = TimeSpan.FromMilliseconds(Math.Clamp(due - now, 5, options.PollInterval.TotalMilliseconds));
        }

        using var waitCancellation = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var signalled = _signal.WaitAsync(wait, waitCancellation.Token);
        var sendFinished = running.Count > 0 ? Task.WhenAny(running) : Task.Delay(Timeout.InfiniteTimeSpan, waitCancellation.Token);
        await Task.WhenAny(signalled, sendFinished).ConfigureAwait(false);
        await waitCancellation.CancelAsync().ConfigureAwait(false);
        try
        {
            await signalled.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // the wait ended for another reason
        }
    }

    /// <summary>Sends one claimed message and hands its lane back with the time the lane may send next.</summary>
    private async Task SendAsync(OutboxLane lane, IOutboxDelivery delivery, OutboxMessage message, CancellationToken sendToken)
    {
        var options = _options.CurrentValue;
        var nextAt = Now();
        var released = false;
        try
        {
            // Pace from the moment the platform is called, not from the claim: database latency must not shorten the gap.
            var sendStart = Now();
            DeliveryResult result;
            try
            {
                result = await delivery.DeliverAsync(message, sendToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (sendToken.IsCancellationRequested)
            {
                LogCutOff(_log, message.Id, message.Operation);
                await _queue.RescheduleAsync(message.Id, Now(), "cut off by shutdown", uncount: true, Now(), CancellationToken.None).ConfigureAwait(false);
                return;
            }
#pragma warning disable CA1031 // a delivery that throws is a bug there; the message is retried, not lost
            catch (Exception ex)
#pragma warning restore CA1031
            {
                LogDeliveryThrew(_log, ex, message.Id, message.Operation);
                result = new DeliveryResult(DeliveryOutcome.Retry, null, "delivery error: " + ex.GetType().Name);
            }

            // The platform has answered: what it said must be recorded, or the message is sent again once its lease
            // runs out (a thread reply twice, a card a second time). While the database cannot write, hold on to it.
            (nextAt, released) = await StorageFaults.HoldWhileUnavailableAsync(
                _ => RecordAsync(lane, message, result, options, sendStart), options.PollInterval, null, sendToken, _time).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // keep the dispatcher alive; the leases expire and another round retries
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogLoopError(_log, ex);
            nextAt = Now() + (long)options.PollInterval.TotalMilliseconds;
        }
        finally
        {
            if (!released)
            {
                try
                {
                    await _queue.ReleaseLaneAsync(lane, ReplicaId, nextAt, CancellationToken.None).ConfigureAwait(false);
                }
#pragma warning disable CA1031 // the lease expires by itself
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    LogLoopError(_log, ex);
                }
            }

            _signal.Notify();
        }
    }

    /// <returns>When the lane may send next, and whether the lane was already handed back with the outcome.</returns>
    private async Task<(long NextAt, bool Released)> RecordAsync(OutboxLane lane, OutboxMessage message, DeliveryResult result, OutboxOptions options, long sendStart)
    {
        var now = Now();
        var paced = sendStart + (long)options.MessageInterval.TotalMilliseconds;
        var platform = OutboxStateNames.PlatformName(message.Platform);
        switch (result.Outcome)
        {
            case DeliveryOutcome.Delivered:
                _metrics.ChatSend(platform, "delivered");
                await _queue.FinishAsync(lane, message.Id, delivered: true, null, ReplicaId, paced, now, CancellationToken.None).ConfigureAwait(false);
                return (paced, true);

            case DeliveryOutcome.Failed:
                {
                    _metrics.ChatSend(platform, "failed");
                    var error = result.Error ?? "unknown error";
                    LogFailed(_log, message.Id, OutboxStateNames.PlatformName(message.Platform), message.Operation, message.Channel, error);
                    await _queue.FinishAsync(lane, message.Id, delivered: false, error, ReplicaId, paced, now, CancellationToken.None).ConfigureAwait(false);
                    return (paced, true);
                }

            case DeliveryOutcome.Retry when result.RetryAfter is { } retryAfter:
                {
                    _metrics.ChatSend(platform, "retry");
                    var wait = (long)Math.Max(retryAfter.TotalMilliseconds, 0);
                    LogThrottled(_log, message.Id, message.Channel, wait);
                    await _queue.RescheduleAsync(message.Id, now + wait, result.Error ?? "rate limited", uncount: true, now, CancellationToken.None).ConfigureAwait(false);
                    return (Math.Max(now + wait, paced), false);
                }

            case DeliveryOutcome.Deferred:
                {
                    // Only this row waits; the lane sends what is behind it at its normal pace.
                    var wait = (long)Math.Max((result.RetryAfter ?? options.PollInterval).TotalMilliseconds, 0);
                    await _queue.RescheduleAsync(message.Id, now + wait, result.Error ?? "deferred", uncount: true, now, CancellationToken.None).ConfigureAwait(false);
                    return (paced, false);
                }

            case DeliveryOutcome.Retry when message.Attempts >= options.MaxAttempts:
                {
                    _metrics.ChatSend(platform, "failed");
                    var error = $"gave up after {message.Attempts} attempts: {result.Error ?? "transient error"}";
                    LogFailed(_log, message.Id, OutboxStateNames.PlatformName(message.Platform), message.Operation, message.Channel, error);
                    // Nothing was wrong with the line, only with the moment: the same news told again once the platform
                    // answers (a retell) sends it then, where a line refused for good keeps its key and is not retried.
                    await _queue.FinishAsync(lane, message.Id, delivered: false, error, ReplicaId, paced, now, CancellationToken.None, forgetOnceKey: true).ConfigureAwait(false);
                    return (paced, true);
                }

            case DeliveryOutcome.Retry:
                {
                    _metrics.ChatSend(platform, "retry");
                    var jitter = RandomNumberGenerator.GetInt32(0, 1_000_000) / 1_000_000d;
                    var delay = (long)OutboxBackoff.Delay(message.Attempts, options.BaseBackoff, options.MaxBackoff, jitter).TotalMilliseconds;
                    LogRetrying(_log, message.Id, message.Operation, message.Attempts, delay, result.Error ?? "transient error");
                    await _queue.RescheduleAsync(message.Id, now + delay, result.Error, uncount: false, now, CancellationToken.None).ConfigureAwait(false);
                    return (Math.Max(now + delay, paced), false);
                }

            default:
                throw new InvalidOperationException($"unknown delivery outcome {result.Outcome}");
        }
    }

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    [LoggerMessage(Level = LogLevel.Warning, Message = "No chat delivery is registered; outbound chat messages stay queued.")]
    private static partial void LogNoDelivery(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Took back {Count} outbox message(s) that were being sent when a replica stopped.")]
    private static partial void LogRecovered(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox dispatcher error; retrying shortly.")]
    private static partial void LogLoopError(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox delivery for message {Id} ({Operation}) threw; it will be retried.")]
    private static partial void LogDeliveryThrew(ILogger logger, Exception exception, long id, string operation);

    [LoggerMessage(Level = LogLevel.Information, Message = "Outbox message {Id} ({Operation}) cut off by shutdown; it stays queued.")]
    private static partial void LogCutOff(ILogger logger, long id, string operation);

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox message {Id} to {Platform} {Operation} in {Channel} failed for good: {Error}")]
    private static partial void LogFailed(ILogger logger, long id, string platform, string operation, string channel, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Outbox message {Id} to {Channel} rate limited; channel waits {WaitMs} ms.")]
    private static partial void LogThrottled(ILogger logger, long id, string channel, long waitMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox message {Id} ({Operation}) attempt {Attempt} failed ({Error}); retrying in {DelayMs} ms.")]
    private static partial void LogRetrying(ILogger logger, long id, string operation, int attempt, long delayMs, string error);
}
