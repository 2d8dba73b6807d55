using System.Net;
using System.Text.Json.Nodes;
using ChatOpsPull.Tests.Slack.FakeSlack;

namespace ChatOpsPull.Tests.Slack;

public sealed class SlackEventEndpointTests : IAsyncLifetime
{
    private readonly RecordingCommandHandler _commands = new() { Answer = r => new ChatOpsPull.Chat.ChatReply($"Status for {r.Text}", Ephemeral: false) };
    private FakeSlackServer _fake = null!;
    private SlackTestHost _host = null!;

    public async Task InitializeAsync()
    {
        _fake = await FakeSlackServer.StartAsync();
        _host = SlackTestHost.Start(_fake, commands: _commands);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _fake.DisposeAsync();
        SlackTestHost.DeleteDirectory(_host.DataDirectory);
    }

    [Fact]
    public async Task Url_verification_echoes_the_challenge()
    {
        using var response = await _host.PostEventAsync(SlackFixtures.Text("url-verification.json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", body["challenge"]!.GetValue<string>());
    }

    [Fact]
    public async Task Url_verification_with_a_bad_signature_gets_no_challenge()
    {
        using var response = await _host.PostSignedAsync("/slack/events", SlackFixtures.Text("url-verification.json"), "application/json", signatureOverride: "v0=" + new string('f', 64));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.DoesNotContain("3eZbrw1a", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mention_runs_the_command_and_answers_in_the_thread()
    {
        using var response = await _host.PostEventAsync(SlackFixtures.Text("event-app-mention.json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await _fake.WaitUntilAsync(calls => calls.Any(c => c.Method == "chat.postMessage"), TimeSpan.FromSeconds(15), "the answer");
        var request = Assert.Single(_commands.Requests);
        Assert.Equal("is it everything a river should be?", request.Text);
        Assert.Equal("U061F7AUR", request.User.Id);
        Assert.Equal("C0LAN2Q65", request.ChannelId);
        var answer = Assert.Single(_fake.CallsTo("chat.postMessage"));
        Assert.Equal("C0LAN2Q65", answer.Channel);
        Assert.Equal("1515449522.000016", answer.Body["thread_ts"]!.GetValue<string>());
        Assert.Equal("Status for is it everything a river should be?", answer.Body["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task Replayed_event_is_processed_once()
    {
        var retryHeaders = new Dictionary<string, string> { ["X-Slack-Retry-Num"] = "1", ["X-Slack-Retry-Reason"] = "http_timeout" };

        using var first = await _host.PostEventAsync(SlackFixtures.Text("event-app-mention.json"));
        using var retry = await _host.PostEventAsync(SlackFixtures.Text("event-app-mention.json"), retryHeaders);
        using var again = await _host.PostEventAsync(SlackFixtures.Text("event-app-mention.json"), retryHeaders);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        await _fake.WaitUntilAsync(calls => calls.Any(c => c.Method == "chat.postMessage"), TimeSpan.FromSeconds(15), "the answer");
        await Drained.WaitAsync(_host.Services);
        Assert.Single(_commands.Requests);
        Assert.Single(_fake.CallsTo("chat.postMessage"));
    }

    [Fact]
    public async Task Direct_message_is_a_command_answered_in_the_dm()
    {
        var dm = SlackFixtures.Json("event-app-mention.json");
        dm["event_id"] = "Ev0DM000001";
        dm["event"] = new JsonObject
        {
            ["type"] = "message", ["channel_type"] = "im", ["channel"] = "D0DM12345", ["user"] = "U061F7AUR",
            ["text"] = "check registry.example.com/shop/api:1.4.3", ["ts"] = "1515449600.000100",
        };

        using var response = await _host.PostEventAsync(dm.ToJsonString());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await _fake.WaitUntilAsync(calls => calls.Any(c => c.Method == "chat.postMessage"), TimeSpan.FromSeconds(15), "the answer");
        Assert.Equal("check registry.example.com/shop/api:1.4.3", Assert.Single(_commands.Requests).Text);
        Assert.Equal("D0DM12345", _fake.CallsTo("chat.postMessage").Single().Channel);
    }

    [Fact]
    public async Task Bot_messages_and_other_events_are_acknowledged_and_ignored()
    {
        var fromBot = SlackFixtures.Json("event-app-mention.json");
        fromBot["event_id"] = "Ev0BOT00001";
        fromBot["event"]!["bot_id"] = "B0BOT1234";
        var reaction = SlackFixtures.Json("event-app-mention.json");
        reaction["event_id"] = "Ev0REACT001";
        reaction["event"] = new JsonObject { ["type"] = "reaction_added", ["user"] = "U061F7AUR", ["reaction"] = "thumbsup" };
        var home = SlackFixtures.Json("event-app-mention.json");
        home["event_id"] = "Ev0HOME0001";
        home["event"] = new JsonObject { ["type"] = "app_home_opened", ["user"] = "U061F7AUR", ["channel"] = "D0DM12345", ["tab"] = "home" };
        var rateLimited = new JsonObject { ["token"] = "x", ["type"] = "app_rate_limited", ["team_id"] = "T1", ["minute_rate_limited"] = 1518467820 };

        foreach (var body in new[] { fromBot, reaction, home, rateLimited })
        {
            using var response = await _host.PostEventAsync(body.ToJsonString());
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await Drained.WaitAsync(_host.Services);
        Assert.Empty(_commands.Requests);
        Assert.DoesNotContain(_fake.Calls, c => c.Method.StartsWith("chat.", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("[]")]
    [InlineData("{\"type\":\"event_callback\"}")]
    [InlineData("{\"type\":\"event_callback\",\"event_id\":\"Ev1\"}")]
    [InlineData("{\"type\":\"url_verification\"}")]
    [InlineData("{\"no_type\":true}")]
    [InlineData("\"just a string\"")]
    public async Task Malformed_event_bodies_get_400(string body)
    {
        using var response = await _host.PostEventAsync(body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Empty(_commands.Requests);
    }

    [Fact]
    public async Task Deeply_nested_json_is_refused_not_crashed_on()
    {
        var nested = "{\"type\":\"event_callback\",\"event_id\":\"Ev9\",\"event\":" + string.Concat(Enumerable.Repeat("{\"a\":", 200)) + "1" + new string('}', 201) + "}";

        using var response = await _host.PostEventAsync(nested);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }
}
