using ChatOpsPull.Storage;

namespace ChatOpsPull.Chat.Slack;

/// <summary>
/// Slack's own tables. Times are Unix milliseconds (UTC). <c>slack_seen_events</c>: event and envelope ids already
/// processed (Slack retries; Socket Mode may redeliver), kept until they expire. <c>slack_card_messages</c>: which message
/// shows a card in a channel, one per card key per channel, updated in place.
/// </summary>
internal static class SlackSchema
{
    public static readonly SchemaMigration Slack = new(
        "0210-slack",
        """
        CREATE TABLE slack_seen_events (
            id TEXT PRIMARY KEY,
            seen_at {bigint} NOT NULL,
            expires_at {bigint} NOT NULL
        );
        CREATE INDEX ix_slack_seen_events_expires ON slack_seen_events (expires_at);
        CREATE TABLE slack_card_messages (
            channel TEXT NOT NULL,
            card_key TEXT NOT NULL,
            ts TEXT NOT NULL,
            posted_at {bigint} NOT NULL,
            updated_at {bigint} NOT NULL,
            PRIMARY KEY (channel, card_key)
        );
        CREATE INDEX ix_slack_card_messages_ts ON slack_card_messages (channel, ts);
        """)
    {
        Replaces = ["0202-slack-seen-events", "0203-slack-card-messages"],
    };
}
