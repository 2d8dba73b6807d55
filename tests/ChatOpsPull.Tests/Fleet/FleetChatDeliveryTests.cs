using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using ChatOpsPull.Approvals;
using ChatOpsPull.Chat;
using ChatOpsPull.Chat.Outbox;
using ChatOpsPull.Chat.Teams.Activities;
using ChatOpsPull.Chat.Teams.Cards;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Incidents;
using ChatOpsPull.Remediation;
using ChatOpsPull.Simulation.KubernetesApi;
using ChatOpsPull.Tests.Incidents;
using ChatOpsPull.Tests.Remediation;
using ChatOpsPull.Tests.Slack;
using ChatOpsPull.Tests.Slack.FakeSlack;
using ChatOpsPull.Tests.Storage;
using ChatOpsPull.Tests.Teams;
using ChatOpsPull.Tests.Teams.FakeConnector;
using Microsoft.Extensions.Hosting;

namespace ChatOpsPull.Tests.Fleet;

/// <summary>
/// One Slack app (or one Teams bot) for a fleet: the bots of prod-a and prod-b and a chat replica, each the real host with its
/// own Kubernetes API stand-in, on one real PostgreSQL database. The chat platform hands every click to any bot — Slack
/// Socket Mode to a random open connection, the Slack interactivity URL and the Teams messaging endpoint through a load
/// balancer that picks a bot at random — and every click still acts in its card's cluster exactly once, and both cards end
/// showing the fix done.
/// </summary>
[Collection(UsesPostgres.Name)]
public sealed class FleetChatDeliveryTests(PostgresFixture postgres)
{
    private const string Image = "registry.example.test/team/app:1.4.2";
    private static readonly string[] Clusters = ["prod-a", "prod-b"];

    [Fact]
    public async Task Socket_mode_clicks_handed_to_random_connections_act_in_their_cards_cluster_exactly_once()
    {
        await using var world = await FleetChatWorld.StartAsync(postgres, Inbound.SocketMode);

        await world.AskApproveAndFinishAsync();

        // Every bot held a connection and Slack's choice spread the clicks over them (seeded: the same spread every run).
        Assert.Equal(3, world.Slack.OpenSockets.Count);
        Assert.True(world.Slack.OpenSockets.Count(s => s.Delivered > 0) >= 2, "the clicks all went to one connection: " + string.Join(", ", world.Slack.OpenSockets.Select(s => s.Delivered)));
    }

    [Fact]
    public async Task Socket_mode_retry_of_an_envelope_on_another_connection_is_acknowledged_and_not_acted_on_again()
    {
        await using var world = await FleetChatWorld.StartAsync(postgres, Inbound.SocketMode);
        var (_, incident) = await world.OpenIncidentAsync(world.B, "prod-b");
        var card = await world.WaitForSlackCardAsync(incident.Id, "request|");
        var request = FleetChatWorld.SlackButtons(card).Single(v => v == FleetChatWorld.RestartButton(incident));
        var envelope = world.SlackEnvelope(People.Alice, request, card.Ts, out var responseUrl);

        var first = await world.Slack.DeliverToAnyAsync(envelope);
        await world.SlackAnswerAsync(responseUrl);
        envelope["retry_attempt"] = 1;
        envelope["retry_reason"] = "timeout";
        var retry = await world.Slack.DeliverToAnyAsync(envelope, avoid: first.Connection);

        Assert.NotSame(first.Connection, retry.Connection);
        Assert.Null(retry.Ack["payload"]);
        var requests = await world.B.Get<IApprovalQueries>().ListForIncidentAsync(incident.Id, CancellationToken.None);
        Assert.Single(requests);
        Assert.Single(await world.B.Get<AuditLog>().ForApprovalAsync(requests[0].Id), e => e.Action == ApprovalAuditActions.Requested);
        Assert.Single(world.Slack.CallsTo("response_url"), c => c.Body["replace_original"]?.GetValue<bool>() == false);
    }

    [Fact]
    public async Task Interactivity_url_load_balanced_across_bots_acts_in_each_cards_cluster_exactly_once()
    {
        await using var world = await FleetChatWorld.StartAsync(postgres, Inbound.Http);

        await world.AskApproveAndFinishAsync();

        Assert.True(world.BotsThatTookTraffic >= 2, $"the load balancer sent everything to {world.BotsThatTookTraffic} bot(s)");
    }

