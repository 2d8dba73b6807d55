using ChatOpsPull.Storage;

namespace ChatOpsPull.Chat.Outbox;

/// <summary>
/// Tables of the outbound chat queue. Times are Unix milliseconds (UTC) so both engines compare them the same way.
/// <c>chat_outbox_lanes</c> has one row per (platform, channel): the lane a replica leases to send that channel's next
/// message, and the earliest time it may (pacing, Retry-After, backoff).
/// </summary>
internal static class OutboxSchema
{
    public static readonly SchemaMigration Outbox = new(
        "0201-chat-outbox",
        """
        CREATE TABLE chat_outbox (
            id {identity},
            platform TEXT NOT NULL,
            channel TEXT NOT NULL,
            operation TEXT NOT NULL,
            payload TEXT NOT NULL,
            dedupe_key TEXT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            not_before {bigint} NOT NULL,
            last_error TEXT NULL,
            created_at {bigint} NOT NULL,
            updated_at {bigint} NOT NULL,
            state TEXT NOT NULL,
            lease_owner TEXT NULL,
            lease_until {bigint} NULL,
            sent_by TEXT NULL
        );
        CREATE INDEX ix_chat_outbox_lane ON chat_outbox (platform, channel, state, id);
        CREATE INDEX ix_chat_outbox_state ON chat_outbox (state, updated_at);
        CREATE UNIQUE INDEX ux_chat_outbox_pending_dedupe ON chat_outbox (dedupe_key) WHERE state = 'pending';
        CREATE TABLE chat_outbox_lanes (
            platform TEXT NOT NULL,
            channel TEXT NOT NULL,
            next_at {bigint} NOT NULL,
            lease_owner TEXT NULL,
            lease_until {bigint} NULL,
            PRIMARY KEY (platform, channel)
        );
        """);

    /// <summary>
    /// A message that must be sent once ever (a thread line: "approved by bob", "Running …") carries its identity in
    /// <c>once_key</c>, made by its surface from the news it tells (not from its text). The unique index makes a second
    /// enqueue with the same identity a no-op whether the first is pending, being sent, sent or given up; the identity
    /// lives as long as its row (delivered rows are purged after Outbox:KeepDelivered), so it stays bounded.
    /// </summary>
    public static readonly SchemaMigration OnceKeys = new(
        "0260-chat-outbox-once-keys",
        """
        ALTER TABLE chat_outbox ADD COLUMN once_key TEXT NULL;
        CREATE UNIQUE INDEX ux_chat_outbox_once_key ON chat_outbox (once_key);
        """);
}
