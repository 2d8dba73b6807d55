using System.Collections.Concurrent;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Observability;
using ChatOpsPull.Storage;

namespace ChatOpsPull.Incidents.Engine;

/// <summary>
/// The one way news about an incident reaches the <see cref="IIncidentNotifier"/>s (chat cards, auto-run), whether the
/// engine wrote it or another capability announced it (approvals, remediation runs). Each incident has a mailbox: notices
/// are posted in commit order (under the subject lock) and delivered outside it, by one runner per incident at a time,
/// in order, consecutive "pods changed" notices collapsed (<see cref="NoticeCollapsing"/>). Delivery skips snoozed and
/// muted incidents, sends a rolled-up incident's news to its storm's card (<see cref="StormRollup.DestinationAsync"/>),
/// and tells every notifier once; a notifier that throws is logged and the others are still told (chat delivery keeps
/// its own persistent queue, so nothing is lost by moving on). News the engine wrote is owed in the store until told
/// (<see cref="OwedNews"/>): once told, or silenced, <see cref="ToldNews"/> removes it; what a stopped host left owed is
/// told again through here (<see cref="RetellAsync"/>), under the same rules.
/// </summary>
internal sealed partial class IncidentNewsDispatch(
    IncidentMutes mutes,
    StormRollup storms,
    LatestIncidents latest,
    ToldNews told,
    IEnumerable<IIncidentNotifier> notifiers,
    TimeProvider time,
    ILogger<IncidentNewsDispatch> logger) : IDisposable
{
    private readonly IIncidentNotifier[] _notifiers = notifiers.ToArray();
    private readonly ConcurrentDictionary<string, IncidentMailbox> _mailboxes = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>The pause before held news is tried again the first time; the n-th time in a row waits n times it.</summary>
    internal static readonly TimeSpan FirstHoldPause = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// News about an incident from outside the engine. Told like the engine's own news: in order with the rest, not while
    /// the incident is snoozed or muted, and on the storm's card when the incident is rolled up under another.
    /// </summary>
    /// <param name="announcementKey">The announcement owed in the store (<see cref="OwedAnnouncement"/>) that this tells: removed once told; null when none is owed.</param>
    public async Task AnnounceAsync(string incidentId, IncidentChange change, string? detail, CancellationToken cancellationToken, string? announcementKey = null)
    {
        if (await latest.ReadAsync(incidentId, cancellationToken).ConfigureAwait(false) is not { } incident)
        {
            if (announcementKey is not null)
            {
                told.RecordAnnouncement(announcementKey); // the incident is gone: nothing to tell
            }

            return;
        }

        var mailboxes = Post([new IncidentNotice(incident, change, detail, EvenIfSnoozed: false, OwnCard: false) { AnnouncementKey = announcementKey }]);
        await DeliverAsync(mailboxes, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// News owed since a host stopped before telling it (<see cref="NewsRetell"/> took its row): told from the incident as
    /// stored now, with the change and line owed, like any news — in order with the rest, not while the incident is
    /// snoozed or muted (unless it is the snooze itself), on the storm's card when it is rolled up. The card is built from
    /// the store, so it is updated in place to what the store says; told once, the row is removed.
    /// </summary>
    public async Task RetellAsync(OwedNews owed, CancellationToken cancellationToken)
    {
        if (await latest.ReadAsync(owed.IncidentId, cancellationToken).ConfigureAwait(false) is not { } incident)
        {
            told.Record(owed.IncidentId, int.MaxValue); // the incident is gone: nothing to tell
            return;
        }

        var notice = new IncidentNotice(incident, owed.Change, owed.Detail, EvenIfSnoozed: owed.Change == IncidentChange.Snoozed, owed.OwnCard)
        {
            OwedVersion = owed.Version,
            ChangeVersion = owed.ChangeVersion ?? owed.Version, // the key its first telling had: its line is not sent twice
        };
        await DeliverAsync(Post([notice]), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Whether news of the incident waits in this host's mailbox or is being told now (a retell leaves it to that).</summary>
    public bool IsTelling(string incidentId) => _mailboxes.ContainsKey(incidentId);

    /// <summary>Puts the notices in their incidents' mailboxes, in the order given; returns the mailboxes to deliver.</summary>
    public IReadOnlyList<IncidentMailbox> Post(IEnumerable<IncidentNotice> notices)
    {
        var posted = new List<IncidentMailbox>();
        foreach (var notice in notices)
        {
            var mailbox = PostTo(notice);
            if (!posted.Contains(mailbox))
            {
                posted.Add(mailbox);
            }
        }

        return posted;
    }

    /// <summary>
    /// Tells the notifiers what is in the mailboxes, one runner per incident at a time. A mailbox someone is already
    /// delivering is left to them: they deliver what was posted while they were busy too. News that cannot be told now
    /// because the store cannot be read or written (a notifier's card build or outbox write, making a report's incident
    /// whole) is held, in order, and told again once the store answers (<see cref="HoldLater"/>): the write it is about
    /// has committed, so its caller is not told it failed, and the news is not lost.
    /// </summary>
    public async Task DeliverAsync(IReadOnlyList<IncidentMailbox> mailboxes, CancellationToken cancellationToken)
    {
        foreach (var mailbox in mailboxes)
        {
            lock (mailbox)
            {
                if (mailbox.Delivering)
                {
                    continue;
                }

                mailbox.Delivering = true;
            }

            await RunAsync(mailbox, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Stops the runs of held news (the host is stopping).</summary>
    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }

    /// <summary>
    /// Tells what is in the mailbox until it is empty; the caller holds it (<see cref="IncidentMailbox.Delivering"/>).
    /// What could not be told while the store is unavailable goes back to the front of the mailbox, which stays held
    /// (news posted meanwhile waits behind it) until <see cref="HoldLater"/> runs it again.
    /// </summary>
    private async Task RunAsync(IncidentMailbox mailbox, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                List<IncidentNotice> batch;
                lock (mailbox)
                {
                    if (mailbox.Pending.Count == 0)
                    {
                        mailbox.Delivering = false;
                        mailbox.Retired = true;
                        _mailboxes.TryRemove(new KeyValuePair<string, IncidentMailbox>(mailbox.IncidentId, mailbox));
                        break;
                    }

                    batch = [.. mailbox.Pending];
                    mailbox.Pending.Clear();
                }

                var (untold, why) = await TellAsync(batch, cancellationToken).ConfigureAwait(false);
                if (untold.Count > 0)
                {
                    int holds;
                    lock (mailbox)
                    {
                        var later = mailbox.Pending.ToList();
                        mailbox.Pending.Clear();
                        untold.Concat(later).ToList().ForEach(mailbox.Pending.Enqueue);
                        holds = ++mailbox.Holds;
                    }

                    if (holds == 1)
                    {
                        LogHeld(logger, mailbox.IncidentId, untold.Count, why is null ? "unknown" : StorageFaults.Describe(why));
                    }

                    HoldLater(mailbox, holds);
                    return;
                }

                if (mailbox.Holds > 0)
                {
                    LogHeldTold(logger, mailbox.IncidentId, mailbox.Holds);
                    mailbox.Holds = 0;
                }
            }
        }
        catch
        {
            lock (mailbox)
            {
                mailbox.Delivering = false;
            }

            throw;
        }
    }

    /// <summary>
    /// The batch told, in order; returns what is left untold because the store cannot be read or written now (from the
    /// first notice that could not be told, with only the notifiers it still owes), or nothing.
    /// </summary>
    private async Task<(IReadOnlyList<IncidentNotice> Untold, Exception? Why)> TellAsync(List<IncidentNotice> batch, CancellationToken cancellationToken)
    {
        IReadOnlyList<IncidentMute> active;
        try
        {
            active = await mutes.ActiveAsync(cancellationToken).ConfigureAwait(false);
            await MakeWholeAsync(batch, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (IsStoreUnavailable(e, cancellationToken))
        {
            return (batch, e); // those made whole already stay whole; the rest are made whole on the next try
        }

        var notices = NoticeCollapsing.Collapse(batch);
        for (var i = 0; i < notices.Count; i++)
        {
            IncidentNotice? untold;
            Exception? why;
            try
            {
                (untold, why) = await DeliverAsync(notices[i], active, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (IsStoreUnavailable(e, cancellationToken))
            {
                (untold, why) = (notices[i], e);
            }

            if (untold is not null)
            {
                return ([untold, .. notices.Skip(i + 1)], why);
            }
        }

        return ([], null);
    }

    /// <summary>
    /// Runs the held mailbox again after a pause (the n-th hold of it in a row waits n × 100 ms, at most
    /// <see cref="StorageFaults.MaxHoldPause"/>), off the writer that posted its news.
    /// </summary>
    private void HoldLater(IncidentMailbox mailbox, int holds)
    {
        var pause = TimeSpan.FromTicks(Math.Min(FirstHoldPause.Ticks * holds, StorageFaults.MaxHoldPause.Ticks));
        CancellationToken stopping;
        try
        {
            stopping = _stopping.Token;
        }
        catch (ObjectDisposedException)
        {
            return; // the host has stopped
        }

        _ = Task.Run(
            async () =>
            {
                try
                {
                    await Task.Delay(pause, time, stopping).ConfigureAwait(false);
                    await RunAsync(mailbox, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stopping.IsCancellationRequested)
                {
                    // the host is stopping: what is held is left (as news not yet told is at any stop)
                }
#pragma warning disable CA1031 // a background run has no caller to tell: it is logged
                catch (Exception e)
#pragma warning restore CA1031
                {
                    LogHeldRunFailed(logger, e, mailbox.IncidentId);
                }
            },
            CancellationToken.None);
    }

    private static bool IsStoreUnavailable(Exception e, CancellationToken cancellationToken) =>
        !cancellationToken.IsCancellationRequested && StorageFaults.IsUnavailable(e);

    /// <summary>
    /// Every notice of the batch with its whole incident, in commit order: a report's partial incident is completed on
    /// top of the one before it in memory (<see cref="LatestIncidents"/>), so collapsing keeps whole incidents only. A run
    /// of partial "pods changed" notices, each the version after the one before, collapses into its last
    /// (<see cref="NoticeCollapsing"/>): their pods are put together and made whole once, not once per notice.
    /// </summary>
    private async Task MakeWholeAsync(List<IncidentNotice> batch, CancellationToken cancellationToken)
    {
        for (var i = 0; i < batch.Count; i++)
        {
            var notice = batch[i];
            if (notice.Partial)
            {
                var after = notice.Incident.Version - 1;
                // The run's pods are put together through WholePods, which keeps their positions: each notice costs
                // look-ups of its own pods, not a pass over every pod of the run so far (a merge per notice made a
                // long run of a storm quadratic).
                WholePods? run = null;
                while (i + 1 < batch.Count && IsPartialPodsChange(batch[i]) && IsPartialPodsChange(batch[i + 1])
                    && batch[i + 1].Incident.Version == batch[i].Incident.Version + 1)
                {
                    i++;
                    run = (run ?? WholePods.Of(notice.Incident.Pods)).With(batch[i].Incident.Pods);
                }

                var pods = run?.Pods ?? notice.Incident.Pods;
                var last = batch[i];
                batch[i] = last with { Incident = await latest.CompleteAsync(last.Incident with { Pods = pods }, cancellationToken, after).ConfigureAwait(false), Partial = false };
            }
            else if (!notice.Reload)
            {
                latest.Remember(notice.Incident);
            }
        }
    }

    private static bool IsPartialPodsChange(IncidentNotice notice) => notice is { Partial: true, Change: IncidentChange.PodsChanged, OwnCard: false };

    /// <summary>
    /// Puts the notice in its incident's mailbox. A mailbox its runner emptied and removed after it was looked up is not
    /// used: the notice goes to the incident's new mailbox, so that one incident never has two runners at once.
    /// </summary>
    private IncidentMailbox PostTo(IncidentNotice notice)
    {
        while (true)
        {
            var mailbox = _mailboxes.GetOrAdd(notice.Incident.Id, id => new IncidentMailbox(id));
            lock (mailbox)
            {
                if (!mailbox.Retired)
                {
                    mailbox.Pending.Enqueue(notice);
                    return mailbox;
                }
            }
        }
    }

    /// <summary>Tells one notice; returns it, owing only the notifiers that could not be told for the store, or null when told.</summary>
    private async Task<(IncidentNotice? Untold, Exception? Why)> DeliverAsync(IncidentNotice notice, IReadOnlyList<IncidentMute> active, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var incident = notice.Reload ? await latest.ReadAsync(notice.Incident.Id, cancellationToken).ConfigureAwait(false) ?? notice.Incident : notice.Incident;
        if (IncidentSilence.MatchingMute(incident, active, now) is not null
            || (!notice.EvenIfSnoozed && IncidentSilence.IsSnoozed(incident, now)))
        {
            LogSilenced(logger, incident.Id, notice.Change);
            Told(notice);
            return (null, null);
        }

        var destination = notice.OwnCard
            ? new NewsDestination(incident, notice.Change, notice.Detail, OnStormCard: false)
            : await storms.DestinationAsync(incident, notice.Change, notice.Detail, cancellationToken).ConfigureAwait(false);
        if (destination.OnStormCard && IncidentSilence.IsSilenced(destination.Card, active, now))
        {
            LogSilenced(logger, destination.Card.Id, destination.Change);
            Told(notice);
            return (null, null);
        }

        var (owed, why) = await TellNotifiersAsync(destination, notice.NewsKey, notice.Owed, cancellationToken).ConfigureAwait(false);
        if (owed.Count > 0)
        {
            return (notice with { Owed = owed }, why);
        }

        Told(notice);
        return (null, null);
    }

    /// <summary>The notice's news is told (or silenced, which is the same for what it owes): no longer owed.</summary>
    private void Told(IncidentNotice notice)
    {
        if (notice.OwedVersion is { } version)
        {
            told.Record(notice.Incident.Id, version);
        }

        if (notice.AnnouncementKey is { } key)
        {
            told.RecordAnnouncement(key);
        }
    }

    /// <summary>Tells the notifiers (those in <paramref name="only"/>, or all); returns those that could not be told because the store is unavailable.</summary>
    /// <param name="newsKey">The news's identity (<see cref="IncidentNotice.NewsKey"/>), whichever card it goes on.</param>
    private async Task<(IReadOnlyList<int> Owed, Exception? Why)> TellNotifiersAsync(NewsDestination news, string? newsKey, IReadOnlyList<int>? only, CancellationToken cancellationToken)
    {
        // Delivered by the diagnosis's own flow (the usual case): counted as its card stage.
        using var timing = news.Change == IncidentChange.Diagnosed ? DiagnosisStageTimes.Measure(DiagnosisStage.Card) : default;
        List<int> owed = [];
        Exception? why = null;
        foreach (var index in only ?? Enumerable.Range(0, _notifiers.Length))
        {
            var notifier = _notifiers[index];
            try
            {
                await notifier.IncidentChangedAsync(news.Card, news.Change, news.Detail, newsKey, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e) when (IsStoreUnavailable(e, cancellationToken))
            {
                // The card could not be built or queued (the store is down): told again once it is back, not dropped.
                owed.Add(index);
                why = e;
            }
#pragma warning disable CA1031 // one failing notifier must not stop the others; it is logged
            catch (Exception e)
#pragma warning restore CA1031
            {
                LogNotifierFailed(logger, e, notifier.GetType().Name, news.Card.Id, news.Change);
            }
        }

        return (owed, why);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Incident {IncidentId} is snoozed or muted; {Change} stored without telling anyone")]
    private static partial void LogSilenced(ILogger logger, string incidentId, IncidentChange change);

    [LoggerMessage(Level = LogLevel.Warning, Message = "News of incident {IncidentId} is held ({Notices} notices): the store cannot be read or written now ({Error}); it is told, in order, once the store answers")]
    private static partial void LogHeld(ILogger logger, string incidentId, int notices, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Held news of incident {IncidentId} is told (after {Tries} tries)")]
    private static partial void LogHeldTold(ILogger logger, string incidentId, int tries);

    [LoggerMessage(Level = LogLevel.Error, Message = "Telling the held news of incident {IncidentId} failed")]
    private static partial void LogHeldRunFailed(ILogger logger, Exception exception, string incidentId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Notifier {Notifier} failed for incident {IncidentId} ({Change}); the other notifiers were still told")]
    private static partial void LogNotifierFailed(ILogger logger, Exception exception, string notifier, string incidentId, IncidentChange change);
}

/// <summary>The notices of one incident not yet told, and whether a runner is telling them.</summary>
internal sealed class IncidentMailbox(string incidentId)
{
    public string IncidentId { get; } = incidentId;

    public Queue<IncidentNotice> Pending { get; } = new();

    public bool Delivering { get; set; }

    /// <summary>Emptied and removed from the dispatch: news posted from now on goes to a new mailbox.</summary>
    public bool Retired { get; set; }

    /// <summary>How many times in a row its news was held because the store could not be read or written.</summary>
    public int Holds { get; set; }
}
