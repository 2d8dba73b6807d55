using ChatOpsPull.Core.Failures;
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
