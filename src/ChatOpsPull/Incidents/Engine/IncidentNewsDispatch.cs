using System.Collections.Concurrent;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Observability;

namespace ChatOpsPull.Incidents.Engine;

/// <summary>
/// The one way news about an incident reaches the <see cref="IIncidentNotifier"/>s (chat cards, auto-run), whether the
/// engine wrote it or another capability announced it (approvals, remediation runs). Each incident has a mailbox: notices
/// are posted in commit order (under the subject lock) and delivered outside it, by one runner per incident at a time,
/// in order, consecutive "pods changed" notices collapsed (<see cref="NoticeCollapsing"/>). Delivery skips snoozed and
/// muted incidents, sends a rolled-up incident's news to its storm's card (<see cref="StormRollup.DestinationAsync"/>),
/// and tells every notifier once; a notifier that throws is logged and the others are still told (chat delivery keeps
/// its own persistent queue, so nothing is lost by moving on).
/// </summary>
internal sealed partial class IncidentNewsDispatch(
    IncidentMutes mutes,
    StormRollup storms,
    LatestIncidents latest,
    IEnumerable<IIncidentNotifier> notifiers,
    TimeProvider time,
    ILogger<IncidentNewsDispatch> logger)
{
    private readonly IIncidentNotifier[] _notifiers = notifiers.ToArray();
    private readonly ConcurrentDictionary<string, IncidentMailbox> _mailboxes = new(StringComparer.Ordinal);

    /// <summary>
    /// News about an incident from outside the engine. Told like the engine's own news: in order with the rest, not while
    /// the incident is snoozed or muted, and on the storm's card when the incident is rolled up under another.
    /// </summary>
    public async Task AnnounceAsync(string incidentId, IncidentChange change, string? detail, CancellationToken cancellationToken)
    {
        if (await latest.ReadAsync(incidentId, cancellationToken).ConfigureAwait(false) is not { } incident)
        {
            return;
        }

        var mailboxes = Post([new IncidentNotice(incident, change, detail, EvenIfSnoozed: false, OwnCard: false)]);
        await DeliverAsync(mailboxes, cancellationToken).ConfigureAwait(false);
    }

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
    /// delivering is left to them: they deliver what was posted while they were busy too.
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

                    var active = await mutes.ActiveAsync(cancellationToken).ConfigureAwait(false);
                    await MakeWholeAsync(batch, cancellationToken).ConfigureAwait(false);
                    foreach (var notice in NoticeCollapsing.Collapse(batch))
                    {
                        await DeliverAsync(notice, active, cancellationToken).ConfigureAwait(false);
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
    }

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
                var pods = notice.Incident.Pods;
                while (i + 1 < batch.Count && IsPartialPodsChange(batch[i]) && IsPartialPodsChange(batch[i + 1])
                    && batch[i + 1].Incident.Version == batch[i].Incident.Version + 1)
                {
                    i++;
                    pods = LatestIncidents.Merge(pods, batch[i].Incident.Pods);
                }

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

    private async Task DeliverAsync(IncidentNotice notice, IReadOnlyList<IncidentMute> active, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var incident = notice.Reload ? await latest.ReadAsync(notice.Incident.Id, cancellationToken).ConfigureAwait(false) ?? notice.Incident : notice.Incident;
        if (IncidentSilence.MatchingMute(incident, active, now) is not null
            || (!notice.EvenIfSnoozed && IncidentSilence.IsSnoozed(incident, now)))
        {
            LogSilenced(logger, incident.Id, notice.Change);
            return;
        }

        var destination = notice.OwnCard
            ? new NewsDestination(incident, notice.Change, notice.Detail, OnStormCard: false)
            : await storms.DestinationAsync(incident, notice.Change, notice.Detail, cancellationToken).ConfigureAwait(false);
        if (destination.OnStormCard && IncidentSilence.IsSilenced(destination.Card, active, now))
        {
            LogSilenced(logger, destination.Card.Id, destination.Change);
            return;
        }

        await TellNotifiersAsync(destination, cancellationToken).ConfigureAwait(false);
    }

    private async Task TellNotifiersAsync(NewsDestination news, CancellationToken cancellationToken)
    {
        // Delivered by the diagnosis's own flow (the usual case): counted as its card stage.
        using var timing = news.Change == IncidentChange.Diagnosed ? DiagnosisStageTimes.Measure(DiagnosisStage.Card) : default;
        foreach (var notifier in _notifiers)
        {
            try
            {
                await notifier.IncidentChangedAsync(news.Card, news.Change, news.Detail, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
#pragma warning disable CA1031 // one failing notifier must not stop the others; it is logged
            catch (Exception e)
#pragma warning restore CA1031
            {
                LogNotifierFailed(logger, e, notifier.GetType().Name, news.Card.Id, news.Change);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Incident {IncidentId} is snoozed or muted; {Change} stored without telling anyone")]
    private static partial void LogSilenced(ILogger logger, string incidentId, IncidentChange change);

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
}
