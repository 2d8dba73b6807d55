using System.Data.Common;
using ChatOpsPull.Core.Classification;
using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Observability;
using ChatOpsPull.Storage;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Incidents;

public enum IncidentUpdateOutcome
{
    /// <summary>Stored (and told, unless silenced).</summary>
    Changed,

    /// <summary>Nothing to do: already so, or superseded.</summary>
    Unchanged,

    NotFound,

    /// <summary>Not allowed (illegal transition, key taken); <see cref="IncidentUpdate.Message"/> says why.</summary>
    Refused,
}

/// <summary>The answer to a change asked of the engine.</summary>
public sealed record IncidentUpdate(IncidentUpdateOutcome Outcome, Incident? Incident, string Message);

/// <summary>
/// The incident engine: every detection source reports here (<see cref="IPullFailureSink"/>), and every other capability
/// changes incidents through it (state transitions, snooze, mute, re-diagnosis, diagnosis results), so that each change
/// is stored with optimistic concurrency, written to the audit log in the same transaction, and then told to the
/// notifiers once — unless the incident is snoozed or muted.
/// Failures of one subject (cluster/namespace/workload) are serialized: in process by a keyed lock, across replicas
/// by a PostgreSQL advisory lock in the transaction (and the unique open-key index as the last guard).
/// </summary>
public sealed partial class IncidentEngine(
    IncidentStore store,
    AuditLog audit,
    IncidentNotifications notifications,
    IDiagnosisScheduler diagnosisScheduler,
    IOptionsMonitor<IncidentOptions> options,
    TimeProvider time,
    BotMetrics metrics,
    ILogger<IncidentEngine> logger) : IPullFailureSink, IDisposable
{
    private const int MaxAttempts = 10;
    private static readonly TimeSpan MuteCacheLifetime = TimeSpan.FromSeconds(5);

    // Two separate lock sets: a subject lock may be held while a storm lock is taken (never the other way round),
    // and striping must never map a storm onto the subject stripe its caller already holds.
    private readonly KeyedLock _locks = new();
    private readonly KeyedLock _stormLocks = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Mailbox> _mailboxes = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, ReportBatch> _reportBatches = new(StringComparer.Ordinal);
    private volatile MuteSnapshot? _muteCache;

    private BotDatabase Database => store.Database;

    /// <summary>
    /// Reports of one subject that arrive while another is being stored are stored together in the next transaction
    /// (group commit): a storm of a thousand pods of one workload costs a few transactions, not a thousand.
    /// </summary>
    public async Task ReportAsync(PullFailure failure, CancellationToken cancellationToken)
    {
        metrics.FailureSeen(failure.Source);
        var cause = MessageClassifier.Classify(failure.Message, failure.Reason).Cause;
        var subject = IncidentGrouping.SubjectOf(failure);
        var lockName = SubjectLock(failure.Cluster, failure.Namespace, subject);
        var report = new PendingReport(failure, cause, subject);
        var batch = _reportBatches.GetOrAdd(lockName, _ => new ReportBatch());
        bool drain;
        lock (batch)
        {
            batch.Pending.Add(report);
            drain = !batch.Draining;
            batch.Draining = true;
        }

        if (drain)
        {
            // The batch is shared with other callers: one caller giving up must not fail the others' reports.
            await DrainAsync(lockName, batch).ConfigureAwait(false);
        }

        await report.Stored.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task DrainAsync(string lockName, ReportBatch batch)
    {
        while (true)
        {
            List<PendingReport> reports;
            lock (batch)
            {
                if (batch.Pending.Count == 0)
                {
                    batch.Draining = false;
                    _reportBatches.TryRemove(new KeyValuePair<string, ReportBatch>(lockName, batch));
                    return;
                }

                reports = [.. batch.Pending];
                batch.Pending.Clear();
            }

            try
            {
                IReadOnlyList<Mailbox> told;
                using (await _locks.AcquireAsync(lockName, CancellationToken.None).ConfigureAwait(false))
                {
                    var effects = await RetryAsync(
                        () => Database.InTransactionAsync(
                            async (connection, transaction) =>
                            {
                                await Database.LockAsync(connection, transaction, lockName).ConfigureAwait(false);
                                var all = new Effects();
                                foreach (var report in reports)
                                {
                                    all.Add(await ApplyReportAsync(connection, transaction, report.Failure, report.Cause, report.Subject).ConfigureAwait(false));
                                }

                                return all;
                            },
                            CancellationToken.None),
                        CancellationToken.None).ConfigureAwait(false);
                    told = await RunAsync(effects, CancellationToken.None).ConfigureAwait(false);
                }

                await DeliverAsync(told, CancellationToken.None).ConfigureAwait(false);
                foreach (var report in reports)
                {
                    report.Stored.TrySetResult();
                }
            }
#pragma warning disable CA1031 // handed to every caller of the batch, who retries
            catch (Exception e)
#pragma warning restore CA1031
            {
                foreach (var report in reports)
                {
                    report.Stored.TrySetException(e);
                }
            }
        }
    }

    public async Task ResolveAsync(string cluster, string @namespace, string pod, string? container, PodResolution resolution, CancellationToken cancellationToken)
    {
        var hits = await store.OpenWithPodAsync(cluster, @namespace, pod, container, cancellationToken).ConfigureAwait(false);
        foreach (var (id, subject) in hits)
        {
            var lockName = SubjectLock(cluster, @namespace, subject);
            IReadOnlyList<Mailbox> told;
            using (await _locks.AcquireAsync(lockName, cancellationToken).ConfigureAwait(false))
            {
                var effects = await RetryAsync(
                    () => Database.InTransactionAsync(
                        async (connection, transaction) =>
                        {
                            await Database.LockAsync(connection, transaction, lockName).ConfigureAwait(false);
                            return await ApplyResolveAsync(connection, transaction, id, pod, container, resolution).ConfigureAwait(false);
                        },
                        cancellationToken),
                    cancellationToken).ConfigureAwait(false);
                told = await RunAsync(effects, cancellationToken).ConfigureAwait(false);
            }

            await DeliverAsync(told, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Moves an incident to <paramref name="to"/> if <see cref="IncidentTransitions.IsAllowed"/> says so; refused moves
    /// change nothing but are written to the audit log. Notifiers hear <paramref name="change"/> with <paramref name="detail"/>.
    /// </summary>
    public Task<IncidentUpdate> TransitionAsync(string id, IncidentState to, AuditActor actor, IncidentChange change, string? detail, CancellationToken cancellationToken = default) =>
        ChangeAsync(id, async (connection, transaction, incident, effects) =>
        {
            var now = time.GetUtcNow();
            if (!IncidentTransitions.IsAllowed(incident.State, to))
            {
                var why = IncidentTransitions.Explain(incident.State, to);
                await audit.AppendAsync(connection, transaction, new AuditRecord(actor, AuditActions.IncidentStateChanged, incident.Id, Detail: why, Outcome: AuditOutcome.Refused)).ConfigureAwait(false);
                return new IncidentUpdate(IncidentUpdateOutcome.Refused, incident, why);
            }

            var closing = to is IncidentState.Resolved or IncidentState.Failed;
            effects.Count(to == IncidentState.Resolved ? "resolved" : null);
            var changed = incident with
            {
                State = to,
                UpdatedAt = now,
                ResolvedAt = closing ? now : to == IncidentState.Open ? null : incident.ResolvedAt,
            };
            var saved = await IncidentStore.SaveAsync(connection, transaction, incident, changed).ConfigureAwait(false);
            var line = $"{incident.State.ToSnakeCase()} → {to.ToSnakeCase()}" + (detail is null ? string.Empty : ": " + detail);
            await audit.AppendAsync(connection, transaction, new AuditRecord(actor, to == IncidentState.Resolved ? AuditActions.IncidentResolved : AuditActions.IncidentStateChanged, incident.Id, Detail: line)).ConfigureAwait(false);
            effects.Notify(saved, change, detail);
            return new IncidentUpdate(IncidentUpdateOutcome.Changed, saved, line);
        },
        cancellationToken);

    /// <summary>Snoozes the incident until <paramref name="until"/> (null wakes it). Notifiers hear Snoozed once, then nothing until it ends.</summary>
    public Task<IncidentUpdate> SnoozeAsync(string id, DateTimeOffset? until, AuditActor actor, CancellationToken cancellationToken = default) =>
        ChangeAsync(id, async (connection, transaction, incident, effects) =>
        {
            if (incident.SnoozedUntil == until)
            {
                return new IncidentUpdate(IncidentUpdateOutcome.Unchanged, incident, "Already so.");
            }

            var saved = await IncidentStore.SaveAsync(connection, transaction, incident, incident with { SnoozedUntil = until, UpdatedAt = time.GetUtcNow() }).ConfigureAwait(false);
            var line = until is { } u ? $"snoozed until {u:u}" : "snooze ended";
            await audit.AppendAsync(connection, transaction, new AuditRecord(actor, AuditActions.IncidentSnoozed, incident.Id, Detail: line)).ConfigureAwait(false);
            effects.Notify(saved, IncidentChange.Snoozed, line, evenIfSnoozed: true);
            return new IncidentUpdate(IncidentUpdateOutcome.Changed, saved, line);
        },
        cancellationToken);

    /// <summary>Asks for a new diagnosis (a "re-diagnose" click or command): bumps the version and enqueues the job.</summary>
    public Task<IncidentUpdate> RequestDiagnosisAsync(string id, AuditActor actor, CancellationToken cancellationToken = default) =>
        ChangeAsync(id, async (connection, transaction, incident, effects) =>
        {
            var saved = await IncidentStore.SaveAsync(connection, transaction, incident, incident with { UpdatedAt = time.GetUtcNow() }).ConfigureAwait(false);
            await IncidentStore.SetDiagnosisTicketAsync(connection, transaction, saved.Id, saved.Version, null).ConfigureAwait(false);
            await audit.AppendAsync(connection, transaction, new AuditRecord(actor, AuditActions.IncidentDiagnosisRequested, incident.Id)).ConfigureAwait(false);
            effects.Diagnose(saved.Id, saved.Version);
            return new IncidentUpdate(IncidentUpdateOutcome.Changed, saved, "Diagnosis requested.");
        },
        cancellationToken);

    /// <summary>
    /// Stores a diagnosis made for request <paramref name="requestVersion"/>; Open/Diagnosed incidents become Diagnosed.
    /// A request already applied, or superseded by a newer one, changes nothing (so a retried job never applies twice).
    /// </summary>
    public Task<IncidentUpdate> ApplyDiagnosisAsync(string id, int requestVersion, Core.Diagnoses.Diagnosis diagnosis, CancellationToken cancellationToken = default) =>
        ChangeAsync(id, async (connection, transaction, incident, effects) =>
        {
            var ticket = await IncidentStore.GetDiagnosisTicketAsync(connection, transaction, id).ConfigureAwait(false);
            if (ticket is null || ticket.Requested != requestVersion)
            {
                return new IncidentUpdate(IncidentUpdateOutcome.Unchanged, incident, "A newer diagnosis request supersedes this one.");
            }

            if (ticket.Applied >= requestVersion)
            {
                return new IncidentUpdate(IncidentUpdateOutcome.Unchanged, incident, "This diagnosis is already stored.");
            }

            var now = time.GetUtcNow();
            var state = incident.State is IncidentState.Open or IncidentState.Diagnosed ? IncidentState.Diagnosed : incident.State;
            var stamped = diagnosis.DiagnosedAt == default ? diagnosis with { DiagnosedAt = now } : diagnosis;
            var saved = await IncidentStore.SaveAsync(connection, transaction, incident, incident with { Diagnosis = stamped, State = state, UpdatedAt = now }).ConfigureAwait(false);
            await IncidentStore.SetDiagnosisTicketAsync(connection, transaction, id, requestVersion, requestVersion).ConfigureAwait(false);
            var line = $"{stamped.Cause.ToSnakeCase()} ({stamped.ConfidenceLabel} confidence): {stamped.Summary}";
            await audit.AppendAsync(connection, transaction, new AuditRecord(AuditActor.Bot, AuditActions.IncidentDiagnosed, id, Detail: line)).ConfigureAwait(false);
            effects.Notify(saved, IncidentChange.Diagnosed, stamped.Summary);
            effects.DiagnosedAs = stamped.Cause;
            return new IncidentUpdate(IncidentUpdateOutcome.Changed, saved, line);
        },
        cancellationToken);

    /// <summary>Mutes incidents matching an image or namespace pattern (globs), until a time or forever (<paramref name="until"/> null).</summary>
    public async Task<IncidentMute> MuteAsync(MuteScope scope, string cluster, string pattern, DateTimeOffset? until, AuditActor actor, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var mute = new IncidentMute("mut-" + IncidentIds.RandomChars(8), scope, cluster, pattern, until, actor.ToString(), now);
        await Database.InTransactionAsync(
            async (connection, transaction) =>
            {
                await IncidentStore.AddMuteAsync(connection, transaction, mute).ConfigureAwait(false);
                var what = $"{(scope == MuteScope.Image ? "image" : "namespace")} {pattern} in cluster {cluster} " + (until is { } u ? $"until {u:u}" : "until removed");
                return await audit.AppendAsync(connection, transaction, new AuditRecord(actor, AuditActions.MuteAdded, Detail: $"{mute.Id}: {what}")).ConfigureAwait(false);
            },
            cancellationToken).ConfigureAwait(false);
        _muteCache = null;
        return mute;
    }

    /// <summary>
    /// The "mute image" button: mutes the incident's image name without tag or digest (every tag of that repository) in the
    /// incident's cluster. Returns null when the incident does not exist.
    /// </summary>
    public async Task<IncidentMute?> MuteImageOfAsync(string incidentId, DateTimeOffset? until, AuditActor actor, CancellationToken cancellationToken = default)
    {
        var incident = await store.GetAsync(incidentId, cancellationToken).ConfigureAwait(false);
        if (incident is null)
        {
            return null;
        }

        var pattern = Core.Images.ImageReference.TryParse(incident.Image, out var reference, out _) ? reference.Name : incident.Image;
        return await MuteAsync(MuteScope.Image, incident.Key.Cluster, pattern, until, actor, cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> UnmuteAsync(string muteId, AuditActor actor, CancellationToken cancellationToken = default)
    {
        var removed = await Database.InTransactionAsync(
            async (connection, transaction) =>
            {
                var done = await IncidentStore.RemoveMuteAsync(connection, transaction, muteId, time.GetUtcNow()).ConfigureAwait(false);
                if (done)
                {
                    await audit.AppendAsync(connection, transaction, new AuditRecord(actor, AuditActions.MuteRemoved, Detail: muteId)).ConfigureAwait(false);
                }

                return done;
            },
            cancellationToken).ConfigureAwait(false);
        _muteCache = null;
        return removed;
    }

    /// <summary>
    /// News about an incident from outside the engine (approval requests and decisions, remediation runs). It is told
    /// like the engine's own news: through the incident's mailbox, in order with the rest, not while the incident is
    /// snoozed or muted, and on the storm's card when the incident is rolled up under another.
    /// </summary>
    public async Task AnnounceAsync(string incidentId, IncidentChange change, string? detail, CancellationToken cancellationToken = default)
    {
        if (await store.GetAsync(incidentId, cancellationToken).ConfigureAwait(false) is not { } incident)
        {
            return;
        }

        var box = _mailboxes.GetOrAdd(incident.Id, _ => new Mailbox(incident.Id));
        lock (box)
        {
            box.Pending.Enqueue(new Notice(incident, change, detail, EvenIfSnoozed: false, Direct: false));
        }

        await DeliverAsync([box], cancellationToken).ConfigureAwait(false);
    }

    /// <summary>True when notifiers are not told about this incident now (snoozed, or a mute matches).</summary>
    public async Task<bool> IsSilencedAsync(Incident incident, CancellationToken cancellationToken = default) =>
        IncidentSilence.IsSilenced(incident, await MutesAsync(cancellationToken).ConfigureAwait(false), time.GetUtcNow());

    public void Dispose()
    {
        _locks.Dispose();
        _stormLocks.Dispose();
    }

    // ---- reports ----

    private async Task<Effects> ApplyReportAsync(DbConnection connection, DbTransaction transaction, PullFailure failure, PullCause cause, string subject)
    {
        var effects = new Effects();
        var now = time.GetUtcNow();
        var quiet = options.CurrentValue.QuietWindow;
        // Incidents come with this pod's entry only (a storm must not read every pod per report); notices about them
        // re-read the whole incident when they are told (once per batch, see DeliverAsync).
        var open = await IncidentStore.OpenForSubjectAsync(connection, transaction, failure.Cluster, failure.Namespace, subject, failure.Pod, failure.Container).ConfigureAwait(false);
        var closed = await IncidentStore.ClosedForSubjectAsync(connection, transaction, failure.Cluster, failure.Namespace, subject, now - quiet, failure.Pod, failure.Container).ConfigureAwait(false);
        var podLine = $"{failure.Pod}/{failure.Container}: {failure.Reason}";

        switch (IncidentGrouping.Decide(failure, cause, open, closed, now, quiet))
        {
            case GroupingDecision.Open o:
            {
                var pod = new AffectedPod(failure.Pod, failure.Container, failure.Reason, failure.Message, failure.ObservedAt, failure.ObservedAt) { NodeName = failure.NodeName };
                var incident = new Incident(IncidentIds.New(), o.Key, failure.Image, IncidentState.Open, now, now, [pod], 1) { Workload = failure.Workload };
                await IncidentStore.InsertAsync(connection, transaction, incident).ConfigureAwait(false);
                await IncidentStore.SetDiagnosisTicketAsync(connection, transaction, incident.Id, incident.Version, null).ConfigureAwait(false);
                await audit.AppendAsync(connection, transaction, new AuditRecord(AuditActor.Bot, AuditActions.IncidentOpened, incident.Id, Detail: $"{o.Key} — {podLine}")).ConfigureAwait(false);
                effects.Notify(incident, IncidentChange.Opened, podLine);
                effects.Count("opened");
                effects.Diagnose(incident.Id, incident.Version);
                effects.CheckStorm(incident);
                return effects;
            }

            case GroupingDecision.Join j:
            {
                var (withPod, change) = IncidentGrouping.ApplyPod(j.Incident, failure, cause);
                if (change == PodChange.None && j.UpgradeTo is null)
                {
                    return effects;
                }

                var changed = withPod with { UpdatedAt = now };
                if (j.UpgradeTo is { } upgrade)
                {
                    changed = changed with
                    {
                        Key = changed.Key with { Cause = upgrade },
                        State = IncidentTransitions.IsAllowed(changed.State, IncidentState.Open) ? IncidentState.Open : changed.State,
                    };
                }

                var saved = await IncidentStore.SaveAsync(connection, transaction, j.Incident, changed).ConfigureAwait(false);
                if (j.UpgradeTo is { } up)
                {
                    var line = $"cause is now {up.ToSnakeCase()} (was {j.Incident.Key.Cause.ToSnakeCase()}) — {podLine}";
                    await IncidentStore.SetDiagnosisTicketAsync(connection, transaction, saved.Id, saved.Version, null).ConfigureAwait(false);
                    await audit.AppendAsync(connection, transaction, new AuditRecord(AuditActor.Bot, AuditActions.IncidentCauseChanged, saved.Id, Detail: line)).ConfigureAwait(false);
                    effects.Notify(saved, IncidentChange.PodsChanged, line, partial: true);
                    effects.Diagnose(saved.Id, saved.Version);
                    effects.CheckStorm(saved);
                }
                else if (change is PodChange.Joined or PodChange.Updated
                    || (change == PodChange.Rejoined && !RejoinedInsideQuietWindow(j.Incident, failure, quiet)))
                {
                    effects.Notify(saved, IncidentChange.PodsChanged, change == PodChange.Updated ? podLine + " (new message)" : podLine + " joined", partial: true);
                }

                return effects;
            }

            case GroupingDecision.Reopen r:
            {
                var (withPod, _) = IncidentGrouping.ApplyPod(r.Incident, failure, cause);
                var key = r.UpgradeTo is { } upgrade ? r.Incident.Key with { Cause = upgrade } : r.Incident.Key;
                var changed = withPod with { Key = key, State = IncidentState.Open, ResolvedAt = null, UpdatedAt = now };
                var saved = await IncidentStore.SaveAsync(connection, transaction, r.Incident, changed).ConfigureAwait(false);
                var line = $"failing again {(now - r.Incident.ResolvedAt!.Value).TotalMinutes:0.#} min after it was resolved — {podLine}";
                await audit.AppendAsync(connection, transaction, new AuditRecord(AuditActor.Bot, AuditActions.IncidentReopened, saved.Id, Detail: line)).ConfigureAwait(false);
                effects.Count("reopened");
                var lastTold = await IncidentStore.GetReopenNotifiedAtAsync(connection, transaction, saved.Id).ConfigureAwait(false);
                if (lastTold is null || now - lastTold.Value > quiet)
                {
                    await IncidentStore.SetReopenNotifiedAtAsync(connection, transaction, saved.Id, now).ConfigureAwait(false);
                    effects.Notify(saved, IncidentChange.Reopened, line, partial: true);
                }
                else
                {
                    LogFlapping(logger, saved.Id);
                }

                if (r.UpgradeTo is not null || saved.Diagnosis is null)
                {
                    await IncidentStore.SetDiagnosisTicketAsync(connection, transaction, saved.Id, saved.Version, null).ConfigureAwait(false);
                    effects.Diagnose(saved.Id, saved.Version);
                }

                return effects;
            }

            default:
                throw new InvalidOperationException("unknown grouping decision");
        }
    }

    private static bool RejoinedInsideQuietWindow(Incident before, PullFailure failure, TimeSpan quiet)
    {
        var pod = before.Pods.FirstOrDefault(p => p.Pod == failure.Pod && p.Container == failure.Container);
        return pod?.ResolvedAt is { } resolved && failure.ObservedAt - resolved <= quiet;
    }

    private async Task<Effects> ApplyResolveAsync(DbConnection connection, DbTransaction transaction, string id, string pod, string? container, PodResolution resolution)
    {
        var effects = new Effects();
        var incident = await IncidentStore.GetAsync(connection, transaction, id).ConfigureAwait(false);
        if (incident is null || incident.IsClosed)
        {
            return effects;
        }

        var now = time.GetUtcNow();
        var (resolved, count) = IncidentGrouping.ResolvePods(incident, pod, container, now);
        if (count == 0)
        {
            return effects;
        }

        var how = resolution switch
        {
            PodResolution.Ready => "is running",
            PodResolution.Deleted => "was deleted",
            PodResolution.AlertResolved => "alert resolved",
            _ => "recovered",
        };
        if (resolved.ActivePodCount == 0 && IncidentTransitions.IsAllowed(incident.State, IncidentState.Resolved))
        {
            var saved = await IncidentStore.SaveAsync(connection, transaction, incident, resolved with { State = IncidentState.Resolved, ResolvedAt = now, UpdatedAt = now }).ConfigureAwait(false);
            var line = $"no pod is failing any more (last: {pod} {how})";
            await audit.AppendAsync(connection, transaction, new AuditRecord(AuditActor.Bot, AuditActions.IncidentResolved, id, Detail: line)).ConfigureAwait(false);
            effects.Notify(saved, IncidentChange.Resolved, line);
            effects.Count("resolved");
        }
        else
        {
            var saved = await IncidentStore.SaveAsync(connection, transaction, incident, resolved with { UpdatedAt = now }).ConfigureAwait(false);
            effects.Notify(saved, IncidentChange.PodsChanged, $"{pod} {how}; {saved.ActivePodCount} still failing");
        }

        return effects;
    }

    // ---- storms ----

    private async Task RollUpAsync(Incident incident, Effects effects, CancellationToken cancellationToken)
    {
        var stormKey = IncidentRollup.StormKey(incident.Key.Cluster, incident.Image, incident.Key.Cause);
        var lockName = "storm:" + stormKey;
        var current = options.CurrentValue;
        using (await _stormLocks.AcquireAsync(lockName, cancellationToken).ConfigureAwait(false))
        {
            var (parent, children) = await RetryAsync(
                () => Database.InTransactionAsync(
                    async (connection, transaction) =>
                    {
                        await Database.LockAsync(connection, transaction, lockName).ConfigureAwait(false);
                        var candidates = await IncidentStore.OpenInStormAsync(connection, transaction, stormKey).ConfigureAwait(false);
                        var plan = IncidentRollup.Plan(candidates, time.GetUtcNow(), current.RollupWindow, current.RollupThreshold);
                        if (plan is null)
                        {
                            return ((Incident?)null, (IReadOnlyList<string>)[]);
                        }

                        var ids = new List<string>();
                        foreach (var child in plan.Children)
                        {
                            await IncidentStore.SaveAsync(connection, transaction, child, child with { RollupOf = plan.Parent.Id }).ConfigureAwait(false);
                            await audit.AppendAsync(connection, transaction, new AuditRecord(AuditActor.Bot, AuditActions.IncidentRolledUp, child.Id, Detail: $"rolled up under {plan.Parent.Id} ({stormKey})")).ConfigureAwait(false);
                            ids.Add(child.Id);
                        }

                        return ((Incident?)plan.Parent, (IReadOnlyList<string>)ids);
                    },
                    cancellationToken),
                cancellationToken).ConfigureAwait(false);
            if (parent is null)
            {
                return;
            }

            foreach (var childId in children)
            {
                effects.RolledUp.Add(childId);
                metrics.Incident("rolled_up");
                if (childId != incident.Id && await store.GetAsync(childId, cancellationToken).ConfigureAwait(false) is { } child)
                {
                    // The child had its own card before the storm was recognised: tell it where it went.
                    effects.NotifyDirect(child, IncidentChange.PodsChanged, $"rolled up under {parent.Id}");
                }
            }

            var siblings = await store.ListRolledUpAsync(parent.Id, cancellationToken).ConfigureAwait(false);
            if (await store.GetAsync(parent.Id, cancellationToken).ConfigureAwait(false) is { } fresh)
            {
                effects.NotifyDirect(fresh, IncidentChange.PodsChanged, $"{siblings.Count + 1} workloads fail on {IncidentGrouping.ImageSubject(fresh.Image)} ({fresh.Key.Cause.ToSnakeCase()})");
            }
        }
    }

    // ---- effects after commit ----

    /// <summary>After commit, still under the subject lock: storms, diagnosis jobs, and the notices posted in commit order.</summary>
    private async Task<IReadOnlyList<Mailbox>> RunAsync(Effects effects, CancellationToken cancellationToken)
    {
        effects.Record(metrics);
        foreach (var incident in effects.StormChecks)
        {
            await RollUpAsync(incident, effects, cancellationToken).ConfigureAwait(false);
        }

        foreach (var (incidentId, version) in effects.Diagnoses)
        {
            try
            {
                await diagnosisScheduler.EnqueueAsync(incidentId, version, cancellationToken).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // the incident is stored; a failed enqueue is logged and re-diagnosis can be asked for
            catch (Exception e) when (e is not OperationCanceledException)
#pragma warning restore CA1031
            {
                LogEnqueueFailed(logger, e, incidentId);
            }
        }

        var boxes = new List<Mailbox>();
        foreach (var notice in effects.Notifications)
        {
            var rolledUp = !notice.Direct && effects.RolledUp.Contains(notice.Incident.Id) && notice.Incident.RollupOf is null;
            var box = _mailboxes.GetOrAdd(notice.Incident.Id, _ => new Mailbox(notice.Incident.Id));
            lock (box)
            {
                box.Pending.Enqueue(notice with { Reload = notice.Reload || rolledUp });
            }

            if (!boxes.Contains(box))
            {
                boxes.Add(box);
            }
        }

        return boxes;
    }

    /// <summary>
    /// Tells the notifiers what was posted, in order, one runner per incident at a time. Runs outside the subject lock,
    /// so while a slow notifier is busy further reports are stored and their "pods changed" news piles up; consecutive
    /// ones are then told once, with the latest incident (a 1,000-pod storm is not 1,000 card updates).
    /// </summary>
    private async Task DeliverAsync(IReadOnlyList<Mailbox> boxes, CancellationToken cancellationToken)
    {
        foreach (var box in boxes)
        {
            lock (box)
            {
                if (box.Running)
                {
                    continue; // the current runner will tell these too
                }

                box.Running = true;
            }

            try
            {
                while (true)
                {
                    List<Notice> batch;
                    lock (box)
                    {
                        if (box.Pending.Count == 0)
                        {
                            box.Running = false;
                            _mailboxes.TryRemove(new KeyValuePair<string, Mailbox>(box.IncidentId, box));
                            break;
                        }

                        batch = [.. box.Pending];
                        box.Pending.Clear();
                    }

                    var mutes = await MutesAsync(cancellationToken).ConfigureAwait(false);
                    foreach (var notice in Collapse(batch))
                    {
                        await PublishAsync(notice, mutes, cancellationToken).ConfigureAwait(false);
                    }
                }
            }
            catch
            {
                lock (box)
                {
                    box.Running = false;
                }

                throw;
            }
        }
    }

    /// <summary>Consecutive "pods changed" notices become one, carrying the newest incident.</summary>
    private static List<Notice> Collapse(List<Notice> batch)
    {
        var result = new List<Notice>(batch.Count);
        foreach (var notice in batch)
        {
            if (result.Count > 0 && notice.Change == IncidentChange.PodsChanged && !notice.Direct
                && result[^1] is { Change: IncidentChange.PodsChanged, Direct: false } previous)
            {
                var merged = previous.Merged + notice.Merged;
                var newest = notice.Incident.Version >= previous.Incident.Version ? notice : previous;
                result[^1] = newest with
                {
                    Merged = merged,
                    Detail = $"{merged} changes; latest: {notice.Detail}",
                    Reload = previous.Reload || notice.Reload,
                };
            }
            else
            {
                result.Add(notice);
            }
        }

        return result;
    }

    private async Task PublishAsync(Notice notice, IReadOnlyList<IncidentMute> mutes, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var incident = notice.Incident;
        if (notice.Reload)
        {
            incident = await store.GetAsync(incident.Id, cancellationToken).ConfigureAwait(false) ?? incident;
        }

        if (IncidentSilence.MatchingMute(incident, mutes, now) is not null
            || (!notice.EvenIfSnoozed && IncidentSilence.IsSnoozed(incident, now)))
        {
            LogSilenced(logger, incident.Id, notice.Change);
            return;
        }

        if (!notice.Direct && incident.RollupOf is { } parentId
            && await store.GetAsync(parentId, cancellationToken).ConfigureAwait(false) is { IsClosed: false } parent)
        {
            // One card per storm: the parent's card carries the news.
            if (!IncidentSilence.IsSilenced(parent, mutes, now))
            {
                var detail = $"{incident.Key.Namespace}/{incident.Workload?.ToString() ?? incident.Key.Subject}: {notice.Detail ?? notice.Change.ToString()}";
                await notifications.PublishAsync(parent, IncidentChange.PodsChanged, detail, cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        await notifications.PublishAsync(incident, notice.Change, notice.Detail, cancellationToken).ConfigureAwait(false);
    }

    private async Task<IncidentUpdate> ChangeAsync(
        string id,
        Func<DbConnection, DbTransaction, Incident, Effects, Task<IncidentUpdate>> change,
        CancellationToken cancellationToken)
    {
        var first = await store.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (first is null)
        {
            return new IncidentUpdate(IncidentUpdateOutcome.NotFound, null, $"No incident {id}.");
        }

        var lockName = SubjectLock(first.Key.Cluster, first.Key.Namespace, first.Key.Subject);
        IReadOnlyList<Mailbox> told = [];
        IncidentUpdate result;
        using (await _locks.AcquireAsync(lockName, cancellationToken).ConfigureAwait(false))
        {
            Effects? effects = null;
            try
            {
                result = await RetryAsync(
                    () => Database.InTransactionAsync(
                        async (connection, transaction) =>
                        {
                            effects = new Effects();
                            await Database.LockAsync(connection, transaction, lockName).ConfigureAwait(false);
                            var incident = await IncidentStore.GetAsync(connection, transaction, id).ConfigureAwait(false);
                            return incident is null
                                ? new IncidentUpdate(IncidentUpdateOutcome.NotFound, null, $"No incident {id}.")
                                : await change(connection, transaction, incident, effects).ConfigureAwait(false);
                        },
                        cancellationToken),
                    cancellationToken,
                    retryUniqueViolations: false).ConfigureAwait(false);
            }
            catch (DbException e) when (Database.Dialect.IsUniqueViolation(e))
            {
                return new IncidentUpdate(IncidentUpdateOutcome.Refused, first, "Another open incident already has this key; it cannot be reopened.");
            }

            if (result.Outcome == IncidentUpdateOutcome.Changed && effects is not null)
            {
                told = await RunAsync(effects, cancellationToken).ConfigureAwait(false);
            }
        }

        await DeliverAsync(told, cancellationToken).ConfigureAwait(false);
        return result;
    }

    private async Task<T> RetryAsync<T>(Func<Task<T>> work, CancellationToken cancellationToken, bool retryUniqueViolations = true)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await work().ConfigureAwait(false);
            }
            catch (Exception e) when (attempt < MaxAttempts && IsRetryable(e, retryUniqueViolations))
            {
                LogRetry(logger, e, attempt);
                await Task.Delay(Random.Shared.Next(2, 10 * attempt), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private bool IsRetryable(Exception e, bool uniqueViolations) =>
        e is IncidentConcurrencyException
        || (uniqueViolations && Database.Dialect.IsUniqueViolation(e))
        || Database.Dialect.IsTransient(e); // SQLite busy / locked; PostgreSQL serialization failure / deadlock

    private async Task<IReadOnlyList<IncidentMute>> MutesAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_muteCache is { } cache && now - cache.LoadedAt < MuteCacheLifetime && now >= cache.LoadedAt)
        {
            return cache.Mutes;
        }

        var mutes = await store.ListMutesAsync(now, cancellationToken).ConfigureAwait(false);
        _muteCache = new MuteSnapshot(now, mutes);
        return mutes;
    }

    private static string SubjectLock(string cluster, string @namespace, string subject) => $"incident:{cluster}/{@namespace}/{subject}";

    [LoggerMessage(Level = LogLevel.Debug, Message = "Incident {IncidentId} reopened again inside the quiet window; stored without telling anyone")]
    private static partial void LogFlapping(ILogger logger, string incidentId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Incident {IncidentId} is snoozed or muted; {Change} stored without telling anyone")]
    private static partial void LogSilenced(ILogger logger, string incidentId, IncidentChange change);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Incident write lost a race (attempt {Attempt}); retrying")]
    private static partial void LogRetry(ILogger logger, Exception exception, int attempt);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not enqueue the diagnosis of incident {IncidentId}; it can be asked for again")]
    private static partial void LogEnqueueFailed(ILogger logger, Exception exception, string incidentId);

    /// <summary>What to do once the transaction committed.</summary>
    private sealed class Effects
    {
        public List<Notice> Notifications { get; } = [];

        public List<(string IncidentId, int Version)> Diagnoses { get; } = [];

        public List<Incident> StormChecks { get; } = [];

        public HashSet<string> RolledUp { get; } = new(StringComparer.Ordinal);

        /// <summary>Lifecycle events for the metrics ("opened", "reopened", "resolved"), counted once the transaction committed.</summary>
        public List<string> Events { get; } = [];

        public PullCause? DiagnosedAs { get; set; }

        public void Count(string? incidentEvent)
        {
            if (incidentEvent is not null)
            {
                Events.Add(incidentEvent);
            }
        }

        public void Record(BotMetrics metrics)
        {
            Events.ForEach(metrics.Incident);
            if (DiagnosedAs is { } cause)
            {
                metrics.Diagnosed(cause);
            }
        }

        /// <param name="partial">The incident holds only some of its pods: re-read it before telling anyone.</param>
        public void Notify(Incident incident, IncidentChange change, string? detail, bool evenIfSnoozed = false, bool partial = false) =>
            Notifications.Add(new Notice(incident, change, detail, evenIfSnoozed, Direct: false) { Reload = partial });

        public void NotifyDirect(Incident incident, IncidentChange change, string? detail) =>
            Notifications.Add(new Notice(incident, change, detail, EvenIfSnoozed: false, Direct: true));

        public void Diagnose(string incidentId, int version) => Diagnoses.Add((incidentId, version));

        public void CheckStorm(Incident incident) => StormChecks.Add(incident);

        /// <summary>Takes over another report's effects (group commit); a storm check is kept once per incident, the latest.</summary>
        public void Add(Effects other)
        {
            Notifications.AddRange(other.Notifications);
            Diagnoses.AddRange(other.Diagnoses);
            foreach (var incident in other.StormChecks)
            {
                StormChecks.RemoveAll(i => i.Id == incident.Id);
                StormChecks.Add(incident);
            }

            RolledUp.UnionWith(other.RolledUp);
            Events.AddRange(other.Events);
            DiagnosedAs ??= other.DiagnosedAs;
        }
    }

    /// <summary>A report waiting for the next group commit of its subject.</summary>
    private sealed record PendingReport(PullFailure Failure, PullCause Cause, string Subject)
    {
        public TaskCompletionSource Stored { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Reports of one subject not yet stored, and whether a caller is storing them.</summary>
    private sealed class ReportBatch
    {
        public List<PendingReport> Pending { get; } = [];

        public bool Draining { get; set; }
    }

    /// <summary>One piece of news for the notifiers. <see cref="Direct"/> skips the storm routing; <see cref="Reload"/> re-reads the incident first.</summary>
    private sealed record Notice(Incident Incident, IncidentChange Change, string? Detail, bool EvenIfSnoozed, bool Direct)
    {
        public bool Reload { get; init; }

        public int Merged { get; init; } = 1;
    }

    /// <summary>The notices of one incident not yet told, and whether a runner is telling them.</summary>
    private sealed class Mailbox(string incidentId)
    {
        public string IncidentId { get; } = incidentId;

        public Queue<Notice> Pending { get; } = new();

        public bool Running { get; set; }
    }

    private sealed record MuteSnapshot(DateTimeOffset LoadedAt, IReadOnlyList<IncidentMute> Mutes);
}
