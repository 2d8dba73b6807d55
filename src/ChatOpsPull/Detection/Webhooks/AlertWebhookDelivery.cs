using ChatOpsPull.Incidents;

namespace ChatOpsPull.Detection.Webhooks;

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
            return receiver.Refuse(context, RejectionReason.DeliveryFailed, StatusCodes.Status503ServiceUnavailable, "The incident engine did not take the alerts; retry later; alerts already taken are safe to send again.");
        }

        receiver.Counts.CountAccepted(receipt);
        AlertWebhookLog.Took(logger, endpoint, receipt.Alerts, receipt.Reported, receipt.Resolved, receipt.Ignored, receipt.Duplicates);
        return WebhookResults.Accepted(receipt);
    }
}
