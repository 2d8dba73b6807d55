using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using ChatOpsPull.Detection.Webhooks;
using ChatOpsPull.Incidents;
using ChatOpsPull.Kubernetes;
using ChatOpsPull.Storage;
using ChatOpsPull.Tests.Incidents;
using ChatOpsPull.Tests.Kubernetes;
using ChatOpsPull.Simulation.KubernetesApi;
using ChatOpsPull.Tests.Slack.FakeSlack;
using ChatOpsPull.Tests.Storage;
using ChatOpsPull.Tests.Teams.FakeConnector;
using ChatOpsPull.Web;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ChatOpsPull.Tests.Hostile;

/// <summary>
/// The real host with every inbound surface configured and every kind of secret present: Slack (fake Slack Web API),
/// Teams (Bot Connector stand-in: OpenID metadata, signing keys, token endpoint), both alert webhooks (bearer token and
/// HMAC), a local web user, and a cluster (fake Kubernetes API) whose failing pod uses a dockerconfigjson pull secret the
/// bot reads while inspecting it. Every log line is captured. Shared by the hostile tests, which run one after another.
/// </summary>
public sealed class HostileFixture : IAsyncLifetime
{
    public const string SlackSigningSecret = "hostile-slack-signing-secret-5d0c9e7a";
    public const string AlertmanagerToken = "hostile-alertmanager-bearer-token-2b8f41";
    public const string AlertmanagerHmac = "hostile-alertmanager-hmac-secret-9a7e33";
    public const string GenericToken = "hostile-generic-bearer-token-6c1d92";
    public const string GenericHmac = "hostile-generic-hmac-secret-4f0b27";
    public const string WebUser = "alice";
    public const string WebPassword = "hostile web password 8e2a";
    public const int AlertBodyLimit = 64 * 1024;

    private readonly string _directory = Directory.CreateTempSubdirectory("chatopspull-hostile-").FullName;

    public FakeSlackServer Slack { get; private set; } = null!;

    public BotConnectorStandIn Teams { get; private set; } = null!;

    public FakeKubernetesApi Kubernetes { get; private set; } = null!;

    public TestStorage Storage { get; private set; } = null!;

    public BotTestHost Host { get; private set; } = null!;

    public HttpClient Client { get; private set; } = null!;

    public CapturingLoggerProvider Logs { get; } = new();

    /// <summary>The pull secret's .dockerconfigjson (base64, as stored), its decoded JSON, and the registry password in it.</summary>
    public IReadOnlyList<string> PullSecretValues { get; private set; } = [];

    /// <summary>Every configured secret: none may appear in a log line.</summary>
    public IReadOnlyList<(string What, string Value)> Secrets =>
    [
        ("Slack signing secret", SlackSigningSecret),
        ("Slack bot token", FakeSlackServer.BotToken),
        ("Teams app password", BotConnectorStandIn.AppPassword),
        ("Alertmanager bearer token", AlertmanagerToken),
        ("Alertmanager HMAC secret", AlertmanagerHmac),
        ("generic webhook bearer token", GenericToken),
        ("generic webhook HMAC secret", GenericHmac),
        ("web user password", WebPassword),
        .. PullSecretValues.Select(v => ("pull secret content", v)),
    ];

    public async Task InitializeAsync()
    {
        Slack = await FakeSlackServer.StartAsync();
        Teams = await BotConnectorStandIn.StartAsync();
        Kubernetes = await FakeKubernetesApi.StartAsync();
        KubeFixtures.SeedWebWorkload(Kubernetes);
        var pod = KubeFixtures.WebPod("web-6b9f7c5d8-hostile");
        Kubernetes.Seed(pod);
        Kubernetes.Seed(KubeFixtures.Load("serviceaccount-default.json"));
        var secret = KubeFixtures.Load("secret-regcred.json");
        Kubernetes.Seed(secret);
        Kubernetes.Seed(KubeFixtures.FailedEventFor(pod));
        var dockerConfig = secret["data"]![".dockerconfigjson"]!.GetValue<string>();
        var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(dockerConfig));
        var auth = JsonNode.Parse(decoded)!["auths"]!.AsObject().Single().Value!;
        PullSecretValues = [dockerConfig, decoded, auth["password"]!.GetValue<string>(), auth["auth"]!.GetValue<string>()];