    [Fact]
    public async Task Teams_activities_delivered_to_any_bot_act_in_each_cards_cluster_exactly_once()
    {
        await using var world = await FleetChatWorld.StartAsync(postgres, Inbound.Teams);

        await world.AskApproveAndFinishAsync();

        Assert.True(world.BotsThatTookTraffic >= 2, $"the load balancer sent everything to {world.BotsThatTookTraffic} bot(s)");
    }

    [Fact]
    public async Task Cluster_bot_without_Slack_credentials_queues_its_card_and_the_chat_replica_that_has_them_sends_it()
    {
        await using var slack = await FakeSlackServer.StartAsync();
        using var storage = await TestStorage.PostgresAsync(postgres);
        await using var fleet = new FleetOfBots(storage, new()
        {
            ["Outbox:MessageInterval"] = "00:00:00.020",
            ["Outbox:PollInterval"] = "00:00:00.100",
            ["Routing:Routes:0:Namespace"] = RemediationBed.Namespace,
            ["Routing:Routes:0:Platform"] = "Slack",
            ["Routing:Routes:0:Channel"] = "C0SHOP",
        });
        var a = await fleet.StartAsync("prod-a");
        var chat = await fleet.StartAsync("chat", chatReplica: true, settings: new()
        {
            ["Slack:BotToken"] = FakeSlackServer.BotToken,
            ["Slack:ApiBaseUrl"] = slack.ApiUrl.ToString(),
            ["Slack:SigningSecret"] = SlackTestHost.SigningSecret,
        });
        a.SeedFailingDeployment("api", Image, replicas: 2);

        var incident = await a.OpenIncidentAsync("api", Image, Facts.PullableNow(), cluster: "prod-a");

        await Eventually.HoldsAsync(
            () => slack.Messages.Any(m => m.Channel == "C0SHOP" && m.Content.ToJsonString().Contains(incident.Id, StringComparison.Ordinal)),
            TimeSpan.FromSeconds(45),
            () => $"prod-a's card never reached Slack; Slack has {slack.Messages.Count} message(s)");
        var rows = await chat.Get<ChatOutbox>().ListAsync(ChatPlatform.Slack, "C0SHOP", CancellationToken.None);
        var chatSender = chat.Get<IEnumerable<IHostedService>>().OfType<OutboxDispatcher>().Single().ReplicaId;
        Assert.Contains(rows, r => r.State == OutboxState.Delivered && r.SentBy == chatSender);
        Assert.DoesNotContain(rows, r => r.State == OutboxState.Failed);
    }

    public enum Inbound
    {
        SocketMode,

        Http,

        Teams,
    }

    /// <summary>Fake Slack (or the Bot Connector stand-in), the fleet's three bots, and the chat platform's choice of bot.</summary>
    private sealed class FleetChatWorld : IAsyncDisposable
    {
        private const string SlackChannel = "C0SHOP";
        private const string TeamsChannel = TeamsTestHost.GeneralChannel;
        private static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);
        private static readonly JsonSerializerOptions Readable = ChatWiring.Readable;
        private static readonly JsonObject ErinInTeams = new() { ["id"] = "29:1erin-mri", ["aadObjectId"] = "5f1d7c2a-0000-4000-8000-00000000e401", ["name"] = "erin" };
        private static readonly JsonObject CarolInTeams = new() { ["id"] = "29:1carol-mri", ["aadObjectId"] = People.Carol.Id, ["name"] = People.Carol.DisplayName };

        private readonly TestStorage _storage;
        private readonly FleetOfBots _fleet;
        private readonly Random _balancer = new(19);
        private readonly HashSet<RemediationBed> _tookTraffic = [];
        private readonly Inbound _inbound;

        private FleetChatWorld(Inbound inbound, TestStorage storage, FleetOfBots fleet, FakeSlackServer slack, BotConnectorStandIn teams)
        {
            _inbound = inbound;
            _storage = storage;
            _fleet = fleet;
            Slack = slack;
            Teams = teams;
        }

        public FakeSlackServer Slack { get; }

        public BotConnectorStandIn Teams { get; }

        public RemediationBed A { get; private set; } = null!;

        public RemediationBed B { get; private set; } = null!;

        public RemediationBed Chat { get; private set; } = null!;

        public int BotsThatTookTraffic
        {
            get
            {
                lock (_tookTraffic)
                {
                    return _tookTraffic.Count;
                }
            }
        }

