using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.ExceptionServices;
using System.Text;
using System.Text.Json.Nodes;
using ChatOpsPull.Chat;
using ChatOpsPull.Chat.Digest;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Incidents;
using ChatOpsPull.Remediation;
using ChatOpsPull.Tests.Digest;
using ChatOpsPull.Tests.Incidents;
using ChatOpsPull.Simulation.KubernetesApi;
using ChatOpsPull.Tests.Registry;
using ChatOpsPull.Tests.Remediation;
using ChatOpsPull.Tests.Slack;
using ChatOpsPull.Tests.Slack.FakeSlack;
using ChatOpsPull.Tests.Storage;
using ChatOpsPull.Tests.Teams;
using ChatOpsPull.Tests.Teams.FakeConnector;
using ChatOpsPull.Web;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace ChatOpsPull.Tests.Hostile;

/// <summary>
/// Pull-secret contents are read, used and dropped: a whole run with a private image — detected by the watcher, diagnosed
/// with the pod's pull secret (whose username, password, auth and identitytoken are known, distinctive values), the card
/// in Slack and Teams, a fix asked for and approved in Slack, the refresh-credentials job (which reads a credential source
/// with more known values, checks it against the registry, writes it into the pod's secret and checks again), the rollout,
/// and the digest — then every place the bot writes to is searched for every value and its base64 form: each log line at
/// every level, every call to Slack and to the Bot Connector, the answers to the clicks, the web page, /metrics, every
/// file of the bot's storage (incidents, approvals, audit rows and the Hangfire tables with their job arguments), and the
/// message of every exception the bot's own code threw meanwhile.
/// </summary>
[Collection(RemediationParts.Name)]
public sealed class PullSecretSinkTests(RegistryFixture registry, ITestOutputHelper output)
{
    private const string SlackChannel = "C0SHOP";
    private const string TeamsChannel = TeamsTestHost.GeneralChannel;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    /// <summary>The pod's pull secret: the registry refuses these.</summary>
    private static readonly Credentials Pod = new("pod-user-7Hq2Zt", "pod-pw-Rk48-wP2q-Zm9", "pod-idtoken-X7v3-Lq8n");

    /// <summary>The credential source the refresh copies: the registry accepts these.</summary>
    private static readonly Credentials Source = new("source-user-9Fc3Wd", "source-pw-Nb73-Qe5t-Lk2", "source-idtoken-W2m8-Hz4r");

