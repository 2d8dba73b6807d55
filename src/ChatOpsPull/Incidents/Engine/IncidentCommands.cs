using ChatOpsPull.Core.Failures;
using System.Data.Common;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Storage;

namespace ChatOpsPull.Incidents.Engine;

/// <summary>
/// Changes asked of one incident by people and other capabilities: state transitions, snooze, diagnosis requests and
/// results. Each is stored with its audit line in one transaction under the incident's subject lock; refused moves
/// change nothing but are audited.
/// </summary>
internal sealed class IncidentCommands(SubjectWriter writer, IncidentStore store, AuditLog audit, IncidentNewsDispatch news, TimeProvider time)
{
    public Task<IncidentUpdate> TransitionAsync(string id, IncidentState to, AuditActor actor, IncidentChange change, string? detail, CancellationToken cancellationToken) =>
        TransitionAsync(id, to, actor, change, detail, takesOver: null, cancellationToken);

    /// <param name="takesOver">An announcement owed in the store that this move tells: removed in the move's transaction, whose own news is owed instead.</param>
    private Task<IncidentUpdate> TransitionAsync(string id, IncidentState to, AuditActor actor, IncidentChange change, string? detail, string? takesOver, CancellationToken cancellationToken) =>
        ChangeAsync(id, async (connection, transaction, incident, _, afterCommit) =>
        {
            var now = time.GetUtcNow();
            if (!IncidentTransitions.IsAllowed(incident.State, to))
            {
                var why = IncidentTransitions.Explain(incident.State, to);
                await audit.AppendAsync(connection, transaction, new AuditRecord(actor, AuditActions.IncidentStateChanged, incident.Id, Detail: why, Outcome: AuditOutcome.Refused)).ConfigureAwait(false);
                return new IncidentUpdate(IncidentUpdateOutcome.Refused, incident, why);
            }

            var closing = to is IncidentState.Resolved or IncidentState.Failed;
            afterCommit.Count(to == IncidentState.Resolved ? "resolved" : null);
            var changed = incident with
            {
                State = to,
                UpdatedAt = now,
                ResolvedAt = closing ? now : to == IncidentState.Open ? null : incident.ResolvedAt,
            };
            var writes = new StatementBatch();
            var saved = IncidentStore.Save(writes, incident, changed);
            var line = $"{incident.State.ToSnakeCase()} → {to.ToSnakeCase()}" + (detail is null ? string.Empty : ": " + detail);
            audit.Append(writes, new AuditRecord(actor, to == IncidentState.Resolved ? AuditActions.IncidentResolved : AuditActions.IncidentStateChanged, incident.Id, Detail: line));
            afterCommit.Notify(saved, change, detail);
            afterCommit.OweNews(writes);
            if (takesOver is not null)
            {
                OwedAnnouncements.Forget(writes, takesOver);
            }

            await writes.ExecuteAsync(connection, transaction).ConfigureAwait(false);
            return new IncidentUpdate(IncidentUpdateOutcome.Changed, saved, line);
        },
        cancellationToken);

    /// <summary>
    /// Tells an announcement another capability owed in its own transaction (<see cref="OwedAnnouncement"/>), after its
    /// commit or, when the host that wrote it stopped first, from the store (<see cref="NewsRetell"/>): moves the incident
    /// where the announcement says when that is legal from where it stands now — the move's transaction removes the
    /// announcement and owes the move's news instead — otherwise only announces it, and it is removed once told.
    /// </summary>
    public Task TellAnnouncementAsync(OwedAnnouncement announcement, CancellationToken cancellationToken) =>
        MoveOrAnnounceAsync(announcement.IncidentId, announcement.MoveTo, announcement.Actor, announcement.Change, announcement.Detail, announcement.Key, cancellationToken);

    /// <summary>
    /// Progress of work on the incident (an approval, a remediation run) that moves it to <paramref name="to"/> when that
    /// move is legal from where it stands; otherwise (already there, closed) the news is only announced. Either way the
    /// incident's card hears <paramref name="change"/> with <paramref name="line"/> once.
    /// </summary>
    public Task TransitionOrAnnounceAsync(string id, IncidentState to, AuditActor actor, IncidentChange change, string line, CancellationToken cancellationToken) =>
        MoveOrAnnounceAsync(id, to, actor, change, line, announcementKey: null, cancellationToken);

