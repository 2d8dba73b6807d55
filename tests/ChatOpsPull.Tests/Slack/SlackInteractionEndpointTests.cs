using System.Net;
using System.Text.Json.Nodes;
using ChatOpsPull.Chat;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Chat.Slack;
using ChatOpsPull.Tests.Slack.FakeSlack;

namespace ChatOpsPull.Tests.Slack;

public sealed class SlackInteractionEndpointTests : IAsyncLifetime
{
    private readonly RecordingActionHandler _actions = new();
    private FakeSlackServer _fake = null!;
    private SlackTestHost _host = null!;

    public async Task InitializeAsync()
    {
        _fake = await FakeSlackServer.StartAsync();
        _fake.UserGroups["S0APPROVERS"] = ["UA8RXUSPL", "U0OTHER01"];
        _host = SlackTestHost.Start(_fake, actions: _actions);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _fake.DisposeAsync();
        SlackTestHost.DeleteDirectory(_host.DataDirectory);
    }

    [Fact]
    public async Task Click_routes_the_parsed_payload_to_the_action_handler_and_answers_the_clicker()
    {
        // The click is handled until the test lets it finish: Slack's acknowledgement comes first, the answer after.
        var finish = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _actions.HeldUntil = finish.Task;
        var responseUrl = _fake.NewResponseUrl();

        using var response = await _host.PostInteractionAsync(Click("approve|apr-7c1d2e", responseUrl).ToJsonString()).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(string.Empty, await response.Content.ReadAsStringAsync());
        Assert.DoesNotContain(_fake.Calls, c => c.Method == "response_url");
        finish.SetResult();
        await _fake.WaitUntilAsync(calls => calls.Any(c => c.Method == "response_url"), TimeSpan.FromSeconds(15), "the answer to the click");

        var request = Assert.Single(_actions.Requests);
        Assert.Equal(new CardActionPayload(CardVerb.Approve, "apr-7c1d2e"), request.Payload);
        Assert.Equal("UA8RXUSPL", request.User.Id);
        Assert.Equal(ChatPlatform.Slack, request.User.Platform);
        Assert.Equal("jtorrance", request.User.DisplayName);
        Assert.Equal(["S0APPROVERS"], request.User.Groups);
        Assert.Equal("CBR2V3XEX", request.ChannelId);
        Assert.Null(request.CardKey);

        var answer = Assert.Single(_fake.CallsTo("response_url"));
        Assert.Equal("Noted: approve|apr-7c1d2e", answer.Body["text"]!.GetValue<string>());
        Assert.Equal("ephemeral", answer.Body["response_type"]!.GetValue<string>());
        Assert.False(answer.Body["replace_original"]!.GetValue<bool>());
    }

    [Theory]
    [InlineData("click_me_123")]
    [InlineData("approve|APR-7C1D2E")]
    [InlineData("approve|apr-7c1d2e|x|y")]
    [InlineData("drop_table|inc-4f2a9c")]
    [InlineData("")]
    public async Task Button_value_that_is_not_ours_is_refused_with_an_ephemeral_note(string value)
    {
        var responseUrl = _fake.NewResponseUrl();

        using var response = await _host.PostInteractionAsync(Click(value, responseUrl).ToJsonString());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await _fake.WaitUntilAsync(calls => calls.Any(c => c.Method == "response_url"), TimeSpan.FromSeconds(15), "the refusal");
        var answer = Assert.Single(_fake.CallsTo("response_url"));
        Assert.Equal(SlackInbound.InvalidButton, answer.Body["text"]!.GetValue<string>());
        Assert.Equal("ephemeral", answer.Body["response_type"]!.GetValue<string>());
        Assert.Empty(_actions.Requests);
    }

