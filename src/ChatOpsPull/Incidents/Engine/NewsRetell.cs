using ChatOpsPull.Jobs;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Incidents.Engine;

/// <summary>
/// Tells again the news a host committed and did not tell (it stopped, or died, between the commit and the card): at
/// start and then every <see cref="Every"/>, on every host of the same database, it lists the news owed (one indexed read
/// of a small table: <see cref="OwedNews"/>) since longer than Incidents:NewsRetellGrace, leaves what this host is telling
/// now or has told and not yet marked told, takes the rest (compare and set on the row, so of two replicas sweeping at once one takes each row), and tells it
/// through <see cref="IncidentNewsDispatch.RetellAsync"/> — storm roll-up, snooze and mute rules apply. Silent writes
/// (last seen, a flapping reopen, a diagnosis request) owe nothing, so they are never retold. On stop, it removes the
/// news told so far (<see cref="ToldNews"/>), so a clean restart retells nothing.
/// Announcements other capabilities owed in their own transactions (<see cref="OwedAnnouncement"/>: an approval, a
/// remediation run) are swept the same way, taken by compare and set, and told through
/// <see cref="IncidentCommands.TellAnnouncementAsync"/>: the incident is moved where the announcement says if that is
/// still legal, otherwise it is only announced — one thread line, the card updated in place.
/// </summary>
internal sealed partial class NewsRetell(
    IncidentStore store,
    IncidentNewsDispatch news,
    IncidentCommands commands,
    ToldNews told,
    IOptions<IncidentOptions> options,
    TimeProvider time,
    ILogger<NewsRetell> logger) : BackgroundService
{
    /// <summary>Rows taken per look; the rest wait for the next.</summary>
    internal const int MostPerSweep = 200;

    /// <summary>How often the sweep looks: the grace, at least 1 s and at most 30 s.</summary>
    public static TimeSpan Every(TimeSpan grace) => PeriodicSweep.Every(grace);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await told.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // best effort: what is not removed is told again after the grace, to the same card
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogFlushAtStopFailed(logger, e);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await PeriodicSweep.RunAsync(Every(options.Value.NewsRetellGrace), time, SweepAsync, e => LogSweepFailed(logger, e), stoppingToken).ConfigureAwait(false);
    }

    /// <summary>One look: retells the news and announcements owed since longer than the grace that this host is not telling. Returns how many it took.</summary>
    internal async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var owed = await store.ListOwedNewsAsync(now - options.Value.NewsRetellGrace, MostPerSweep, cancellationToken).ConfigureAwait(false);
        var taken = await store.ClaimOwedNewsAsync(owed.Where(o => !news.IsTelling(o.IncidentId) && !told.Covers(o.IncidentId, o.Version)).ToList(), now, cancellationToken).ConfigureAwait(false);
        var announcements = await OwedAnnouncements.ListAsync(store.Database, now - options.Value.NewsRetellGrace, MostPerSweep, cancellationToken).ConfigureAwait(false);
        var announcing = await OwedAnnouncements.ClaimAsync(store.Database, announcements.Where(a => !news.IsTelling(a.IncidentId) && !told.CoversAnnouncement(a.Key)).ToList(), now, cancellationToken).ConfigureAwait(false);

        // Told in the order they were owed, news and announcements together: a run's "Running…" owed before the move its
        // finish made comes first in the thread, as it would have without the crash.
        var inOrder = announcing.Select(a => (At: a.OwedAt, News: (OwedNews?)null, Announcement: (OwedAnnouncement?)a))
            .Concat(taken.Select(row => (At: row.OwedAt, News: (OwedNews?)row, Announcement: (OwedAnnouncement?)null)))
            .OrderBy(item => item.At); // stable: at the same instant, the announcement first
        foreach (var item in inOrder)
        {
            if (item.News is { } row)
            {
                await news.RetellAsync(row, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await commands.TellAnnouncementAsync(item.Announcement!, cancellationToken).ConfigureAwait(false);
            }
        }

        if (taken.Count > 0)
        {
            LogRetold(logger, taken.Count);
        }

        if (announcing.Count > 0)
        {
            LogReannounced(logger, announcing.Count);
        }

        return taken.Count + announcing.Count;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Told again the news of {Count} incidents that was stored and not told (a host stopped between the two)")]
    private static partial void LogRetold(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Told again {Count} announcements (approvals, remediation runs) that were stored and not told (a host stopped between the two)")]
    private static partial void LogReannounced(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The news retell could not read or take the news owed; it looks again later")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Marking the told news at stop failed; it is told again after the grace, to the same cards")]
    private static partial void LogFlushAtStopFailed(ILogger logger, Exception exception);
}
