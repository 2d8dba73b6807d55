using ChatOpsPull.Storage;

namespace ChatOpsPull.Detection.Webhooks.Inbox;

/// <summary>
/// The alert inbox: one row per accepted webhook request, holding the alerts the incident engine must hear (JSON), kept
/// until they are applied. Times are Unix milliseconds. Since 0151 a row holds the alerts of one subject, named in
/// <c>subject</c> (<see cref="AlertInbox.SubjectKey"/>; null in rows written before).
/// </summary>
public static class AlertInboxSchema
{
    public static readonly SchemaMigration AlertInbox = new(
        "0150-alert-inbox",
        """
        CREATE TABLE alert_inbox (
            id {identity},
            received_at {bigint} NOT NULL,
            alerts TEXT NOT NULL
        );
        """);

    public static readonly SchemaMigration AlertInboxSubject = new(
        "0151-alert-inbox-subject",
        """
        ALTER TABLE alert_inbox ADD COLUMN subject TEXT;
        CREATE INDEX alert_inbox_subject ON alert_inbox (subject, id);
        """);

    /// <summary>
    /// Inbox rows the drain could not read (written by another version of the bot, or damaged), set aside with the
    /// reason instead of being tried again forever or dropped: an operator can look at them (and move them back).
    /// </summary>
    public static readonly SchemaMigration AlertInboxQuarantine = new(
        "0152-alert-inbox-quarantine",
        """
        CREATE TABLE alert_inbox_quarantine (
            id {bigint} NOT NULL,
            received_at {bigint} NOT NULL,
            subject TEXT,
            alerts TEXT NOT NULL,
            quarantined_at {bigint} NOT NULL,
            reason TEXT NOT NULL
        );
        """);
}
