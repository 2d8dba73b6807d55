using Microsoft.Extensions.Options;

namespace ChatOpsPull.Detection.Webhooks;

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
