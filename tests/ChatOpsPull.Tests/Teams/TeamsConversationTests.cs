using System.Net;
using System.Text.Json.Nodes;
using ChatOpsPull.Chat;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Chat.Outbox;
using ChatOpsPull.Chat.Teams;
using ChatOpsPull.Tests.Teams.FakeConnector;
using Microsoft.Extensions.DependencyInjection;

namespace ChatOpsPull.Tests.Teams;

[Collection(TeamsTestGroup.Name)]
public sealed class TeamsConversationTests
{
    private readonly BotConnectorStandIn _standIn;

    public TeamsConversationTests(StandInFixture fixture)
    {
        _standIn = fixture.StandIn;
        _standIn.AddConversation(TeamsTestHost.GeneralChannel);
        _standIn.AddConversation(TeamsTestHost.OpsChannel);
        _standIn.EnforceRateLimits = false;
        _standIn.ClearCalls();
    }

    [Fact]
    public async Task Bot_added_to_a_team_is_remembered_across_a_restart_and_used_for_a_proactive_post()
    {
        string dataDirectory;
        await using (var first = new TeamsTestHost(_standIn))
        {
            dataDirectory = first.DataDirectory;
            using var added = await first.SendAsync(TeamsActivities.BotAddedToTeam(_standIn.ServiceUrl));
            Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        }

        await using var second = new TeamsTestHost(_standIn, dataDirectory);
        var surface = second.Services.GetServices<IChatSurface>().Single(s => s.Platform == ChatPlatform.Teams);
        await surface.PublishAsync(TeamsTestHost.GeneralChannel, SampleCards.Resolved(), CancellationToken.None);

        var create = Assert.Single(_standIn.Calls);
        Assert.Equal(("POST", "/amer/v3/conversations", 201), (create.Method, create.Path, create.Status));
        Assert.Equal(TeamsTestHost.GeneralChannel, create.Body!["channelData"]!["channel"]!["id"]!.GetValue<string>());
        Assert.Equal(BotConnectorStandIn.TenantId, create.Body["tenantId"]!.GetValue<string>());
        Assert.Contains("payments/worker pulls again", CardJson.Texts(CardJson.CardOf(create.Body["activity"])), StringComparison.Ordinal);
        Assert.Equal(DeliveryOutcome.Delivered, Assert.Single(second.Outbox.Deliveries).Result.Outcome);
    }

    [Fact]
    public async Task Second_publish_updates_the_card_in_place_and_thread_replies_go_under_it()
    {
        await using var host = new TeamsTestHost(_standIn);
        await host.SendAsync(TeamsActivities.BotAddedToTeam(_standIn.ServiceUrl));
        var surface = host.Services.GetServices<IChatSurface>().Single(s => s.Platform == ChatPlatform.Teams);

        await surface.PublishAsync(TeamsTestHost.GeneralChannel, SampleCards.Incident(pods: 3), CancellationToken.None);
        await surface.PublishAsync(TeamsTestHost.GeneralChannel, SampleCards.Incident(pods: 7), CancellationToken.None);
        await surface.ReplyInThreadAsync(TeamsTestHost.GeneralChannel, SampleCards.IncidentKey, "4 more pods joined", null, CancellationToken.None);

        var calls = _standIn.Calls;
        Assert.Equal(["POST", "PUT", "POST"], calls.Select(c => c.Method));
        var activityId = calls[1].ActivityId!;
        var thread = $"{TeamsTestHost.GeneralChannel};messageid={activityId}";
        Assert.Equal(thread, calls[1].ConversationId);
        Assert.Contains("Pods\n7", string.Join("\n", CardJson.Nodes(CardJson.CardOf(_standIn.Activity(activityId))).Where(n => n["title"] is not null).Select(n => n["title"] + "\n" + n["value"])), StringComparison.Ordinal);
        Assert.Equal(thread, calls[2].ConversationId);
        Assert.Equal(activityId, calls[2].Body!["replyToId"]!.GetValue<string>());
        Assert.Equal("4 more pods joined", calls[2].Body!["text"]!.GetValue<string>());
        Assert.All(host.Outbox.Deliveries, d => Assert.Equal(DeliveryOutcome.Delivered, d.Result.Outcome));
    }