        private IReadOnlyList<RemediationBed> Bots => [A, B, Chat];

        public static async Task<FleetChatWorld> StartAsync(PostgresFixture postgres, Inbound inbound)
        {
            var slack = await FakeSlackServer.StartAsync();
            slack.RatePerSecond = 50;
            slack.Burst = 50;
            var teams = await BotConnectorStandIn.StartAsync();
            teams.AddConversation(TeamsChannel);
            teams.EnforceRateLimits = false;
            var storage = await TestStorage.PostgresAsync(postgres);
            var settings = new Dictionary<string, string?>
            {
                ["Outbox:MessageInterval"] = "00:00:00.020",
                ["Outbox:PollInterval"] = "00:00:00.100",
                ["Outbox:BaseBackoff"] = "00:00:00.100",
                ["Outbox:MaxBackoff"] = "00:00:01",
                ["Routing:Routes:0:Namespace"] = RemediationBed.Namespace,
            };
            if (inbound == Inbound.Teams)
            {
                settings["Teams:MicrosoftAppId"] = BotConnectorStandIn.AppId;
                settings["Teams:MicrosoftAppPassword"] = BotConnectorStandIn.AppPassword;
                settings["Teams:OpenIdMetadataUrl"] = teams.OpenIdMetadataUrl;
                settings["Teams:EmulatorOpenIdMetadataUrl"] = teams.EmulatorOpenIdMetadataUrl;
                settings["Teams:TokenEndpoint"] = teams.TokenEndpoint;
                settings["Teams:AllowedServiceUrlHosts:0"] = "127.0.0.1";
                settings["Routing:Routes:0:Platform"] = "Teams";
                settings["Routing:Routes:0:Channel"] = TeamsChannel;
            }
            else
            {
                settings["Slack:BotToken"] = FakeSlackServer.BotToken;
                settings["Slack:ApiBaseUrl"] = slack.ApiUrl.ToString();
                settings["Slack:ResponseUrlPrefixes:0"] = slack.ResponseUrlPrefix;
                settings["Slack:InlineReplyBudget"] = "00:00:01";
                settings["Routing:Routes:0:Platform"] = "Slack";
                settings["Routing:Routes:0:Channel"] = SlackChannel;
                if (inbound == Inbound.SocketMode)
                {
                    settings["Slack:SocketMode"] = "true";
                    settings["Slack:AppToken"] = FakeSlackServer.AppToken;
                }
                else
                {
                    settings["Slack:SigningSecret"] = SlackTestHost.SigningSecret;
                }
            }

            var fleet = new FleetOfBots(storage, settings);
            var world = new FleetChatWorld(inbound, storage, fleet, slack, teams);
            world.A = await fleet.StartAsync("prod-a");
            world.B = await fleet.StartAsync("prod-b");
            world.Chat = await fleet.StartAsync("chat", chatReplica: true);
            if (inbound == Inbound.SocketMode)
            {
                await slack.WaitForOpenSocketsAsync(3, Patience);
            }
            else if (inbound == Inbound.Teams)
            {
                // The bot is added to the team, as Teams tells it, through whichever bot the endpoint reaches.
                using var response = await world.SendToAnyBotAsync(TeamsActivities.BotAddedToTeam(teams.ServiceUrl));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }

            return world;
        }

