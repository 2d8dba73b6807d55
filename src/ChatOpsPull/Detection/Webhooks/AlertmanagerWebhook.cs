using ChatOpsPull.Core.Failures;
using ChatOpsPull.Incidents;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Detection.Webhooks;

/// <summary><c>POST /alerts/alertmanager</c>: Alertmanager's webhook receiver, payload version 4.</summary>
public sealed class AlertmanagerWebhook
{
    private readonly WebhookReceiver _receiver;
    private readonly AlertmanagerPayloadReader _reader;
    private readonly SeenAlerts _seen;
    private readonly ILogger<AlertmanagerWebhook> _logger;

    public AlertmanagerWebhook(
        IOptions<AlertWebhookOptions> shared,
        IOptions<AlertmanagerWebhookOptions> options,
        IOptions<BotOptions> bot,
        AlertWebhookCounts counts,
        TimeProvider time,
        ILogger<AlertmanagerWebhook> logger)
    {
        _logger = logger;
        _receiver = new WebhookReceiver(AlertEndpoint.Alertmanager, new WebhookAuthentication(options.Value, time), shared.Value.MaxBodyBytes, counts.Alertmanager, logger);
        _reader = new AlertmanagerPayloadReader(options.Value, PullReasonsOf(shared.Value), bot.Value.Cluster, time);
        _seen = new SeenAlerts(options.Value.DeduplicationCapacity);
    }

    /// <summary>Alert deliveries remembered to drop re-sends.</summary>
    public SeenAlerts Seen => _seen;

    public async Task<IResult> HandleAsync(HttpContext context)
    {
        var (body, refusal) = await _receiver.ReceiveAsync(context).ConfigureAwait(false);
        if (refusal is not null)
        {
            return refusal;
        }

        PayloadReading reading;
        long truncated;
        using (body)
        {
            reading = _reader.Read(body!.Span, out truncated);
        }

        if (reading.Batch is not { } batch)
        {
            return _receiver.Refuse(context, RejectionReason.BadPayload, StatusCodes.Status400BadRequest, "The body is not an Alertmanager webhook message (version 4) this endpoint can use.", reading.Errors);
        }

        if (truncated > 0)
        {
            _receiver.Counts.CountTruncated(truncated);
            AlertWebhookLog.Truncated(_logger, truncated);
        }

        return await AlertWebhookDelivery.DeliverAsync(context, AlertEndpoint.Alertmanager, batch, _seen, _receiver, _logger).ConfigureAwait(false);
    }

    internal static HashSet<string> PullReasonsOf(AlertWebhookOptions options)
    {
        var reasons = new HashSet<string>(PullFailure.PullReasons, StringComparer.Ordinal);
        reasons.UnionWith(options.ExtraPullReasons.Where(r => r.Length > 0));
        return reasons;
    }
}

/// <summary><c>POST /alerts</c>: the generic webhook for any other tool (one alert object or an array).</summary>
public sealed class GenericWebhook
{
    private readonly WebhookReceiver _receiver;
    private readonly GenericAlertReader _reader;
    private readonly ILogger<GenericWebhook> _logger;

    public GenericWebhook(
        IOptions<AlertWebhookOptions> shared,
        IOptions<GenericWebhookOptions> options,
        IOptions<BotOptions> bot,
        AlertWebhookCounts counts,
        TimeProvider time,
        ILogger<GenericWebhook> logger)
    {
        _logger = logger;
        _receiver = new WebhookReceiver(AlertEndpoint.Generic, new WebhookAuthentication(options.Value, time), shared.Value.MaxBodyBytes, counts.Generic, logger);
        _reader = new GenericAlertReader(options.Value, AlertmanagerWebhook.PullReasonsOf(shared.Value), bot.Value.Cluster, time);
    }

    public async Task<IResult> HandleAsync(HttpContext context)
    {
        var (body, refusal) = await _receiver.ReceiveAsync(context).ConfigureAwait(false);
        if (refusal is not null)
        {
            return refusal;
        }

        PayloadReading reading;
        using (body)
        {
            reading = _reader.Read(body!.Span);
        }

        if (reading.Batch is not { } batch)
        {
            return _receiver.Refuse(context, RejectionReason.BadPayload, StatusCodes.Status400BadRequest, "The body is not a pull-failure alert (or array of them) in the documented shape.", reading.Errors);
        }

        return await AlertWebhookDelivery.DeliverAsync(context, AlertEndpoint.Generic, batch, seen: null, _receiver, _logger).ConfigureAwait(false);
    }
}

/// <summary>The back half both endpoints share: deliver to <see cref="IPullFailureSink"/>, answer 200 or 503.</summary>
internal static class AlertWebhookDelivery
{
    public static async Task<IResult> DeliverAsync(HttpContext context, AlertEndpoint endpoint, PullAlertBatch batch, SeenAlerts? seen, WebhookReceiver receiver, ILogger logger)
    {
        WebhookReceipt receipt;
        try
        {
            var sink = context.RequestServices.GetRequiredService<IPullFailureSink>();
            receipt = await AlertDelivery.DeliverAsync(batch, sink, seen, receiver.Counts, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            AlertWebhookLog.DeliveryFailed(logger, endpoint, e);
            context.Response.Headers.RetryAfter = "5";
            return receiver.Refuse(context, RejectionReason.DeliveryFailed, StatusCodes.Status503ServiceUnavailable, "The incident engine did not take the alerts; retry later (alerts already taken are not taken twice).");
        }

        receiver.Counts.CountAccepted(receipt);
        AlertWebhookLog.Took(logger, endpoint, receipt.Alerts, receipt.Reported, receipt.Resolved, receipt.Ignored, receipt.Duplicates);
        return WebhookResults.Accepted(receipt);
    }
}
