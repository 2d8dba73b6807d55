using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using ChatOpsPull.Chat;
using ChatOpsPull.Chat.Commands;
using ChatOpsPull.Chat.Teams.Activities;
using ChatOpsPull.Core.Approvals;
using ChatOpsPull.Tests.Slack;
using ChatOpsPull.Tests.Slack.FakeSlack;
using ChatOpsPull.Tests.Teams;
using ChatOpsPull.Tests.Teams.FakeConnector;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ChatOpsPull.Tests.Commands;

/// <summary>
/// The real command handler behind Teams messages (the Bot Connector stand-in), and one host serving Slack and Teams
/// at once: a <c>retry</c> asked for in Slack is decided by the same policy when approvers click in Teams.
/// </summary>
[Collection(TeamsTestGroup.Name)]
public sealed class TeamsCommandTests : IAsyncLifetime
{
    private const string SlackChannel = "C0123ABCD";
    private readonly BotConnectorStandIn _standIn;
    private readonly InMemoryApprovals _approvals = InMemoryApprovals.For("teams:" + TeamsTestHost.ApproverAad, "slack:U0APPROVER");
    private FakeSlackServer _slack = null!;
    private TeamsTestHost _host = null!;

    public TeamsCommandTests(StandInFixture fixture)
    {
        _standIn = fixture.StandIn;
        _standIn.AddConversation(TeamsTestHost.GeneralChannel);
        _standIn.EnforceRateLimits = false;
        _standIn.ClearCalls();
    }

    public async Task InitializeAsync()
    {
        _slack = await FakeSlackServer.StartAsync();
        _host = new TeamsTestHost(
            _standIn,
            settings: new Dictionary<string, string?>
            {
                ["Bot:Cluster"] = CommandTestKit.Cluster,
                ["Kubernetes:WatchEnabled"] = "false",
                ["Slack:SigningSecret"] = SlackTestHost.SigningSecret,
                ["Slack:BotToken"] = FakeSlackServer.BotToken,
                ["Slack:ApiBaseUrl"] = _slack.ApiUrl.ToString(),
                ["Slack:ResponseUrlPrefixes:0"] = _slack.ResponseUrlPrefix,
                ["Slack:InlineReplyBudget"] = "00:00:02",
            },
            services: services =>
            {
                // The real handler in place of the recording one TeamsTestHost installs.
                services.RemoveAll<IChatCommandHandler>();
                services.AddSingleton<IChatCommandHandler>(sp => sp.GetRequiredService<ChatCommandHandler>());
                _approvals.Register(services);
            });
        using var added = await _host.SendAsync(TeamsActivities.BotAddedToTeam(_standIn.ServiceUrl));
        Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        _standIn.ClearCalls();
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _slack.DisposeAsync();
        SlackTestHost.DeleteDirectory(_host.DataDirectory);
    }

