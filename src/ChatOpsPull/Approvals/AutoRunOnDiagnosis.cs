using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Incidents;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Approvals;

/// <summary>
/// Runs the low-risk fixes named in Approvals:AutoRun without waiting for anyone — when a diagnosis arrives whose
/// registry evidence confirms the image can be pulled now (e.g. delete the pods stuck in back-off once the tag exists).
/// At most once per incident and plan; every such run is in the audit log as requested by ChatOpsPull.
/// </summary>
public sealed partial class AutoRunOnDiagnosis(IServiceProvider services, IOptionsMonitor<ApprovalOptions> options, ILogger<AutoRunOnDiagnosis> logger) : IIncidentNotifier
{
    public async Task IncidentChangedAsync(Incident incident, IncidentChange change, string? detail, CancellationToken cancellationToken)
    {
        if (change != IncidentChange.Diagnosed || options.CurrentValue.AutoRun.Count == 0 || incident.Diagnosis is not { } diagnosis || incident.IsClosed)
        {
            return;
        }

        if (!ApprovalService.RegistryConfirmsPullable(diagnosis))
        {
            return;
        }

        // Resolved here, not injected: the approval service reaches the incident engine, which holds the notifiers.
        var approvals = services.GetRequiredService<ApprovalService>();
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
