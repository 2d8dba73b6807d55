using ChatOpsPull.Incidents;

namespace ChatOpsPull.Detection.Webhooks.Inbox;

/// <summary>
/// Applies the alert inbox to the incident engine: at start (what a crash or an outage left there) and whenever the
/// webhooks append, in batches in the order accepted, so one engine round per subject takes the alerts of many requests.
/// A batch's rows are removed only after the engine took every alert of it; when the engine cannot write, the batch stays
/// and is tried again with back-off. The engine is idempotent, so a crash between applying and removing applies a batch
/// again without changing anything twice.
/// </summary>
public sealed partial class AlertInboxDrain : BackgroundService
{
    /// <summary>Rows applied together (a request holds up to a few hundred alerts).</summary>
    public const int BatchRows = 256;

    /// <summary>How often the inbox is looked at without being woken (rows another replica accepted).</summary>
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(5);

    private readonly AlertInbox _inbox;
    private readonly IPullFailureSink _sink;
    private readonly TimeProvider _time;
    private readonly ILogger<AlertInboxDrain> _logger;
    private readonly SemaphoreSlim _wake = new(0, 1);

    public AlertInboxDrain(AlertInbox inbox, IPullFailureSink sink, TimeProvider time, ILogger<AlertInboxDrain> logger)
    {
        _inbox = inbox;
        _sink = sink;
        _time = time;
        _logger = logger;
        _inbox.Appended += Wake;
    }

    public override void Dispose()
    {
        _inbox.Appended -= Wake;
        _wake.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            int applied;
            try
            {
                applied = await ApplyBatchAsync(stoppingToken).ConfigureAwait(false);
                failures = 0;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // the rows stay in the inbox and are tried again
            catch (Exception e)
#pragma warning restore CA1031
            {
                failures++;
                var delay = TimeSpan.FromMilliseconds(Math.Min(250 * Math.Pow(2, failures - 1), 10_000));
                LogApplyFailed(_logger, e, delay.TotalSeconds);
                await Task.Delay(delay, _time, stoppingToken).ConfigureAwait(false);
                continue;
            }

            if (applied == 0)
            {
                await _wake.WaitAsync(Poll, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    /// <returns>Rows applied and removed.</returns>
    private async Task<int> ApplyBatchAsync(CancellationToken cancellationToken)
    {
        var entries = await _inbox.OldestAsync(BatchRows, cancellationToken).ConfigureAwait(false);
        if (entries.Count == 0)
        {
            return 0;
        }

        await AlertDelivery.ApplyAsync([.. entries.SelectMany(e => e.Alerts)], _sink, cancellationToken).ConfigureAwait(false);
        await _inbox.RemoveAsync([.. entries.Select(e => e.Id)], cancellationToken).ConfigureAwait(false);
        return entries.Count;
    }

    private void Wake()
    {
        try
        {
            if (_wake.CurrentCount == 0)
            {
                _wake.Release();
            }
        }
        catch (SemaphoreFullException)
        {
            // already woken
        }
        catch (ObjectDisposedException)
        {
            // stopping
        }
    }

    [LoggerMessage(EventId = 4104, Level = LogLevel.Warning, Message = "The alert inbox could not be applied to the incident engine; its alerts stay there and are tried again in {Seconds} s")]
    private static partial void LogApplyFailed(ILogger logger, Exception exception, double seconds);
}
