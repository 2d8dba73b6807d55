using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using ChatOpsPull.Chat;
using ChatOpsPull.Tests.Slack;
using ChatOpsPull.Tests.Slack.FakeSlack;
using ChatOpsPull.Tests.Storage;
using ChatOpsPull.Tests.Teams.FakeConnector;

namespace ChatOpsPull.Tests.Infrastructure;

/// <summary>
/// The chat side of a test that starts the whole bot: the settings that sign it in to the fake Slack server (and the
/// Bot Connector stand-in) and route a namespace to a channel on each, and the ways a person reaches the started bot
/// from there: a signed Slack click, a Bot Connector activity, the card as Slack last shows it.
/// </summary>
public static class ChatWiring
{
    /// <summary>Card JSON as a person reads it (no \u escapes), for "the card says …" checks.</summary>
    public static readonly JsonSerializerOptions Readable = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// Slack (and Teams when <paramref name="teams"/> is given) signed in, <paramref name="namespace"/> routed to
    /// <paramref name="slackChannel"/> (and <paramref name="teamsChannel"/>), and an outbox paced for tests.
    /// </summary>
    public static Dictionary<string, string?> Settings(FakeSlackServer slack, string @namespace, string slackChannel, BotConnectorStandIn? teams = null, string? teamsChannel = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Slack:SigningSecret"] = SlackTestHost.SigningSecret,
            ["Slack:BotToken"] = FakeSlackServer.BotToken,
            ["Slack:ApiBaseUrl"] = slack.ApiUrl.ToString(),
            ["Slack:ResponseUrlPrefixes:0"] = slack.ResponseUrlPrefix,
            ["Routing:Routes:0:Platform"] = "Slack",
            ["Routing:Routes:0:Channel"] = slackChannel,
            ["Routing:Routes:0:Namespace"] = @namespace,
            ["Outbox:MessageInterval"] = "00:00:00.020",
            ["Outbox:PollInterval"] = "00:00:00.100",
            ["Outbox:BaseBackoff"] = "00:00:00.100",
            ["Outbox:MaxBackoff"] = "00:00:01",
        };
        if (teams is not null)
        {
            settings["Teams:MicrosoftAppId"] = BotConnectorStandIn.AppId;
            settings["Teams:MicrosoftAppPassword"] = BotConnectorStandIn.AppPassword;
            settings["Teams:OpenIdMetadataUrl"] = teams.OpenIdMetadataUrl;
            settings["Teams:EmulatorOpenIdMetadataUrl"] = teams.EmulatorOpenIdMetadataUrl;
            settings["Teams:TokenEndpoint"] = teams.TokenEndpoint;
            settings["Teams:AllowedServiceUrlHosts:0"] = "127.0.0.1";
            settings["Routing:Routes:1:Platform"] = "Teams";
            settings["Routing:Routes:1:Channel"] = teamsChannel ?? throw new ArgumentNullException(nameof(teamsChannel));
            settings["Routing:Routes:1:Namespace"] = @namespace;
        }

        return settings;
    }

    /// <summary>Waits until the incident's card in <paramref name="channel"/> (as last posted or updated) contains the text.</summary>
    public static async Task<FakeSlackMessage> WaitForSlackCardAsync(FakeSlackServer slack, string channel, string incidentId, string text, TimeSpan patience)
    {
        FakeSlackMessage? card = null;
        await Eventually.HoldsAsync(
            () =>
            {
                card = slack.Messages.FirstOrDefault(m => m.Channel == channel && m.Content.ToJsonString(Readable).Contains(incidentId, StringComparison.Ordinal));
                return card is not null && card.Content.ToJsonString(Readable).Contains(text, StringComparison.Ordinal);
            },
            $"the Slack card of {incidentId} to say \"{text}\"",
            patience,
            () => $"it is {card?.Content.ToJsonString(Readable) ?? "not posted"}; calls: {string.Join(", ", slack.Calls.Select(c => c.Method + (c.Error is null ? string.Empty : ":" + c.Error)))}");
        return card!;
    }

    /// <summary>A click on a Slack button in <paramref name="channel"/>, signed as Slack signs it, through /slack/interactions; returns what the clicker was told.</summary>
    public static async Task<string> ClickInSlackAsync(BotTestHost host, FakeSlackServer slack, string channel, ChatUser user, string value, string messageTs, TimeSpan patience)
    {
        var responseUrl = slack.NewResponseUrl();
        await PostSlackInteractionAsync(host, SlackClick(user, channel, value, messageTs, responseUrl));
        return await SlackAnswerAsync(slack, responseUrl, $"the answer to {user.DisplayName}'s click on {value}", patience);
    }

    /// <summary>The block_actions payload of <paramref name="user"/>'s click on a button of the message <paramref name="messageTs"/> in <paramref name="channel"/>.</summary>
    public static JsonObject SlackClick(ChatUser user, string channel, string value, string messageTs, string responseUrl)
    {
        var click = SlackInteractionEndpointTests.Click(value, responseUrl);
        click["user"] = new JsonObject { ["id"] = user.Id, ["username"] = user.DisplayName, ["name"] = user.DisplayName, ["team_id"] = "T9TK3CUKW" };
        click["channel"] = new JsonObject { ["id"] = channel, ["name"] = "shop-alerts" };
        click["container"]!["channel_id"] = channel;
        click["container"]!["message_ts"] = messageTs;
        click["message"]!["ts"] = messageTs;
        return click;
    }

    /// <summary>Posts an interaction payload to /slack/interactions, form-encoded and signed as Slack signs it; the bot must answer 200.</summary>
    public static async Task PostSlackInteractionAsync(BotTestHost host, JsonObject payload)
    {
        var body = "payload=" + Uri.EscapeDataString(payload.ToJsonString());
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var client = host.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/slack/interactions") { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/x-www-form-urlencoded");
        request.Headers.Add("X-Slack-Request-Timestamp", timestamp);
        request.Headers.Add("X-Slack-Signature", SlackTestHost.Sign(SlackTestHost.SigningSecret, timestamp, body));
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>What the clicker was told at the click's response_url (a new message, not a replacement of the card).</summary>
    public static async Task<string> SlackAnswerAsync(FakeSlackServer slack, string responseUrl, string what, TimeSpan patience)
    {
        bool IsAnswer(FakeSlackCall c) =>
            c.Method == "response_url" && c.Body["replace_original"]?.GetValue<bool>() == false && c.Channel is { Length: > 0 } path && responseUrl.EndsWith(path, StringComparison.Ordinal);
        await slack.WaitUntilAsync(calls => calls.Any(IsAnswer), patience, what);
        return slack.Calls.Single(IsAnswer).Body["text"]!.GetValue<string>();
    }

    /// <summary>An activity to /api/messages with a token from the Bot Connector stand-in, as the Bot Connector sends it.</summary>
    public static async Task<HttpResponseMessage> SendToBotAsync(BotTestHost host, BotConnectorStandIn teams, JsonObject activity)
    {
        using var client = host.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/messages") { Content = new StringContent(activity.ToJsonString(), Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", teams.CreateToken(new TokenSpec { ServiceUrl = activity["serviceUrl"]!.GetValue<string>() }));
        return await client.SendAsync(request);
    }
}