    [Fact]
    public async Task Channel_created_after_the_bot_joined_can_receive_posts()
    {
        await using var host = new TeamsTestHost(_standIn);
        await host.SendAsync(TeamsActivities.BotAddedToTeam(_standIn.ServiceUrl));
        using var created = await host.SendAsync(TeamsActivities.ChannelCreated(_standIn.ServiceUrl, TeamsTestHost.OpsChannel, "ops-alerts"));

        await host.Services.GetServices<IChatSurface>().Single(s => s.Platform == ChatPlatform.Teams).PublishAsync(TeamsTestHost.OpsChannel, SampleCards.Digest(), CancellationToken.None);

        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var post = Assert.Single(_standIn.Calls);
        Assert.Equal(TeamsTestHost.OpsChannel, post.Body!["channelData"]!["channel"]!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Bot_removed_from_the_team_forgets_it_and_posts_fail_with_a_reason()
    {
        await using var host = new TeamsTestHost(_standIn);
        await host.SendAsync(TeamsActivities.BotAddedToTeam(_standIn.ServiceUrl));
        var removed = TeamsActivities.BotAddedToTeam(_standIn.ServiceUrl);
        removed["membersRemoved"] = removed["membersAdded"]!.DeepClone();
        removed.Remove("membersAdded");
        removed["channelData"]!["eventType"] = "teamMemberRemoved";
        await host.SendAsync(removed);

        await host.Services.GetServices<IChatSurface>().Single(s => s.Platform == ChatPlatform.Teams).PublishAsync(TeamsTestHost.GeneralChannel, SampleCards.Resolved(), CancellationToken.None);

        Assert.Empty(_standIn.Calls);
        var (_, result) = Assert.Single(host.Outbox.Deliveries);
        Assert.Equal(DeliveryOutcome.Failed, result.Outcome);
        Assert.Contains("no conversation reference", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Personal_chat_gets_the_card_sent_and_updated_in_place()
    {
        _standIn.AddConversation(TeamsTestHost.PersonalChat);
        await using var host = new TeamsTestHost(_standIn);
        var message = TeamsActivities.ChannelMessage(_standIn.ServiceUrl, TeamsTestHost.GeneralChannel, "help");
        message["conversation"] = new JsonObject { ["conversationType"] = "personal", ["tenantId"] = BotConnectorStandIn.TenantId, ["id"] = TeamsTestHost.PersonalChat };
        message.Remove("channelData");
        message["text"] = "help";
        await host.SendAsync(message);
        _standIn.ClearCalls();
        var surface = host.Services.GetServices<IChatSurface>().Single(s => s.Platform == ChatPlatform.Teams);

        await surface.PublishAsync(TeamsTestHost.PersonalChat, SampleCards.Incident(pods: 1), CancellationToken.None);
        await surface.PublishAsync(TeamsTestHost.PersonalChat, SampleCards.Incident(pods: 2), CancellationToken.None);

        var calls = _standIn.Calls;
        Assert.Equal([("POST", TeamsTestHost.PersonalChat), ("PUT", TeamsTestHost.PersonalChat)], calls.Select(c => (c.Method, c.ConversationId)));
        Assert.Equal(calls[1].ActivityId, calls[1].Body!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Command_message_is_answered_in_its_thread_with_the_mention_stripped()
    {
        await using var host = new TeamsTestHost(_standIn);

        using var response = await host.SendAsync(TeamsActivities.ChannelMessage(_standIn.ServiceUrl, TeamsTestHost.GeneralChannel, "status prod-eu", messageId: "1732520000042"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var request = Assert.Single(host.Commands.Requests);
        Assert.Equal(("status prod-eu", TeamsTestHost.GeneralChannel, TeamsTestHost.ApproverAad), (request.Text, request.ChannelId, request.User.Id));
        var reply = Assert.Single(_standIn.Calls);
        Assert.Equal($"{TeamsTestHost.GeneralChannel};messageid=1732520000042", reply.ConversationId);
        Assert.Equal("1732520000042", reply.Body!["replyToId"]!.GetValue<string>());
        Assert.Equal("2 open incidents", reply.Body["text"]!.GetValue<string>());
        Assert.Contains("inc-4f2a9c shop/api", CardJson.Texts(CardJson.CardOf(reply.Body)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_command_text_still_reaches_the_handler_and_gets_an_answer()
    {
        await using var host = new TeamsTestHost(_standIn);

        await host.SendAsync(TeamsActivities.ChannelMessage(_standIn.ServiceUrl, TeamsTestHost.GeneralChannel, "make me a sandwich"));

        Assert.Equal("make me a sandwich", Assert.Single(host.Commands.Requests).Text);
        Assert.Equal("You asked: make me a sandwich", Assert.Single(_standIn.Calls).Body!["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task Card_click_calls_the_handler_with_the_parsed_payload_and_answers_with_the_updated_card()
    {
        await using var host = new TeamsTestHost(_standIn);
        await host.SendAsync(TeamsActivities.BotAddedToTeam(_standIn.ServiceUrl));
        await host.Services.GetServices<IChatSurface>().Single(s => s.Platform == ChatPlatform.Teams).PublishAsync(TeamsTestHost.GeneralChannel, SampleCards.Incident(), CancellationToken.None);
        var activityId = ThreadActivityId(host);
        var thread = $"{TeamsTestHost.GeneralChannel};messageid={activityId}";

        using var response = await host.SendAsync(TeamsActivities.CardAction(_standIn.ServiceUrl, thread, "approve",
            new JsonObject { ["payload"] = "approve|apr-7c1d2e", ["cardKey"] = SampleCards.IncidentKey }));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var click = Assert.Single(host.Actions.Requests);
        Assert.Equal(new CardActionPayload(CardVerb.Approve, "apr-7c1d2e"), click.Payload);
        Assert.Equal((SampleCards.IncidentKey, TeamsTestHost.GeneralChannel, TeamsTestHost.ApproverAad), (click.CardKey, click.ChannelId, click.User.Id));
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(200, body["statusCode"]!.GetValue<int>());
        Assert.Equal("application/vnd.microsoft.card.adaptive", body["type"]!.GetValue<string>());
        Assert.Contains("fix approved, rollout running", CardJson.Texts(body["value"]), StringComparison.Ordinal);
        var update = _standIn.Calls[^1];
        Assert.Equal(("PUT", activityId), (update.Method, update.ActivityId));
        Assert.Contains("Approved by", string.Join(",", CardJson.Nodes(CardJson.CardOf(_standIn.Activity(activityId!))).Select(n => n["title"]?.ToString())), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Click_answered_with_text_shows_a_message_to_the_clicker_only()
    {
        await using var host = new TeamsTestHost(_standIn);
        var thread = $"{TeamsTestHost.GeneralChannel};messageid=1732520000001";

        using var response = await host.SendAsync(TeamsActivities.CardAction(_standIn.ServiceUrl, thread, "snooze",
            new JsonObject { ["payload"] = "snooze|inc-4f2a9c|1h", ["cardKey"] = SampleCards.IncidentKey }, asViewer: true));

        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("application/vnd.microsoft.activity.message", body["type"]!.GetValue<string>());
        Assert.Equal("Noted: Snooze on inc-4f2a9c", body["value"]!.GetValue<string>());
        Assert.Equal(TeamsTestHost.ViewerAad, Assert.Single(host.Actions.Requests).User.Id);
        Assert.Empty(_standIn.Calls);
    }

    [Theory]
    [InlineData("approve", "approve|../../etc/passwd")]
    [InlineData("deny", "approve|apr-7c1d2e")]
    [InlineData("approve", null)]
    [InlineData("run_anything", "run_anything|inc-4f2a9c")]
    public async Task Click_with_data_the_bot_did_not_issue_changes_nothing(string verb, string? payload)
    {
        await using var host = new TeamsTestHost(_standIn);
        var thread = $"{TeamsTestHost.GeneralChannel};messageid=1732520000001";

        using var response = await host.SendAsync(TeamsActivities.CardAction(_standIn.ServiceUrl, thread, verb,
            new JsonObject { ["payload"] = payload, ["cardKey"] = SampleCards.IncidentKey }));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(400, body["statusCode"]!.GetValue<int>());
        Assert.Equal("application/vnd.microsoft.error", body["type"]!.GetValue<string>());
        Assert.Empty(host.Actions.Requests);
        Assert.Empty(_standIn.Calls);
    }

    [Fact]
    public async Task Refresh_gives_approvers_the_buttons_and_everyone_else_the_status()
    {
        await using var host = new TeamsTestHost(_standIn);
        await host.SendAsync(TeamsActivities.BotAddedToTeam(_standIn.ServiceUrl));
        await host.Services.GetServices<IChatSurface>().Single(s => s.Platform == ChatPlatform.Teams).PublishAsync(TeamsTestHost.GeneralChannel, SampleCards.Incident(), CancellationToken.None);
        var posted = CardJson.CardOf(_standIn.Calls[0].Body!["activity"]);
        var thread = $"{TeamsTestHost.GeneralChannel};messageid={ThreadActivityId(host)}";
        var refresh = new JsonObject { ["cardKey"] = SampleCards.IncidentKey };

        using var forApprover = await host.SendAsync(TeamsActivities.CardAction(_standIn.ServiceUrl, thread, "refresh", refresh.DeepClone(), trigger: "automatic"));
        using var forViewer = await host.SendAsync(TeamsActivities.CardAction(_standIn.ServiceUrl, thread, "refresh", refresh.DeepClone(), asViewer: true, trigger: "automatic"));

        Assert.Equal([TeamsTestHost.ApproverMri], posted!["refresh"]!["userIds"]!.AsArray().Select(u => u!.GetValue<string>()));
        Assert.DoesNotContain("approve", CardJson.Verbs(posted));
        var approverCard = JsonNode.Parse(await forApprover.Content.ReadAsStringAsync())!["value"];
        var viewerCard = JsonNode.Parse(await forViewer.Content.ReadAsStringAsync())!["value"];
        Assert.Contains("approve", CardJson.Verbs(approverCard));
        Assert.Contains("deny", CardJson.Verbs(approverCard));
        Assert.DoesNotContain("approve", CardJson.Verbs(viewerCard));
        Assert.Contains("request", CardJson.Verbs(viewerCard));
        Assert.Empty(host.Actions.Requests);
    }

    [Fact]
    public async Task Other_invokes_get_501_and_other_activity_types_are_ignored()
    {
        await using var host = new TeamsTestHost(_standIn);
        var invoke = TeamsActivities.CardAction(_standIn.ServiceUrl, TeamsTestHost.GeneralChannel, "x", null);
        invoke["name"] = "composeExtension/query";
        var typing = TeamsActivities.ChannelMessage(_standIn.ServiceUrl, TeamsTestHost.GeneralChannel, "x");
        typing["type"] = "typing";

        using var unknownInvoke = await host.SendAsync(invoke);
        using var ignored = await host.SendAsync(typing);

        Assert.Equal(HttpStatusCode.NotImplemented, unknownInvoke.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ignored.StatusCode);
        Assert.Empty(host.Commands.Requests);
        Assert.Empty(_standIn.Calls);
    }

    [Fact]
    public void Mentions_and_markup_are_stripped_from_commands()
    {
        Assert.Equal("diagnose shop/api-7d9c", ChatOpsPull.Chat.Teams.Activities.TeamsActivityProcessor.CommandText("<at>pullbot</at>&nbsp;diagnose  shop/api-7d9c\n"));
        Assert.Equal("snooze inc-4f2a9c 1h", ChatOpsPull.Chat.Teams.Activities.TeamsActivityProcessor.CommandText("<p><at>Pull Bot</at> snooze inc-4f2a9c 1h</p>"));
        Assert.Equal(string.Empty, ChatOpsPull.Chat.Teams.Activities.TeamsActivityProcessor.CommandText("<at>pullbot</at>"));
    }

    private static string ThreadActivityId(TeamsTestHost host)
    {
        var store = host.Services.GetRequiredService<TeamsConversationStore>();
        return store.FindCardAsync(TeamsTestHost.GeneralChannel, SampleCards.IncidentKey, CancellationToken.None).GetAwaiter().GetResult()!.ActivityId!;
    }
}