        /// <summary>
        /// The whole story in both clusters at once: a failing Deployment in each, its card posted; Alice (or Erin in Teams)
        /// asks for the restart on both cards; Bob (Carol in Teams) clicks Approve twice on each card at the same moment; each
        /// cluster's bot restarts its own Deployment once, the rollout finishes, and both cards end done with no Approve left.
        /// </summary>
        public async Task AskApproveAndFinishAsync()
        {
            var opened = await Task.WhenAll(OpenIncidentAsync(A, "prod-a"), OpenIncidentAsync(B, "prod-b"));
            var generations = opened.Select(o => RemediationBed.Generation(o.Bed.DeploymentObject("api"))).ToArray();

            var asked = await Task.WhenAll(opened.Select(o => AskAsync(o.Incident)));
            Assert.All(asked, text => Assert.Matches("asked to run|asked by erin", text));
            var approvalIds = await Task.WhenAll(opened.Select(o => Eventually.ValueAsync(
                async () => (await A.Get<IApprovalQueries>().ListForIncidentAsync(o.Incident.Id, CancellationToken.None)).SingleOrDefault()?.Id,
                id => id is not null,
                $"the request on {o.Incident.Key.Cluster}'s card"))).ConfigureAwait(false);

            // Two Approve clicks per card on the same view of it, at once, each handed to a bot of the platform's choosing.
            var answers = await Task.WhenAll(opened.Select((o, i) => ApproveTwiceAsync(o.Incident, approvalIds[i]!)));
            for (var i = 0; i < opened.Length; i++)
            {
                var mine = answers[i];
                Assert.True(mine.Count(a => a.StartsWith("This request was already approved", StringComparison.Ordinal)) == 1, $"{Clusters[i]}: one click approves, the other is told it already was: {string.Join(" / ", mine)}");
            }

            for (var i = 0; i < opened.Length; i++)
            {
                var (bed, incident) = opened[i];
                await bed.WaitForRunAsync(approvalIds[i]!, r => r.Run.Status == RunStatus.VerifyingRollout);
                bed.Api.MarkPodsReady(RemediationBed.Namespace, "app=api");
                var run = await bed.WaitForRunAsync(approvalIds[i]!);
                Assert.Equal(RunStatus.Succeeded, run.Run.Status);
                Assert.Equal(incident.Key.Cluster, run.Cluster);
                Assert.Equal(generations[i] + 1, RemediationBed.Generation(bed.DeploymentObject("api")));
                Assert.Single(Patches(bed.Api));
                var audit = (await Chat.Get<AuditLog>().ForApprovalAsync(approvalIds[i]!)).Select(e => e.Action).ToList();
                Assert.Single(audit, x => x == ApprovalAuditActions.Approved);
                Assert.Single(audit, x => x == RemediationAuditActions.JobStarted);
                Assert.Single(audit, x => x == RemediationAuditActions.JobFinished);
                await WaitForCardAsync(incident.Id, "done: pods are Ready", notContaining: "approve|" + approvalIds[i]);
            }

            Assert.Empty(Chat.Api.Requests); // the chat replica has no cluster connection at all
        }

        public async Task<(RemediationBed Bed, Incident Incident)> OpenIncidentAsync(RemediationBed bed, string cluster)
        {
            bed.SeedFailingDeployment("api", Image, replicas: 2);
            var incident = await bed.OpenIncidentAsync("api", Image, Facts.PullableNow(), cluster: cluster);
            await WaitForCardAsync(incident.Id, "request|" + incident.Id);
            return (bed, incident);
        }

        /// <summary>The value of the card's button that asks for the workload's restart.</summary>
        public static string RestartButton(Incident incident) => $"request|{incident.Id}|{Facts.Plan(incident, RemediationKind.RestartWorkload).Key}";

        public static List<string> SlackButtons(FakeSlackMessage message) => ButtonValues(message.Content);

        /// <summary>A block_actions click on the card's button, wrapped in a Socket Mode envelope as Slack sends it.</summary>
        public JsonObject SlackEnvelope(ChatUser user, string value, string messageTs, out string responseUrl)
        {
            responseUrl = Slack.NewResponseUrl();
            return new JsonObject
            {
                ["envelope_id"] = Guid.NewGuid().ToString(),
                ["type"] = "interactive",
                ["accepts_response_payload"] = false,
                ["payload"] = ChatWiring.SlackClick(user, SlackChannel, value, messageTs, responseUrl),
            };
        }

        /// <summary>The answer the clicker got at the click's response_url.</summary>
        public Task<string> SlackAnswerAsync(string responseUrl) => ChatWiring.SlackAnswerAsync(Slack, responseUrl, "the answer at " + responseUrl, Patience);

        public async Task<FakeSlackMessage> WaitForSlackCardAsync(string incidentId, string text)
        {
            FakeSlackMessage? card = null;
            await Eventually.HoldsAsync(
                () =>
                {
                    card = SlackCardOf(incidentId);
                    return card is not null && card.Content.ToJsonString(Readable).Contains(text, StringComparison.Ordinal);
                },
                Patience,
                () => $"the Slack card of {incidentId} never said \"{text}\"; it is {card?.Content.ToJsonString(Readable) ?? "not posted"}");
            return card!;
        }

        public Task<HttpResponseMessage> SendToAnyBotAsync(JsonObject activity) => ChatWiring.SendToBotAsync(PickBot().Host, Teams, activity);

