using System.Text.Json.Serialization;

namespace ChatOpsPull.Web;

public static class HealthEndpoints
{
    public static IServiceCollection AddHealth(this IServiceCollection services)
    {
        services.AddSingleton<ReadinessProbe>();
        return services;
    }

    /// <summary>
    /// <c>/healthz</c>: liveness, the process answers (no dependency is asked, so a slow database never gets the pod killed).
    /// <c>/readyz</c>: readiness, 200 when the database, the schema migrations and Hangfire's storage are fine, else 503
    /// with a JSON body naming what is wrong.
    /// </summary>
    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => Results.Text("ok\n", "text/plain"));
        app.MapGet("/readyz", async (ReadinessProbe probe) =>
        {
            var report = await probe.CheckAsync().ConfigureAwait(false);
            var body = new ReadinessBody(report.Ready ? "ready" : "not_ready", report.Checks);
            return Results.Json(body, ReadinessJson.Default.ReadinessBody, statusCode: report.Ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        });
        return app;
    }
}

/// <summary>The <c>/readyz</c> body: <c>{"status": "ready"|"not_ready", "checks": [{"name", "ready", "detail", "milliseconds"}]}</c>.</summary>
public sealed record ReadinessBody(string Status, IReadOnlyList<ReadinessCheck> Checks);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ReadinessBody))]
internal sealed partial class ReadinessJson : JsonSerializerContext;
