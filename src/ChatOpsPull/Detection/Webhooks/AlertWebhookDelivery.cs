using ChatOpsPull.Detection.Webhooks.Inbox;

namespace ChatOpsPull.Detection.Webhooks;

/// <summary>
/// The back half both endpoints share: the alerts to apply go into the <see cref="AlertInbox"/>; 200 once they are
/// committed there (the inbox drain hands them to the incident engine), 503 when the store cannot take them.
/// </summary>
internal static class AlertWebhookDelivery
{
    public static async Task<IResult> DeliverAsync(HttpContext context, AlertEndpoint endpoint, PullAlertBatch batch, SeenAlerts? seen, WebhookReceiver receiver, ILogger logger)
    {
        var plan = AlertDelivery.Plan(batch, seen);
        if (plan.ToApply.Count > 0)
        {
            try
            {
                var inbox = context.RequestServices.GetRequiredService<AlertInbox>();
                await inbox.AppendAsync(plan.ToApply, context.RequestAborted).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                AlertWebhookLog.DeliveryFailed(logger, endpoint, e);
                context.Response.Headers.RetryAfter = "5";
                return receiver.Refuse(context, RejectionReason.DeliveryFailed, StatusCodes.Status503ServiceUnavailable, "The alerts could not be stored; retry later; alerts already taken are safe to send again.");
            }
        }

        seen?.AddAll(plan.ToApply);

        var receipt = plan.Receipt;
        receiver.Counts.CountAccepted(receipt);
        AlertWebhookLog.Took(logger, endpoint, receipt.Alerts, receipt.Reported, receipt.Resolved, receipt.Ignored, receipt.Duplicates);
        return WebhookResults.Accepted(receipt);
    }
}
