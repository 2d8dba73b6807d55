namespace ChatOpsPull.Web;

public static class HealthEndpoints
{
    /// <summary><c>/healthz</c>: the process answers. Readiness (<c>/readyz</c>) checks dependencies.</summary>
    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => Results.Text("ok\n", "text/plain"));
        return app;
    }
}