        Storage = TestStorage.Sqlite();
        Host = new BotTestHost(
            Storage,
            new()
            {
                ["Logging:LogLevel:Default"] = "Trace",
                ["Logging:LogLevel:Microsoft"] = "Information",
                ["Logging:LogLevel:Hangfire"] = "Information",
                ["Slack:SigningSecret"] = SlackSigningSecret,
                ["Slack:BotToken"] = FakeSlackServer.BotToken,
                ["Slack:ApiBaseUrl"] = Slack.ApiUrl.ToString(),
                ["Slack:ResponseUrlPrefixes:0"] = Slack.ResponseUrlPrefix,
                ["Teams:MicrosoftAppId"] = BotConnectorStandIn.AppId,
                ["Teams:MicrosoftAppPassword"] = BotConnectorStandIn.AppPassword,
                ["Teams:OpenIdMetadataUrl"] = Teams.OpenIdMetadataUrl,
                ["Teams:EmulatorOpenIdMetadataUrl"] = Teams.EmulatorOpenIdMetadataUrl,
                ["Teams:TokenEndpoint"] = Teams.TokenEndpoint,
                ["Teams:AllowedServiceUrlHosts:0"] = "127.0.0.1",
                ["Alerts:MaxBodyBytes"] = AlertBodyLimit.ToString(CultureInfo.InvariantCulture),
                ["Alerts:Alertmanager:BearerToken"] = AlertmanagerToken,
                ["Alerts:Alertmanager:HmacSecret"] = AlertmanagerHmac,
                ["Alerts:Generic:BearerToken"] = GenericToken,
                ["Alerts:Generic:HmacSecret"] = GenericHmac,
                ["Alerts:Generic:MaxBatchSize"] = "50",
                ["Web:Users:0:Name"] = WebUser,
                ["Web:Users:0:PasswordHash"] = PasswordHash.Hash(WebPassword, 10_000),
                ["Kubernetes:KubeconfigPath"] = Kubernetes.WriteKubeconfig(Path.Combine(_directory, "kube"), contextNamespace: "shop"),
            },
            services => services.AddSingleton<ILoggerProvider>(Logs));
        Client = Host.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

        // The cluster's failure arrives through the watcher and is diagnosed; the pull secret is read as the diagnosis will.
        var store = Host.Services.GetRequiredService<IncidentStore>();
        await Eventually.ValueAsync(() => store.ListOpenAsync(), open => open.Count == 1 && open[0].Diagnosis is not null, "the watched failure to be diagnosed", TimeSpan.FromSeconds(60));
        var (inspection, failure) = await Host.Services.GetRequiredService<PodInspector>().InspectAsync("shop", "web-6b9f7c5d8-hostile", CancellationToken.None);
        if (inspection is null)
        {
            throw new InvalidOperationException("inspection failed: " + failure?.Reason);
        }
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Host.DisposeAsync();
        Storage.Dispose();
        await Kubernetes.DisposeAsync();
        await Teams.DisposeAsync();
        await Slack.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>
    /// <see cref="StateAsync"/> once the host has nothing in flight (Hangfire queue and chat outbox drained), so work an
    /// earlier request started cannot land between a test's "before" and "after".
    /// </summary>
    public async Task<string> DrainedStateAsync()
    {
        await Drained.WaitAsync(Host.Services);
        return await StateAsync();
    }

    /// <summary>
    /// What a refused request must not change: the row count of every table of the bot's database (incidents, audit,
    /// outbox, seen Slack events, Teams conversations …), and the calls made to Slack and the Bot Connector.
    /// </summary>
    public async Task<string> StateAsync()
    {
        var database = Host.Services.GetRequiredService<BotDatabase>();
        await using var connection = await database.OpenAsync();
        var tables = (await connection.QueryAsync<string>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")).ToList();
        var counts = new List<string>();
        foreach (var table in tables)
        {
            counts.Add($"{table}={await connection.ExecuteScalarAsync<long>($"SELECT COUNT(*) FROM \"{table}\"")}");
        }

        counts.Add($"slack calls={Slack.Calls.Count} ({string.Join(" ", Slack.Calls.Select(c => c.Method))})");
        counts.Add($"connector calls={Teams.Calls.Count(c => !c.Path.Contains("oauth2", StringComparison.Ordinal) && !c.Path.Contains("openid", StringComparison.Ordinal) && !c.Path.Contains("keys", StringComparison.Ordinal))}");
        return string.Join(", ", counts);
    }

    public static string SlackSignature(string secret, string timestamp, byte[] body)
    {
        var signed = Encoding.UTF8.GetBytes($"v0:{timestamp}:").Concat(body).ToArray();
        return "v0=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed));
    }

    public static string WebhookSignature(string secret, long timestamp, byte[] body) => WebhookAuthentication.Sign(secret, timestamp, body);

    public static string Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    public static AuthenticationHeaderValue Bearer(string token) => new("Bearer", token);
}

[CollectionDefinition(Name)]
public sealed class HostileGroup : ICollectionFixture<HostileFixture>
{
    public const string Name = "hostile";
}
