using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using ChatOpsPull.Chat;
using ChatOpsPull.Chat.Outbox;
using ChatOpsPull.Chat.Slack;
using ChatOpsPull.Chat.Slack.BlockKit;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Diagnosing;
using ChatOpsPull.Incidents;
using ChatOpsPull.Tests.Alerts;
using ChatOpsPull.Tests.Hostile;
using ChatOpsPull.Simulation.KubernetesApi;
using ChatOpsPull.Tests.Remediation;
using ChatOpsPull.Tests.Slack;
using ChatOpsPull.Tests.Slack.FakeSlack;
using ChatOpsPull.Tests.Storage;
using ChatOpsPull.Tests.Teams;
using ChatOpsPull.Tests.Teams.FakeConnector;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace ChatOpsPull.Tests.Faults;

/// <summary>
/// The parts every storm-under-fault test shares, started once for the collection: a PostgreSQL server of its own (the
/// tests stop it), the fake Slack Web API and the Bot Connector stand-in. Each test starts its own bot on them.
/// </summary>
public sealed class FaultParts : IAsyncLifetime
{
    public PostgresFixture Postgres { get; } = new();

    public FakeSlackServer Slack { get; private set; } = null!;

    public BotConnectorStandIn Teams { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Postgres.InitializeAsync();
        Slack = await FakeSlackServer.StartAsync();
        Slack.RatePerSecond = 50;
        Slack.Burst = 20;
        Teams = await BotConnectorStandIn.StartAsync();
        Teams.EnforceRateLimits = false;
    }