    [Fact]
    public async Task Status_in_Teams_is_answered_in_the_thread_with_the_same_card()
    {
        var web = await CommandTestKit.ReportAsync(_host.Services, "shop", "web", "web-6b9f7c5d8-x7kq2");

        using var response = await _host.SendAsync(TeamsActivities.ChannelMessage(_standIn.ServiceUrl, TeamsTestHost.GeneralChannel, "status", messageId: "1732520000101"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var reply = Assert.Single(_standIn.Calls, c => c.ConversationId == $"{TeamsTestHost.GeneralChannel};messageid=1732520000101");
        Assert.Equal(201, reply.Status);
        Assert.Equal("1732520000101", reply.Body!["replyToId"]!.GetValue<string>());
        var texts = CardJson.Texts(CardJson.CardOf(reply.Body));
        Assert.Contains("1 open incident in all namespaces", texts, StringComparison.Ordinal);
        Assert.Contains($"{web.Id}", texts, StringComparison.Ordinal);
        Assert.Contains("shop/deployment/web", texts, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_words_in_Teams_get_the_help_text_naming_them()
    {
        using var response = await _host.SendAsync(TeamsActivities.ChannelMessage(_standIn.ServiceUrl, TeamsTestHost.GeneralChannel, "reboot the cluster please", messageId: "1732520000102"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var reply = Assert.Single(_standIn.Calls);
        var text = reply.Body!["text"]!.GetValue<string>();
        Assert.StartsWith("I don't know `reboot`.", text, StringComparison.Ordinal);
        Assert.Contains("`diagnose [cluster/]<namespace>/<pod>`", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retry_asked_in_Slack_is_refused_to_a_Teams_viewer_and_approved_by_a_Teams_approver()
    {
        var web = await CommandTestKit.ReportAsync(_host.Services, "shop", "web", "web-6b9f7c5d8-x7kq2");

        using (var ack = await PostSlackCommandAsync("retry shop/web"))
        {
            Assert.Equal(HttpStatusCode.OK, ack.StatusCode);
        }

        await Eventually.HoldsAsync(() => _approvals.Requests.Count == 1, TimeSpan.FromSeconds(20), () => "no approval request was made");
        var request = Assert.Single(_approvals.Requests);
        Assert.Equal((web.Id, "slack", "U2CERLKJA"), (request.IncidentId, request.RequestedBy.Platform, request.RequestedBy.Id));
        await _slack.WaitUntilAsync(calls => calls.Any(c => c.Method == "chat.postMessage" && c.Channel == SlackChannel), TimeSpan.FromSeconds(20), "the request card in Slack");
        Assert.Contains($"approve|{request.Id}", CommandTestKit.BlockTexts(_slack.CallsTo("chat.postMessage").Last(c => c.Channel == SlackChannel).Body), StringComparison.Ordinal);

        var data = new JsonObject { ["payload"] = $"approve|{request.Id}", ["cardKey"] = $"incident:{web.Id}" };
        var thread = $"{TeamsTestHost.GeneralChannel};messageid=1732520000200";
        var viewer = await InvokeAsync(TeamsActivities.CardAction(_standIn.ServiceUrl, thread, "approve", data.DeepClone(), asViewer: true));
        Assert.Equal(TeamsActivityProcessor.MessageResponseType, viewer["type"]!.GetValue<string>());
        Assert.Equal("You are not an approver for namespace shop in cluster test-cluster. Nothing changed.", viewer["value"]!.GetValue<string>());
        Assert.Equal(ApprovalStatus.Pending, Assert.Single(_approvals.Requests).Status);

        var approver = await InvokeAsync(TeamsActivities.CardAction(_standIn.ServiceUrl, thread, "approve", data.DeepClone()));
        Assert.Equal(TeamsActivityProcessor.CardResponseType, approver["type"]!.GetValue<string>());
        Assert.Contains("approved by Ada Approver", CardJson.Texts(approver["value"]), StringComparison.Ordinal);
        var decided = Assert.Single(_approvals.Requests);
        Assert.Equal(ApprovalStatus.Approved, decided.Status);
        Assert.Equal(("teams", TeamsTestHost.ApproverAad), (decided.Votes.Single().By.Platform, decided.Votes.Single().By.Id));

        var again = await InvokeAsync(TeamsActivities.CardAction(_standIn.ServiceUrl, thread, "approve", data.DeepClone()));
        Assert.Equal("This request was already approved; the job is running or has run. Nothing changed.", again["value"]!.GetValue<string>());
        Assert.Single(Assert.Single(_approvals.Requests).Votes);
    }

    private async Task<JsonNode> InvokeAsync(JsonObject activity)
    {
        using var response = await _host.SendAsync(activity);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }

    private async Task<HttpResponseMessage> PostSlackCommandAsync(string text)
    {
        var body = SlackCommandEndpointTests.Form(text, _slack.NewResponseUrl());
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        using var client = _host.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/slack/commands") { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/x-www-form-urlencoded");
        request.Headers.Add("X-Slack-Request-Timestamp", timestamp);
        request.Headers.Add("X-Slack-Signature", SlackTestHost.Sign(SlackTestHost.SigningSecret, timestamp, body));
        return await client.SendAsync(request);
    }
}
