namespace ChatOpsPull.Detection.Webhooks;

public static class AlertEndpoints
{
    /// <summary>
    /// <c>POST /alerts/alertmanager</c> (Alertmanager webhook_configs, version 4) and <c>POST /alerts</c> (the generic shape).
    /// Both authenticate (bearer token or HMAC signature), and refuse everything while no credential is configured.
    /// </summary>
    public static IEndpointRouteBuilder MapAlerts(this IEndpointRouteBuilder app)
    {
        app.MapPost("/alerts/alertmanager", async context =>
        {
            var result = await context.RequestServices.GetRequiredService<AlertmanagerWebhook>().HandleAsync(context).ConfigureAwait(false);
            await result.ExecuteAsync(context).ConfigureAwait(false);
        }).WithName("AlertmanagerWebhook");
        app.MapPost("/alerts", async context =>
        {
            var result = await context.RequestServices.GetRequiredService<GenericWebhook>().HandleAsync(context).ConfigureAwait(false);
            await result.ExecuteAsync(context).ConfigureAwait(false);
        }).WithName("GenericAlertWebhook");
        return app;
    }
}
