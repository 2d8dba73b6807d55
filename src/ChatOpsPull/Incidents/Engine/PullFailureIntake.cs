using System.Data.Common;
using ChatOpsPull.Core.Classification;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Observability;
using ChatOpsPull.Storage;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Incidents.Engine;

/// <summary>
/// What detection sources report: a failing pod joins, opens, reopens or upgrades the incident of its subject
/// (<see cref="IncidentGrouping"/>), and a recovered pod resolves its part of open incidents. Reports of one subject that
/// arrive while another is being stored are stored together in the next transaction (<see cref="GroupCommitQueue{TItem}"/>).
/// </summary>
internal sealed partial class PullFailureIntake(
    SubjectWriter writer,
    IncidentStore store,
    AuditLog audit,
    IOptionsMonitor<IncidentOptions> options,
    TimeProvider time,
    BotMetrics metrics,
    ILogger<PullFailureIntake> logger)
{
    private readonly GroupCommitQueue<Report> _reports = new();

    /// <summary>The rehearsal's own queue (the same code as <see cref="_reports"/>): it never holds a real report.</summary>
    private readonly GroupCommitQueue<Report> _rehearsals = new();

    public Task ReportAsync(PullFailure failure, CancellationToken cancellationToken)
    {
        metrics.FailureSeen(failure.Source);
        var cause = MessageClassifier.Classify(failure.Message, failure.Reason).Cause;
        var subject = IncidentGrouping.SubjectOf(failure);
        var lockName = SubjectWriter.LockName(failure.Cluster, failure.Namespace, subject);

        // A round is shared with other callers: it runs to its end even when the caller that runs it gives up.
        // It takes the subject's reports once it is in its transaction, so those that came while it waited for the
        // subject lock and its write turn ride in it too. The round's first read takes the subject lock in its own round trip.
        return _reports.AddAsync(lockName, new Report(failure, cause, subject), round => writer.WriteTakingLockAsync(
            lockName,
            IncidentRetryPipelines.Write,
            async (connection, transaction, afterCommit, pending) =>
            {
                await ApplyRunAsync(connection, transaction, failure.Cluster, failure.Namespace, subject, round.Take(), afterCommit, pending).ConfigureAwait(false);
                return true;
            },
            CancellationToken.None),
            cancellationToken);
    }

    /// <summary>
    /// A subject's reports and recoveries, in order, in one transaction with <paramref name="claim"/> (which takes them out of
    /// the source's queue): consecutive reports share one <see cref="ReportRound"/>; a recovery applies after every report
    /// before it. A recovery of a pod that sits in another subject's incident (a watcher-made incident grouped by owner,
    /// say) is applied after this transaction commits, in that subject's own.
    /// </summary>
    public async Task ApplySubjectAsync(string cluster, string @namespace, string subject, Func<DbConnection, DbTransaction, TransactionLock, Task<IReadOnlyList<PodReport>>> claim, CancellationToken cancellationToken)
    {
        List<PodReport> elsewhere = [];
        List<FailureSource> seen = []; // counted once committed: a retried attempt must not count its reports twice
        await writer.WriteTakingLockAsync(
            SubjectWriter.LockName(cluster, @namespace, subject),
            IncidentRetryPipelines.Write,
            async (connection, transaction, afterCommit, pending) =>
            {
                elsewhere = [];
                seen = [];
                var run = new List<Report>();
                foreach (var item in await claim(connection, transaction, pending).ConfigureAwait(false))
                {
                    var failure = item.Failure;
                    if (item.Resolution is not { } resolution)
                    {
                        seen.Add(failure.Source);
                        run.Add(new Report(failure, MessageClassifier.Classify(failure.Message, failure.Reason).Cause, subject));
                        continue;
                    }

                    await ApplyRunAsync(connection, transaction, cluster, @namespace, subject, run, afterCommit).ConfigureAwait(false);
                    run.Clear();
                    var container = failure.Container.Length == 0 ? null : failure.Container;
                    foreach (var (id, hitSubject) in await IncidentStore.OpenWithPodAsync(connection, transaction, cluster, @namespace, failure.Pod, container).ConfigureAwait(false))
                    {
                        if (hitSubject == subject)
                        {
                            await ApplyResolveAsync(connection, transaction, id, failure.Pod, container, resolution, afterCommit).ConfigureAwait(false);
                        }
                        else if (!elsewhere.Contains(item))
                        {
                            elsewhere.Add(item);
                        }
                    }
                }

                await ApplyRunAsync(connection, transaction, cluster, @namespace, subject, run, afterCommit).ConfigureAwait(false);
                return true;
            },
            cancellationToken).ConfigureAwait(false);

        seen.ForEach(metrics.FailureSeen);
        foreach (var item in elsewhere)
        {
            var failure = item.Failure;
            await ResolveAsync(cluster, @namespace, failure.Pod, failure.Container.Length == 0 ? null : failure.Container, item.Resolution!.Value, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The namespace of the rehearsal's reports: not a valid Kubernetes namespace name, so no real report ever shares its
    /// subject (or its subject lock).
    /// </summary>
    internal const string RehearsalNamespace = "(intake rehearsal)";

    /// <summary>
    /// Runs the intake's write path once, cold, and throws it away: two reports of one workload through the group commit
    /// and the subject writer (a new incident with its ticket and audit line, a pod joining it, the write over the version
    /// read), then a recovery, all inside one transaction that is rolled back. Nothing is stored, nothing after commit runs
    /// (no news, no diagnosis request, no storm check, no metric). A storm after a start then finds this code compiled
    /// instead of every subject's first transaction waiting for the JIT at once. Returns false when it could not run
    /// (the store cannot write, say); the storm then runs it cold, nothing else changes.
    /// </summary>
    public async Task<bool> RehearseAsync(CancellationToken cancellationToken)
    {
        const string cluster = RehearsalNamespace;
        var now = time.GetUtcNow();
        var workload = new WorkloadRef("Deployment", "rehearsal");
        PullFailure Failing(string pod) => new(
            FailureSource.KubernetesWatch,
            cluster,
            RehearsalNamespace,
            pod,
            "app",
            ContainerKind.Regular,
            "registry.invalid/rehearsal/app:0",
            "ErrImagePull",
            "Failed to pull image \"registry.invalid/rehearsal/app:0\": rpc error: code = NotFound desc = failed to pull and unpack image \"registry.invalid/rehearsal/app:0\": not found",
            now)
        {
            Workload = workload,
        };

        var reports = new[] { Failing("rehearsal-1"), Failing("rehearsal-2") }
            .Select(f => new Report(f, MessageClassifier.Classify(f.Message, f.Reason).Cause, IncidentGrouping.SubjectOf(f)))
            .ToList();
        var subject = reports[0].Subject;
        var lockName = SubjectWriter.LockName(cluster, RehearsalNamespace, subject);
        try
        {
            await _rehearsals.AddAsync(lockName, reports[0], round => writer.WriteTakingLockAsync<bool>(
                lockName,
                IncidentRetryPipelines.Write,
                async (connection, transaction, afterCommit, pending) =>
                {
                    _ = round.Take(); // its one item: the rehearsal writes both reports below
                    await ApplyRunAsync(connection, transaction, cluster, RehearsalNamespace, subject, reports, afterCommit, pending).ConfigureAwait(false);
                    foreach (var (id, _) in await IncidentStore.OpenWithPodAsync(connection, transaction, cluster, RehearsalNamespace, "rehearsal-2", "app").ConfigureAwait(false))
                    {
                        await ApplyResolveAsync(connection, transaction, id, "rehearsal-2", "app", PodResolution.Ready, afterCommit).ConfigureAwait(false);
                    }

                    throw new RehearsalRolledBack();
                },
                cancellationToken),
                cancellationToken).ConfigureAwait(false);
        }
        catch (RehearsalRolledBack)
        {
            return true;
        }
#pragma warning disable CA1031 // best effort: the first real reports run the same path and report what fails
        catch (Exception e) when (e is not OperationCanceledException)
#pragma warning restore CA1031
        {
            LogRehearsalFailed(logger, e);
        }

        return false;
    }

    public async Task ResolveAsync(string cluster, string @namespace, string pod, string? container, PodResolution resolution, CancellationToken cancellationToken)
    {
        var hits = await store.OpenWithPodAsync(cluster, @namespace, pod, container, cancellationToken).ConfigureAwait(false);
        foreach (var (id, subject) in hits)
        {
            await writer.WriteAsync(
                SubjectWriter.LockName(cluster, @namespace, subject),
                IncidentRetryPipelines.Write,
                async (connection, transaction, afterCommit) =>
                {
                    await ApplyResolveAsync(connection, transaction, id, pod, container, resolution, afterCommit).ConfigureAwait(false);
                    return true;
                },
                cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Applies one report of the round to the subject's incidents in memory (<paramref name="round"/>). Incidents come
    /// with the round's pods' entries only (a storm must not read every pod per report); their notices are marked partial
    /// and completed from the incident the news dispatch already holds (<see cref="IncidentNewsDispatch"/>).
    /// </summary>
    private async Task ApplyReportAsync(DbConnection connection, DbTransaction transaction, ReportRound round, Report report, AfterCommit afterCommit)
    {
        var (failure, cause, _) = report;
        var now = time.GetUtcNow();
        var quiet = options.CurrentValue.QuietWindow;
        var podLine = $"{failure.Pod}/{failure.Container}: {failure.Reason}";

        // Joining an open incident never depends on closed ones: those are read only for a report that joins none.
        var decision = IncidentGrouping.Decide(failure, cause, round.Open, [], now, quiet);
        if (decision is not GroupingDecision.Join)
        {
            decision = IncidentGrouping.Decide(failure, cause, round.Open, await round.ClosedAsync(now - quiet).ConfigureAwait(false), now, quiet);
        }

        switch (decision)
        {
            case GroupingDecision.Open o:
            {
                var pod = new AffectedPod(failure.Pod, failure.Container, failure.Reason, failure.Message, failure.ObservedAt, failure.ObservedAt) { NodeName = failure.NodeName };
                var incident = new Incident(IncidentIds.New(), o.Key, failure.Image, IncidentState.Open, now, now, [pod], 1) { Workload = failure.Workload };
                round.Insert(incident);
                IncidentStore.SetDiagnosisTicket(round.Writes, incident.Id, incident.Version, null);
                audit.Append(round.Writes, new AuditRecord(AuditActor.Bot, AuditActions.IncidentOpened, incident.Id, Detail: $"{o.Key} — {podLine}"));
                afterCommit.Notify(incident, IncidentChange.Opened, podLine);
                afterCommit.Count("opened");
                afterCommit.Diagnose(incident.Id, incident.Version);
                afterCommit.CheckStorm(incident);
                return;
            }

            case GroupingDecision.Join j:
            {
                var (withPod, change) = IncidentGrouping.ApplyPod(j.Incident, failure, cause);
                if (change == PodChange.None && j.UpgradeTo is null)
                {
                    return;
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

                var saved = round.Save(j.Incident, changed);
                if (j.UpgradeTo is { } up)
                {
                    var line = $"cause is now {up.ToSnakeCase()} (was {j.Incident.Key.Cause.ToSnakeCase()}) — {podLine}";
                    IncidentStore.SetDiagnosisTicket(round.Writes, saved.Id, saved.Version, null);
                    audit.Append(round.Writes, new AuditRecord(AuditActor.Bot, AuditActions.IncidentCauseChanged, saved.Id, Detail: line));
                    afterCommit.Notify(saved, IncidentChange.PodsChanged, line, partial: true);
                    afterCommit.Diagnose(saved.Id, saved.Version);
                    afterCommit.CheckStorm(saved);
                }
                else if (change is PodChange.Joined or PodChange.Updated
                    || (change == PodChange.Rejoined && !RejoinedInsideQuietWindow(j.Incident, failure, quiet)))
                {
                    afterCommit.Notify(saved, IncidentChange.PodsChanged, change == PodChange.Updated ? podLine + " (new message)" : podLine + " joined", partial: true);
                }

                return;
            }

            case GroupingDecision.Reopen r:
            {
                var (withPod, _) = IncidentGrouping.ApplyPod(r.Incident, failure, cause);
                var key = r.UpgradeTo is { } upgrade ? r.Incident.Key with { Cause = upgrade } : r.Incident.Key;
                var changed = withPod with { Key = key, State = IncidentState.Open, ResolvedAt = null, UpdatedAt = now };
                var saved = round.Save(r.Incident, changed);
                var line = $"failing again {(now - r.Incident.ResolvedAt!.Value).TotalMinutes:0.#} min after it was resolved — {podLine}";
                audit.Append(round.Writes, new AuditRecord(AuditActor.Bot, AuditActions.IncidentReopened, saved.Id, Detail: line));
                afterCommit.Count("reopened");
                await round.SendWritesAsync().ConfigureAwait(false); // the read below sees the round's writes so far
                var reopenLastNotified = await IncidentStore.GetReopenNotifiedAtAsync(connection, transaction, saved.Id).ConfigureAwait(false);
                if (reopenLastNotified is null || now - reopenLastNotified.Value > quiet)
                {
                    IncidentStore.SetReopenNotifiedAt(round.Writes, saved.Id, now);
                    afterCommit.Notify(saved, IncidentChange.Reopened, line, partial: true);
                }
                else
                {
                    LogFlapping(logger, saved.Id);
                }

                if (r.UpgradeTo is not null || saved.Diagnosis is null)
                {
                    IncidentStore.SetDiagnosisTicket(round.Writes, saved.Id, saved.Version, null);
                    afterCommit.Diagnose(saved.Id, saved.Version);
                }

                return;
            }

            default:
                throw new InvalidOperationException("unknown grouping decision");
        }
    }

    /// <summary>Consecutive reports of one subject, applied together on one read of the subject's incidents.</summary>
    /// <param name="pending">The subject lock when not taken yet: the round's first read takes it.</param>
    private async Task ApplyRunAsync(DbConnection connection, DbTransaction transaction, string cluster, string @namespace, string subject, IReadOnlyList<Report> run, AfterCommit afterCommit, TransactionLock? pending = null)
    {
        if (run.Count == 0)
        {
            return;
        }

        var pods = run.Select(r => r.Failure.Pod).ToHashSet(StringComparer.Ordinal);
        var round = await ReportRound.ReadAsync(connection, transaction, cluster, @namespace, subject, pods, time.GetUtcNow() - options.CurrentValue.QuietWindow, pending).ConfigureAwait(false);
        foreach (var report in run)
        {
            await ApplyReportAsync(connection, transaction, round, report, afterCommit).ConfigureAwait(false);
        }

        afterCommit.OweNews(round.Writes); // in the round's batch: no round trip of its own
        await round.FlushAsync().ConfigureAwait(false);
    }

    private static bool RejoinedInsideQuietWindow(Incident before, PullFailure failure, TimeSpan quiet)
    {
        var pod = before.Pods.FirstOrDefault(p => p.Pod == failure.Pod && p.Container == failure.Container);
        return pod?.ResolvedAt is { } resolved && failure.ObservedAt - resolved <= quiet;
    }

    private async Task ApplyResolveAsync(DbConnection connection, DbTransaction transaction, string id, string pod, string? container, PodResolution resolution, AfterCommit afterCommit)
    {
        var incident = await IncidentStore.GetAsync(connection, transaction, id).ConfigureAwait(false);
        if (incident is null || incident.IsClosed)
        {
            return;
        }

        var now = time.GetUtcNow();
        var (resolved, count) = IncidentGrouping.ResolvePods(incident, pod, container, now);
        if (count == 0)
        {
            return;
        }

        var how = resolution switch
        {
            PodResolution.Ready => "is running",
            PodResolution.Deleted => "was deleted",
            PodResolution.AlertResolved => "alert resolved",
            _ => "recovered",
        };
        var writes = new StatementBatch();
        if (resolved.ActivePodCount == 0 && IncidentTransitions.IsAllowed(incident.State, IncidentState.Resolved))
        {
            var saved = IncidentStore.Save(writes, incident, resolved with { State = IncidentState.Resolved, ResolvedAt = now, UpdatedAt = now });
            var line = $"no pod is failing any more (last: {pod} {how})";
            audit.Append(writes, new AuditRecord(AuditActor.Bot, AuditActions.IncidentResolved, id, Detail: line));
            afterCommit.Notify(saved, IncidentChange.Resolved, line);
            afterCommit.Count("resolved");
        }
        else
        {
            var saved = IncidentStore.Save(writes, incident, resolved with { UpdatedAt = now });
            afterCommit.Notify(saved, IncidentChange.PodsChanged, $"{pod} {how}; {saved.ActivePodCount} still failing");
        }

        afterCommit.OweNews(writes);
        await writes.ExecuteAsync(connection, transaction).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Rehearsing the intake's write path at start failed; the first reports run it cold")]
    private static partial void LogRehearsalFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Incident {IncidentId} reopened again inside the quiet window; stored without telling anyone")]
    private static partial void LogFlapping(ILogger logger, string incidentId);

    /// <summary>Ends the rehearsal's transaction: rolled back, as every write that throws.</summary>
    private sealed class RehearsalRolledBack() : Exception("the intake rehearsal is rolled back");

    /// <summary>A report waiting for the next group commit of its subject.</summary>
    private sealed record Report(PullFailure Failure, PullCause Cause, string Subject);
}
