namespace ChatOpsPull.Detection.Webhooks;

/// <summary>Which webhook endpoint.</summary>
public enum AlertEndpoint
{
    Alertmanager,
    Generic,
}

/// <summary>Why a request was turned away.</summary>
public enum RejectionReason
{
    NotConfigured,
    Unauthorized,
    UnsupportedMediaType,
    TooLarge,
    BadPayload,
    DeliveryFailed,
}

/// <summary>Running totals of one endpoint, safe to update from many requests at once.</summary>
public sealed class AlertEndpointCounts
{
    private readonly long[] _rejected = new long[Enum.GetValues<RejectionReason>().Length];
    private long _accepted;
    private long _reported;
    private long _resolved;
    private long _ignored;
    private long _duplicates;
    private long _truncated;

    /// <summary>Requests answered 200.</summary>
    public long Accepted => Interlocked.Read(ref _accepted);

    /// <summary>Firing pull failures accepted for the incident engine (stored in the alert inbox).</summary>
    public long Reported => Interlocked.Read(ref _reported);

    /// <summary>Resolved pull failures accepted for the incident engine (stored in the alert inbox).</summary>
    public long Resolved => Interlocked.Read(ref _resolved);

    /// <summary>Alerts acknowledged but not about image pulls.</summary>
    public long Ignored => Interlocked.Read(ref _ignored);

    /// <summary>Alert re-sends dropped because they were delivered before.</summary>
    public long Duplicates => Interlocked.Read(ref _duplicates);

    /// <summary>Alerts Alertmanager left out of its payloads (<c>truncatedAlerts</c>, from <c>max_alerts</c>).</summary>
    public long Truncated => Interlocked.Read(ref _truncated);

    public long Rejected(RejectionReason reason) => Interlocked.Read(ref _rejected[(int)reason]);

    internal void CountRejected(RejectionReason reason) => Interlocked.Increment(ref _rejected[(int)reason]);

    internal void CountTruncated(long alerts) => Interlocked.Add(ref _truncated, alerts);

    internal void CountAccepted(WebhookReceipt receipt)
    {
        Interlocked.Increment(ref _accepted);
        Interlocked.Add(ref _ignored, receipt.Ignored);
        Interlocked.Add(ref _duplicates, receipt.Duplicates);
        Interlocked.Add(ref _reported, receipt.Reported);
        Interlocked.Add(ref _resolved, receipt.Resolved);
    }
}

/// <summary>Counts kept by the alert webhooks, for the metrics endpoint to expose.</summary>
public sealed class AlertWebhookCounts
{
    public AlertEndpointCounts Alertmanager { get; } = new();

    public AlertEndpointCounts Generic { get; } = new();

    public AlertEndpointCounts For(AlertEndpoint endpoint) => endpoint switch
    {
        AlertEndpoint.Alertmanager => Alertmanager,
        AlertEndpoint.Generic => Generic,
        _ => throw new ArgumentOutOfRangeException(nameof(endpoint), endpoint, "not an alert endpoint"),
    };
}
