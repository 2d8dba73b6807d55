using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using ChatOpsPull.Chat;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Chat.Teams.Cards;
using ChatOpsPull.Tests.Teams.FakeConnector;
using Microsoft.Extensions.DependencyInjection;

namespace ChatOpsPull.Tests.Teams;

/// <summary>
/// Every card kind rendered by the real Adaptive Cards JavaScript renderer in headless Chromium: the texts and
/// buttons are there, a click raises Action.Execute with the right verb and data, and the bot's answer to that click
/// (sent as an adaptiveCard/action invoke) renders too.
/// </summary>
[Collection(TeamsTestGroup.Name)]
public sealed class AdaptiveCardChromiumTests(StandInFixture fixture, ChromiumCardRenderer chromium) : IClassFixture<ChromiumCardRenderer>
{
    public static IEnumerable<object[]> Kinds() => SampleCards.AllKinds();

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Card_renders_with_its_texts_and_buttons(string kind, Card card)
    {
        var json = AdaptiveCardRenderer.Render(card, CardView.Everyone);

        var findings = await chromium.RenderAsync(json);
        await chromium.Page.ScreenshotAsync(new() { Path = Path.Combine(chromium.Screenshots!, kind + ".png"), FullPage = true });

        Assert.Empty(findings);
        var text = await chromium.Card.InnerTextAsync();
        Assert.Contains(card.Title, text, StringComparison.Ordinal);
        foreach (var fact in card.Facts)
        {
            Assert.Contains(fact.Label, text, StringComparison.Ordinal);
        }

        foreach (var action in card.Actions)
        {
            Assert.True(await chromium.Button(action.Label).IsVisibleAsync(), $"{kind}: button \"{action.Label}\" is not shown");
        }
    }

    [Fact]
    public async Task Rendered_with_Teams_markdown_the_card_shows_no_backtick_and_no_raw_markup()
    {
        // The page's markdown processor is the Teams subset: bold, italic, lists, links; anything else as written.
        Assert.Equal(
            "<strong>b</strong> <em>i</em> `c` # h<ul><li>one</li></ul>",
            await chromium.Page.EvaluateAsync<string>("() => window.teamsMarkdown('**b** _i_ `c` # h\\r- one')"));

        await chromium.RenderAsync(AdaptiveCardRenderer.Render(SampleCards.Incident(), CardView.Everyone));

        var text = await chromium.Card.InnerTextAsync();
        Assert.DoesNotContain("`", text, StringComparison.Ordinal);
        Assert.DoesNotContain("**", text, StringComparison.Ordinal);
        Assert.Contains("The registry says MANIFEST_UNKNOWN for tag 1.4.3.", text, StringComparison.Ordinal);
        Assert.True(await chromium.Card.Locator("text=1.4.3").First.IsVisibleAsync());
    }

    [Fact]
    public async Task An_observe_card_shows_each_fix_as_commands_and_no_fix_button()
    {
        var card = SampleCards.Observed();

        Assert.Empty(await chromium.RenderAsync(AdaptiveCardRenderer.Render(card, CardView.Everyone)));

        var text = await chromium.Card.InnerTextAsync();
        Assert.Contains("kubectl -n shop set image deployment/api api=registry.example.com/shop/api:1.4.2", text, StringComparison.Ordinal);
        Assert.Contains("kubectl -n shop rollout undo deployment/api --to-revision=6", text, StringComparison.Ordinal);
        Assert.False(await chromium.Button("Set tag to 1.4.2").IsVisibleAsync());
        Assert.True(await chromium.Button("Snooze 1h").IsVisibleAsync());
    }