    private async Task MoveOrAnnounceAsync(string id, IncidentState? to, AuditActor actor, IncidentChange change, string? line, string? announcementKey, CancellationToken cancellationToken)
    {
        if (to is { } state
            && await store.GetAsync(id, cancellationToken).ConfigureAwait(false) is { } incident
            && incident.State != state && IncidentTransitions.IsAllowed(incident.State, state)
            && (await TransitionAsync(id, state, actor, change, line, announcementKey, cancellationToken).ConfigureAwait(false)).Outcome == IncidentUpdateOutcome.Changed)
        {
            return;
        }

        await news.AnnounceAsync(id, change, line, cancellationToken, announcementKey).ConfigureAwait(false);
    }

    public Task<IncidentUpdate> SnoozeAsync(string id, DateTimeOffset? until, AuditActor actor, CancellationToken cancellationToken) =>
        ChangeAsync(id, async (connection, transaction, incident, _, afterCommit) =>
        {
            if (incident.SnoozedUntil == until)
            {
                return new IncidentUpdate(IncidentUpdateOutcome.Unchanged, incident, "Already so.");
            }

            var writes = new StatementBatch();
            var saved = IncidentStore.Save(writes, incident, incident with { SnoozedUntil = until, UpdatedAt = time.GetUtcNow() });
            var line = until is { } u ? $"snoozed until {u:u}" : "snooze ended";
            audit.Append(writes, new AuditRecord(actor, AuditActions.IncidentSnoozed, incident.Id, Detail: line));
            afterCommit.Notify(saved, IncidentChange.Snoozed, line, evenIfSnoozed: true);
            afterCommit.OweNews(writes);
            await writes.ExecuteAsync(connection, transaction).ConfigureAwait(false);
            return new IncidentUpdate(IncidentUpdateOutcome.Changed, saved, line);
        },
        cancellationToken);

    public Task<IncidentUpdate> RequestDiagnosisAsync(string id, AuditActor actor, CancellationToken cancellationToken) =>
        ChangeAsync(id, async (connection, transaction, incident, _, afterCommit) =>
        {
            var saved = await IncidentStore.SaveAsync(connection, transaction, incident, incident with { UpdatedAt = time.GetUtcNow() }).ConfigureAwait(false);
            await IncidentStore.SetDiagnosisTicketAsync(connection, transaction, saved.Id, saved.Version, null).ConfigureAwait(false);
            await audit.AppendAsync(connection, transaction, new AuditRecord(actor, AuditActions.IncidentDiagnosisRequested, incident.Id)).ConfigureAwait(false);
            afterCommit.Diagnose(saved.Id, saved.Version);
            return new IncidentUpdate(IncidentUpdateOutcome.Changed, saved, "Diagnosis requested.");
        },
        cancellationToken);

    /// <param name="read">The incident as the caller read it (its subject names the lock), or null to read it here.</param>
    /// <remarks>
    /// On PostgreSQL, with the incident read by the caller: the subject lock, the ticket's check, the result, its ticket
    /// and its audit line, and the stored incident's pods go in one command (<see cref="IncidentStore.ApplyDiagnosisAsync(DbConnection, DbTransaction, TransactionLock, string, int, Core.Diagnoses.Diagnosis, DateTimeOffset, object)"/>),
    /// then COMMIT: two round trips. Otherwise the incident and its ticket are read with the subject lock, and the result,
    /// its ticket and its audit line are sent in one batch after it: on PostgreSQL three round trips.
    /// </remarks>
    public Task<IncidentUpdate> ApplyDiagnosisAsync(string id, Incident? read, int requestVersion, Core.Diagnoses.Diagnosis diagnosis, CancellationToken cancellationToken) =>
        read is not null && store.Database.Dialect.CommandsAreRoundTrips // PostgreSQL: its UPDATE … RETURNING in a CTE saves a round trip
            ? ApplyDiagnosisInOneCommandAsync(read, requestVersion, diagnosis, cancellationToken)
            : ChangeAsync(id, read, async (connection, transaction, incident, ticket, afterCommit) =>
        {
            if (ticket is null || ticket.Requested != requestVersion)
            {
                return new IncidentUpdate(IncidentUpdateOutcome.Unchanged, incident, "A newer diagnosis request supersedes this one.");
            }

            if (ticket.Applied >= requestVersion)
            {
                return new IncidentUpdate(IncidentUpdateOutcome.Unchanged, incident, "This diagnosis is already stored.");
            }

            var now = time.GetUtcNow();
            var state = IncidentTransitions.AfterDiagnosis(incident.State);
            var stamped = diagnosis.DiagnosedAt == default ? diagnosis with { DiagnosedAt = now } : diagnosis;
            var writes = new StatementBatch();
            var saved = IncidentStore.Save(writes, incident, incident with { Diagnosis = stamped, State = state, UpdatedAt = now });
            IncidentStore.SetDiagnosisTicket(writes, id, requestVersion, requestVersion);
            var line = $"{stamped.Cause.ToSnakeCase()} ({stamped.ConfidenceLabel} confidence): {stamped.Summary}";
            audit.Append(writes, new AuditRecord(AuditActor.Bot, AuditActions.IncidentDiagnosed, id, Detail: line));
            afterCommit.Notify(saved, IncidentChange.Diagnosed, stamped.Summary);
            afterCommit.OweNews(writes);
            await writes.ExecuteAsync(connection, transaction).ConfigureAwait(false);
            afterCommit.DiagnosedAs = stamped.Cause;
            return new IncidentUpdate(IncidentUpdateOutcome.Changed, saved, line);
        },
        cancellationToken);

