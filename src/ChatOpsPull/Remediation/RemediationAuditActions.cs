namespace ChatOpsPull.Remediation;

/// <summary>The audit log actions of remediation jobs (beside <see cref="Approvals.ApprovalAuditActions"/> and the incident engine's <see cref="Incidents.AuditActions"/>).</summary>
public static class RemediationAuditActions
{
    public const string JobStarted = "job.started";
    public const string JobApplied = "job.applied";
    public const string JobFinished = "job.finished";
}
