using ChatOpsPull.Storage;

namespace ChatOpsPull.Detection.Webhooks.Inbox;

/// <summary>
/// The alert inbox: one row per accepted webhook request, holding the alerts the incident engine must hear (JSON), kept
/// until they are applied. Times are Unix milliseconds.
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
}
