using ChatOpsPull.Storage;

namespace ChatOpsPull.Chat.Slack;

/// <summary>Slack's own tables. Times are Unix milliseconds (UTC).</summary>
internal static class SlackSchema
{
    /// <summary>Event and envelope ids already processed (Slack retries; Socket Mode may redeliver), kept until they expire.</summary>
    public static readonly SchemaMigration SeenEvents = new(
        "0202-slack-seen-events",
        """
        CREATE TABLE slack_seen_events (id TEXT PRIMARY KEY, seen_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
        CREATE INDEX ix_slack_seen_events_expires ON slack_seen_events (expires_at);
        """,
        """
        CREATE TABLE slack_seen_events (id TEXT PRIMARY KEY, seen_at BIGINT NOT NULL, expires_at BIGINT NOT NULL);
        CREATE INDEX ix_slack_seen_events_expires ON slack_seen_events (expires_at);
        """);

    /// <summary>Which message shows a card in a channel: one per card key per channel, updated in place.</summary>
    public static readonly SchemaMigration CardMessages = new(
        "0203-slack-card-messages",
        """
        CREATE TABLE slack_card_messages (channel TEXT NOT NULL, card_key TEXT NOT NULL, ts TEXT NOT NULL, posted_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (channel, card_key));
        CREATE INDEX ix_slack_card_messages_ts ON slack_card_messages (channel, ts);
        """,
        """
        CREATE TABLE slack_card_messages (channel TEXT NOT NULL, card_key TEXT NOT NULL, ts TEXT NOT NULL, posted_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, PRIMARY KEY (channel, card_key));
        CREATE INDEX ix_slack_card_messages_ts ON slack_card_messages (channel, ts);
        """);
}