    [Fact]
    public async Task A_full_run_with_a_private_image_leaves_no_pull_secret_value_in_any_sink()
    {
        var exceptions = new ConcurrentQueue<string>();
        void Record(object? sender, FirstChanceExceptionEventArgs e)
        {
            // Exceptions the bot's own code throws (its frames, or its exception types); the tests' own are not the bot's.
            var trace = e.Exception.StackTrace ?? string.Empty;
            if (e.Exception.GetType().Assembly == typeof(Program).Assembly || (trace.Contains("at ChatOpsPull.", StringComparison.Ordinal) && !trace.Contains("at ChatOpsPull.Tests.", StringComparison.Ordinal)))
            {
                exceptions.Enqueue($"{e.Exception.GetType().FullName}: {e.Exception.Message}");
            }
        }

        var host = await registry.StartBasicRegistryAsync(Source.Username, Source.Password);
        var image = $"{host}/private/app:1.0";
        await using var slack = await FakeSlackServer.StartAsync();
        slack.RatePerSecond = 50;
        slack.Burst = 50;
        await using var teams = await BotConnectorStandIn.StartAsync();
        teams.AddConversation(TeamsChannel);
        teams.EnforceRateLimits = false;
        using var storage = TestStorage.Sqlite();
        var logs = new CapturingLoggerProvider();
        var replies = new List<string>();
        AppDomain.CurrentDomain.FirstChanceException += Record;
        try
        {
            await using var bed = await RemediationBed.StartAsync(
                storage,
                registry,
                Settings(slack, teams, host),
                services: s =>
                {
                    s.AddSingleton<ILoggerProvider>(logs);
                    s.AddSingleton<IStartupFilter>(new FromLoopback());
                },
                scriptedDiagnosis: false);
            using (var added = await ChatWiring.SendToBotAsync(bed.Host, teams, TeamsActivities.BotAddedToTeam(teams.ServiceUrl)))
            {
                Assert.Equal(HttpStatusCode.OK, added.StatusCode);
            }

            // The cluster: a Deployment whose pods cannot pull the private image with their (labelled, so refreshable)
            // pull secret, and the credential source in the bot's own namespace.
            bed.Api.Seed(RemediationFlowTests.ManagedByTheBot(Pod.Secret("regcred", RemediationBed.Namespace, host)));
            bed.Api.Seed(Source.Secret("registry-source", "chatopspull", host));
            bed.SeedFailingDeployment("web", image, replicas: 2, pullSecret: "regcred");

            // Watcher → incident → diagnosis with the pod's own secret → cards in Slack and Teams.
            var store = bed.Get<IncidentStore>();
            var incident = await Eventually.ValueAsync(
                async () => (await store.ListOpenAsync(RemediationBed.Cluster, RemediationBed.Namespace)).FirstOrDefault(i => i.Workload?.Name == "web"),
                i => i?.Diagnosis is not null,
                "the failing Deployment to be detected and diagnosed",
                Patience);
            var diagnosis = incident!.Diagnosis!;
            output.WriteLine($"{diagnosis.Cause}: {diagnosis.Summary}");
            Assert.Equal(PullCause.AuthFailed, diagnosis.Cause);
            var plan = Assert.Single(diagnosis.Remediations, r => r.Kind == RemediationKind.RefreshCredentials);
            var card = await ChatWiring.WaitForSlackCardAsync(slack, SlackChannel, incident.Id, plan.Title, Patience);
            await Eventually.HoldsAsync(() => TeamsText(teams).Contains(plan.Title, StringComparison.Ordinal), Patience, () => "the Teams card with the refresh");

            // Asked for by alice and approved by bob, both through signed Slack clicks; the job runs.
            replies.Add(await ChatWiring.ClickInSlackAsync(bed.Host, slack, SlackChannel, People.Alice, $"request|{incident.Id}|{plan.Key}", card.Ts, Patience));
            var approvalId = await bed.PendingIdAsync(incident.Id, RemediationKind.RefreshCredentials);
            replies.Add(await ChatWiring.ClickInSlackAsync(bed.Host, slack, SlackChannel, People.Bob, $"approve|{approvalId}", card.Ts, Patience));
            var applied = await bed.WaitForRunAsync(approvalId, r => r.Run.IsFinished || r.Run.Status == RunStatus.VerifyingRollout, Patience);
            output.WriteLine($"{applied.Run.Status}: {applied.Run.Detail}");
            Assert.Equal(RunStatus.VerifyingRollout, applied.Run.Status);
            bed.Api.MarkPodsReady(RemediationBed.Namespace, "app=web");
            var run = await bed.WaitForRunAsync(approvalId, timeout: Patience);
            Assert.Equal(RunStatus.Succeeded, run.Run.Status);

            // The secret now holds the source's credentials: the values went through the bot.
            var written = bed.Api.Store.Get(ResourceType.Of("secrets"), RemediationBed.Namespace, "regcred")!;
            Assert.Contains(Source.Password, Encoding.UTF8.GetString(Convert.FromBase64String(written["data"]![".dockerconfigjson"]!.GetValue<string>())), StringComparison.Ordinal);

            // The digest, in both places.
            var publisher = bed.Get<IDigestPublisher>();
            replies.Add((await publisher.PublishNowAsync(ChatPlatform.Slack, SlackChannel, CancellationToken.None)).Text);
            replies.Add((await publisher.PublishNowAsync(ChatPlatform.Teams, TeamsChannel, CancellationToken.None)).Text);
            await Eventually.HoldsAsync(
                () => slack.CallsTo("chat.postMessage").Any(c => c.Body.ToJsonString().Contains("Pull digest", StringComparison.Ordinal)) && TeamsText(teams).Contains("Pull digest", StringComparison.Ordinal),
                Patience,
                () => "the digests in Slack and Teams");

            // Every sink, read once the run is over.
            using var client = bed.Host.CreateClient();
            var page = await client.GetStringAsync(new Uri("/", UriKind.Relative));
            var cards = await client.GetStringAsync(new Uri(WebPageView.CardsPath, UriKind.Relative));
            var metrics = await client.GetStringAsync(new Uri("/metrics", UriKind.Relative));
            var sinks = new List<(string Sink, string Text)>
            {
                ("web page", page),
                ("web cards", cards),
                ("/metrics", metrics),
                ("chat replies", string.Join("\n", replies)),
            };
            sinks.AddRange(slack.Calls.Select(c => ($"Slack {c.Method}", c.Body.ToJsonString())));
            sinks.AddRange(teams.Calls.Select(c => ($"Bot Connector {c.Method} {c.Path}", c.Body?.ToJsonString() ?? string.Empty)));
            sinks.AddRange(logs.Lines.Select(l => ("log line", l)));
            sinks.AddRange(exceptions.Select(e => ("exception", e)));
            foreach (var file in Directory.EnumerateFiles(storage.DataDirectory, "*", SearchOption.AllDirectories))
            {
                // The SQLite files as bytes: every table, every row, the Hangfire job arguments, and pages freed since.
                sinks.Add(($"storage file {Path.GetFileName(file)}", Encoding.Latin1.GetString(await ReadSharedAsync(file))));
            }

            // The scan can fail: the sinks hold what a run leaves.
            Assert.Contains(incident.Id, page, StringComparison.Ordinal);
            Assert.Contains("chatopspull_", metrics, StringComparison.Ordinal);
            Assert.Contains(sinks, s => s.Sink.StartsWith("storage file", StringComparison.Ordinal) && s.Text.Contains(approvalId, StringComparison.Ordinal));
            Assert.Contains(sinks, s => s.Sink == "log line" && s.Text.Contains("Registry check of", StringComparison.Ordinal));
            Assert.Contains(slack.Calls, c => c.Body.ToJsonString().Contains("Refresh pull secret regcred", StringComparison.Ordinal));

            var leaks = (from sink in sinks
                         from secret in Pod.Forms("pod's pull secret").Concat(Source.Forms("credential source"))
                         where sink.Text.Contains(secret.Value, StringComparison.Ordinal)
                         select $"{secret.What} in {sink.Sink}: …{Around(sink.Text, secret.Value)}…").Distinct().ToList();
            output.WriteLine($"{sinks.Count} sinks searched, {logs.Lines.Count} log lines, {exceptions.Count} exceptions, {slack.Calls.Count} Slack calls, {teams.Calls.Count} Bot Connector calls");
            Assert.True(leaks.Count == 0, "pull secret values found:\n" + string.Join("\n", leaks));
        }
        finally
        {
            AppDomain.CurrentDomain.FirstChanceException -= Record;
        }
    }

