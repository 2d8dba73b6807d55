using System.Collections.Concurrent;
using ChatOpsPull.Storage;

namespace ChatOpsPull.Incidents.Engine;

/// <summary>
/// Removes the news owed (<see cref="OwedNews"/>) once the news dispatch has told it: for the card publisher that means the
/// outbox row is stored. Told versions are gathered per incident (the newest) and removed together, in one transaction
/// per <see cref="Pause"/> at most (on SQLite it may share another writer's; on PostgreSQL one statement that skips the rows
/// a writer holds, kept here for the next removal): a storm's thousand notices cost a handful of transactions, not a
/// thousand. What a host stops before removing is told again by <see cref="NewsRetell"/>, which updates the card in place
/// to what it already says. Announcements told (<see cref="OwedAnnouncement"/>, by key) are removed in the same passes.
/// </summary>
internal sealed partial class ToldNews(IncidentStore store, ILogger<ToldNews> logger) : IDisposable
{
    /// <summary>How long told versions gather before they are removed together.</summary>
    internal static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(50);

    /// <summary>The pause after a removal failed (the store is unavailable): they stay gathered and are tried again.</summary>
    internal static readonly TimeSpan PauseAfterFailure = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<string, int> _told = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _announcements = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private int _running;
    private long _removals;
    private long _recorded;

    /// <summary>Transactions that removed told news so far (the storm bench prints it beside <see cref="Recorded"/>).</summary>
    public long Removals => Interlocked.Read(ref _removals);

    /// <summary>Notices told so far whose news was owed.</summary>
    public long Recorded => Interlocked.Read(ref _recorded);

    /// <summary>The news of <paramref name="incidentId"/> up to <paramref name="version"/> is told; removed from the store shortly.</summary>
    public void Record(string incidentId, int version)
    {
        Interlocked.Increment(ref _recorded);
        _told.AddOrUpdate(incidentId, version, (_, known) => Math.Max(known, version));
        RemoveSoon();
    }

    /// <summary>The announcement <paramref name="key"/> is told (or silenced, or its incident is gone); removed from the store shortly.</summary>
    public void RecordAnnouncement(string key)
    {
        Interlocked.Increment(ref _recorded);
        _announcements[key] = true;
        RemoveSoon();
    }

    private void RemoveSoon()
    {
        if (Interlocked.CompareExchange(ref _running, 1, 0) == 0)
        {
            _ = Task.Run(RemoveLaterAsync, CancellationToken.None);
        }
    }

    /// <summary>Removes what is gathered now (the host stopping calls it last); returns how many incidents' news it removed.</summary>
    public async Task<int> FlushAsync(CancellationToken cancellationToken)
    {
        // Kept in memory until removed from the store, so that a sweep of this host never retells what it has told (Covers).
        var taken = _told.ToArray();
        var announcements = _announcements.Keys.ToArray();
        if (taken.Length == 0 && announcements.Length == 0)
        {
            return 0;
        }

        IReadOnlyCollection<string> held = [];
        if (taken.Length > 0)
        {
            held = await store.ForgetToldNewsAsync(taken, cancellationToken).ConfigureAwait(false);
        }

        if (announcements.Length > 0)
        {
            await OwedAnnouncements.ForgetToldAsync(store.Database, announcements, cancellationToken).ConfigureAwait(false);
        }

        Interlocked.Increment(ref _removals);
        var removed = 0;
        foreach (var told in taken)
        {
            if (!held.Contains(told.Key))
            {
                _told.TryRemove(told); // unless a newer version was told meanwhile: that one is removed next time (so are held ones)
                removed++;
            }
        }

        foreach (var key in announcements)
        {
            _announcements.TryRemove(key, out _);
        }

        return removed + announcements.Length;
    }

    /// <summary>Whether this host has told the news of <paramref name="incidentId"/> up to <paramref name="version"/> and not yet removed it from the store.</summary>
    public bool Covers(string incidentId, int version) => _told.TryGetValue(incidentId, out var told) && told >= version;

    /// <summary>Whether this host has told the announcement <paramref name="key"/> and not yet removed it from the store.</summary>
    public bool CoversAnnouncement(string key) => _announcements.ContainsKey(key);

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }

    /// <summary>One runner at a time: pauses, removes what gathered meanwhile, and goes on while more is told.</summary>
    private async Task RemoveLaterAsync()
    {
        CancellationToken stopping;
        try
        {
            stopping = _stopping.Token;
        }
        catch (ObjectDisposedException)
        {
            return; // the host has stopped
        }

        var pause = Pause;
        try
        {
            while (true)
            {
                await Task.Delay(pause, stopping).ConfigureAwait(false);
                try
                {
                    await FlushAsync(stopping).ConfigureAwait(false);
                    pause = Pause;
                }
                catch (Exception e) when (!stopping.IsCancellationRequested && StorageFaults.IsUnavailable(e))
                {
                    LogRemoveFailed(logger, e);
                    pause = PauseAfterFailure;
                    continue;
                }

                Volatile.Write(ref _running, 0);
                if ((_told.IsEmpty && _announcements.IsEmpty) || Interlocked.CompareExchange(ref _running, 1, 0) != 0)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // the host is stopping: what is gathered is removed by its last flush, or told again later
        }
#pragma warning disable CA1031 // a background run has no caller to tell: it is logged, and the news is told again later
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogRemoveCrashed(logger, e);
            Volatile.Write(ref _running, 0);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Told news could not be marked told (the store is unavailable); tried again, and until then it may be told again")]
    private static partial void LogRemoveFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Marking told news failed; it will be told again after the retell grace")]
    private static partial void LogRemoveCrashed(ILogger logger, Exception exception);
}
