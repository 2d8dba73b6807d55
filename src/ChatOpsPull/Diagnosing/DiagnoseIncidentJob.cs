using System.ComponentModel;
using ChatOpsPull.Diagnosing;
using ChatOpsPull.Incidents;
using ChatOpsPull.Jobs;
using Hangfire;

namespace ChatOpsPull.Diagnosing;

/// <summary>
/// Diagnoses one incident for one request (incident id + the version it had when the diagnosis was asked for) and stores
/// the result. Safe to run twice: a request already applied, or superseded by a newer one, is skipped before any work,
/// and <see cref="IncidentEngine.ApplyDiagnosisAsync"/> checks again in the same transaction as the write.
/// Hangfire retries it after a crash or restart (the job stays in storage until it succeeds).
/// </summary>
public sealed partial class DiagnoseIncidentJob(IncidentStore store, IncidentEngine engine, IIncidentDiagnoser diagnoser, ClusterJobs clusters, ILogger<DiagnoseIncidentJob> logger)
{
    [DisplayName("Diagnose {0} (request v{1})")]
    [AutomaticRetry(Attempts = 5, DelaysInSeconds = [5, 15, 60, 300, 900])]
    public async Task RunAsync(string incidentId, int requestVersion, CancellationToken cancellationToken)
    {
        var ticket = await store.GetDiagnosisTicketAsync(incidentId, cancellationToken).ConfigureAwait(false);
        if (ticket is null || ticket.Requested != requestVersion || ticket.Applied >= requestVersion)
        {
            LogSkipped(logger, incidentId, requestVersion);
            return;
        }

        var incident = await store.GetAsync(incidentId, cancellationToken).ConfigureAwait(false);
        if (incident is null)
        {
            return;
        }

        if (!clusters.RunsHere(incident.Key.Cluster))
        {
            LogOtherCluster(logger, incidentId, incident.Key.Cluster);
            return;
        }

        var diagnosis = await diagnoser.DiagnoseAsync(incident, cancellationToken).ConfigureAwait(false);
        var result = await engine.ApplyDiagnosisAsync(incidentId, requestVersion, diagnosis, cancellationToken).ConfigureAwait(false);
        LogApplied(logger, incidentId, requestVersion, result.Outcome);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Diagnosis of {IncidentId} v{Version} is already stored or superseded; skipped")]
    private static partial void LogSkipped(ILogger logger, string incidentId, int version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Diagnosis of {IncidentId} skipped: it is in cluster {Cluster}, which this bot does not act on (the job was on the wrong queue)")]
    private static partial void LogOtherCluster(ILogger logger, string incidentId, string cluster);

    [LoggerMessage(Level = LogLevel.Information, Message = "Diagnosis of {IncidentId} v{Version}: {Outcome}")]
    private static partial void LogApplied(ILogger logger, string incidentId, int version, IncidentUpdateOutcome outcome);
}

/// <summary>Enqueues <see cref="DiagnoseIncidentJob"/> on Hangfire, on the queue of the incident's cluster (in a fleet).</summary>
public sealed class HangfireDiagnosisScheduler(ClusterJobs jobs, IncidentStore store) : IDiagnosisScheduler
{
    public async Task EnqueueAsync(string incidentId, int requestVersion, CancellationToken cancellationToken)
    {
        var cluster = jobs.FleetMode ? await store.ClusterOfAsync(incidentId, cancellationToken).ConfigureAwait(false) : null;
        jobs.Enqueue<DiagnoseIncidentJob>(cluster, job => job.RunAsync(incidentId, requestVersion, CancellationToken.None));
    }
}
