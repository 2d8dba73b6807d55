using System.Threading.Channels;
using ChatOpsPull.Observability;

namespace ChatOpsPull.Prevention;

/// <summary>One thing to write down after an admission review: an observation to record, or a finding key that is now fine.</summary>
public sealed record FindingWork(FindingObservation? Observation, string? ResolvedKey);

/// <summary>
/// Stores what the admission check saw and tells the cards, after the review has been answered: the API server is never
/// kept waiting on the database or a chat platform. A bounded queue; when it is full (a storm of refused changes) the
/// oldest work is dropped and counted, and the review answers stay correct. Also what the sweep uses to record and
/// resolve, directly (it is a job, nobody waits on it).
/// </summary>
public sealed partial class FindingRecorder : BackgroundService
{
    private const int Capacity = 1024;

    private readonly FindingStore _store;
    private readonly IPreventionNotifier[] _notifiers;
    private readonly BotMetrics _metrics;
    private readonly ILogger<FindingRecorder> _log;
    private readonly Channel<FindingWork> _queue;
    private long _pending;

    public FindingRecorder(FindingStore store, IEnumerable<IPreventionNotifier> notifiers, BotMetrics metrics, ILogger<FindingRecorder> log)
    {
        _store = store;
        _notifiers = notifiers.ToArray();
        _metrics = metrics;
        _log = log;
        _queue = Channel.CreateBounded<FindingWork>(
            new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            Dropped);
    }

    /// <summary>Work queued and not yet written (tests wait for 0 before asserting "nothing else happened").</summary>
    public long Pending => Interlocked.Read(ref _pending);

    /// <summary>Queues work for after the answer; never blocks.</summary>
    public void Enqueue(FindingWork work)
    {
        Interlocked.Increment(ref _pending);
        if (!_queue.Writer.TryWrite(work))
        {
            Interlocked.Decrement(ref _pending);
        }
    }

    /// <summary>Records an observation now and tells the cards when the finding is new or changed.</summary>
    public async Task<PreventionFinding> RecordAsync(FindingObservation observation, CancellationToken cancellationToken)
    {
        var (finding, change) = await _store.RecordAsync(observation, cancellationToken).ConfigureAwait(false);
        if (change != FindingChange.Unchanged)
        {
            await NotifyAsync(finding, change, cancellationToken).ConfigureAwait(false);
        }

        if (change is FindingChange.Opened or FindingChange.Reopened)
        {
            _metrics.Finding(observation.Source == FindingSource.Admission ? "prevented" : "will_fail", observation.Kind.Name());
        }

        return finding;
    }

    /// <summary>Resolves the open finding with <paramref name="key"/>, if there is one, and tells the cards.</summary>
    public async Task<PreventionFinding?> ResolveKeyAsync(string key, CancellationToken cancellationToken)
    {
        if (await _store.FindOpenAsync(key, cancellationToken).ConfigureAwait(false) is not { } open)
        {
            return null;
        }

        return await ResolveAsync(open.Id, cancellationToken).ConfigureAwait(false);
    }

    public async Task<PreventionFinding?> ResolveAsync(string id, CancellationToken cancellationToken)
    {
        var resolved = await _store.ResolveAsync(id, cancellationToken).ConfigureAwait(false);
        if (resolved is not null)
        {
            await NotifyAsync(resolved, FindingChange.Resolved, cancellationToken).ConfigureAwait(false);
        }

        return resolved;
    }

    private void Dropped(FindingWork work)
    {
        Interlocked.Decrement(ref _pending);
        LogDropped(_log, work.Observation?.Key ?? work.ResolvedKey ?? "(nothing)");
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await CountAsync(stoppingToken).ConfigureAwait(false);
        await foreach (var work in _queue.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                if (work.Observation is { } observation)
                {
                    await RecordAsync(observation, stoppingToken).ConfigureAwait(false);
                }
                else if (work.ResolvedKey is { } key)
                {
                    await ResolveKeyAsync(key, stoppingToken).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                LogRecordFailed(_log, e);
            }
            finally
            {
                Interlocked.Decrement(ref _pending);
            }
        }
    }

    private async Task NotifyAsync(PreventionFinding finding, FindingChange change, CancellationToken cancellationToken)
    {
        await CountAsync(cancellationToken).ConfigureAwait(false);
        foreach (var notifier in _notifiers)
        {
            try
            {
                await notifier.FindingChangedAsync(finding, change, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogNotifyFailed(_log, e, finding.Id);
            }
        }
    }

    /// <summary>Refreshes the open-findings gauge.</summary>
    private async Task CountAsync(CancellationToken cancellationToken)
    {
        try
        {
            _metrics.SetOpenFindings(await _store.CountOpenAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogCountFailed(_log, e);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Open prevention findings could not be counted for /metrics")]
    private static partial void LogCountFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Recording an admission finding failed; the review was answered all the same")]
    private static partial void LogRecordFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Admission findings arrive faster than they can be recorded; dropped the oldest ({Key})")]
    private static partial void LogDropped(ILogger logger, string key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The card of finding {FindingId} could not be updated")]
    private static partial void LogNotifyFailed(ILogger logger, Exception exception, string findingId);
}
