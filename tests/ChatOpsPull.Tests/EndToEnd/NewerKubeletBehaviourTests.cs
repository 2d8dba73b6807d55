using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Incidents;
using ChatOpsPull.Tests.Incidents;
using ChatOpsPull.Tests.Kubernetes;
using ChatOpsPull.Simulation.KubernetesApi;
using ChatOpsPull.Tests.Registry;
using ChatOpsPull.Tests.Slack.FakeSlack;
using ChatOpsPull.Tests.Storage;
using ChatOpsPull.Tests.Teams;
using ChatOpsPull.Tests.Teams.FakeConnector;
using ChatOpsPull.Web;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace ChatOpsPull.Tests.EndToEnd;

/// <summary>
/// Newer kubelet behaviour from the cluster to the cards: a pod on the Kubernetes API stand-in fails to pull from the
/// real registry, the watcher reports it, the diagnose job gathers the evidence (node, pull secrets, the registry with
/// the pod's credentials), and the incident card says the new cause in Slack (fake Slack), Teams (Bot Connector
/// stand-in) and on the web page.
/// </summary>
[Collection(RegistryFixtureGroup.Name)]
public sealed partial class NewerKubeletBehaviourTests(RegistryFixture registry) : IDisposable
{
    private const string SlackChannel = "C0SHOP";
    private const string PodName = "web-6b9f7c5d8-k1b35";
    private const string WebPassword = "kubelet page password 41c";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private static readonly JsonSerializerOptions Readable = ChatWiring.Readable;

