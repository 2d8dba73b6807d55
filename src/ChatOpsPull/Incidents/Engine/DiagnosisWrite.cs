using System.Data.Common;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Storage;

namespace ChatOpsPull.Incidents.Engine;

/// <summary>
/// Stores a diagnosis's result in a transaction that holds (or takes, with its first statement) the incident's subject
/// lock: only when the incident's diagnosis ticket still asks for this request and has not applied it, with its ticket
/// marked applied, its audit line and its news owed, in the same transaction. The same rows whoever runs it: a command's
/// transaction of its own (<see cref="IncidentCommands"/>) or the subject's group-commit round (<see cref="PullFailureIntake"/>).
/// </summary>
internal sealed class DiagnosisWrite(AuditLog audit, TimeProvider time)
{
    /// <param name="read">The incident as the caller read it (its id; its pods are read again as stored).</param>
    /// <remarks>
    /// On PostgreSQL one command: the ticket's check, the result, its ticket, its audit line and its news owed, and the
    /// stored incident's pods (<see cref="IncidentStore.ApplyDiagnosisAsync(DbConnection, DbTransaction, TransactionLock, string, int, Core.Diagnoses.Diagnosis, DateTimeOffset, object)"/>).
    /// Elsewhere the incident and its ticket are read, then the result, its ticket, its audit line and its news are sent in one batch.
    /// </remarks>
    public Task<IncidentUpdate> StoreAsync(
        DbConnection connection, DbTransaction transaction, TransactionLock pending, Incident read, int requestVersion, Core.Diagnoses.Diagnosis diagnosis, AfterCommit afterCommit) =>
        SqlDialects.For(connection).CommandsAreRoundTrips
            ? StoreInOneCommandAsync(connection, transaction, pending, read, requestVersion, diagnosis, afterCommit)
            : StoreReadingTicketAsync(connection, transaction, pending, read.Id, requestVersion, diagnosis, afterCommit);

    private async Task<IncidentUpdate> StoreInOneCommandAsync(
        DbConnection connection, DbTransaction transaction, TransactionLock pending, Incident read, int requestVersion, Core.Diagnoses.Diagnosis diagnosis, AfterCommit afterCommit)
    {
        // News the write noticed before and has not owed yet goes first (nothing to send when it owed it in its own batches):
        // the command below owes the diagnosis's only.
        await afterCommit.OweNewsAsync(connection, transaction).ConfigureAwait(false);
        var now = time.GetUtcNow();
        var stamped = diagnosis.DiagnosedAt == default ? diagnosis with { DiagnosedAt = now } : diagnosis;
        var line = Line(stamped);
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
        afterCommit.Diagnosed(stamped.Cause);
        return new IncidentUpdate(IncidentUpdateOutcome.Changed, saved, line);
    }

    /// <summary>The ticket is read with the incident (taking the subject lock when not taken yet), then the writes go in one batch.</summary>
    public async Task<IncidentUpdate> StoreReadingTicketAsync(
        DbConnection connection, DbTransaction transaction, TransactionLock? pending, string id, int requestVersion, Core.Diagnoses.Diagnosis diagnosis, AfterCommit afterCommit)
    {
        var (incident, ticket) = await IncidentStore.GetWithTicketAsync(connection, transaction, id, pending).ConfigureAwait(false);
        if (incident is null)
        {
            return new IncidentUpdate(IncidentUpdateOutcome.NotFound, null, $"No incident {id}.");
        }

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
        var line = Line(stamped);
        audit.Append(writes, new AuditRecord(AuditActor.Bot, AuditActions.IncidentDiagnosed, id, Detail: line));
        afterCommit.Notify(saved, IncidentChange.Diagnosed, stamped.Summary);
        afterCommit.OweNews(writes);
        await writes.ExecuteAsync(connection, transaction).ConfigureAwait(false);
        afterCommit.Diagnosed(stamped.Cause);
        return new IncidentUpdate(IncidentUpdateOutcome.Changed, saved, line);
    }

    private static string Line(Core.Diagnoses.Diagnosis diagnosis) =>
        $"{diagnosis.Cause.ToSnakeCase()} ({diagnosis.ConfidenceLabel} confidence): {diagnosis.Summary}";
}