        public async ValueTask DisposeAsync()
        {
            await _fleet.DisposeAsync();
            await Slack.DisposeAsync();
            await Teams.DisposeAsync();
            _storage.Dispose();
        }

        private static IEnumerable<string> Patches(FakeKubernetesApi api) =>
            api.Requests.Where(r => r.StartsWith("PATCH /apis/apps/v1/namespaces/shop/deployments/api", StringComparison.Ordinal) && !r.Contains("dryRun", StringComparison.Ordinal));

        private static List<string> ButtonValues(JsonNode? message) =>
            CardJson.Nodes(message).Where(n => n["type"]?.GetValue<string>() == "button" && n["value"] is JsonValue).Select(n => n["value"]!.GetValue<string>()).ToList();

        private RemediationBed PickBot()
        {
            RemediationBed bot;
            lock (_tookTraffic)
            {
                bot = Bots[_balancer.Next(Bots.Count)];
                _tookTraffic.Add(bot);
            }

            return bot;
        }

        private FakeSlackMessage? SlackCardOf(string incidentId) =>
            Slack.Messages.FirstOrDefault(m => m.Channel == SlackChannel && m.Content.ToJsonString().Contains(incidentId, StringComparison.Ordinal));

        private JsonNode? LastTeamsCard(string incidentId) =>
            Teams.Calls.LastOrDefault(c => c.Status is 200 or 201 && (c.Method == "PUT" || c.Path.EndsWith("/v3/conversations", StringComparison.Ordinal))
                                           && (c.Body?["activity"] ?? c.Body)?.ToJsonString().Contains(incidentId, StringComparison.Ordinal) == true) is { } call
                ? CardJson.CardOf(call.Body?["activity"] ?? call.Body)
                : null;

        private string TeamsThread(string incidentId)
        {
            var cardKey = "incident:" + incidentId;
            var post = Teams.Calls.First(c => c.Status == 201 && c.Path.EndsWith("/v3/conversations", StringComparison.Ordinal) && c.Body!.ToJsonString().Contains(cardKey, StringComparison.Ordinal));
            var put = Teams.Calls.FirstOrDefault(c => c.Method == "PUT" && c.Status == 200 && c.Body!.ToJsonString().Contains(cardKey, StringComparison.Ordinal));
            return put?.ConversationId ?? $"{TeamsChannel};messageid={post.ActivityId}";
        }

