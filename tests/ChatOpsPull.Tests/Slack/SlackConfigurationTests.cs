using System.Net;
using ChatOpsPull.Chat.Slack;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Tests.Slack;

public sealed class SlackConfigurationTests
{
    [Fact]
    public async Task Without_slack_settings_the_host_starts_and_the_endpoints_say_503()
    {
        await using var host = SlackTestHost.Start(fake: null);

        using var health = await host.Client.GetAsync(new Uri("/healthz", UriKind.Relative));
        using var response = await host.PostSignedAsync("/slack/commands", SlackCommandEndpointTests.Form("status"), "application/x-www-form-urlencoded");

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("Slack is not configured", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        SlackTestHost.DeleteDirectory(host.DataDirectory);
    }

    [Fact]
    public async Task In_socket_mode_the_http_endpoints_are_off()
    {
        await using var host = SlackTestHost.Start(fake: null, new Dictionary<string, string?>
        {
            ["Slack:BotToken"] = "xoxb-1-2-3",
            ["Slack:AppToken"] = "xapp-1-A1-2-3",
            ["Slack:SocketMode"] = "true",
            ["Slack:ApiBaseUrl"] = "http://127.0.0.1:9/api/",
        });

        using var response = await host.PostSignedAsync("/slack/events", SlackFixtures.Text("url-verification.json"), "application/json");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("Socket Mode", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        SlackTestHost.DeleteDirectory(host.DataDirectory);
    }

    [Theory]
    [InlineData("xoxp-user-token", "secret", false, null, "Slack:BotToken")]
    [InlineData("xoxb-1", null, false, null, "Slack:SigningSecret")]
    [InlineData("xoxb-1", null, true, null, "Slack:AppToken")]
    [InlineData("xoxb-1", null, true, "xoxb-not-an-app-token", "Slack:AppToken")]
    public void Half_configured_slack_fails_validation_with_a_sentence(string botToken, string? secret, bool socketMode, string? appToken, string mentions)
    {
        var options = new SlackOptions { BotToken = botToken, SigningSecret = secret, SocketMode = socketMode, AppToken = appToken };

        var result = new DataAnnotationValidateOptions<SlackOptions>(null).Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.Contains(mentions, StringComparison.Ordinal));
        Assert.DoesNotContain(result.Failures!, f => f.Contains(botToken, StringComparison.Ordinal) && botToken.Length > 6);
    }

    [Fact]
    public void Unconfigured_slack_is_valid()
    {
        var result = new DataAnnotationValidateOptions<SlackOptions>(null).Validate(null, new SlackOptions());

        Assert.True(result.Succeeded);
    }

    [Fact]
    public async Task Half_configured_slack_stops_the_host_at_start()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var host = SlackTestHost.Start(fake: null, new Dictionary<string, string?> { ["Slack:BotToken"] = "xoxb-1-2-3" });
        });

        Assert.Contains("Slack:SigningSecret", error.ToString(), StringComparison.Ordinal);
    }
}
