using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using ChatOpsPull.Approvals;
using ChatOpsPull.Chat;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Remediation;
using ChatOpsPull.Tests.Registry;
using ChatOpsPull.Tests.Remediation;
using ChatOpsPull.Tests.Slack;
using ChatOpsPull.Tests.Slack.FakeSlack;
using ChatOpsPull.Tests.Storage;
using ChatOpsPull.Web;

namespace ChatOpsPull.Tests.CrossPlatform;

/// <summary>
/// The observe install profile end to end (Bot:Profile=Observe, as manifests/profiles/observe sets it): the same real
/// host, fake Slack and fake Kubernetes API as the remediation tests. The incident card in Slack and on the web page shows
/// each fix as the kubectl commands to run, with no button that asks for, approves or runs one; a forged click on a fix
/// is refused, nothing is requested or enqueued, and the bot sends the API server nothing but reads.
/// </summary>
[Collection(RemediationParts.Name)]
public sealed class ObserveProfileTests(RegistryFixture registry)
{
    private const string SlackChannel = "C0SHOP";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);
    private static readonly JsonSerializerOptions Readable = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    [Fact]
    public async Task Observe_cards_show_fixes_as_commands_and_a_forged_click_runs_nothing()
    {
        var slack = await FakeSlackServer.StartAsync();
        await using var _ = slack;
        slack.RatePerSecond = 50;
        slack.Burst = 50;
        using var storage = TestStorage.Sqlite();
        await using var bed = await RemediationBed.StartAsync(storage, registry, new()
        {
            ["Bot:Profile"] = "Observe",
            ["Approvals:AutoRun:0"] = "DeleteBackoffPods",
            ["Slack:SigningSecret"] = SlackTestHost.SigningSecret,
            ["Slack:BotToken"] = FakeSlackServer.BotToken,
            ["Slack:ApiBaseUrl"] = slack.ApiUrl.ToString(),
            ["Slack:ResponseUrlPrefixes:0"] = slack.ResponseUrlPrefix,
            ["Routing:Routes:0:Platform"] = "Slack",
            ["Routing:Routes:0:Channel"] = SlackChannel,
            ["Routing:Routes:0:Namespace"] = RemediationBed.Namespace,
            ["Outbox:MessageInterval"] = "00:00:00.020",
            ["Outbox:PollInterval"] = "00:00:00.100",
        });
        var image = $"{registry.Anonymous}/team/app:1.4.3";
        var pods = bed.SeedFailingDeployment("api", image);
        var incident = await bed.OpenIncidentAsync("api", image, Facts.TagMissing(["1.4.2"], (1, $"{registry.Anonymous}/team/app:1.4.2")));
        var setTag = Facts.Plan(incident, RemediationKind.SetImageTag);
        var rollBack = Facts.Plan(incident, RemediationKind.RollBack);

        var card = await WaitForSlackCardAsync(slack, incident.Id, "Fix by hand: Set tag to 1.4.2");
        var text = card.Content.ToJsonString(Readable);
        Assert.Contains($"kubectl -n shop set image deployment/api app={registry.Anonymous}/team/app:1.4.2", text, StringComparison.Ordinal);
        Assert.Contains("kubectl -n shop rollout undo deployment/api --to-revision=1", text, StringComparison.Ordinal);
        Assert.Contains(FixOffer.ObserveSentence, text, StringComparison.Ordinal);
        var buttons = ButtonValues(card.Content);
        Assert.Contains(buttons, b => b.StartsWith("rediagnose|", StringComparison.Ordinal));
        Assert.DoesNotContain(buttons, b => b.StartsWith("request|", StringComparison.Ordinal) || b.StartsWith("approve|", StringComparison.Ordinal));

        // The web page shows the same card.
        var web = Assert.Single(await bed.Get<WebIncidentBoard>().CardsAsync(CancellationToken.None), c => c.Key == $"incident:{incident.Id}");
        Assert.Equal(
            [$"Fix by hand: {setTag.Title}", $"Fix by hand: {rollBack.Title}"],
            web.Sections.Where(s => s.Style == SectionStyle.Code && s.Heading!.StartsWith("Fix by hand", StringComparison.Ordinal)).Select(s => s.Heading).ToList());
        Assert.DoesNotContain(web.Actions, a => a.Payload.Verb is CardVerb.Request or CardVerb.Approve or CardVerb.Deny);

        // A click forged from an old card (or by hand) on the fix: refused, nothing asked, nothing changed.
        var answer = await ClickInSlackAsync(bed, slack, People.Bob, $"request|{incident.Id}|{setTag.Key}", card.Ts);

        Assert.StartsWith(ApprovalWorkflow.ObserveOnly, answer, StringComparison.Ordinal);
        Assert.Empty(await bed.Get<IApprovalQueries>().ListForIncidentAsync(incident.Id, CancellationToken.None));
        Assert.Empty(await bed.Get<RemediationRunStore>().ListForIncidentsAsync([incident.Id], CancellationToken.None));
        Assert.Equal(image, RemediationBed.ImageOf(bed.DeploymentObject("api")));
        Assert.Equal(pods.Order(), bed.PodsOf("api").Select(Kubernetes.FakeApi.ObjectStore.Name).Order());
        Assert.DoesNotContain(bed.Api.Requests, r => !r.StartsWith("GET ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Observe_diagnose_and_retry_answer_with_commands_and_request_nothing()
    {
        using var storage = TestStorage.Sqlite();
        await using var bed = await RemediationBed.StartAsync(storage, registry, new() { ["Bot:Profile"] = "Observe" });
        bed.SeedFailingDeployment("api", $"{registry.Anonymous}/team/app:1.4.3");
        var handler = bed.Get<IChatCommandHandler>();

        var retry = await handler.HandleAsync(new ChatCommandRequest(People.Alice, "retry shop/api", "C0SHOP"), CancellationToken.None);

        Assert.Contains("This bot only observes", retry.Text, StringComparison.Ordinal);
        Assert.Contains("kubectl -n shop rollout restart deployment/api", retry.Text, StringComparison.Ordinal);
        Assert.Empty(await bed.Get<IApprovalQueries>().ListPendingAsync(null, CancellationToken.None));
        Assert.DoesNotContain(bed.Api.Requests, r => !r.StartsWith("GET ", StringComparison.Ordinal));
    }

    private static List<string> ButtonValues(JsonNode? message) =>
        Teams.CardJson.Nodes(message).Where(n => n["type"]?.GetValue<string>() == "button" && n["value"] is JsonValue).Select(n => n["value"]!.GetValue<string>()).ToList();

    private static async Task<FakeSlackMessage> WaitForSlackCardAsync(FakeSlackServer slack, string incidentId, string text)
    {
        FakeSlackMessage? card = null;
        await Eventually.HoldsAsync(
            () =>
            {
                card = slack.Messages.FirstOrDefault(m => m.Channel == SlackChannel && m.Content.ToJsonString(Readable).Contains(incidentId, StringComparison.Ordinal));
                return card is not null && card.Content.ToJsonString(Readable).Contains(text, StringComparison.Ordinal);
            },
            Patience,
            () => $"the Slack card never said \"{text}\"; it is {card?.Content.ToJsonString(Readable) ?? "not posted"}");
        return card!;
    }

    /// <summary>A click on a Slack button, signed as Slack signs it; returns the answer the clicker got.</summary>
    private static async Task<string> ClickInSlackAsync(RemediationBed bed, FakeSlackServer slack, ChatUser user, string value, string messageTs)
    {
        var responseUrl = slack.NewResponseUrl();
        var click = SlackInteractionEndpointTests.Click(value, responseUrl);
        click["user"] = new JsonObject { ["id"] = user.Id, ["username"] = user.DisplayName, ["name"] = user.DisplayName, ["team_id"] = "T9TK3CUKW" };
        click["channel"] = new JsonObject { ["id"] = SlackChannel, ["name"] = "shop-alerts" };
        click["container"]!["channel_id"] = SlackChannel;
        click["container"]!["message_ts"] = messageTs;
        click["message"]!["ts"] = messageTs;
        var body = "payload=" + Uri.EscapeDataString(click.ToJsonString());
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var client = bed.Host.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/slack/interactions") { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/x-www-form-urlencoded");
        request.Headers.Add("X-Slack-Request-Timestamp", timestamp);
        request.Headers.Add("X-Slack-Signature", SlackTestHost.Sign(SlackTestHost.SigningSecret, timestamp, body));
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        bool IsFor(FakeSlackCall call) => call.Channel is { Length: > 0 } path && responseUrl.EndsWith(path, StringComparison.Ordinal);
        await slack.WaitUntilAsync(
            calls => calls.Any(c => c.Method == "response_url" && c.Body["replace_original"]?.GetValue<bool>() == false && IsFor(c)),
            Patience,
            $"the answer to {user.DisplayName}'s click on {value}");
        return slack.CallsTo("response_url").Single(c => c.Body["replace_original"]?.GetValue<bool>() == false && IsFor(c)).Body["text"]!.GetValue<string>();
    }
}