        /// <summary>Waits until the incident's card (Slack message or Teams activity, as last sent) contains the text and not the other.</summary>
        private async Task WaitForCardAsync(string incidentId, string text, string? notContaining = null)
        {
            string? seen = null;
            await Eventually.HoldsAsync(
                () =>
                {
                    seen = _inbound == Inbound.Teams ? LastTeamsCard(incidentId)?.ToJsonString(Readable) : SlackCardOf(incidentId)?.Content.ToJsonString(Readable);
                    return seen is not null && seen.Contains(text, StringComparison.Ordinal) && (notContaining is null || !seen.Contains(notContaining, StringComparison.Ordinal));
                },
                Patience,
                () => $"the card of {incidentId} never said \"{text}\"{(notContaining is null ? string.Empty : $" without \"{notContaining}\"")}; it is {seen ?? "not posted"}");
        }

        private Task<string> AskAsync(Incident incident) => _inbound switch
        {
            Inbound.Teams => InvokeAsync(ErinInTeams, "request", incident.Id, v => v == RestartButton(incident)),
            _ => ClickInSlackAsync(People.Alice, incident.Id, v => v == RestartButton(incident)),
        };

        /// <summary>
        /// The approver clicks Approve twice on one view of the card (a double click, or two tabs): both clicks carry the
        /// same button, found once, since after the first approval no view offers Approve any more.
        /// </summary>
        private async Task<string[]> ApproveTwiceAsync(Incident incident, string approvalId)
        {
            bool IsApprove(string v) => v == $"approve|{approvalId}";
            if (_inbound == Inbound.Teams)
            {
                var data = await TeamsButtonAsync(CarolInTeams, "approve", incident.Id, IsApprove);
                return await Task.WhenAll(SendTeamsClickAsync(CarolInTeams, "approve", data, incident.Id), SendTeamsClickAsync(CarolInTeams, "approve", data, incident.Id));
            }

            var (value, ts) = await SlackButtonAsync(incident.Id, IsApprove);
            return await Task.WhenAll(SendSlackClickAsync(People.Bob, value, ts), SendSlackClickAsync(People.Bob, value, ts));
        }

        private async Task<string> ClickInSlackAsync(ChatUser user, string incidentId, Func<string, bool> button)
        {
            var (value, ts) = await SlackButtonAsync(incidentId, button);
            return await SendSlackClickAsync(user, value, ts);
        }

        private async Task<(string Value, string Ts)> SlackButtonAsync(string incidentId, Func<string, bool> button)
        {
            FakeSlackMessage? card = null;
            await Eventually.HoldsAsync(
                () => (card = SlackCardOf(incidentId)) is not null && ButtonValues(card.Content).Any(button),
                Patience,
                () => $"no such button on the card of {incidentId}: {card?.Content.ToJsonString(Readable)}");
            return (ButtonValues(card!.Content).First(button), card.Ts);
        }

        private async Task<string> SendSlackClickAsync(ChatUser user, string value, string messageTs)
        {
            var envelope = SlackEnvelope(user, value, messageTs, out var responseUrl);
            if (_inbound == Inbound.SocketMode)
            {
                await Slack.DeliverToAnyAsync(envelope);
            }
            else
            {
                await ChatWiring.PostSlackInteractionAsync(PickBot().Host, (JsonObject)envelope["payload"]!);
            }

            return await SlackAnswerAsync(responseUrl);
        }

        /// <summary>An Action.Execute click by a Teams user on the card's button, to any bot; returns what the clicker saw.</summary>
        private async Task<string> InvokeAsync(JsonObject from, string verb, string incidentId, Func<string, bool> payload) =>
            await SendTeamsClickAsync(from, verb, await TeamsButtonAsync(from, verb, incidentId, payload), incidentId);

        /// <summary>The data of the button <paramref name="from"/> sees on the Teams card (refreshing their view for an Approve).</summary>
        private async Task<JsonObject> TeamsButtonAsync(JsonObject from, string verb, string incidentId, Func<string, bool> payload)
        {
            JsonNode? card = null;
            JsonObject? data = null;
            await Eventually.HoldsAsync(
                () =>
                {
                    card = LastTeamsCard(incidentId);
                    data = CardJson.Executes(card).Where(a => a["verb"]!.GetValue<string>() == verb).Select(a => (JsonObject)a["data"]!.DeepClone())
                        .FirstOrDefault(d => d["payload"] is JsonValue p && payload(p.GetValue<string>()));
                    if (data is null && verb == "approve")
                    {
                        // Everyone's view has no Approve: an approver's Teams refreshes it; the payload is what that view carries.
                        data = new JsonObject { ["payload"] = null, ["cardKey"] = "incident:" + incidentId };
                    }

                    return data is not null;
                },
                Patience,
                () => $"no {verb} button on the Teams card of {incidentId}: {card?.ToJsonString(Readable)}");
            if (data!["payload"] is null)
            {
                var view = await SendInvokeAsync(from, AdaptiveCardRenderer.RefreshVerb, data, incidentId);
                data = CardJson.Executes(view["value"]).Where(a => a["verb"]!.GetValue<string>() == verb).Select(a => (JsonObject)a["data"]!.DeepClone())
                    .Single(d => d["payload"] is JsonValue p && payload(p.GetValue<string>()));
            }

            return data;
        }

        private async Task<string> SendTeamsClickAsync(JsonObject from, string verb, JsonObject data, string incidentId)
        {
            var answer = await SendInvokeAsync(from, verb, (JsonObject)data.DeepClone(), incidentId); // a node has one parent: each click its own copy
            return answer["type"]!.GetValue<string>() == TeamsActivityProcessor.MessageResponseType
                ? answer["value"]!.GetValue<string>()
                : CardJson.Texts(answer["value"]);
        }

        private async Task<JsonNode> SendInvokeAsync(JsonObject from, string verb, JsonObject data, string incidentId)
        {
            var activity = TeamsActivities.CardAction(Teams.ServiceUrl, TeamsThread(incidentId), verb, data, trigger: verb == AdaptiveCardRenderer.RefreshVerb ? "automatic" : "manual");
            activity["from"] = from.DeepClone();
            using var response = await SendToAnyBotAsync(activity);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            Assert.Equal(200, answer["statusCode"]!.GetValue<int>());
            return answer;
        }
    }
}
