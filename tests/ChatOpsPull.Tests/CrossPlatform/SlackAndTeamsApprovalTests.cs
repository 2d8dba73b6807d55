using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using ChatOpsPull.Chat;
using ChatOpsPull.Chat.Teams.Activities;
using ChatOpsPull.Chat.Teams.Cards;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Remediation;
using ChatOpsPull.Tests.Registry;
using ChatOpsPull.Tests.Remediation;
using ChatOpsPull.Tests.Slack;
using ChatOpsPull.Tests.Slack.FakeSlack;
using ChatOpsPull.Tests.Storage;
using ChatOpsPull.Tests.Teams;
using ChatOpsPull.Tests.Teams.FakeConnector;

namespace ChatOpsPull.Tests.CrossPlatform;

/// <summary>
/// One incident routed to a Slack channel (the fake Slack server) and a Teams channel (the Bot Connector stand-in) on
/// one real host (<see cref="RemediationBed"/>: approvals, Hangfire remediation job, fake Kubernetes API). A fix asked
/// for on one platform and approved on the other runs one job, and both cards end in the same state.
/// </summary>
[Collection(RemediationParts.Name)]
public sealed class SlackAndTeamsApprovalTests(RegistryFixture registry)
{
    private const string SlackChannel = "C0SHOP";
    private const string TeamsChannel = TeamsTestHost.GeneralChannel;
    private const string PlanTitle = "Set tag to 1.4.2";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);
    private static readonly JsonSerializerOptions Readable = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Carol as Teams sends her: an MRI id and her AAD object id (the id the approval rules name).</summary>
    private static readonly JsonObject CarolInTeams = new() { ["id"] = "29:1carol-mri", ["aadObjectId"] = People.Carol.Id, ["name"] = People.Carol.DisplayName };

    /// <summary>Someone in the Teams channel who may ask for fixes but not approve them.</summary>
    private static readonly JsonObject ErinInTeams = new() { ["id"] = "29:1erin-mri", ["aadObjectId"] = "5f1d7c2a-0000-4000-8000-00000000e401", ["name"] = "erin" };

    [Fact]
    public async Task Asked_in_Slack_and_approved_in_Teams_runs_one_job_and_both_cards_end_the_same()
    {
        await using var world = await World.StartAsync(registry);
        var (incidentId, cardKey) = await world.OpenIncidentOnBothAsync();

        // Alice clicks the fix on the Slack card.
        var slackCard = world.SlackCard(incidentId);
        var request = ButtonValues(slackCard.Content).Single(v => v.StartsWith($"request|{incidentId}|SetImageTag:", StringComparison.Ordinal));
        var asked = await world.ClickInSlackAsync(People.Alice, request, slackCard.Ts);
        Assert.Contains("asked to run", asked, StringComparison.Ordinal);
        var approvalId = await world.Bed.PendingIdAsync(incidentId, RemediationKind.SetImageTag);
        await world.WaitForTeamsCardAsync(cardKey, "waiting for approval");

        // Carol's Teams shows her the approver view (refresh) with Approve on it; she clicks it.
        var approverView = await world.InvokeCardAsync(CarolInTeams, AdaptiveCardRenderer.RefreshVerb, new JsonObject { ["cardKey"] = cardKey });
        var approve = ExecuteData(approverView["value"], "approve");
        Assert.Equal($"approve|{approvalId}", approve["payload"]!.GetValue<string>());
        var approved = await world.InvokeCardAsync(CarolInTeams, "approve", approve);
        Assert.Equal(TeamsActivityProcessor.CardResponseType, approved["type"]!.GetValue<string>());
        Assert.DoesNotContain("approve", CardJson.Verbs(approved["value"]));

        await world.Bed.WaitForRunAsync(approvalId, r => r.Run.Status == RunStatus.VerifyingRollout, Patience);

        // Bob clicks Approve on the Slack card he still has: already approved, nothing changes.
        var again = await world.ClickInSlackAsync(People.Bob, $"approve|{approvalId}", slackCard.Ts);
        Assert.StartsWith("This request was already approved", again, StringComparison.Ordinal);

        await world.FinishRolloutAsync(approvalId);
        await world.AssertSameEndStateAsync(incidentId, cardKey, approvedBy: "carol");
        Assert.Equal(People.Carol.Id, Assert.Single((await world.Bed.Get<ChatOpsPull.Approvals.ApprovalStore>().GetAsync(approvalId))!.Votes).By.Id);
    }

    [Fact]
    public async Task Asked_in_Teams_and_approved_in_Slack_runs_one_job_and_both_cards_end_the_same()
    {
        await using var world = await World.StartAsync(registry);
        var (incidentId, cardKey) = await world.OpenIncidentOnBothAsync();

        // Erin clicks the fix on the Teams card (everyone's view has it).
        var teamsCard = CardJson.CardOf(world.LastTeamsCard(cardKey));
        var request = ExecuteData(teamsCard, "request");
        Assert.StartsWith($"request|{incidentId}|SetImageTag:", request["payload"]!.GetValue<string>(), StringComparison.Ordinal);
        var asked = await world.InvokeCardAsync(ErinInTeams, "request", request);
        Assert.Equal(TeamsActivityProcessor.CardResponseType, asked["type"]!.GetValue<string>());
        Assert.Contains("asked by erin: waiting for approval", CardJson.Texts(asked["value"]), StringComparison.Ordinal);
        var approvalId = await world.Bed.PendingIdAsync(incidentId, RemediationKind.SetImageTag);

        // The Slack card now carries Approve; Bob clicks it.
        var slackCard = await world.WaitForSlackCardAsync(incidentId, $"approve|{approvalId}");
        var approved = await world.ClickInSlackAsync(People.Bob, $"approve|{approvalId}", slackCard.Ts);
        Assert.StartsWith($"bob approved \"{PlanTitle}\"", approved, StringComparison.Ordinal);

        await world.Bed.WaitForRunAsync(approvalId, r => r.Run.Status == RunStatus.VerifyingRollout, Patience);

        // Carol clicks Approve in Teams on her (older) approver view: already approved, nothing changes.
        var again = await world.InvokeCardAsync(CarolInTeams, "approve", new JsonObject { ["payload"] = $"approve|{approvalId}", ["cardKey"] = cardKey });
        Assert.Equal(TeamsActivityProcessor.MessageResponseType, again["type"]!.GetValue<string>());
        Assert.StartsWith("This request was already approved", again["value"]!.GetValue<string>(), StringComparison.Ordinal);

        await world.FinishRolloutAsync(approvalId);
        await world.AssertSameEndStateAsync(incidentId, cardKey, approvedBy: "bob");
        Assert.Equal(People.Bob.Id, Assert.Single((await world.Bed.Get<ChatOpsPull.Approvals.ApprovalStore>().GetAsync(approvalId))!.Votes).By.Id);
    }

    /// <summary>Every Slack button value on a message.</summary>
    private static List<string> ButtonValues(JsonNode? message) =>
        CardJson.Nodes(message).Where(n => n["type"]?.GetValue<string>() == "button" && n["value"] is JsonValue).Select(n => n["value"]!.GetValue<string>()).ToList();

    /// <summary>The data of the card's Action.Execute with this verb (what Teams sends back when it is clicked).</summary>
    private static JsonObject ExecuteData(JsonNode? card, string verb)
    {
        var action = CardJson.Executes(card).SingleOrDefault(a => a["verb"]!.GetValue<string>() == verb);
        Assert.True(action is not null, $"no \"{verb}\" button on the card: {card?.ToJsonString(Readable)}");
        return (JsonObject)action["data"]!.DeepClone();
    }

    /// <summary>
    /// The whole setup: fake Slack, Bot Connector stand-in (which knows the Teams channel), and a <see cref="RemediationBed"/>
    /// signed in to both, routing namespace "shop" to Slack channel C0SHOP and the Teams channel, with the real outbox.
    /// </summary>
    private sealed class World : IAsyncDisposable
    {
        private readonly TestStorage _storage;

        private World(FakeSlackServer slack, BotConnectorStandIn teams, TestStorage storage, RemediationBed bed, string image)
        {
            Slack = slack;
            Teams = teams;
            _storage = storage;
            Bed = bed;
            Image = image;
        }

        public FakeSlackServer Slack { get; }

        public BotConnectorStandIn Teams { get; }

        public RemediationBed Bed { get; }

        public string Image { get; }

        public static async Task<World> StartAsync(RegistryFixture registry)
        {
            var slack = await FakeSlackServer.StartAsync();
            slack.RatePerSecond = 50;
            slack.Burst = 50;
            var teams = await BotConnectorStandIn.StartAsync();
            teams.AddConversation(TeamsChannel);
            teams.EnforceRateLimits = false;
            var storage = TestStorage.Sqlite();
            var bed = await RemediationBed.StartAsync(storage, registry, ChatWiring.Settings(slack, RemediationBed.Namespace, SlackChannel, teams, TeamsChannel));
            var world = new World(slack, teams, storage, bed, $"{registry.Anonymous}/team/app:1.4.3");

            // The bot is added to the team, as Teams tells it: from then on it knows where the channel lives.
            var added = TeamsActivities.BotAddedToTeam(teams.ServiceUrl);
            using var response = await world.SendToBotAsync(added);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return world;
        }

        /// <summary>A failing Deployment diagnosed "tag missing, 1.4.2 exists": its card posted in Slack and in Teams.</summary>
        public async Task<(string IncidentId, string CardKey)> OpenIncidentOnBothAsync()
        {
            Bed.SeedFailingDeployment("api", Image);
            var incident = await Bed.OpenIncidentAsync("api", Image, Facts.TagMissing(["1.4.2"]));
            await WaitForSlackCardAsync(incident.Id, PlanTitle);
            var cardKey = $"incident:{incident.Id}";
            await WaitForTeamsCardAsync(cardKey, PlanTitle);
            return (incident.Id, cardKey);
        }

        public FakeSlackMessage SlackCard(string incidentId) =>
            Slack.Messages.Single(m => m.Channel == SlackChannel && m.Content.ToJsonString().Contains(incidentId, StringComparison.Ordinal));

        /// <summary>Waits until the incident's card in C0SHOP (as last posted or updated) contains the text.</summary>
        public Task<FakeSlackMessage> WaitForSlackCardAsync(string incidentId, string text) =>
            ChatWiring.WaitForSlackCardAsync(Slack, SlackChannel, incidentId, text, Patience);

        /// <summary>The last card activity the stand-in accepted for the key (the post, or the latest update in place).</summary>
        public JsonNode? LastTeamsCard(string cardKey) =>
            Teams.Calls.LastOrDefault(c => c.Status is 200 or 201 && (c.Method == "PUT" || c.Path.EndsWith("/v3/conversations", StringComparison.Ordinal))
                                           && (c.Body?["activity"] ?? c.Body)?.ToJsonString().Contains(IncidentIdOf(cardKey), StringComparison.Ordinal) == true) is { } call
                ? call.Body?["activity"] ?? call.Body
                : null;

        public async Task<JsonNode> WaitForTeamsCardAsync(string cardKey, string text)
        {
            await Eventually.HoldsAsync(
                () => CardJson.CardOf(LastTeamsCard(cardKey))?.ToJsonString(Readable).Contains(text, StringComparison.Ordinal) == true,
                Patience,
                () => $"the Teams card never said \"{text}\"; it is {LastTeamsCard(cardKey)?.ToJsonString(Readable) ?? "not posted"}; calls: {string.Join(", ", Teams.Calls.Select(c => $"{c.Method} {c.Path} {c.Status}"))}");
            return LastTeamsCard(cardKey)!;
        }

        /// <summary>The thread the card's post started in the channel (where clicks on it come from).</summary>
        public string TeamsThread(string cardKey)
        {
            var post = Teams.Calls.First(c => c.Status == 201 && c.Path.EndsWith("/v3/conversations", StringComparison.Ordinal) && c.Body!.ToJsonString().Contains(cardKey, StringComparison.Ordinal));
            var put = Teams.Calls.FirstOrDefault(c => c.Method == "PUT" && c.Status == 200 && c.Body!.ToJsonString().Contains(cardKey, StringComparison.Ordinal));
            return put?.ConversationId ?? $"{TeamsChannel};messageid={post.ActivityId}";
        }

        /// <summary>A click on a Slack button, signed as Slack signs it, through /slack/interactions; returns the answer the clicker got.</summary>
        public Task<string> ClickInSlackAsync(ChatUser user, string value, string messageTs) =>
            ChatWiring.ClickInSlackAsync(Bed.Host, Slack, SlackChannel, user, value, messageTs, Patience);

        /// <summary>An Action.Execute click (or refresh) by a Teams user, through /api/messages with a Bot Connector token; returns the invoke response.</summary>
        public async Task<JsonNode> InvokeCardAsync(JsonObject from, string verb, JsonObject data)
        {
            var cardKey = data["cardKey"]!.GetValue<string>();
            var activity = TeamsActivities.CardAction(Teams.ServiceUrl, TeamsThread(cardKey), verb, data, trigger: verb == AdaptiveCardRenderer.RefreshVerb ? "automatic" : "manual");
            activity["from"] = from.DeepClone();
            using var response = await SendToBotAsync(activity);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            Assert.Equal(200, answer["statusCode"]!.GetValue<int>());
            return answer;
        }

        public Task<HttpResponseMessage> SendToBotAsync(JsonObject activity) => ChatWiring.SendToBotAsync(Bed.Host, Teams, activity);

        /// <summary>The job applied the fix and waits for the rollout: the pods become Ready, the run succeeds.</summary>
        public async Task FinishRolloutAsync(string approvalId)
        {
            Bed.Api.MarkPodsReady(RemediationBed.Namespace, "app=api");
            var run = await Bed.WaitForRunAsync(approvalId, timeout: Patience);
            Assert.Equal(RunStatus.Succeeded, run.Run.Status);
        }

        /// <summary>
        /// One patch changed the Deployment (besides the request's dry run); the Slack message and the Teams activity
        /// as last sent show the incident's current card: same title, same remediation line, no Approve anywhere.
        /// </summary>
        public async Task AssertSameEndStateAsync(string incidentId, string cardKey, string approvedBy)
        {
            var patches = Bed.Api.Requests.Where(r => r.StartsWith("PATCH /apis/apps/v1/namespaces/shop/deployments/api", StringComparison.Ordinal)).ToList();
            Assert.Single(patches, p => !p.Contains("dryRun", StringComparison.Ordinal));
            Assert.Equal("1.4.2", RemediationBed.ImageOf(Bed.DeploymentObject("api")).Split(':')[^1]);

            var expected = (await Bed.Get<IncidentCardPublisher>().BuildAsync(incidentId, CancellationToken.None))!;
            var runLine = Plain(expected.Sections.Single(s => s.Heading == "Remediation").Lines.Single().Text);
            Assert.StartsWith($"{PlanTitle}: done: pods are Ready — approved by {approvedBy}", runLine, StringComparison.Ordinal);

            var slack = await WaitForSlackCardAsync(incidentId, "done: pods are Ready");
            var teams = CardJson.CardOf(await WaitForTeamsCardAsync(cardKey, "done: pods are Ready"));
            var slackText = Plain(CardJson.Texts(slack.Content));
            var teamsText = Plain(CardJson.Texts(teams));
            Assert.True(slack.Updates >= 2, $"the Slack card was updated {slack.Updates} time(s)");
            Assert.Single(Slack.CallsTo("chat.postMessage"), c => c.Ok && c.Body["thread_ts"] is null);
            Assert.Single(Teams.Calls, c => c.Status == 201 && c.Path.EndsWith("/v3/conversations", StringComparison.Ordinal));
            foreach (var (platform, text) in new[] { ("Slack", slackText), ("Teams", teamsText) })
            {
                Assert.True(text.Contains(runLine, StringComparison.Ordinal), $"{platform} card lacks \"{runLine}\": {text}");
                Assert.True(text.Contains(Plain(expected.Title), StringComparison.Ordinal), $"{platform} card lacks the title \"{expected.Title}\": {text}");
                Assert.DoesNotContain("waiting for approval", text, StringComparison.Ordinal);
                Assert.DoesNotContain($"Approve: {PlanTitle}", text, StringComparison.Ordinal);
            }

            Assert.DoesNotContain(ButtonValues(slack.Content), v => v.StartsWith("approve|", StringComparison.Ordinal));
            Assert.DoesNotContain("approve", CardJson.Verbs(teams));

            // An approver's refreshed view of the Teams card has no Approve either.
            var refreshed = await InvokeCardAsync(CarolInTeams, AdaptiveCardRenderer.RefreshVerb, new JsonObject { ["cardKey"] = cardKey });
            Assert.DoesNotContain("approve", CardJson.Verbs(refreshed["value"]));
            Assert.Contains(runLine, Plain(CardJson.Texts(refreshed["value"])), StringComparison.Ordinal);
        }

        public async ValueTask DisposeAsync()
        {
            await Bed.DisposeAsync();
            await Teams.DisposeAsync();
            await Slack.DisposeAsync();
            _storage.Dispose();
        }

        /// <summary>A closed incident's card has no buttons (whose data name the card key); its footer names the incident.</summary>
        private static string IncidentIdOf(string cardKey) => cardKey["incident:".Length..];

        /// <summary>Text without the emphasis marks each platform's markup adds.</summary>
        private static string Plain(string text) => text.Replace("*", string.Empty, StringComparison.Ordinal);
    }
}
