using System.Net;
using ChatOpsPull.Tests.Storage;

namespace ChatOpsPull.Tests.Observability;

public sealed class HealthTests
{
    [Fact]
    public async Task Healthz_answers_ok()
    {
        using var storage = TestStorage.Sqlite();
        await using var host = new BotTestHost(storage);
        using var client = host.CreateClient();
        using var response = await client.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok\n", await response.Content.ReadAsStringAsync());
    }
}
