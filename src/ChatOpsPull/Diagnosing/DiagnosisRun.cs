using System.Diagnostics;
using ChatOpsPull.Incidents;
using ChatOpsPull.Jobs;
using ChatOpsPull.Observability;

namespace ChatOpsPull.Diagnosing;

/// <summary>
/// One diagnosis request carried out: incident id + the version it had when the diagnosis was asked for. Used by the
/// in-process workers (<see cref="DiagnosisWorkers"/>) and the durable job (<see cref="DiagnoseIncidentJob"/>); safe
/// to run twice or from both at once: a request already applied, or superseded by a newer one, is skipped before any
/// work, and <see cref="IncidentEngine.ApplyDiagnosisAsync"/> checks again in the same transaction as the write, so one
/// request is stored (and carded) once. Its result is written ahead of queued bulk writes (<see cref="Storage.SqliteWriteTurn.GoAhead"/>).
/// Records where the time went as diagnosis_stage_seconds.
/// </summary>
public sealed partial class DiagnosisRun(IncidentStore store, IncidentEngine engine, IIncidentDiagnoser diagnoser, ClusterJobs clusters, BotMetrics metrics, ILogger<DiagnosisRun> logger)
{
    /// <param name="queueWait">Time from the request to this run, when known (in process); null for a job run.</param>
    /// <param name="diagnosed">
    /// Called once the diagnosis is made and handed to the write side (or the request is skipped): the in-process worker
    /// takes its next request from then on. The result's durability is the ticket's until the write commits.
    /// </param>
    /// <returns>The outcome of storing the diagnosis, or null when the request was skipped before any work.</returns>
    public async Task<IncidentUpdateOutcome?> RunAsync(string incidentId, int requestVersion, TimeSpan? queueWait, CancellationToken cancellationToken, Action? diagnosed = null)
    {
        var times = new DiagnosisStageTimes();
        DiagnosisStageTimes.Begin(times);
        if (queueWait is { } waited)
        {
            times.Add(DiagnosisStage.QueueWait, waited);
        }

        var started = Stopwatch.GetTimestamp();
        // Asked for when the request was queued (in process) or now (a job run): no evidence older than that is used.
        var askedAt = started - (queueWait is { } queued ? (long)(queued.TotalSeconds * Stopwatch.Frequency) : 0);
        var (ticket, incident) = await store.GetForDiagnosisAsync(incidentId, requestVersion, cancellationToken).ConfigureAwait(false);
        if (ticket is null || ticket.Requested != requestVersion || ticket.Applied >= requestVersion)
        {
            LogSkipped(logger, incidentId, requestVersion);
            return null;
        }

        times.Add(DiagnosisStage.Database, Stopwatch.GetElapsedTime(started));
        if (incident is null)
        {
            return null;
        }

        if (!clusters.RunsHere(incident.Key.Cluster))
        {
            LogOtherCluster(logger, incidentId, incident.Key.Cluster);
            return null;
        }

        var diagnosis = await diagnoser.DiagnoseAsync(incident, askedAt, cancellationToken).ConfigureAwait(false);

        // The card stage is measured inside (the notifiers are told in this flow); the rest of the call is the database.
        var cardBefore = times[DiagnosisStage.Card];
        started = Stopwatch.GetTimestamp();
        IncidentUpdate result;
        diagnosed?.Invoke();
        // Someone is waiting for this write (the incident's card): on SQLite it takes the write turn ahead of the intake
        // batches queued for it, instead of after every one of them (the database stage was 100–230 ms in a storm), and
        // rides the group transaction under way, which then commits without the intake rounds it had still to run.
        using (store.Database.WriteTurn.GoAhead())
        {
            result = await engine.ApplyDiagnosisAsync(incident, requestVersion, diagnosis, cancellationToken).ConfigureAwait(false);
        }

        times.Add(DiagnosisStage.Database, Stopwatch.GetElapsedTime(started) - (times[DiagnosisStage.Card] - cardBefore));
        metrics.DiagnosisStages(times, queued: queueWait is not null);
        LogApplied(logger, incidentId, requestVersion, result.Outcome);
        return result.Outcome;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Diagnosis of {IncidentId} v{Version} is already stored or superseded; skipped")]
    private static partial void LogSkipped(ILogger logger, string incidentId, int version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Diagnosis of {IncidentId} skipped: it is in cluster {Cluster}, which this bot does not act on (the job was on the wrong queue)")]
    private static partial void LogOtherCluster(ILogger logger, string incidentId, string cluster);

    [LoggerMessage(Level = LogLevel.Information, Message = "Diagnosis of {IncidentId} v{Version}: {Outcome}")]
    private static partial void LogApplied(ILogger logger, string incidentId, int version, IncidentUpdateOutcome outcome);
}
