using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using ChatOpsPull.Chat.Teams;
using ChatOpsPull.Tests.Teams.FakeConnector;
using Microsoft.Extensions.DependencyInjection;

namespace ChatOpsPull.Tests.Teams;

[Collection(TeamsTestGroup.Name)]
public sealed class TeamsAuthenticationTests
{
    private readonly BotConnectorStandIn _standIn;

    public TeamsAuthenticationTests(StandInFixture fixture)
    {
        _standIn = fixture.StandIn;
        _standIn.EnforceRateLimits = false;
        _standIn.ClearCalls();
    }

    public static TheoryData<string> BadTokens() =>
    [
        "wrong audience", "expired", "wrong issuer", "unsigned", "tampered", "wrong key",
        "serviceUrl mismatch", "no serviceUrl claim", "key not endorsed for msteams", "unknown kid", "not a jwt", "basic scheme",
    ];

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task Bad_token_gets_401_and_nothing_is_processed(string kind)
    {
        await using var host = new TeamsTestHost(_standIn);
        _standIn.AddConversation(TeamsTestHost.GeneralChannel);
        var serviceUrl = _standIn.ServiceUrl;
        var token = kind switch
        {
            "wrong audience" => _standIn.CreateToken(new TokenSpec { ServiceUrl = serviceUrl, Audience = "11111111-2222-3333-4444-555555555555" }),
            "expired" => _standIn.CreateToken(new TokenSpec { ServiceUrl = serviceUrl, NotBeforeOffset = TimeSpan.FromHours(-2), ExpiresIn = TimeSpan.FromMinutes(-6) }),
            "wrong issuer" => _standIn.CreateToken(new TokenSpec { ServiceUrl = serviceUrl, Issuer = "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/" }),
            "unsigned" => _standIn.CreateUnsignedToken(serviceUrl),
            "tampered" => _standIn.CreateTamperedToken(serviceUrl),
            "wrong key" => _standIn.CreateToken(new TokenSpec { ServiceUrl = serviceUrl, WrongKey = true }),
            "serviceUrl mismatch" => _standIn.CreateToken(new TokenSpec { ServiceUrl = "https://smba.trafficmanager.net/emea/" }),
            "no serviceUrl claim" => _standIn.CreateToken(new TokenSpec()),
            "key not endorsed for msteams" => EndorsedOnlyForWebChat(serviceUrl),
            "unknown kid" => _standIn.CreateToken(new TokenSpec { ServiceUrl = serviceUrl, Kid = "never-published", WrongKey = true }),
            "not a jwt" => "definitely-not-a-token",
            "basic scheme" => null,
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };

        var activity = TeamsActivities.ChannelMessage(serviceUrl, TeamsTestHost.GeneralChannel, "status");
        using var response = token is null ? await SendBasicAsync(host, activity) : await host.SendAsync(activity, token);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("error", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(host.Commands.Requests);
        Assert.Empty(host.Outbox.Deliveries);
        var store = host.Services.GetRequiredService<TeamsConversationStore>();
        Assert.Null(await store.FindReferenceAsync(TeamsTestHost.GeneralChannel, CancellationToken.None));
    }

    [Fact]
    public async Task Valid_token_is_accepted_and_the_command_answered()
    {
        await using var host = new TeamsTestHost(_standIn);
        _standIn.AddConversation(TeamsTestHost.GeneralChannel);

        using var response = await host.SendAsync(TeamsActivities.ChannelMessage(_standIn.ServiceUrl, TeamsTestHost.GeneralChannel, "help"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("help", Assert.Single(host.Commands.Requests).Text);
    }

    [Fact]
    public async Task Activity_claiming_another_channel_than_the_key_is_endorsed_for_is_refused()
    {
        await using var host = new TeamsTestHost(_standIn);
        var activity = TeamsActivities.ChannelMessage(_standIn.ServiceUrl, TeamsTestHost.GeneralChannel, "status");
        activity["channelId"] = "webchat";

        using var response = await host.SendAsync(activity);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("endorsed", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(host.Commands.Requests);
    }

    [Fact]
    public async Task New_signing_key_is_fetched_once_and_then_accepted()
    {
        await using var host = new TeamsTestHost(_standIn);
        _standIn.AddConversation(TeamsTestHost.GeneralChannel);
        using (var first = await host.SendAsync(TeamsActivities.ChannelMessage(_standIn.ServiceUrl, TeamsTestHost.GeneralChannel, "help")))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        var fetchesBefore = _standIn.KeyFetches;
        _standIn.AddKey("rolled-over-" + Guid.NewGuid().ToString("N")[..8], ["msteams", "skype"]);

        using var rolled = await host.SendAsync(TeamsActivities.ChannelMessage(_standIn.ServiceUrl, TeamsTestHost.GeneralChannel, "help"));
        using var again = await host.SendAsync(TeamsActivities.ChannelMessage(_standIn.ServiceUrl, TeamsTestHost.GeneralChannel, "help"));
        var unknown = _standIn.CreateToken(new TokenSpec { ServiceUrl = _standIn.ServiceUrl, Kid = "not-published-either", WrongKey = true });
        using var refused = await host.SendAsync(TeamsActivities.ChannelMessage(_standIn.ServiceUrl, TeamsTestHost.GeneralChannel, "help"), unknown);

        Assert.Equal(HttpStatusCode.OK, rolled.StatusCode);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(fetchesBefore + 1, _standIn.KeyFetches);
    }

    [Fact]
    public async Task Malformed_json_gets_400()
    {
        await using var host = new TeamsTestHost(_standIn);
        using var client = host.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/messages") { Content = new StringContent("{\"type\": \"message\", ", Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new("Bearer", _standIn.CreateToken(new TokenSpec { ServiceUrl = _standIn.ServiceUrl }));

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("not a JSON Bot Framework activity", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Huge_body_gets_400_without_being_read_whole()
    {
        await using var host = new TeamsTestHost(_standIn, settings: new Dictionary<string, string?> { ["Teams:MaxRequestBytes"] = "65536" });
        var activity = TeamsActivities.ChannelMessage(_standIn.ServiceUrl, TeamsTestHost.GeneralChannel, new string('x', 200_000));

        using var response = await host.SendAsync(activity);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("larger than 65536 bytes", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(host.Commands.Requests);
    }

    [Fact]
    public async Task Service_url_outside_the_trust_list_is_refused_even_with_a_valid_token()
    {
        await using var host = new TeamsTestHost(_standIn, settings: new Dictionary<string, string?> { ["Teams:AllowedServiceUrlHosts:0"] = "smba.trafficmanager.net" });

        using var response = await host.SendAsync(TeamsActivities.ChannelMessage(_standIn.ServiceUrl, TeamsTestHost.GeneralChannel, "status"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Empty(host.Commands.Requests);
    }

    [Fact]
    public async Task Not_configured_answers_503_and_the_host_still_serves()
    {
        await using var host = new TeamsTestHost(_standIn, settings: new Dictionary<string, string?> { ["Teams:MicrosoftAppId"] = string.Empty });
        using var client = host.CreateClient();

        using var response = await host.SendAsync(TeamsActivities.ChannelMessage(_standIn.ServiceUrl, TeamsTestHost.GeneralChannel, "status"));
        using var health = await client.GetAsync(new Uri("/healthz", UriKind.Relative));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("Teams:MicrosoftAppId", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task Half_configured_teams_stops_the_host_with_a_sentence()
    {
        await using var host = new TeamsTestHost(_standIn, settings: new Dictionary<string, string?> { ["Teams:MicrosoftAppPassword"] = string.Empty });

        var error = Assert.ThrowsAny<Exception>(() => host.CreateClient());

        Assert.Contains("Teams:MicrosoftAppPassword must be set", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Emulator_tokens_are_refused_unless_enabled()
    {
        var emulatorToken = _standIn.CreateToken(new TokenSpec
        {
            Issuer = "https://sts.windows.net/d6d49420-f39b-4df7-a1dc-d59a935871db/",
            Claims = new Dictionary<string, object> { ["appid"] = BotConnectorStandIn.AppId, ["ver"] = "1.0" },
        });
        _standIn.AddConversation(TeamsTestHost.GeneralChannel);
        var activity = TeamsActivities.ChannelMessage(_standIn.ServiceUrl, TeamsTestHost.GeneralChannel, "help");
        activity["channelId"] = "emulator";

        await using (var strict = new TeamsTestHost(_standIn))
        {
            using var refused = await strict.SendAsync(activity, emulatorToken);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        await using var lenient = new TeamsTestHost(_standIn, settings: new Dictionary<string, string?> { ["Teams:AcceptEmulatorTokens"] = "true" });
        using var accepted = await lenient.SendAsync(activity, emulatorToken);
        var otherApp = _standIn.CreateToken(new TokenSpec
        {
            Issuer = "https://sts.windows.net/d6d49420-f39b-4df7-a1dc-d59a935871db/",
            Claims = new Dictionary<string, object> { ["appid"] = "99999999-2222-3333-4444-555555555555", ["ver"] = "1.0" },
        });
        using var foreign = await lenient.SendAsync(activity, otherApp);

        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, foreign.StatusCode);
    }

    private string EndorsedOnlyForWebChat(string serviceUrl)
    {
        const string kid = "webchat-only-key";
        _standIn.AddKey(kid, ["webchat"], makeCurrent: false);
        return _standIn.CreateToken(new TokenSpec { ServiceUrl = serviceUrl, Kid = kid });
    }

    private static async Task<HttpResponseMessage> SendBasicAsync(TeamsTestHost host, JsonObject activity)
    {
        using var client = host.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/messages") { Content = new StringContent(activity.ToJsonString(), Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{BotConnectorStandIn.AppId}:{BotConnectorStandIn.AppPassword}")));
        return await client.SendAsync(request);
    }
}