    public async Task DisposeAsync()
    {
        await Teams.DisposeAsync();
        await Slack.DisposeAsync();
        await Postgres.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class FaultTests : ICollectionFixture<FaultParts>
{
    public const string Name = "Storms under faults";
}

/// <summary>
/// One real bot (the whole host: Kubernetes watcher on the API stand-in, both alert webhooks, incident engine, Hangfire
/// diagnoses, outbox to Slack and Teams) on one storage, with the storm helpers: failing Deployments on the stand-in,
/// Alertmanager and generic webhook batches, and the checks every fault test ends with — every pod in exactly one
/// incident, every card posted once, every card's last version the card the bot would build now.
/// Diagnoses come from the runtime message alone (<see cref="MessageOnlyDiagnoser"/>): the registry is not what these
/// tests break.
/// </summary>
public sealed class StormBed : IAsyncDisposable
{
    public const string Cluster = "faults";
    public const string WatchedNamespace = RemediationBed.Namespace;
    public const string AlertmanagerNamespace = "am-storm";
    public const string GenericNamespace = "hook-storm";
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private static readonly JsonSerializerOptions Readable = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly string _kubeDirectory;
    private readonly HashSet<string> _expectedPods = new(StringComparer.Ordinal);

    private StormBed(FaultParts parts, FakeKubernetesApi api, BotTestHost host, CapturingLoggerProvider logs, string slackChannel, string? teamsChannel, string kubeDirectory)
    {
        Parts = parts;
        Logs = logs;
        Api = api;
        Host = host;
        SlackChannel = slackChannel;
        TeamsChannel = teamsChannel;
        _kubeDirectory = kubeDirectory;
        Client = host.CreateClient();
    }

    public FaultParts Parts { get; }

    public FakeKubernetesApi Api { get; }

    public BotTestHost Host { get; }

    public HttpClient Client { get; }

    public string SlackChannel { get; }

    public string? TeamsChannel { get; }

    /// <summary>Where the bed says how long each phase took (the test's output).</summary>
    public Action<string>? Say { get; set; }

    private readonly System.Diagnostics.Stopwatch _since = System.Diagnostics.Stopwatch.StartNew();

    /// <summary>Writes "[12.3 s] what" to the test output.</summary>
    public void Phase(string what) => Say?.Invoke($"[{_since.Elapsed.TotalSeconds:F1} s] {what}");

    /// <summary>Every log line of the bot at Warning and above.</summary>
    public CapturingLoggerProvider Logs { get; }

    /// <summary>"namespace/pod" of every pod the storm made fail so far.</summary>
    public IReadOnlyCollection<string> ExpectedPods => _expectedPods;

    public FakeSlackServer Slack => Parts.Slack;

    public BotConnectorStandIn Teams => Parts.Teams;

    /// <param name="teamsChannel">Also route every card to this Teams channel (the bot is added to its team first).</param>
    /// <param name="clock">The bot's clock (a test that jumps time hands in its fake one).</param>
    public static async Task<StormBed> StartAsync(FaultParts parts, TestStorage storage, string slackChannel, string? teamsChannel = null, TimeProvider? clock = null, Dictionary<string, string?>? settings = null)
    {
        var api = await FakeKubernetesApi.StartAsync();
        var kubeDirectory = Directory.CreateTempSubdirectory("chatopspull-faults-").FullName;
        var all = new Dictionary<string, string?>
        {
            ["Bot:Cluster"] = Cluster,
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Polly"] = "Error",
            ["Logging:LogLevel:Hangfire"] = "Error",
            ["Kubernetes:KubeconfigPath"] = api.WriteKubeconfig(Path.Combine(kubeDirectory, "kube"), contextNamespace: WatchedNamespace),
            ["Kubernetes:Namespaces:0"] = WatchedNamespace,
            ["Kubernetes:DeliveryRetryDelay"] = "00:00:00.100",
            ["Alerts:Alertmanager:BearerToken"] = AlertmanagerFixture.BearerToken,
            ["Alerts:Generic:HmacSecret"] = AlertmanagerFixture.HmacSecret,
            ["Slack:SigningSecret"] = SlackTestHost.SigningSecret,
            ["Slack:BotToken"] = FakeSlackServer.BotToken,
            ["Slack:ApiBaseUrl"] = parts.Slack.ApiUrl.ToString(),
            ["Slack:ResponseUrlPrefixes:0"] = parts.Slack.ResponseUrlPrefix,
            ["Routing:DefaultSlackChannel"] = slackChannel,
            ["Outbox:MessageInterval"] = "00:00:00.020",
            ["Outbox:PollInterval"] = "00:00:00.100",
            ["Outbox:BaseBackoff"] = "00:00:00.200",
            ["Outbox:MaxBackoff"] = "00:00:01",
        };
        if (teamsChannel is not null)
        {
            parts.Teams.AddConversation(teamsChannel);
            all["Teams:MicrosoftAppId"] = BotConnectorStandIn.AppId;
            all["Teams:MicrosoftAppPassword"] = BotConnectorStandIn.AppPassword;
            all["Teams:OpenIdMetadataUrl"] = parts.Teams.OpenIdMetadataUrl;
            all["Teams:EmulatorOpenIdMetadataUrl"] = parts.Teams.EmulatorOpenIdMetadataUrl;
            all["Teams:TokenEndpoint"] = parts.Teams.TokenEndpoint;
            all["Teams:AllowedServiceUrlHosts:0"] = "127.0.0.1";
            all["Routing:DefaultTeamsChannel"] = teamsChannel;
        }

        foreach (var (key, value) in settings ?? [])
        {
            all[key] = value;
        }

        var logs = new CapturingLoggerProvider();
        var host = new BotTestHost(storage, all, services =>
        {
            services.AddSingleton<ILoggerProvider>(logs);
            services.RemoveAll<IIncidentDiagnoser>();
            services.AddSingleton<IIncidentDiagnoser>(sp => new MessageOnlyDiagnoser(sp.GetRequiredService<TimeProvider>()));
            if (clock is not null)
            {
                services.RemoveAll<TimeProvider>();
                services.AddSingleton(clock);
            }
        });
        var bed = new StormBed(parts, api, host, logs, slackChannel, teamsChannel, kubeDirectory);
        if (teamsChannel is not null)
        {
            // The bot is added to the team, as Teams tells it: from then on it knows where the channel lives.
            var added = TeamsActivities.BotAddedToTeam(parts.Teams.ServiceUrl);
            added["conversation"]!["id"] = teamsChannel;
            added["channelData"]!["team"]!["id"] = teamsChannel;
            using var response = await bed.SendToTeamsEndpointAsync(added);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        return bed;
    }

    public T Get<T>()
        where T : notnull => Host.Services.GetRequiredService<T>();

    // ---- the storm ----

    /// <summary>A Deployment on the stand-in whose every pod waits in ImagePullBackOff (the watcher sees them).</summary>
    public IReadOnlyList<string> SeedFailingDeployment(string name, int replicas)
    {
        var image = $"registry.example.com/faults/{name}:1.0-missing";
        Api.Seed(RemediationBed.Deployment(name, image, replicas));
        var pods = Api.Store.List(ResourceType.Of("pods"), WatchedNamespace)
            .Where(p => p["metadata"]?["labels"]?["app"]?.GetValue<string>() == name)
            .Select(ObjectStore.Name)
            .ToList();
        foreach (var pod in pods)
        {
            Api.SetContainerWaiting(WatchedNamespace, pod, "app", "ImagePullBackOff", $"Back-off pulling image \"{image}\"");
            _expectedPods.Add($"{WatchedNamespace}/{pod}");
        }

        return pods;
    }

    /// <summary>An Alertmanager notification (version 4) with one firing KubeContainerWaiting alert per pod of <paramref name="workload"/>.</summary>
    public string AlertmanagerBatch(string workload, int pods)
    {
        var alerts = Enumerable.Range(0, pods).Select(i =>
        {
            var pod = $"{workload}-5c8d7f9b4-{i:D5}";
            _expectedPods.Add($"{AlertmanagerNamespace}/{pod}");
            var labels = WebhookCalls.PullLabels(AlertmanagerNamespace, pod, container: "app");
            labels["image"] = $"registry.example.com/faults/{workload}:2.0-missing";
            return WebhookCalls.Alert("firing", labels, $"Back-off pulling image \"registry.example.com/faults/{workload}:2.0-missing\"");
        }).ToArray();
        return WebhookCalls.Message(alerts).ToJsonString();
    }

    /// <summary>A generic webhook batch (a JSON array) with one firing alert per pod of <paramref name="workload"/>.</summary>
    public string GenericBatch(string workload, int pods)
    {
        var alerts = new JsonArray();
        for (var i = 0; i < pods; i++)
        {
            var pod = $"{workload}-6f7b8c9d5-{i:D5}";
            _expectedPods.Add($"{GenericNamespace}/{pod}");
            alerts.Add(new JsonObject
            {
                ["status"] = "firing",
                ["cluster"] = Cluster,
                ["namespace"] = GenericNamespace,
                ["pod"] = pod,
                ["container"] = "app",
                ["image"] = $"registry.example.com/faults/{workload}:3.0-missing",
                ["reason"] = "ErrImagePull",
                ["message"] = $"rpc error: code = NotFound desc = failed to pull and unpack image \"registry.example.com/faults/{workload}:3.0-missing\": not found",
                ["workload"] = new JsonObject { ["kind"] = "Deployment", ["name"] = workload },
            });
        }

        return alerts.ToJsonString();
    }

    public async Task<HttpResponseMessage> PostAlertmanagerAsync(string body)
    {
        using var request = WebhookCalls.AlertmanagerRequest(body);
        return await Client.SendAsync(request);
    }

    public async Task<HttpResponseMessage> PostGenericAsync(string body)
    {
        using var request = WebhookCalls.SignedGenericRequest(body);
        return await Client.SendAsync(request);
    }

    /// <summary>Sends the batch as Alertmanager does when the receiver answers 5xx: again, until it is taken (200).</summary>
    public static async Task SendUntilTakenAsync(Func<string, Task<HttpResponseMessage>> send, string body)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            using var response = await send(body);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return;
            }

            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.True(DateTime.UtcNow < deadline, "the webhook never took the batch again");
            await Task.Delay(200); // a sender's pause before it sends again (Alertmanager backs off too), not a wait for an outcome
        }
    }

