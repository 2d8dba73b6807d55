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
using ChatOpsPull.Simulation.KubernetesApi;
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
        var settings = ChatWiring.Settings(slack, RemediationBed.Namespace, SlackChannel);
        settings["Bot:Profile"] = "Observe";
        settings["Approvals:AutoRun:0"] = "DeleteBackoffPods";
        await using var bed = await RemediationBed.StartAsync(storage, registry, settings);
        var image = $"{registry.Anonymous}/team/app:1.4.3";
        var pods = bed.SeedFailingDeployment("api", image);
        var incident = await bed.OpenIncidentAsync("api", image, Facts.TagMissing(["1.4.2"], (1, $"{registry.Anonymous}/team/app:1.4.2")));
        var setTag = Facts.Plan(incident, RemediationKind.SetImageTag);
        var rollBack = Facts.Plan(incident, RemediationKind.RollBack);

        var card = await ChatWiring.WaitForSlackCardAsync(slack, SlackChannel, incident.Id, "Fix by hand: Set tag to 1.4.2", Patience);
        var text = card.Content.ToJsonString(Readable);
        Assert.Contains($"kubectl -n shop set image deployment/api app={registry.Anonymous}/team/app:1.4.2", text, StringComparison.Ordinal);
        Assert.Contains("kubectl -n shop rollout undo deployment/api --to-revision=1", text, StringComparison.Ordinal);
        Assert.Contains(FixOffer.ObserveSentence(incident.Key.Cluster), text, StringComparison.Ordinal);
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
        var answer = await ChatWiring.ClickInSlackAsync(bed.Host, slack, SlackChannel, People.Bob, $"request|{incident.Id}|{setTag.Key}", card.Ts, Patience);

        Assert.StartsWith(ApprovalWorkflow.ObserveOnly, answer, StringComparison.Ordinal);
        Assert.Empty(await bed.Get<IApprovalQueries>().ListForIncidentAsync(incident.Id, CancellationToken.None));
        Assert.Empty(await bed.Get<RemediationRunStore>().ListForIncidentsAsync([incident.Id], CancellationToken.None));
        Assert.Equal(image, RemediationBed.ImageOf(bed.DeploymentObject("api")));
        Assert.Equal(pods.Order(), bed.PodsOf("api").Select(ObjectStore.Name).Order());
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
}
