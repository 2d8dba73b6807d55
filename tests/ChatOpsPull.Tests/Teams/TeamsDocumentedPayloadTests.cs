using System.Net;
using System.Text.Json.Nodes;
using ChatOpsPull.Chat;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Chat.Teams;
using ChatOpsPull.Tests.Teams.FakeConnector;
using Microsoft.Extensions.DependencyInjection;

namespace ChatOpsPull.Tests.Teams;

/// <summary>The payloads from Microsoft's documentation (tests/fixtures/teams) go through the real endpoint.</summary>
[Collection(TeamsTestGroup.Name)]
public sealed class TeamsDocumentedPayloadTests
{
    private const string DocumentedTeam = "19:efa9296d959346209fea44151c742e73@thread.skype";
    private readonly BotConnectorStandIn _standIn;

    public TeamsDocumentedPayloadTests(StandInFixture fixture)
    {
        _standIn = fixture.StandIn;
        _standIn.AddConversation(DocumentedTeam);
        _standIn.EnforceRateLimits = false;
        _standIn.ClearCalls();
    }

    [Fact]
    public async Task Documented_bot_added_to_team_event_stores_the_team_and_allows_a_post()
    {
        await using var host = new TeamsTestHost(_standIn);

        using var response = await host.SendAsync(Fixture("bot-added-to-team.json"));
        await host.Services.GetServices<IChatSurface>().Single(s => s.Platform == ChatPlatform.Teams).PublishAsync(DocumentedTeam, SampleCards.Resolved(), CancellationToken.None);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var reference = await host.Services.GetRequiredService<TeamsConversationStore>().FindReferenceAsync(DocumentedTeam, CancellationToken.None);
        Assert.NotNull(reference);
        Assert.Equal(("channel", DocumentedTeam, "72f988bf-86f1-41af-91ab-2d7cd011db47", "28:f5d48856-5b42-41a0-8c3a-c5f944b679b0"), (reference.ConversationType, reference.TeamId, reference.TenantId, reference.BotId));
        var create = Assert.Single(_standIn.Calls);
        Assert.Equal("28:f5d48856-5b42-41a0-8c3a-c5f944b679b0", create.Body!["bot"]!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Documented_invoke_shape_reaches_the_action_handler()
    {
        await using var host = new TeamsTestHost(_standIn);

        using var response = await host.SendAsync(Fixture("adaptive-card-action-invoke.json"));

        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(200, body["statusCode"]!.GetValue<int>());
        var click = Assert.Single(host.Actions.Requests);
        Assert.Equal((CardVerb.Approve, "apr-7c1d2e", DocumentedTeam, "Ada Approver"), (click.Payload.Verb, click.Payload.Target, click.ChannelId, click.User.DisplayName));
    }

    private JsonObject Fixture(string name)
    {
        var activity = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "teams", name)))!.AsObject();
        activity["serviceUrl"] = _standIn.ServiceUrl;
        return activity;
    }
}
