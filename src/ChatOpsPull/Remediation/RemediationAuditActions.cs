namespace ChatOpsPull.Remediation;

/// <summary>The audit log actions of remediation jobs (beside <see cref="Approvals.ApprovalAuditActions"/> and the incident engine's <see cref="Incidents.AuditActions"/>).</summary>
public static class RemediationAuditActions
{
    public const string JobStarted = "job.started";
    public const string JobApplied = "job.applied";
    public const string JobFinished = "job.finished";

    /// <summary>The job would not act: the approval behind the run did not pass the check where it runs (<see cref="IRunAuthority"/>).</summary>
    public const string JobRefused = "job.refused";
}
