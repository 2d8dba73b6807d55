using System.Net;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Observability;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace ChatOpsPull.Tests;

public sealed class MetricsTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("cop-metrics-").FullName;

    [Fact]
    public async Task Metrics_endpoint_exports_the_bot_meter_in_prometheus_format()
    {
        await using var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(b => b.UseSetting("Bot:DataDirectory", _data));
        using var client = factory.CreateClient();
        factory.Services.GetRequiredService<BotMetrics>().Diagnosed(PullCause.ImageNotFound);

        using var response = await client.GetAsync(new Uri("/metrics", UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Matches("chatopspull_diagnoses[a-z_]*\\{[^}]*cause=\"image_not_found\"[^}]*\\} 1", text);
    }

    public void Dispose() => Directory.Delete(_data, recursive: true);
}
