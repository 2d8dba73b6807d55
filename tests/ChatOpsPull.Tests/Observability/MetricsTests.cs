using System.Net;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Observability;
using ChatOpsPull.Tests.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace ChatOpsPull.Tests.Observability;

public sealed class MetricsTests
{
    [Fact]
    public async Task Metrics_endpoint_exports_the_bot_meter_in_prometheus_format()
    {
        using var storage = TestStorage.Sqlite();
        await using var host = new BotTestHost(storage);
        using var client = host.CreateClient();
        host.Services.GetRequiredService<BotMetrics>().Diagnosed(PullCause.ImageNotFound);

        using var response = await client.GetAsync(new Uri("/metrics", UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Matches("chatopspull_diagnoses[a-z_]*\\{[^}]*cause=\"image_not_found\"[^}]*\\} [1-9]", text);
    }
}