    private readonly string _directory = Directory.CreateTempSubdirectory("cop-kubelet-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task An_if_not_present_rollback_that_now_gets_a_401_is_explained_as_image_not_ensured_on_every_card()
    {
        // The image is still on the node (kubelet 1.35 lists it), the pod's secret regcred has a password that no longer
        // works: kubelet verifies the pod's credentials, pulls again, and the registry answers 401.
        var image = $"{registry.Basic}/private/app:1.0";
        var message = $"Failed to pull image \"{image}\": failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": unexpected status from HEAD request to http://{registry.Basic}/v2/private/app/manifests/1.0: 401 Unauthorized";
        // The pod's secret regcred holds a password the registry no longer takes (it is there before the bot starts).
        var staleSecret = Remediation.RemediationFlowTests.Secret("regcred", registry.Basic, RegistryFixture.BasicUser, "rotated-away");
        await using var world = await World.StartAsync(registry, _directory, node: Node("v1.35.0", cached: image), image, message, seed: [staleSecret], extra: new()
        {
            ["Registry:Hosts:1:Host"] = registry.Basic,
            ["Registry:Hosts:1:PlainHttp"] = "true",
            ["Remediation:CredentialSources:0:Registry"] = registry.Basic,
            ["Remediation:CredentialSources:0:Secret"] = "registry-creds",
            ["Remediation:CredentialSources:0:Namespace"] = "chatopspull",
        });

        var incident = await world.DiagnosedIncidentAsync();

        var diagnosis = incident.Diagnosis!;
        Assert.Equal(PullCause.ImageNotEnsured, diagnosis.Cause);
        Assert.Contains("is on node worker-1", diagnosis.Summary, StringComparison.Ordinal);
        Assert.Contains("kubelet v1.35.0 checks the pod's own credentials", diagnosis.Summary, StringComparison.Ordinal);
        Assert.Contains("Refresh pull secret `regcred`", diagnosis.Summary, StringComparison.Ordinal);
        Assert.Contains(diagnosis.Evidence, e => e.Check == "kubelet on worker-1" && e.Detail.Contains("NeverVerifyPreloadedImages", StringComparison.Ordinal));
        Assert.Contains(diagnosis.Evidence, e => e.Check == "image cache of worker-1" && e.Detail.Contains("is on the node", StringComparison.Ordinal));
        Assert.Contains(diagnosis.Evidence, e => e.Outcome == EvidenceOutcome.Failed && e.Detail.Contains("401", StringComparison.Ordinal));
        Assert.Contains(diagnosis.Remediations, r => r.Kind == RemediationKind.RefreshCredentials && r.Parameters["secret"] == "regcred");
        Assert.DoesNotContain(diagnosis.Remediations, r => r.Kind == RemediationKind.RollBack);

        await world.AssertCardsSayAsync(incident.Id, PullCause.ImageNotEnsured.Describe(), "kubelet v1.35.0 checks the pod", "Refresh pull secret regcred");
    }

    [Fact]
    public async Task Kubelets_own_pull_limit_names_the_node_blames_no_registry_and_keeps_the_error_through_the_back_off()
    {
        var image = $"{registry.Anonymous}/team/app:1.4.2";
        var message = $"Failed to pull image \"{image}\": pull QPS exceeded";
        await using var world = await World.StartAsync(registry, _directory, node: Node("v1.33.4", cached: null), image, message);

        var incident = await world.DiagnosedIncidentAsync();

        var diagnosis = incident.Diagnosis!;
        Assert.Equal(PullCause.NodePullLimit, diagnosis.Cause);
        Assert.Contains("Kubelet on node worker-1 throttled its own image pulls", diagnosis.Summary, StringComparison.Ordinal);
        Assert.Contains($"{registry.Anonymous} was not asked and is not at fault", diagnosis.Summary, StringComparison.Ordinal);
        Assert.Contains(diagnosis.Evidence, e => e.Check == "registry" && e.Outcome == EvidenceOutcome.Skipped);
        Assert.DoesNotContain(diagnosis.Evidence, e => e.Check.StartsWith("manifest ", StringComparison.Ordinal));
        await world.AssertCardsSayAsync(incident.Id, PullCause.NodePullLimit.Describe(), "throttled its own image pulls", "worker-1");

        // Kubelet backs off (per pod UID and image): the status now says only "Back-off pulling image"; the incident
        // keeps the error the pod had for that image.
        world.Api.SetContainerWaiting("shop", PodName, "web", "ImagePullBackOff", $"Back-off pulling image \"{image}\"");
        var store = world.Host.Services.GetRequiredService<IncidentStore>();
        var backedOff = await Eventually.ValueAsync(
            () => store.ListOpenAsync("prod-eu", "shop"),
            open => open is [{ Pods: [{ Reason: "ImagePullBackOff" }] }],
            "the back-off to reach the incident",
            Patience);
        Assert.Equal(message, backedOff[0].Pods[0].Message);
        Assert.Equal(PullCause.NodePullLimit, backedOff[0].Key.Cause);
        Assert.Equal(incident.Id, backedOff[0].Id);
    }

    [Fact]
    public async Task A_registry_the_nodes_credential_provider_serves_is_not_a_missing_secret_and_the_card_says_what_it_answered_anonymously()
    {
        var image = $"{registry.Basic}/private/app:1.0";
        var message = $"Failed to pull image \"{image}\": rpc error: code = Unknown desc = failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": unexpected status from HEAD request to http://{registry.Basic}/v2/private/app/manifests/1.0: 401 Unauthorized";
        await using var world = await World.StartAsync(registry, _directory, node: Node("v1.34.2", cached: null), image, message, withoutPullSecrets: true, extra: new()
        {
            ["Registry:Hosts:1:Host"] = registry.Basic,
            ["Registry:Hosts:1:PlainHttp"] = "true",
            ["Kubernetes:Kubelet:CredentialProviders:0:Name"] = "registry-token-provider",
            ["Kubernetes:Kubelet:CredentialProviders:0:MatchImages:0"] = registry.Basic,
            ["Kubernetes:Kubelet:CredentialProviders:0:ServiceAccountToken"] = "true",
        });

        var incident = await world.DiagnosedIncidentAsync();

        var diagnosis = incident.Diagnosis!;
        Assert.Equal(PullCause.AuthFailed, diagnosis.Cause);
        Assert.StartsWith("No pull secret is missing: node worker-1's credential provider `registry-token-provider`", diagnosis.Summary, StringComparison.Ordinal);
        Assert.Contains("from the pod's service-account token (ServiceAccount `default`, KEP-4412)", diagnosis.Summary, StringComparison.Ordinal);
        Assert.Contains($"asked {registry.Basic} anonymously, and it answered:", diagnosis.Summary, StringComparison.Ordinal);
        Assert.DoesNotContain("has no pull secret", diagnosis.Summary, StringComparison.Ordinal);
        Assert.Contains(diagnosis.Evidence, e => e.Check == "credential provider on worker-1");
        Assert.DoesNotContain(diagnosis.Remediations, r => r.Kind is RemediationKind.RefreshCredentials or RemediationKind.AttachPullSecretToServiceAccount or RemediationKind.AttachPullSecretToWorkload);

        await world.AssertCardsSayAsync(incident.Id, "No pull secret is missing", "registry-token-provider", "anonymously, and it answered");
    }

    /// <summary>The fixture node with this kubelet version, no DiskPressure, and the image in its status's image list.</summary>
    private static JsonObject Node(string kubeletVersion, string? cached)
    {
        var node = KubeFixtures.Load("node-worker-1.json");
        node["status"]!["nodeInfo"]!["kubeletVersion"] = kubeletVersion;
        foreach (var condition in node["status"]!["conditions"]!.AsArray())
        {
            if (condition!["type"]!.GetValue<string>() == "DiskPressure")
            {
                condition["status"] = "False";
            }
        }

        var images = new JsonArray { new JsonObject { ["names"] = new JsonArray("docker.io/library/busybox@sha256:" + new string('b', 64), "docker.io/library/busybox:1.36"), ["sizeBytes"] = 2_156_789 } };
        if (cached is not null)
        {
            images.Add(new JsonObject { ["names"] = new JsonArray(cached.Replace(":1.0", "@sha256:" + new string('a', 64), StringComparison.Ordinal), cached), ["sizeBytes"] = 48_213_567 });
        }

        node["status"]!["images"] = images;
        return node;
    }

    /// <summary>One bot with Slack, Teams and the web page, watching a cluster with one failing pod.</summary>
    private sealed class World : IAsyncDisposable
    {
        private const string TeamsChannel = TeamsTestHost.GeneralChannel;

        private World(FakeSlackServer slack, BotConnectorStandIn teams, FakeKubernetesApi api, TestStorage storage, BotTestHost host)
        {
            Slack = slack;
            Teams = teams;
            Api = api;
            Storage = storage;
            Host = host;
        }

        public FakeSlackServer Slack { get; }

        public BotConnectorStandIn Teams { get; }

        public FakeKubernetesApi Api { get; }

        public TestStorage Storage { get; }

        public BotTestHost Host { get; }

        public static async Task<World> StartAsync(
            RegistryFixture registry, string directory, JsonObject node, string image, string message, bool withoutPullSecrets = false, JsonObject[]? seed = null, Dictionary<string, string?>? extra = null)
        {
            var slack = await FakeSlackServer.StartAsync();
            slack.RatePerSecond = 50;
            slack.Burst = 50;
            var teams = await BotConnectorStandIn.StartAsync();
            teams.AddConversation(TeamsChannel);
            teams.EnforceRateLimits = false;
            var api = await FakeKubernetesApi.StartAsync();
            api.Seed(node);
            foreach (var obj in seed ?? [])
            {
                api.Seed(obj);
            }

            api.Seed(Retagged(KubeFixtures.Load("deployment-web.json"), image));
            api.Seed(Retagged(KubeFixtures.Load("replicaset-web.json"), image));
            var pod = Retagged(KubeFixtures.WebPod(PodName), image);
            if (withoutPullSecrets)
            {
                ((JsonObject)pod["spec"]!).Remove("imagePullSecrets");
            }

            var waiting = pod["status"]!["containerStatuses"]![0]!["state"]!["waiting"]!;
            waiting["message"] = message;

            var settings = ChatWiring.Settings(slack, "shop", SlackChannel, teams, TeamsChannel);
            foreach (var (key, value) in new Dictionary<string, string?>(extra ?? [])
            {
                ["Bot:Cluster"] = "prod-eu",
                ["Kubernetes:KubeconfigPath"] = api.WriteKubeconfig(Path.Combine(directory, "kube"), contextNamespace: "shop"),
                ["Kubernetes:Namespaces:0"] = "shop",
                ["Registry:Hosts:0:Host"] = registry.Anonymous,
                ["Registry:Hosts:0:PlainHttp"] = "true",
                ["Web:Users:0:Name"] = "alice",
                ["Web:Users:0:PasswordHash"] = PasswordHash.Hash(WebPassword, PasswordHash.MinimumIterations),
            })
            {
                settings[key] = value;
            }

            var storage = TestStorage.Sqlite();
            var host = new BotTestHost(storage, settings);
            var world = new World(slack, teams, api, storage, host);

            // The bot is added to the team, as Teams tells it: from then on it knows where the channel lives.
            using var response = await ChatWiring.SendToBotAsync(host, teams, TeamsActivities.BotAddedToTeam(teams.ServiceUrl));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);

            // The pod fails only now that the bot knows the Teams channel (as in SlackAndTeamsApprovalTests): an
            // incident opened before would have no Teams card to check.
            api.Seed(pod);
            api.Seed(KubeFixtures.FailedEventFor(pod, message));
            return world;
        }

        public async Task<Incident> DiagnosedIncidentAsync()
        {
            var store = Host.Services.GetRequiredService<IncidentStore>();
            Incident? incident = null;
            await Eventually.HoldsAsync(
                () => (incident = store.ListOpenAsync("prod-eu", "shop").GetAwaiter().GetResult().SingleOrDefault()) is { State: IncidentState.Diagnosed },
                "a diagnosed incident",
                Patience);
            return incident!;
        }

        /// <summary>The incident's card, as last posted or updated in Slack and in Teams and as the web page shows it, says every text.</summary>
        public async Task AssertCardsSayAsync(string incidentId, params string[] texts)
        {
            string slack = string.Empty, teams = string.Empty;
            await Eventually.HoldsAsync(
                () =>
                {
                    slack = Plain(Slack.Messages.FirstOrDefault(m => m.Channel == SlackChannel && m.Content.ToJsonString().Contains(incidentId, StringComparison.Ordinal))?.Content.ToJsonString(Readable));
                    teams = Plain(Teams.Calls.LastOrDefault(c => c.Status is 200 or 201 && (c.Body?["activity"] ?? c.Body)?.ToJsonString().Contains(incidentId, StringComparison.Ordinal) == true)?.Body?.ToJsonString(Readable));
                    return texts.All(t => slack.Contains(t, StringComparison.Ordinal) && teams.Contains(t, StringComparison.Ordinal));
                },
                Patience,
                () => $"the cards never said all of [{string.Join(" | ", texts)}]\nSlack: {slack}\nTeams: {teams}\nTeams calls: {string.Join(", ", Teams.Calls.Select(c => $"{c.Method} {c.Path} {c.Status}"))}");

            using var browser = Host.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
            var login = await (await browser.GetAsync(new Uri("/login", UriKind.Relative))).Content.ReadAsStringAsync();
            using var signedIn = await browser.PostAsync(new Uri("/login", UriKind.Relative), new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["__RequestVerificationToken"] = TokenRegex().Match(login).Groups[1].Value,
                ["username"] = "alice",
                ["password"] = WebPassword,
                ["returnUrl"] = "/",
            }));
            Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
            var page = Plain(WebUtility.HtmlDecode(TagRegex().Replace(await browser.GetStringAsync(new Uri("/", UriKind.Relative)), " ")));
            Assert.Contains($"incident:{incidentId}", await browser.GetStringAsync(new Uri(WebPageView.CardsPath, UriKind.Relative)), StringComparison.Ordinal);
            foreach (var text in texts)
            {
                Assert.True(page.Contains(text, StringComparison.Ordinal), $"the web page lacks \"{text}\": {page}");
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Host.DisposeAsync();
            Storage.Dispose();
            await Api.DisposeAsync();
            await Teams.DisposeAsync();
            await Slack.DisposeAsync();
        }

        /// <summary>Text without the markup the platforms add (backticks, asterisks, escaped quotes) and with spaces collapsed.</summary>
        private static string Plain(string? text) =>
            SpacesRegex().Replace((text ?? string.Empty).Replace("`", string.Empty, StringComparison.Ordinal).Replace("*", string.Empty, StringComparison.Ordinal).Replace("\\\"", "\"", StringComparison.Ordinal), " ");

        private static JsonObject Retagged(JsonObject obj, string image) =>
            (JsonObject)JsonNode.Parse(obj.ToJsonString().Replace("registry.example.com/shop/web:1.4.3-typo", image, StringComparison.Ordinal))!;
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex TokenRegex();

    [GeneratedRegex("<[^>]+>")]
    private static partial Regex TagRegex();

    [GeneratedRegex(@"\s+")]
    private static partial Regex SpacesRegex();
}
