namespace ChatOpsPull.Observability;

/// <summary>
/// Counts every inbound request the bot turns away (an answer of 400 or more) as <c>chatopspull_rejected_requests</c>,
/// labelled by endpoint (from a fixed list of path prefixes) and reason (from the status code), so forged signatures,
/// bad tokens, floods and scans show up in one place whichever capability refused them. Both labels are closed sets.
/// </summary>
public sealed class RejectedRequestMetrics(RequestDelegate next, BotMetrics metrics)
{
    public async Task InvokeAsync(HttpContext context)
    {
        await next(context).ConfigureAwait(false);
        var status = context.Response.StatusCode;
        if (status >= 400)
        {
            metrics.Rejected(EndpointOf(context.Request.Path), ReasonOf(status));
        }
    }

    /// <summary>"slack", "teams", "alertmanager", "webhook", "admission", "web", "health", "metrics" or "other".</summary>
    public static string EndpointOf(PathString path) => path.Value switch
    {
        null or "" => "other",
        var p when p.StartsWith("/slack/", StringComparison.OrdinalIgnoreCase) => "slack",
        var p when p.StartsWith("/api/messages", StringComparison.OrdinalIgnoreCase) => "teams",
        var p when p.StartsWith("/alerts/alertmanager", StringComparison.OrdinalIgnoreCase) => "alertmanager",
        var p when p.Equals("/alerts", StringComparison.OrdinalIgnoreCase) || p.StartsWith("/alerts/", StringComparison.OrdinalIgnoreCase) => "webhook",
        var p when p is "/healthz" or "/readyz" => "health",
        var p when p.StartsWith("/admission/", StringComparison.OrdinalIgnoreCase) => "admission",
        var p when p.StartsWith("/metrics", StringComparison.OrdinalIgnoreCase) => "metrics",
        var p when p == "/" || p.StartsWith("/login", StringComparison.OrdinalIgnoreCase) || p.StartsWith("/logout", StringComparison.OrdinalIgnoreCase)
            || p.StartsWith("/hangfire", StringComparison.OrdinalIgnoreCase) || p.StartsWith("/incidents", StringComparison.OrdinalIgnoreCase) => "web",
        _ => "other",
    };

    /// <summary>A closed set of reasons from the status code.</summary>
    public static string ReasonOf(int status) => status switch
    {
        400 => "malformed",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "timeout",
        413 => "too_large",
        415 => "media_type",
        429 => "throttled",
        503 => "unavailable",
        >= 500 => "server_error",
        _ => "client_error",
    };
}
