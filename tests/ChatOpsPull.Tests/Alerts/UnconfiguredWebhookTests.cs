using System.Net;
using Microsoft.Extensions.Options;
using static ChatOpsPull.Tests.Alerts.WebhookCalls;

namespace ChatOpsPull.Tests.Alerts;

/// <summary>A bot with no Alertmanager credentials (the default) and the generic webhook opened on purpose.</summary>
public sealed class UnconfiguredWebhookTests : IAsyncLifetime
{
    private BotOnKestrel _bot = null!;

    public async Task InitializeAsync()
    {
        _bot = await BotOnKestrel.StartAsync(new Dictionary<string, string> { ["Alerts:Generic:AllowAnonymous"] = "true" });
    }

    public async Task DisposeAsync() => await _bot.DisposeAsync();

    [Fact]
    public async Task Endpoint_without_credentials_configured_refuses_with_503_saying_what_to_set()
    {
        using var client = _bot.CreateClient();
        var body = Message(Alert("firing", PullLabels("unconfigured", "api-1"))).ToJsonString();

        using var response = await client.SendAsync(AlertmanagerRequest(body));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var detail = (await ProblemAsync(response)).GetProperty("detail").GetString();
        Assert.Contains("Alerts:Alertmanager:BearerToken", detail, StringComparison.Ordinal);
        Assert.Empty(_bot.Sink.Reports("unconfigured"));
    }

    [Fact]
    public async Task Endpoint_with_AllowAnonymous_accepts_unauthenticated_alerts()
    {
        using var client = _bot.CreateClient();
        using var content = new StringContent("""{"status":"firing","namespace":"anonymous","pod":"web-0","reason":"ErrImagePull"}""", System.Text.Encoding.UTF8, "application/json");

        using var response = await client.PostAsync(new Uri("alerts", UriKind.Relative), content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(_bot.Sink.Reports("anonymous"));
    }

    [Theory]
    [InlineData("Alerts:Alertmanager:BearerToken", "short", "Alerts:Alertmanager:BearerToken must be at least 16 characters")]
    [InlineData("Alerts:Generic:HmacSecret", "short", "Alerts:Generic:HmacSecret must be at least 16 characters")]
    [InlineData("Alerts:MaxBodyBytes", "10", "Alerts:MaxBodyBytes must be between")]
    public async Task Weak_or_wrong_settings_stop_the_bot_at_start_with_a_sentence(string key, string value, string sentence)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => BotOnKestrel.StartAsync(new Dictionary<string, string> { [key] = value }));
        Assert.Contains(sentence, error.Message, StringComparison.Ordinal);
    }
}
