using ChatOpsPull.Storage;

namespace ChatOpsPull.Approvals;

/// <summary>
/// Approval requests (votes inline as JSON; <c>version</c> for optimistic concurrency; <c>pending_key</c> unique so an
/// incident has at most one pending request per plan), remediation runs (one per approved request, with a lease so one
/// worker acts at a time) and their steps (what each step meant to do and whether it is done). Times are Unix milliseconds.
/// </summary>
public static class ApprovalSchema
{
    public static readonly SchemaMigration ApprovalsAndRuns = new(
        "0500-approvals",
        """
        CREATE TABLE approval_requests (
            id TEXT PRIMARY KEY,
            incident_id TEXT NULL,
            cluster TEXT NOT NULL,
            namespace TEXT NOT NULL,
            plan_key TEXT NOT NULL,
            plan TEXT NOT NULL,
            requested_by TEXT NOT NULL,
            requested_at {bigint} NOT NULL,
            expires_at {bigint} NOT NULL,
            status TEXT NOT NULL,
            required INTEGER NOT NULL,
            votes TEXT NOT NULL,
            dry_run TEXT NULL,
            decided_at {bigint} NULL,
            pending_key TEXT NULL,
            version INTEGER NOT NULL
        );
        CREATE UNIQUE INDEX ux_approval_requests_pending ON approval_requests (pending_key);
        CREATE INDEX ix_approval_requests_incident ON approval_requests (incident_id, requested_at);
        CREATE INDEX ix_approval_requests_status ON approval_requests (status, expires_at);
        CREATE INDEX ix_approval_requests_requested ON approval_requests (requested_at);
        CREATE TABLE remediation_runs (
            approval_id TEXT PRIMARY KEY,
            incident_id TEXT NULL,
            cluster TEXT NOT NULL,
            plan TEXT NOT NULL,
            image TEXT NULL,
            status TEXT NOT NULL,
            detail TEXT NOT NULL,
            queued_at {bigint} NOT NULL,
            started_at {bigint} NULL,
            applied_at {bigint} NULL,
            finished_at {bigint} NULL,
            lease_owner TEXT NULL,
            lease_until {bigint} NULL,
            attempts INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX ix_remediation_runs_incident ON remediation_runs (incident_id, queued_at);
        CREATE INDEX ix_remediation_runs_status ON remediation_runs (status, lease_until);
        CREATE TABLE remediation_steps (
            approval_id TEXT NOT NULL REFERENCES remediation_runs (approval_id) ON DELETE CASCADE,
            step TEXT NOT NULL,
            intent TEXT NULL,
            result TEXT NULL,
            done_at {bigint} NULL,
            PRIMARY KEY (approval_id, step)
        );
        """)
    {
        Replaces = ["0501-approvals", "0502-remediation-runs"],
    };

    /// <summary>
    /// When a queued run stops waiting (in a fleet: the request's expiry, so a fix for a cluster whose bot is gone expires
    /// with the request instead of running hours later); null for runs that wait as long as it takes.
    /// </summary>
    public static readonly SchemaMigration RunDeadline = new(
        "1002-remediation-run-deadline",
        "ALTER TABLE remediation_runs ADD COLUMN start_by {bigint} NULL;");

    /// <summary>
    /// The signature of an approval decision (<see cref="DecisionSignature"/>), written in the transaction that approves the
    /// request by a bot holding the cluster's decision key; null when the fleet signs nothing (or outside a fleet).
    /// </summary>
    public static readonly SchemaMigration DecisionSignatures = new(
        "1003-approval-decision-signature",
        "ALTER TABLE approval_requests ADD COLUMN decision_signature TEXT NULL;");
}