    public async Task<(HttpStatusCode Status, JsonElement Body)> ReadyzAsync()
    {
        using var response = await Client.GetAsync("/readyz");
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, document.RootElement.Clone());
    }

    public async Task<HttpResponseMessage> SendToTeamsEndpointAsync(JsonObject activity)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/messages")
        {
            Content = new StringContent(activity.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Teams.CreateToken(new TokenSpec { ServiceUrl = activity["serviceUrl"]!.GetValue<string>() }));
        return await Client.SendAsync(request);
    }

    // ---- waiting and the end state ----

    /// <summary>The open incidents of the storm's namespaces, read from the store (null while it cannot be read).</summary>
    public async Task<IReadOnlyList<Incident>?> OpenIncidentsAsync()
    {
        try
        {
            var store = Get<IncidentStore>();
            var all = new List<Incident>();
            foreach (var ns in new[] { WatchedNamespace, AlertmanagerNamespace, GenericNamespace })
            {
                all.AddRange(await store.ListOpenAsync(Cluster, ns));
            }

            return all;
        }
#pragma warning disable CA1031 // the store may be down while the test polls
        catch (Exception)
#pragma warning restore CA1031
        {
            return null;
        }
    }

    /// <summary>"namespace/pod" of every pod in an open incident, once per incident it is in.</summary>
    public static List<string> PodsIn(IReadOnlyList<Incident> incidents) =>
        incidents.SelectMany(i => i.Pods.Select(p => $"{i.Key.Namespace}/{p.Pod}")).ToList();

    /// <summary>Waits until every expected pod is in an open incident.</summary>
    public async Task WaitForEveryPodAsync(string what)
    {
        IReadOnlyList<Incident>? incidents = null;
        await Eventually.HoldsAsync(
            () => (incidents = OpenIncidentsAsync().GetAwaiter().GetResult()) is { } found && _expectedPods.IsSubsetOf(PodsIn(found)),
            Patience,
            () => $"{what}: missing {string.Join(", ", _expectedPods.Except(incidents is null ? [] : PodsIn(incidents)).Take(10))}; log: {Tail()}");
    }

    /// <summary>Each outbox lane with pending rows: how many, when it may send next and who holds it (clock-relative).</summary>
    private async Task<string> LanesAsync()
    {
        var now = Get<TimeProvider>().GetUtcNow().ToUnixTimeMilliseconds();
        await using var connection = await Get<ChatOpsPull.Storage.BotDatabase>().OpenAsync();
        var lanes = await Dapper.SqlMapper.QueryAsync<(string Platform, string Channel, long NextAt, string? Owner, long? Until, long Pending, long MinNotBefore)>(
            connection,
            """
            SELECT l.platform, l.channel, l.next_at, l.lease_owner, l.lease_until,
                   (SELECT COUNT(*) FROM chat_outbox o WHERE o.platform = l.platform AND o.channel = l.channel AND o.state = 'pending'),
                   (SELECT COALESCE(MIN(o.not_before), 0) FROM chat_outbox o WHERE o.platform = l.platform AND o.channel = l.channel AND o.state = 'pending')
            FROM chat_outbox_lanes l
            """);
        return string.Join("; ", lanes.Where(l => l.Pending > 0).Select(l =>
            $"{l.Platform}/{l.Channel}: {l.Pending} pending, next in {l.NextAt - now} ms, not_before in {l.MinNotBefore - now} ms, lease {(l.Owner is null ? "free" : $"held {l.Until - now} ms")}"));
    }

    /// <summary>
    /// Waits until the system has settled — every pod stored, the outbox empty (nothing pending or being sent), every
    /// card's last sent version the card as the bot builds it now — then checks the promise: every pod in exactly one
    /// incident, every card posted once per channel, nothing failed for good.
    /// </summary>
    public async Task AssertStormEndedRightAsync()
    {
        await WaitForEveryPodAsync("every pod in an incident");
        Phase("every pod is in an incident");
        var nextSay = DateTime.UtcNow.AddSeconds(5);
        await Eventually.ValueAsync(
            async () =>
            {
                var counts = await Get<ChatOutbox>().CountsAsync(CancellationToken.None);
                var mismatch = counts is { Pending: 0, Sending: 0 } ? await CardMismatchAsync() ?? string.Empty : $"outbox not drained: {counts}; lanes: {await LanesAsync()}";
                if (mismatch.Length > 0 && DateTime.UtcNow > nextSay)
                {
                    Phase("still settling: " + mismatch);
                    nextSay = DateTime.UtcNow.AddSeconds(5);
                }

                return mismatch;
            },
            mismatch => mismatch.Length == 0,
            "the storm to settle (outbox drained, every card as the bot builds it)",
            Patience,
            mismatch => $"{mismatch}; news not told at once: {NewsTrouble()}; log: {Tail()}");

        Phase("settled: outbox drained, every card as the bot builds it");
        var incidents = (await OpenIncidentsAsync())!;
        var pods = PodsIn(incidents);
        Assert.Equal(_expectedPods.Order(StringComparer.Ordinal), pods.Order(StringComparer.Ordinal));
        var byKey = incidents.GroupBy(i => i.Key).Where(g => g.Count() > 1).Select(g => g.Key.ToString()).ToList();
        Assert.True(byKey.Count == 0, $"two open incidents share a key: {string.Join(", ", byKey)}");

        var counts2 = await Get<ChatOutbox>().CountsAsync(CancellationToken.None);
        Assert.Equal(0, counts2.Failed);

        var carded = incidents.Where(i => i.RollupOf is null).ToList();
        var posts = Slack.CallsTo("chat.postMessage").Where(c => c.Channel == SlackChannel && c.Ok && c.Body["thread_ts"] is null).ToList();
        var cardTs = new List<string>();
        foreach (var incident in carded)
        {
            var ts = await Get<SlackCardMessages>().FindTsAsync(SlackChannel, "incident:" + incident.Id, CancellationToken.None);
            Assert.True(ts is not null, $"incident {incident.Id} has no Slack card");
            Assert.Single(posts, p => p.Ts == ts);
            cardTs.Add(ts);
        }

        Assert.True(posts.Count == carded.Count, $"{posts.Count} cards were posted in Slack for {carded.Count} incidents: {string.Join(", ", posts.Select(p => Title(p.Body)))}");
        Assert.Equal(cardTs.Order(StringComparer.Ordinal), posts.Select(p => p.Ts!).Order(StringComparer.Ordinal));

        if (TeamsChannel is not null)
        {
            foreach (var incident in carded)
            {
                var created = Teams.Calls.Count(c => c.Status == 201 && c.Path.EndsWith("/v3/conversations", StringComparison.Ordinal)
                    && c.Body?.ToJsonString().Contains(incident.Id, StringComparison.Ordinal) == true);
                Assert.True(created == 1, $"incident {incident.Id}'s Teams card was posted {created} times");
            }
        }
    }

    /// <summary>Null when every card's last version in Slack (and Teams) is the card the bot builds now; else what differs.</summary>
    private async Task<string?> CardMismatchAsync()
    {
        var incidents = await OpenIncidentsAsync();
        if (incidents is null)
        {
            return "the store cannot be read";
        }

        var publisher = Get<IncidentCardPublisher>();
        foreach (var incident in incidents.Where(i => i.RollupOf is null))
        {
            var card = await publisher.BuildAsync(incident, CancellationToken.None);
            var expected = WithoutContext(BlockKitRenderer.Render(card).ToJson()["blocks"]);
            var ts = await Get<SlackCardMessages>().FindTsAsync(SlackChannel, card.Key, CancellationToken.None);
            var message = ts is null ? null : Slack.Messages.SingleOrDefault(m => m.Channel == SlackChannel && m.Ts == ts);
            if (message is null)
            {
                return $"no Slack card for {incident.Id}";
            }

            var actual = WithoutContext(message.Content["blocks"]);
            if (actual != expected)
            {
                return $"Slack card of {incident.Id} is {actual}, the bot's card is {expected}";
            }

            if (TeamsChannel is not null)
            {
                var pods = card.Facts.Single(f => f.Label == "Pods").Value;
                var last = LastTeamsCard(incident.Id);
                if (last is null || !last.Contains(pods, StringComparison.Ordinal) || !last.Contains(card.Facts.Single(f => f.Label == "Cause").Value, StringComparison.Ordinal))
                {
                    return $"Teams card of {incident.Id} does not say \"{pods}\": {last ?? "not posted"}";
                }
            }
        }

        return null;
    }

    /// <summary>The last card activity the stand-in accepted for the incident (the post, or the latest update in place).</summary>
    private string? LastTeamsCard(string incidentId) =>
        Teams.Calls.LastOrDefault(c => c.Status is 200 or 201 && (c.Method == "PUT" || c.Path.EndsWith("/v3/conversations", StringComparison.Ordinal))
                                       && (c.Body?["activity"] ?? c.Body)?.ToJsonString().Contains(incidentId, StringComparison.Ordinal) == true) is { } call
            ? CardJson.CardOf(call.Body?["activity"] ?? call.Body)?.ToJsonString(Readable)
            : null;

    /// <summary>The blocks without context blocks (the footer says when the card was built).</summary>
    private static string WithoutContext(JsonNode? blocks) =>
        new JsonArray(blocks!.AsArray().Where(b => b!["type"]!.GetValue<string>() != "context").Select(b => b!.DeepClone()).ToArray()).ToJsonString(Readable);

    private static string Title(JsonObject body) => body["blocks"]?[0]?["text"]?["text"]?.GetValue<string>() ?? "(no title)";

    /// <summary>What the bot said about news it could not tell (a notifier that failed, news held), first lines only.</summary>
    public string NewsTrouble() => string.Join("\n", Logs.Lines
        .Where(l => l.Contains("Notifier ", StringComparison.Ordinal) || l.Contains("News of incident", StringComparison.Ordinal) || l.Contains("In-process diagnosis", StringComparison.Ordinal))
        .Select(l => l.Split('\n')[0])
        .Take(20));

    /// <summary>The last warnings and errors the bot logged, for failure messages.</summary>
    public string Tail() => string.Join("\n", Logs.Lines.TakeLast(15));

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Host.DisposeAsync();
        await Api.DisposeAsync();
        try
        {
            Directory.Delete(_kubeDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
