using System.ComponentModel;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Incidents;
using ChatOpsPull.Jobs;
using Hangfire;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Approvals;

/// <summary>
/// Runs the low-risk fixes named in Approvals:AutoRun without waiting for anyone — when a diagnosis arrives whose
/// registry evidence confirms the image can be pulled now (e.g. delete the pods stuck in back-off once the tag exists).
/// The notifier only enqueues <see cref="AutoRunJob"/>: the request, its dry run and the job it approves run on the job
/// queue, not inside the card delivery of the incident engine.
/// </summary>
public sealed class AutoRunOnDiagnosis(ClusterJobs jobs, IOptionsMonitor<ApprovalOptions> options, IOptions<BotOptions> bot) : IIncidentNotifier
{
    public Task IncidentChangedAsync(Incident incident, IncidentChange change, string? detail, string? newsKey, CancellationToken cancellationToken)
    {
        // Observe: nothing runs, so nothing is enqueued (the approval workflow would refuse the request anyway).
        if (change == IncidentChange.Diagnosed && bot.Value.Remediates && options.CurrentValue.AutoRun.Count > 0 && !incident.IsClosed
            && ApprovalWorkflow.RegistryConfirmsPullable(incident.Diagnosis))
        {
            // The requests it makes dry-run against the cluster: in a fleet, on the incident's cluster.
            jobs.Enqueue<AutoRunJob>(incident.Key.Cluster, job => job.RunAsync(incident.Id, CancellationToken.None));
        }

        return Task.CompletedTask;
    }
}

/// <summary>
/// Asks for every auto-runnable plan of the incident's current diagnosis as ChatOpsPull (at most once per incident and
/// plan; each is in the audit log as requested by ChatOpsPull). Idempotent, so a retried or duplicated job asks nothing twice.
/// </summary>
public sealed partial class AutoRunJob(IncidentStore incidents, ApprovalWorkflow approvals, ClusterJobs clusters, ILogger<AutoRunJob> logger)
{
    [DisplayName("Auto-run fixes for {0}")]
    [AutomaticRetry(Attempts = 3)]
    public async Task RunAsync(string incidentId, CancellationToken cancellationToken)
    {
        if (await incidents.GetAsync(incidentId, cancellationToken).ConfigureAwait(false) is not { IsClosed: false, Diagnosis: { } diagnosis } incident
            || !clusters.RunsHere(incident.Key.Cluster))
        {
            return;
        }

        foreach (var plan in diagnosis.Remediations)
        {
            var result = await approvals.AutoRunAsync(incident, plan, cancellationToken).ConfigureAwait(false);
            if (result is not null)
            {
                LogAutoRun(logger, incident.Id, plan.Key, result.Outcome);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Auto-run for {IncidentId}: {PlanKey} → {Outcome}")]
    private static partial void LogAutoRun(ILogger logger, string incidentId, string planKey, Core.Approvals.ApprovalOutcome outcome);
}