    private static Dictionary<string, string?> Settings(FakeSlackServer slack, BotConnectorStandIn teams, string registryHost)
    {
        var settings = ChatWiring.Settings(slack, RemediationBed.Namespace, SlackChannel, teams, TeamsChannel);
        foreach (var (key, value) in new Dictionary<string, string?>
        {
            ["Kubernetes:WatchEnabled"] = "true",
            ["Logging:LogLevel:Default"] = "Trace",
            ["Logging:LogLevel:Microsoft"] = "Information",
            ["Logging:LogLevel:Hangfire"] = "Information",
            ["Registry:Hosts:2:Host"] = registryHost,
            ["Registry:Hosts:2:PlainHttp"] = "true",
            ["Remediation:CredentialSources:0:Registry"] = registryHost,
            ["Remediation:CredentialSources:0:Secret"] = "registry-source",
        })
        {
            settings[key] = value;
        }

        foreach (var (index, platform, channel) in new[] { (0, "Slack", SlackChannel), (1, "Teams", TeamsChannel) })
        {
            foreach (var (key, value) in DigestHosts.Schedule(index, platform, channel, cluster: RemediationBed.Cluster, ns: RemediationBed.Namespace))
            {
                settings[key] = value;
            }
        }

        return settings;
    }

    private static string TeamsText(BotConnectorStandIn teams) => string.Join("\n", teams.Calls.Select(c => c.Body?.ToJsonString() ?? string.Empty));

    /// <summary>The file as it is now, while the bot may still have it open.</summary>
    private static async Task<byte[]> ReadSharedAsync(string path)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    private static string Around(string text, string value)
    {
        var at = text.IndexOf(value, StringComparison.Ordinal);
        var from = Math.Max(0, at - 60);
        return text[from..Math.Min(text.Length, at + value.Length + 60)].ReplaceLineEndings(" ");
    }

    /// <summary>One registry login with distinctive values, the dockerconfigjson that holds it, and every form a leak could take.</summary>
    private sealed record Credentials(string Username, string Password, string IdentityToken)
    {
        public string Auth => Base64(Username + ":" + Password);

        public string DockerConfig(string registry) =>
            new JsonObject { ["auths"] = new JsonObject { [registry] = new JsonObject { ["username"] = Username, ["password"] = Password, ["auth"] = Auth, ["identitytoken"] = IdentityToken } } }.ToJsonString();

        public JsonObject Secret(string name, string @namespace, string registry) => new()
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Secret",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = @namespace },
            ["type"] = "kubernetes.io/dockerconfigjson",
            ["data"] = new JsonObject { [".dockerconfigjson"] = Base64(DockerConfig(registry)) },
        };

        public IEnumerable<(string What, string Value)> Forms(string whose) =>
        [
            ($"{whose}: username", Username),
            ($"{whose}: password", Password),
            ($"{whose}: identitytoken", IdentityToken),
            ($"{whose}: auth", Auth),
            ($"{whose}: base64 username", Base64(Username)),
            ($"{whose}: base64 password", Base64(Password)),
            ($"{whose}: base64 identitytoken", Base64(IdentityToken)),
            ($"{whose}: base64 auth", Base64(Auth)),
        ];

        private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));
    }

    /// <summary>Every request comes from loopback, so the web page (no Web:Users configured) answers this test.</summary>
    private sealed class FromLoopback : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((HttpContext context, RequestDelegate nextMiddleware) =>
            {
                context.Connection.RemoteIpAddress = IPAddress.Loopback;
                return nextMiddleware(context);
            });
            next(app);
        };
    }
}
