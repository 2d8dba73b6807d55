using ChatOpsPull.Storage;

namespace ChatOpsPull.Incidents;

/// <summary>Tables for incidents, their pods, mutes and the audit log (both dialects; times are Unix milliseconds).</summary>
public static class IncidentSchema
{
    public static readonly SchemaMigration Incidents = new(
        "0101-incidents",
        """
        CREATE TABLE incidents (
            id TEXT PRIMARY KEY,
            cluster TEXT NOT NULL,
            namespace TEXT NOT NULL,
            subject TEXT NOT NULL,
            cause TEXT NOT NULL,
            open_key TEXT NULL,
            storm_key TEXT NOT NULL,
            image TEXT NOT NULL,
            state TEXT NOT NULL,
            workload_kind TEXT NULL,
            workload_name TEXT NULL,
            opened_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            resolved_at INTEGER NULL,
            snoozed_until INTEGER NULL,
            rollup_of TEXT NULL,
            diagnosis TEXT NULL,
            diagnosis_requested INTEGER NOT NULL DEFAULT 0,
            diagnosis_applied INTEGER NOT NULL DEFAULT 0,
            reopen_notified_at INTEGER NULL,
            version INTEGER NOT NULL
        );
        CREATE UNIQUE INDEX ux_incidents_open_key ON incidents (open_key);
        CREATE INDEX ix_incidents_subject ON incidents (cluster, namespace, subject);
        CREATE INDEX ix_incidents_storm ON incidents (storm_key, opened_at);
        CREATE INDEX ix_incidents_resolved ON incidents (resolved_at);
        CREATE INDEX ix_incidents_opened ON incidents (opened_at);
        CREATE TABLE incident_pods (
            incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
            pod TEXT NOT NULL,
            container TEXT NOT NULL,
            reason TEXT NOT NULL,
            message TEXT NOT NULL,
            first_seen INTEGER NOT NULL,
            last_seen INTEGER NOT NULL,
            resolved_at INTEGER NULL,
            node_name TEXT NULL,
            PRIMARY KEY (incident_id, pod, container)
        );
        CREATE INDEX ix_incident_pods_pod ON incident_pods (pod);
        CREATE TABLE incident_mutes (
            id TEXT PRIMARY KEY,
            scope TEXT NOT NULL,
            cluster TEXT NOT NULL,
            pattern TEXT NOT NULL,
            until_at INTEGER NULL,
            created_by TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            removed_at INTEGER NULL
        );
        """,
        """
        CREATE TABLE incidents (
            id TEXT PRIMARY KEY,
            cluster TEXT NOT NULL,
            namespace TEXT NOT NULL,
            subject TEXT NOT NULL,
            cause TEXT NOT NULL,
            open_key TEXT NULL,
            storm_key TEXT NOT NULL,
            image TEXT NOT NULL,
            state TEXT NOT NULL,
            workload_kind TEXT NULL,
            workload_name TEXT NULL,
            opened_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            resolved_at BIGINT NULL,
            snoozed_until BIGINT NULL,
            rollup_of TEXT NULL,
            diagnosis TEXT NULL,
            diagnosis_requested INTEGER NOT NULL DEFAULT 0,
            diagnosis_applied INTEGER NOT NULL DEFAULT 0,
            reopen_notified_at BIGINT NULL,
            version INTEGER NOT NULL
        );
        CREATE UNIQUE INDEX ux_incidents_open_key ON incidents (open_key);
        CREATE INDEX ix_incidents_subject ON incidents (cluster, namespace, subject);
        CREATE INDEX ix_incidents_storm ON incidents (storm_key, opened_at);
        CREATE INDEX ix_incidents_resolved ON incidents (resolved_at);
        CREATE INDEX ix_incidents_opened ON incidents (opened_at);
        CREATE TABLE incident_pods (
            incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
            pod TEXT NOT NULL,
            container TEXT NOT NULL,
            reason TEXT NOT NULL,
            message TEXT NOT NULL,
            first_seen BIGINT NOT NULL,
            last_seen BIGINT NOT NULL,
            resolved_at BIGINT NULL,
            node_name TEXT NULL,
            PRIMARY KEY (incident_id, pod, container)
        );
        CREATE INDEX ix_incident_pods_pod ON incident_pods (pod);
        CREATE TABLE incident_mutes (
            id TEXT PRIMARY KEY,
            scope TEXT NOT NULL,
            cluster TEXT NOT NULL,
            pattern TEXT NOT NULL,
            until_at BIGINT NULL,
            created_by TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            removed_at BIGINT NULL
        );
        """);

    public static readonly SchemaMigration Audit = new(
        "0102-audit-log",
        """
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at INTEGER NOT NULL,
            actor_platform TEXT NOT NULL,
            actor_id TEXT NOT NULL,
            actor_name TEXT NOT NULL,
            action TEXT NOT NULL,
            incident_id TEXT NULL,
            approval_id TEXT NULL,
            detail TEXT NULL,
            outcome TEXT NOT NULL
        );
        CREATE INDEX ix_audit_incident ON audit_log (incident_id, id);
        CREATE INDEX ix_audit_approval ON audit_log (approval_id, id);
        """,
        """
        CREATE TABLE audit_log (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at BIGINT NOT NULL,
            actor_platform TEXT NOT NULL,
            actor_id TEXT NOT NULL,
            actor_name TEXT NOT NULL,
            action TEXT NOT NULL,
            incident_id TEXT NULL,
            approval_id TEXT NULL,
            detail TEXT NULL,
            outcome TEXT NOT NULL
        );
        CREATE INDEX ix_audit_incident ON audit_log (incident_id, id);
        CREATE INDEX ix_audit_approval ON audit_log (approval_id, id);
        """);
}
