namespace ChatOpsPull.Detection.Webhooks;

/// <summary>The webhooks' log lines. None carries a credential or a header value.</summary>
internal static partial class AlertWebhookLog
{
    [LoggerMessage(EventId = 4100, Level = LogLevel.Warning, Message = "{Endpoint} webhook refused a request from {Remote} with {Status}: {Detail}")]
    public static partial void Refused(ILogger logger, AlertEndpoint endpoint, string? remote, int status, string detail);

    [LoggerMessage(EventId = 4101, Level = LogLevel.Debug, Message = "{Endpoint} webhook took {Alerts} alerts: {Reported} reported, {Resolved} resolved, {Ignored} ignored, {Duplicates} duplicates")]
    public static partial void Took(ILogger logger, AlertEndpoint endpoint, int alerts, int reported, int resolved, int ignored, int duplicates);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "Alertmanager left {Truncated} alerts out of a notification (max_alerts of the receiver); they are not seen here")]
    public static partial void Truncated(ILogger logger, long truncated);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Error, Message = "{Endpoint} webhook could not store its alerts in the alert inbox; the sender is asked to retry")]
    public static partial void DeliveryFailed(ILogger logger, AlertEndpoint endpoint, Exception exception);
}
