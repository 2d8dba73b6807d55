using ChatOpsPull.Storage;

namespace ChatOpsPull.Fleet;

/// <summary>
/// <c>fleet_clusters</c>: every cluster that ever joined, with its Hangfire queue (unique, so two names that map to one
/// queue cannot both join), its install profile (whether its bot runs fixes) and the identity of its API server (the kube-system namespace uid). <c>fleet_bots</c>: one row
/// per running bot (a replica), refreshed by its heartbeat; a cluster with a row seen inside Fleet:LiveWindow is live.
/// Times are Unix milliseconds.
/// </summary>
public static class FleetSchema
{
    public static readonly SchemaMigration Fleet = new(
        "1001-fleet",
        """
        CREATE TABLE fleet_clusters (
            cluster TEXT PRIMARY KEY,
            queue TEXT NOT NULL,
            api_server_uid TEXT NULL,
            profile TEXT NOT NULL,
            joined_at {bigint} NOT NULL,
            seen_at {bigint} NOT NULL
        );
        CREATE UNIQUE INDEX ux_fleet_clusters_queue ON fleet_clusters (queue);
        CREATE TABLE fleet_bots (
            instance TEXT PRIMARY KEY,
            cluster TEXT NULL,
            role TEXT NOT NULL,
            api_server_uid TEXT NULL,
            host TEXT NOT NULL,
            started_at {bigint} NOT NULL,
            seen_at {bigint} NOT NULL
        );
        CREATE INDEX ix_fleet_bots_cluster ON fleet_bots (cluster, seen_at);
        """);

    /// <summary>
    /// <c>fleet_relays</c>: a question only another cluster's bot can answer (a live <c>diagnose</c>), asked by the bot that
    /// took the chat message and answered by a job on that cluster's queue. The answer is the reply as JSON, read back by
    /// the asking bot; rows older than a day are removed when a new one is written.
    /// </summary>
    public static readonly SchemaMigration Relays = new(
        "1002-fleet-relays",
        """
        CREATE TABLE fleet_relays (
            id TEXT PRIMARY KEY,
            cluster TEXT NOT NULL,
            namespace TEXT NOT NULL,
            subject TEXT NOT NULL,
            asked_at {bigint} NOT NULL,
            expires_at {bigint} NOT NULL,
            answer TEXT NULL,
            answered_at {bigint} NULL
        );
        CREATE INDEX ix_fleet_relays_asked ON fleet_relays (asked_at);
        """);
}