    [Fact]
    public async Task Click_on_a_posted_card_updates_that_message_in_place()
    {
        var surface = _host.Get<SlackSurface>();
        await surface.PublishAsync("CBR2V3XEX", SampleCards.Incident("incident:inc-4f2a9c"), CancellationToken.None);
        await _fake.WaitUntilAsync(calls => calls.Any(c => c.Method == "chat.postMessage" && c.Ok), TimeSpan.FromSeconds(15), "the card");
        var posted = _fake.CallsTo("chat.postMessage").Single();
        _actions.Answer = r => new ChatReply("Approved; the fix is queued.")
        {
            UpdatedCard = SampleCards.Incident(r.CardKey!, title: "Fix approved by jtorrance"),
        };
        var click = Click("approve|apr-7c1d2e", _fake.NewResponseUrl());
        click["message"]!["ts"] = posted.Ts;
        click["container"]!["message_ts"] = posted.Ts;

        using var response = await _host.PostInteractionAsync(click.ToJsonString());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await _fake.WaitUntilAsync(calls => calls.Any(c => c.Method == "chat.update" && c.Ok), TimeSpan.FromSeconds(15), "the card update");
        Assert.Equal("incident:inc-4f2a9c", Assert.Single(_actions.Requests).CardKey);
        var update = _fake.CallsTo("chat.update").Single(c => c.Ok);
        Assert.Equal(posted.Ts, update.Ts);
        Assert.Single(_fake.CallsTo("chat.postMessage"));
        var message = Assert.Single(_fake.Messages);
        Assert.Contains("Fix approved by jtorrance", message.Content["blocks"]![0]!["text"]!["text"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(1, message.Updates);
    }

    [Fact]
    public async Task Other_interaction_types_are_acknowledged_and_ignored()
    {
        var viewSubmission = new JsonObject { ["type"] = "view_submission", ["user"] = new JsonObject { ["id"] = "UA8RXUSPL" } };

        using var response = await _host.PostInteractionAsync(viewSubmission.ToJsonString());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await Drained.WaitAsync(_host.Services);
        Assert.Empty(_actions.Requests);
        Assert.DoesNotContain(_fake.Calls, c => c.Method is "response_url" or "chat.postMessage");
    }

    [Theory]
    [InlineData("payload=%7Bnot%20json")]
    [InlineData("payload=%5B1%2C2%5D")]
    [InlineData("payload=")]
    [InlineData("nopayload=1")]
    [InlineData("payload=%7B%22type%22%3A%22block_actions%22%7D")]
    [InlineData("payload=%7B%22type%22%3A%22block_actions%22%2C%22user%22%3A%7B%22id%22%3A%22UA8RXUSPL%22%7D%2C%22channel%22%3A%7B%22id%22%3A%22C1%22%7D%2C%22actions%22%3A%5B%5D%7D")]
    public async Task Malformed_interaction_payloads_get_400_and_change_nothing(string form)
    {
        using var response = await _host.PostSignedAsync("/slack/interactions", form, "application/x-www-form-urlencoded");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        await Drained.WaitAsync(_host.Services);
        Assert.Empty(_actions.Requests);
        Assert.Empty(_fake.Calls);
    }

    [Fact]
    public async Task Click_with_a_forged_signature_is_refused()
    {
        var body = "payload=" + Uri.EscapeDataString(Click("approve|apr-7c1d2e", _fake.NewResponseUrl()).ToJsonString());

        using var response = await _host.PostSignedAsync("/slack/interactions", body, "application/x-www-form-urlencoded", signatureOverride: "v0=" + new string('0', 64));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        await Drained.WaitAsync(_host.Services);
        Assert.Empty(_actions.Requests);
    }

    [Fact]
    public async Task Double_click_reaches_the_handler_twice_for_it_to_decide()
    {
        // Slack does not retry interactions; a second click is a second request and the approval handler is idempotent.
        var click = Click("approve|apr-7c1d2e", _fake.NewResponseUrl()).ToJsonString();
        using var first = await _host.PostInteractionAsync(click);
        using var second = await _host.PostInteractionAsync(click);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        await _fake.WaitUntilAsync(calls => calls.Count(c => c.Method == "response_url") == 2, TimeSpan.FromSeconds(15), "two answers");
        Assert.Equal(2, _actions.Requests.Count);
    }

    internal static JsonObject Click(string value, string responseUrl)
    {
        var click = SlackFixtures.Json("block-actions.json");
        click["response_url"] = responseUrl;
        click["actions"]![0]!["value"] = value;
        return click;
    }
}
