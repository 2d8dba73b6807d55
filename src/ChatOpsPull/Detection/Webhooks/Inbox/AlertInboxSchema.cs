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
}
