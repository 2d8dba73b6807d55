using System.Net;
using System.Text.Json.Nodes;
using ChatOpsPull.Chat;
using ChatOpsPull.Chat.Slack;
using ChatOpsPull.Tests.Slack.FakeSlack;

namespace ChatOpsPull.Tests.Slack;

public sealed class SlackCommandEndpointTests : IAsyncLifetime
{
    private readonly RecordingCommandHandler _commands = new();
    private FakeSlackServer _fake = null!;
    private SlackTestHost _host = null!;

    public async Task InitializeAsync()
    {
        _fake = await FakeSlackServer.StartAsync();
        // A generous inline budget: the first command of a fresh host also loads the user-group cache.
        _host = SlackTestHost.Start(_fake, new Dictionary<string, string?> { ["Slack:InlineReplyBudget"] = "00:00:01" }, commands: _commands);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _fake.DisposeAsync();
        SlackTestHost.DeleteDirectory(_host.DataDirectory);
    }

    [Fact]
    public async Task Instant_command_is_answered_in_the_acknowledgement()
    {
        using var response = await _host.PostCommandAsync(Form("status"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("ephemeral", body["response_type"]!.GetValue<string>());
        Assert.Equal("All quiet. You asked: status", body["text"]!.GetValue<string>());
        var request = Assert.Single(_commands.Requests);
        Assert.Equal(new ChatUser(ChatPlatform.Slack, "U2CERLKJA", "roadrunner", []).Id, request.User.Id);
        Assert.Equal("roadrunner", request.User.DisplayName);
        Assert.Equal("C0123ABCD", request.ChannelId);
        Assert.Equal("status", request.Text);
    }

    [Fact]
    public async Task In_channel_answer_with_a_card_is_rendered_as_blocks()
    {
        _commands.Answer = _ => new ChatReply("Two incidents open", Ephemeral: false) { Card = SampleCards.Incident("incident:inc-4f2a9c") };

        using var response = await _host.PostCommandAsync(Form("status"));

        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        Assert.Equal("in_channel", body["response_type"]!.GetValue<string>());
        Assert.Equal("Two incidents open", body["text"]!.GetValue<string>());
        Assert.Equal("header", body["blocks"]![0]!["type"]!.GetValue<string>());
        Assert.Empty(BlockKitRules.Check(body));
    }

    [Fact]
    public async Task Slow_command_is_acknowledged_at_once_and_answered_through_response_url()
    {
        // The command runs until the test lets it finish: the acknowledgement must come while it still runs (Slack
        // wants one within 3 s, the inline reply budget here is 1 s), and the answer later, through the response URL.
        var finish = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _commands.HeldUntil = finish.Task;
        var responseUrl = _fake.NewResponseUrl();

        using var response = await _host.PostCommandAsync(Form("diagnose shop/api-7d9c", responseUrl)).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var ack = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(SlackInbound.WorkingOnIt, ack["text"]!.GetValue<string>());
        Assert.Single(_commands.Requests);
        Assert.DoesNotContain(_fake.Calls, c => c.Method == "response_url");

        finish.SetResult();
        await _fake.WaitUntilAsync(calls => calls.Any(c => c.Method == "response_url"), TimeSpan.FromSeconds(15), "the follow-up");
        var followUp = Assert.Single(_fake.CallsTo("response_url"));
        Assert.Equal("All quiet. You asked: diagnose shop/api-7d9c", followUp.Body["text"]!.GetValue<string>());
        Assert.True(followUp.Body["replace_original"]!.GetValue<bool>());
        Assert.Equal("ephemeral", followUp.Body["response_type"]!.GetValue<string>());
        Assert.Contains(responseUrl[responseUrl.IndexOf("/hooks/", StringComparison.Ordinal)..], followUp.Channel, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_slash_command_gets_ephemeral_help_and_reaches_no_handler()
    {
        using var response = await _host.PostCommandAsync(Form("status", command: "/deploy"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("ephemeral", body["response_type"]!.GetValue<string>());
        Assert.Contains("/pullbot help", body["text"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(_commands.Requests);
    }

    [Fact]
    public async Task Forged_signature_is_refused_and_nothing_is_processed()
    {
        var body = Form("retry shop/api");
        var forged = SlackTestHost.Sign("not-the-signing-secret", DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), body);

        using var response = await _host.PostSignedAsync("/slack/commands", body, "application/x-www-form-urlencoded", signatureOverride: forged);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("signature does not match", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(_commands.Requests);
        Assert.Empty(_fake.Calls);
    }

    [Fact]
    public async Task Stale_timestamp_is_refused_as_a_replay()
    {
        var sixMinutesAgo = DateTimeOffset.UtcNow.AddMinutes(-6).ToUnixTimeSeconds();

        using var response = await _host.PostSignedAsync("/slack/commands", Form("status"), "application/x-www-form-urlencoded", timestamp: sixMinutesAgo);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("more than 5 minutes", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(_commands.Requests);
    }

    [Fact]
    public async Task Request_without_signature_headers_is_refused()
    {
        using var content = new StringContent(Form("status"), System.Text.Encoding.UTF8, "application/x-www-form-urlencoded");
        using var response = await _host.Client.PostAsync(new Uri("/slack/commands", UriKind.Relative), content);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Empty(_commands.Requests);
    }

    [Fact]
    public async Task Huge_body_is_refused_with_413_before_it_is_hashed()
    {
        var huge = Form("status") + "&padding=" + new string('a', 300 * 1024);

        using var response = await _host.PostCommandAsync(huge);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Empty(_commands.Requests);
    }

    [Theory]
    [InlineData("command=%2Fpullbot&text=%zz&user_id=U2CERLKJA&channel_id=C0123ABCD")]
    [InlineData("command=%2Fpullbot&text=a&text=b&user_id=U2CERLKJA&channel_id=C0123ABCD")]
    [InlineData("command=%2Fpullbot&text=%C3%28&user_id=U2CERLKJA&channel_id=C0123ABCD")]
    [InlineData("command=%2Fpullbot&text=status&channel_id=C0123ABCD")]
    [InlineData("command=%2Fpullbot&text=status&user_id=U2CERLKJA")]
    [InlineData("command=pullbot&text=status&user_id=U2CERLKJA&channel_id=C0123ABCD")]
    [InlineData("command=%2Fpullbot&text=status&user_id=%3Cscript%3E&channel_id=C0123ABCD")]
    [InlineData("")]
    public async Task Malformed_command_forms_get_400_and_reach_no_handler(string form)
    {
        using var response = await _host.PostCommandAsync(form);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.StartsWith("Malformed Slack request", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(_commands.Requests);
    }

    [Fact]
    public async Task Json_body_on_the_command_endpoint_is_refused_with_415()
    {
        using var response = await _host.PostSignedAsync("/slack/commands", """{"command":"/pullbot"}""", "application/json");

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Empty(_commands.Requests);
    }

    [Fact]
    public async Task Handler_that_throws_gets_an_apology_not_a_500()
    {
        _commands.Answer = _ => throw new InvalidOperationException("boom");

        using var response = await _host.PostCommandAsync(Form("status"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Contains("failed on the bot's side", body["text"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.DoesNotContain("boom", body["text"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    internal static string Form(string text, string? responseUrl = null, string command = "/pullbot") =>
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=C0123ABCD&channel_name=ops"
        + "&user_id=U2CERLKJA&user_name=roadrunner&command=" + Uri.EscapeDataString(command) + "&text=" + Uri.EscapeDataString(text)
        + "&response_url=" + Uri.EscapeDataString(responseUrl ?? "https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN")
        + "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
}
