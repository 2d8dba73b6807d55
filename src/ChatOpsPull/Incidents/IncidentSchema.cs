using ChatOpsPull.Storage;

namespace ChatOpsPull.Incidents;

/// <summary>Tables for incidents, their pods, mutes and the audit log. Times are Unix milliseconds.</summary>
public static class IncidentSchema
{
    public static readonly SchemaMigration Incidents = new(
        "0100-incidents",
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
            opened_at {bigint} NOT NULL,
            updated_at {bigint} NOT NULL,
            resolved_at {bigint} NULL,
            snoozed_until {bigint} NULL,
            rollup_of TEXT NULL,
            diagnosis TEXT NULL,
            diagnosis_requested INTEGER NOT NULL DEFAULT 0,
            diagnosis_applied INTEGER NOT NULL DEFAULT 0,
            reopen_notified_at {bigint} NULL,
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
            first_seen {bigint} NOT NULL,
            last_seen {bigint} NOT NULL,
            resolved_at {bigint} NULL,
            node_name TEXT NULL,
            PRIMARY KEY (incident_id, pod, container)
        );
        CREATE INDEX ix_incident_pods_pod ON incident_pods (pod);
        CREATE TABLE incident_mutes (
            id TEXT PRIMARY KEY,
            scope TEXT NOT NULL,
            cluster TEXT NOT NULL,
            pattern TEXT NOT NULL,
            until_at {bigint} NULL,
            created_by TEXT NOT NULL,
            created_at {bigint} NOT NULL,
            removed_at {bigint} NULL
        );
        CREATE TABLE audit_log (
            id {identity},
            at {bigint} NOT NULL,
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
        """)
    {
        Replaces = ["0101-incidents", "0102-audit-log"],

        // 0102 numbered audit lines GENERATED ALWAYS on PostgreSQL; {identity} is BY DEFAULT.
        Upgrade = dialect => dialect.IdentityByDefault("audit_log", "id"),
    };

    /// <summary>
    /// News owed: one row per incident whose latest news-bearing write (opened, pods changed, diagnosed, resolved …) has
    /// not been told to the notifiers yet, written in that write's transaction and removed once the news was told
    /// (ToldNews). A row older than the retell grace is told again from the stored incident
    /// (NewsRetell): a host that died between the commit and the card does not leave the card behind.
    /// Silent writes (last seen, a flapping reopen, a diagnosis request) write no row. <c>owed_at</c> is also the claim of
    /// a retell: a sweep takes a row by moving it (compare and set), so of two replicas one tells it.
    /// </summary>
    public static readonly SchemaMigration NewsOwed = new(
        "0180-incident-news-owed",
        """
        CREATE TABLE incident_news_owed (
            incident_id TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            change TEXT NOT NULL,
            detail TEXT NULL,
            own_card INTEGER NOT NULL DEFAULT 0,
            owed_at {bigint} NOT NULL
        );
        CREATE INDEX ix_incident_news_owed_at ON incident_news_owed (owed_at);
        """);

    /// <summary>
    /// Announcements owed: news another capability stored in its own transaction (an approval requested or decided, a
    /// remediation run started, applied or finished) and owes the incident's card, with what must be told (the change,
    /// the thread line, the state it moves the incident to) because the incident row alone cannot rebuild it. Removed
    /// once told, or in the transaction of the incident move that took it over; told again after the retell grace
    /// (NewsRetell) by compare and set on <c>owed_at</c>. See <see cref="OwedAnnouncements"/>.
    /// </summary>
    public static readonly SchemaMigration AnnouncementsOwed = new(
        "0220-incident-announcements-owed",
        """
        CREATE TABLE incident_announcements_owed (
            id TEXT PRIMARY KEY,
            incident_id TEXT NOT NULL,
            change TEXT NOT NULL,
            detail TEXT NULL,
            move_to TEXT NULL,
            actor_platform TEXT NOT NULL,
            actor_id TEXT NOT NULL,
            actor_name TEXT NOT NULL,
            owed_at {bigint} NOT NULL
        );
        CREATE INDEX ix_incident_announcements_owed_at ON incident_announcements_owed (owed_at);
        """);

    /// <summary>
    /// The version whose write made the news owed's <c>change</c> (kept with the change when a lighter change of a newer
    /// version is owed on top; NULL in rows from before: their <c>version</c>): with the change, the news's identity, so a
    /// retell has the key its first telling had and a thread line already sent is not sent again
    /// (<see cref="IncidentNewsKeys"/>).
    /// </summary>
    public static readonly SchemaMigration NewsOwedChangeVersion = new(
        "0261-incident-news-owed-change-version",
        "ALTER TABLE incident_news_owed ADD COLUMN change_version INTEGER NULL;");

    /// <summary>
    /// Until when a diagnosis request still not applied is taken (Unix ms; NULL: not taken): the diagnosis sweep
    /// (<c>DiagnosisSweepJob</c>) takes a request by compare and set on it, so of two sweeps — two hosts, or two runs
    /// while the first run's diagnosis is still going — one takes each request; a request handed to the diagnose job is
    /// taken for the job's retries. Taken again only once this time has passed (its taker died or gave up).
    /// </summary>
    public static readonly SchemaMigration DiagnosisTakenUntil = new(
        "0290-incident-diagnosis-taken-until",
        "ALTER TABLE incidents ADD COLUMN diagnosis_taken_until {bigint} NULL;");

    /// <summary>
    /// <c>incident_news_owed.owed_at</c> loses its index. Every news owed on top of a row not yet told (the upsert), and every
    /// retell's claim, moves <c>owed_at</c>: with the column indexed no such update could be HOT (each wrote a new tuple
    /// plus an entry in both indexes, and left dead ones for vacuum), in a storm on every round of every incident. The
    /// table holds only news not yet told (rows are removed within about 50 ms of the telling), so the retell sweep's read
    /// (<c>owed_at &lt; @olderThan ORDER BY owed_at</c>, once per grace) scans a handful of rows without it.
    /// </summary>
    public static readonly SchemaMigration NewsOwedAtUnindexed = new(
        "0400-incident-news-owed-at-unindexed",
        "DROP INDEX IF EXISTS ix_incident_news_owed_at;");

    /// <summary>
    /// PostgreSQL: <c>incidents</c> pages are filled to half. A row carries its diagnosis (about 1.5 KB), so a full page held
    /// four and had no room for the new version a write makes: in a storm, where every round writes its incident again, a
    /// quarter of those writes went to another page and added an entry to each of the table's six indexes (not HOT). Half
    /// a page leaves room for the next versions, and PostgreSQL prunes the dead ones when the page gets short of it. Applies
    /// to pages filled from now on (rows already stored move as they are written); takes no lock that stops reads or writes,
    /// so replicas of the release before go on writing while one migrates.
    /// </summary>
    public static readonly SchemaMigration IncidentsHalfFilledPages = new(
        "0420-incidents-half-filled-pages",
        "ALTER TABLE incidents SET (fillfactor = 50);")
    {
        OnlyOn = DatabaseProvider.Postgres,
    };
}