    [Fact]
    public async Task Clicking_a_button_raises_Action_Execute_with_the_verb_and_payload()
    {
        await chromium.RenderAsync(AdaptiveCardRenderer.Render(SampleCards.Incident(), CardView.Everyone));

        await chromium.Button("Approve").ClickAsync();

        var executed = Assert.Single(await chromium.ExecutedAsync());
        Assert.Equal("Action.Execute", executed.GetProperty("type").GetString());
        Assert.Equal("approve", executed.GetProperty("verb").GetString());
        Assert.Equal("approve|apr-7c1d2e", executed.GetProperty("data").GetProperty("payload").GetString());
        Assert.Equal(SampleCards.IncidentKey, executed.GetProperty("data").GetProperty("cardKey").GetString());
    }

    [Fact]
    public async Task Risky_button_needs_a_second_click_on_the_confirmation()
    {
        await chromium.RenderAsync(AdaptiveCardRenderer.Render(SampleCards.Incident(), CardView.Everyone));

        await chromium.Button("Set tag 1.4.2").ClickAsync();
        var afterFirstClick = await chromium.ExecutedAsync();
        var confirmation = await chromium.Card.InnerTextAsync();
        await chromium.Button("Run it").ClickAsync();

        Assert.DoesNotContain(afterFirstClick, e => e.GetProperty("type").GetString() == "Action.Execute");
        Assert.Contains("Change the image of Deployment/api?", confirmation, StringComparison.Ordinal);
        var executed = (await chromium.ExecutedAsync()).Single(e => e.GetProperty("type").GetString() == "Action.Execute");
        Assert.Equal("request", executed.GetProperty("verb").GetString());
        Assert.Equal("request|inc-4f2a9c|set_tag:container=api,tag=1.4.2", executed.GetProperty("data").GetProperty("payload").GetString());
    }

    [Fact]
    public async Task Click_in_the_browser_sent_to_the_bot_returns_a_card_that_renders()
    {
        var standIn = fixture.StandIn;
        standIn.AddConversation(TeamsTestHost.GeneralChannel);
        standIn.EnforceRateLimits = false;
        await using var host = new TeamsTestHost(standIn);
        await host.SendAsync(TeamsActivities.BotAddedToTeam(standIn.ServiceUrl));
        await host.Services.GetServices<IChatSurface>().Single(s => s.Platform == ChatPlatform.Teams).PublishAsync(TeamsTestHost.GeneralChannel, SampleCards.Incident(), CancellationToken.None);
        var thread = $"{TeamsTestHost.GeneralChannel};messageid=1";

        // What the approver's Teams shows: the refresh answer (with the buttons), rendered by the real renderer.
        using var refreshed = await host.SendAsync(TeamsActivities.CardAction(standIn.ServiceUrl, thread, "refresh", new JsonObject { ["cardKey"] = SampleCards.IncidentKey }, trigger: "automatic"));
        var approverView = JsonNode.Parse(await refreshed.Content.ReadAsStringAsync())!["value"]!;
        Assert.Empty(await chromium.RenderAsync(approverView));
        await chromium.Button("Approve").ClickAsync();
        var click = Assert.Single(await chromium.ExecutedAsync());

        // Teams turns the click into an adaptiveCard/action invoke carrying the action's verb and data.
        var data = JsonNode.Parse(click.GetProperty("data").GetRawText());
        using var answer = await host.SendAsync(TeamsActivities.CardAction(standIn.ServiceUrl, thread, click.GetProperty("verb").GetString()!, data));
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        var response = JsonNode.Parse(await answer.Content.ReadAsStringAsync())!;
        Assert.Equal("application/vnd.microsoft.card.adaptive", response["type"]!.GetValue<string>());

        Assert.Empty(await chromium.RenderAsync(response["value"]!));
        await chromium.Page.ScreenshotAsync(new() { Path = Path.Combine(chromium.Screenshots!, "after-approve.png"), FullPage = true });
        var text = await chromium.Card.InnerTextAsync();
        Assert.Contains("fix approved, rollout running", text, StringComparison.Ordinal);
        Assert.Contains("Ada Approver", text, StringComparison.Ordinal);
        Assert.Equal(0, await chromium.Button("Approve").CountAsync());
        Assert.Equal(CardVerb.Approve, Assert.Single(host.Actions.Requests).Payload.Verb);
    }
}
