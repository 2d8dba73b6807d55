using System.Text.Json.Nodes;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Tests.Slack.FakeSlack;

namespace ChatOpsPull.Tests.Slack;

public sealed class SlackSocketModeTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly RecordingCommandHandler _commands = new();
    private readonly RecordingActionHandler _actions = new();
    private FakeSlackServer _fake = null!;
    private SlackTestHost? _host;

    public async Task InitializeAsync() => _fake = await FakeSlackServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
            SlackTestHost.DeleteDirectory(_host.DataDirectory);
        }

        await _fake.DisposeAsync();
    }

    [Fact]
    public async Task Slash_command_round_trip_hello_envelope_ack_with_the_answer()
    {
        StartHost();
        var socket = await _fake.WaitForSocketAsync(Wait);
        var envelope = SlackFixtures.Json("socket-slash-command.json");
        envelope["payload"]!["response_url"] = _fake.NewResponseUrl();

        await socket.SendAsync(envelope);
        var ack = Assert.Single(await socket.WaitForAcksAsync("1d3c79ab-0ffb-41f3-a080-d19e85f53649", 1, Wait));

        Assert.Equal("All quiet. You asked: status", ack["payload"]!["text"]!.GetValue<string>());
        Assert.Equal("ephemeral", ack["payload"]!["response_type"]!.GetValue<string>());
        var request = Assert.Single(_commands.Requests);
        Assert.Equal("U0HPAU4FK", request.User.Id);
        Assert.Equal("beth", request.User.DisplayName);
        Assert.Equal("C01FT9UJ6AF", request.ChannelId);
        var open = Assert.Single(_fake.CallsTo("apps.connections.open"));
        Assert.True(open.Ok);
    }

    [Fact]
    public async Task Redelivered_envelope_is_acknowledged_again_but_processed_once()
    {
        StartHost();
        var socket = await _fake.WaitForSocketAsync(Wait);
        var envelope = SlackFixtures.Json("socket-slash-command.json");
        envelope["payload"]!["response_url"] = _fake.NewResponseUrl();

        await socket.SendAsync(envelope);
        await socket.WaitForAcksAsync("1d3c79ab-0ffb-41f3-a080-d19e85f53649", 1, Wait);
        envelope["retry_attempt"] = 1;
        envelope["retry_reason"] = "timeout";
        await socket.SendAsync(envelope);
        var acks = await socket.WaitForAcksAsync("1d3c79ab-0ffb-41f3-a080-d19e85f53649", 2, Wait);

        Assert.Equal(2, acks.Count);
        Assert.Null(acks[1]["payload"]);
        Assert.Single(_commands.Requests);
    }

    [Fact]
    public async Task Button_click_envelope_is_acknowledged_and_routed_to_the_action_handler()
    {
        StartHost();
        var socket = await _fake.WaitForSocketAsync(Wait);
        var click = SlackInteractionEndpointTests.Click("deny|apr-7c1d2e", _fake.NewResponseUrl());

        await socket.SendAsync(new JsonObject { ["envelope_id"] = "env-click-0001", ["type"] = "interactive", ["accepts_response_payload"] = false, ["payload"] = click });
        var ack = Assert.Single(await socket.WaitForAcksAsync("env-click-0001", 1, Wait));
        await _fake.WaitUntilAsync(calls => calls.Any(c => c.Method == "response_url"), Wait, "the answer to the click");

        Assert.Null(ack["payload"]);
        Assert.Equal(new CardActionPayload(CardVerb.Deny, "apr-7c1d2e"), Assert.Single(_actions.Requests).Payload);
        Assert.Equal("Noted: deny|apr-7c1d2e", _fake.CallsTo("response_url").Single().Body["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task Mention_event_is_answered_and_the_same_event_in_a_new_envelope_is_not_processed_again()
    {
        StartHost();
        var socket = await _fake.WaitForSocketAsync(Wait);
        var callback = SlackFixtures.Json("event-app-mention.json");

        await socket.SendAsync(new JsonObject { ["envelope_id"] = "env-event-0001", ["type"] = "events_api", ["accepts_response_payload"] = false, ["retry_attempt"] = 0, ["payload"] = callback.DeepClone() });
        await socket.SendAsync(new JsonObject { ["envelope_id"] = "env-event-0002", ["type"] = "events_api", ["accepts_response_payload"] = false, ["retry_attempt"] = 1, ["retry_reason"] = "timeout", ["payload"] = callback.DeepClone() });
        await socket.WaitForAcksAsync("env-event-0001", 1, Wait);
        await socket.WaitForAcksAsync("env-event-0002", 1, Wait);
        await _fake.WaitUntilAsync(calls => calls.Any(c => c.Method == "chat.postEphemeral"), Wait, "the answer");
        await Drained.WaitAsync(_host!.Services); // a second processing of the event would be in flight or done

        var request = Assert.Single(_commands.Requests);
        Assert.Equal("is it everything a river should be?", request.Text);
        var answer = Assert.Single(_fake.CallsTo("chat.postEphemeral"));
        Assert.Equal("U061F7AUR", answer.Body["user"]!.GetValue<string>());
        Assert.Equal("1515449522.000016", answer.Body["thread_ts"]!.GetValue<string>());
    }

    [Fact]
    public async Task Disconnect_refresh_requested_makes_the_bot_reconnect_and_carry_on()
    {
        StartHost();
        var first = await _fake.WaitForSocketAsync(Wait);

        await first.SendAsync(new JsonObject { ["type"] = "disconnect", ["reason"] = "refresh_requested", ["debug_info"] = new JsonObject { ["host"] = "fake-slack" } });
        var second = await _fake.WaitForSocketAsync(Wait);
        await first.Closed.WaitAsync(Wait);
        var envelope = SlackFixtures.Json("socket-slash-command.json");
        envelope["envelope_id"] = "env-after-refresh";
        envelope["payload"]!["response_url"] = _fake.NewResponseUrl();
        await second.SendAsync(envelope);
        var ack = Assert.Single(await second.WaitForAcksAsync("env-after-refresh", 1, Wait));

        Assert.NotSame(first, second);
        Assert.Equal(2, _fake.CallsTo("apps.connections.open").Count);
        Assert.NotNull(ack["payload"]);
    }

    [Fact]
    public async Task Wrong_app_token_is_retried_with_backoff_not_in_a_tight_loop()
    {
        StartHost(new Dictionary<string, string?> { ["Slack:AppToken"] = "xapp-1-A0FAKE-wrong" });

        await _fake.WaitUntilAsync(calls => calls.Count(c => c.Method == "apps.connections.open") >= 3, TimeSpan.FromSeconds(30), "three connection attempts");

        var opens = _fake.CallsTo("apps.connections.open").Take(3).ToList();
        Assert.All(opens, o => Assert.Equal("invalid_auth", o.Error));
        // Backoff from 1 s (jitter 0.8–1.2): a tight loop would retry within milliseconds.
        var gaps = opens.Zip(opens.Skip(1), (a, b) => b.At - a.At).ToList();
        Assert.All(gaps, gap => Assert.True(gap >= TimeSpan.FromMilliseconds(700), $"retried after {gap.TotalMilliseconds:F0} ms"));
    }

    [Fact]
    public async Task Malformed_socket_messages_are_ignored_and_the_connection_stays_up()
    {
        StartHost();
        var socket = await _fake.WaitForSocketAsync(Wait);

        await socket.SendAsync(new JsonObject { ["type"] = "slash_commands", ["payload"] = new JsonObject { ["command"] = "/pullbot" } });
        await socket.SendAsync(new JsonObject { ["type"] = "slash_commands", ["envelope_id"] = "env-bad-0001", ["payload"] = new JsonObject { ["text"] = "no command" } });
        await socket.SendAsync(new JsonObject { ["type"] = "brand_new_type", ["envelope_id"] = "env-new-0001" });
        var envelope = SlackFixtures.Json("socket-slash-command.json");
        envelope["payload"]!["response_url"] = _fake.NewResponseUrl();
        await socket.SendAsync(envelope);

        Assert.Single(await socket.WaitForAcksAsync("env-bad-0001", 1, Wait));
        Assert.NotNull(Assert.Single(await socket.WaitForAcksAsync("1d3c79ab-0ffb-41f3-a080-d19e85f53649", 1, Wait))["payload"]);
        Assert.Single(_commands.Requests);
        Assert.Single(_fake.CallsTo("apps.connections.open"));
    }

    private void StartHost(Dictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Slack:SocketMode"] = "true",
            ["Slack:AppToken"] = FakeSlackServer.AppToken,
            ["Slack:SigningSecret"] = null,
            ["Slack:InlineReplyBudget"] = "00:00:01",
        };
        foreach (var (key, value) in extra ?? [])
        {
            settings[key] = value;
        }

        _host = SlackTestHost.Start(_fake, settings, _commands, _actions);
    }
}
