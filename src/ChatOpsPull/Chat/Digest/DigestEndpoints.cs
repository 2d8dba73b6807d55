namespace ChatOpsPull.Chat.Digest;

/// <summary>
/// <c>GET /digest/charts/{name}.png</c>: serves a digest chart to Teams clients when it was too large to ride inside the
/// card. Names are 128 random bits, so knowing the URL is the permission (like Slack's upload URLs); nothing else under
/// the data directory can be reached (the name must be 32 lowercase hex characters + ".png").
/// </summary>
public static class DigestEndpoints
{
    public const string ChartRoute = "/digest/charts/{name}";

    public static string ChartPath(string fileName) => "digest/charts/" + fileName;

    public static IEndpointRouteBuilder MapDigest(this IEndpointRouteBuilder app)
    {
        app.MapGet(ChartRoute, (string name, DigestChart charts, HttpContext context) =>
        {
            if (!DigestChart.IsChartFileName(name))
            {
                return Results.Problem(statusCode: 404, title: "No such chart.", detail: "Chart names are 32 hexadecimal characters followed by .png.");
            }

            var path = Path.Combine(charts.ChartDirectory, name);
            if (!File.Exists(path))
            {
                return Results.Problem(statusCode: 404, title: "No such chart.", detail: "It never existed or is older than Digest:ChartRetention.");
            }

            context.Response.Headers.CacheControl = "private, max-age=86400";
            context.Response.Headers.XContentTypeOptions = "nosniff";
            return Results.File(path, "image/png");
        });
        return app;
    }
}