    private Task<IncidentUpdate> ApplyDiagnosisInOneCommandAsync(Incident read, int requestVersion, Core.Diagnoses.Diagnosis diagnosis, CancellationToken cancellationToken) =>
        writer.WriteTakingLockAsync(
            SubjectWriter.LockName(read.Key.Cluster, read.Key.Namespace, read.Key.Subject),
            IncidentRetryPipelines.Command,
            async (connection, transaction, afterCommit, pending) =>
            {
                var now = time.GetUtcNow();
                var stamped = diagnosis.DiagnosedAt == default ? diagnosis with { DiagnosedAt = now } : diagnosis;
                var line = $"{stamped.Cause.ToSnakeCase()} ({stamped.ConfidenceLabel} confidence): {stamped.Summary}";
                var saved = await IncidentStore.ApplyDiagnosisAsync(
                    connection,
                    transaction,
                    pending,
                    read.Id,
                    requestVersion,
                    stamped,
                    now,
                    audit.ParametersOf(new AuditRecord(AuditActor.Bot, AuditActions.IncidentDiagnosed, read.Id, Detail: line))).ConfigureAwait(false);
                if (saved is null)
                {
                    return new IncidentUpdate(IncidentUpdateOutcome.Unchanged, read, "This diagnosis is already stored, or a newer request supersedes it.");
                }

                afterCommit.Notify(saved, IncidentChange.Diagnosed, stamped.Summary);
                afterCommit.NewsOwedAlready(); // by the same command
                afterCommit.DiagnosedAs = stamped.Cause;
                return new IncidentUpdate(IncidentUpdateOutcome.Changed, saved, line);
            },
            cancellationToken,
            changed: update => update.Outcome == IncidentUpdateOutcome.Changed);

    /// <summary>
    /// Reads the incident, then applies <paramref name="change"/> to it as stored inside the transaction. Only a change
    /// that returns <see cref="IncidentUpdateOutcome.Changed"/> writes news or asks for anything after commit.
    /// </summary>
    private Task<IncidentUpdate> ChangeAsync(
        string id,
        Func<DbConnection, DbTransaction, Incident, DiagnosisTicket?, AfterCommit, Task<IncidentUpdate>> change,
        CancellationToken cancellationToken) =>
        ChangeAsync(id, null, change, cancellationToken);

    /// <param name="read">The incident as the caller read it already (only its key is used: the subject lock), or null.</param>
    /// <param name="change">Given the incident and its diagnosis ticket as stored, read with the subject lock in one round trip.</param>
    private async Task<IncidentUpdate> ChangeAsync(
        string id,
        Incident? read,
        Func<DbConnection, DbTransaction, Incident, DiagnosisTicket?, AfterCommit, Task<IncidentUpdate>> change,
        CancellationToken cancellationToken)
    {
        var first = read ?? await store.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (first is null)
        {
            return new IncidentUpdate(IncidentUpdateOutcome.NotFound, null, $"No incident {id}.");
        }

        try
        {
            return await writer.WriteTakingLockAsync(
                SubjectWriter.LockName(first.Key.Cluster, first.Key.Namespace, first.Key.Subject),
                IncidentRetryPipelines.Command,
                async (connection, transaction, afterCommit, pending) =>
                {
                    var (incident, ticket) = await IncidentStore.GetWithTicketAsync(connection, transaction, id, pending).ConfigureAwait(false);
                    return incident is null
                        ? new IncidentUpdate(IncidentUpdateOutcome.NotFound, null, $"No incident {id}.")
                        : await change(connection, transaction, incident, ticket, afterCommit).ConfigureAwait(false);
                },
                cancellationToken,
                changed: update => update.Outcome == IncidentUpdateOutcome.Changed).ConfigureAwait(false);
        }
        catch (DbException e) when (store.Database.Dialect.IsUniqueViolation(e))
        {
            return new IncidentUpdate(IncidentUpdateOutcome.Refused, first, "Another open incident already has this key; it cannot be reopened.");
        }
    }
}
