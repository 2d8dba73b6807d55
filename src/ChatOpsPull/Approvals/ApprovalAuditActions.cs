namespace ChatOpsPull.Approvals;

/// <summary>The audit log actions of approvals (beside <see cref="Remediation.RemediationAuditActions"/> and the incident engine's <see cref="Incidents.AuditActions"/>).</summary>
public static class ApprovalAuditActions
{
    public const string Requested = "approval.requested";
    public const string Voted = "approval.voted";
    public const string Approved = "approval.approved";
    public const string Denied = "approval.denied";
    public const string Expired = "approval.expired";

    /// <summary>A click or request that the policy (or a closed incident, a wrong cluster, an impossible dry run) refused.</summary>
    public const string Refused = "approval.refused";
}
