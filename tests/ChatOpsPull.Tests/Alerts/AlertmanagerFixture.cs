using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ChatOpsPull.Tests.Infrastructure;

namespace ChatOpsPull.Tests.Alerts;

/// <summary>
/// The bot on Kestrel (Alertmanager webhook behind a bearer token, generic webhook behind an HMAC secret) and Debian's
/// real prometheus-alertmanager with a webhook_configs receiver pointing at it, gossip off, short group timings.
/// </summary>
public sealed class AlertmanagerFixture : IAsyncLifetime
{
    public const string BearerToken = "test-bearer-token-0123456789abcdef";
    public const string HmacSecret = "test-hmac-secret-0123456789abcdef";
    private const string AlertmanagerBinary = "/usr/bin/prometheus-alertmanager";
    private const string AmtoolBinary = "/usr/bin/amtool";

    private ExternalProcess? _alertmanager;
    private string _directory = string.Empty;

    public BotOnKestrel Bot { get; private set; } = null!;

    public int AlertmanagerPort { get; private set; }

    public Uri AlertmanagerUrl => new($"http://127.0.0.1:{AlertmanagerPort}/");

    public string AlertmanagerOutput => _alertmanager?.Output ?? string.Empty;

    public async Task InitializeAsync()
    {
        Bot = await BotOnKestrel.StartAsync(new Dictionary<string, string>
        {
            ["Alerts:Alertmanager:BearerToken"] = BearerToken,
            ["Alerts:Generic:HmacSecret"] = HmacSecret,
        });

        _directory = Directory.CreateTempSubdirectory("chatopspull-alertmanager-").FullName;
        var config = Path.Combine(_directory, "alertmanager.yml");
        await File.WriteAllTextAsync(config, Config(Bot.Port));
        (_alertmanager, AlertmanagerPort) = await ExternalProcess.StartOnFreePortAsync(port => Task.FromResult(ExternalProcess.Start(AlertmanagerBinary,
        [
            $"--config.file={config}",
            $"--storage.path={Path.Combine(_directory, "data")}",
            $"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=info",
        ])));
        using var client = new HttpClient { BaseAddress = AlertmanagerUrl };
        await Eventually.ValueAsync(
            async () =>
            {
                using var ready = await client.GetAsync(new Uri("-/ready", UriKind.Relative));
                return ready.StatusCode;
            },
            status => (int)status is >= 200 and < 300,
            "alertmanager to be ready",
            describe: status => $"{status}\n{AlertmanagerOutput}");
    }

    /// <summary>
    /// Routes everything to the bot, grouped by namespace and alertname (one group per test); namespaces starting
    /// "repeat-" get a 2 s repeat_interval so the re-send of an unchanged group can be observed.
    /// </summary>
    private static string Config(int botPort) => $$"""
        global:
          resolve_timeout: 30s
        route:
          receiver: bot
          group_by: ['namespace', 'alertname']
          group_wait: 1s
          group_interval: 1s
          repeat_interval: 1h
          routes:
            - receiver: bot
              matchers: ['namespace=~"repeat-.*"']
              repeat_interval: 2s
        receivers:
          - name: bot
            webhook_configs:
              - url: http://127.0.0.1:{{botPort}}/alerts/alertmanager
                send_resolved: true
                http_config:
                  authorization:
                    type: Bearer
                    credentials: {{BearerToken}}
        """;

    /// <summary>Fires (or, with <paramref name="end"/> in the past, resolves) one alert with amtool.</summary>
    public Task AmtoolAddAsync(IEnumerable<string> labels, IEnumerable<string>? annotations = null, DateTimeOffset? start = null, DateTimeOffset? end = null)
    {
        var arguments = new List<string> { "alert", "add", $"--alertmanager.url={AlertmanagerUrl}", "--no-version-check" };
        arguments.AddRange((annotations ?? []).Select(a => $"--annotation={Quoted(a)}"));
        if (start is { } s)
        {
            arguments.Add($"--start={s.ToString("yyyy-MM-dd'T'HH:mm:ssK", CultureInfo.InvariantCulture)}");
        }

        if (end is { } e)
        {
            arguments.Add($"--end={e.ToString("yyyy-MM-dd'T'HH:mm:ssK", CultureInfo.InvariantCulture)}");
        }

        arguments.AddRange(labels.Select(Quoted));
        return ExternalProcess.RunAsync(AmtoolBinary, arguments, timeout: TimeSpan.FromSeconds(30));
    }

    /// <summary>name=value as amtool's matcher syntax wants it: name="value" with quotes and backslashes escaped.</summary>
    private static string Quoted(string pair)
    {
        var equals = pair.IndexOf('=', StringComparison.Ordinal);
        var value = pair[(equals + 1)..].Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
        return $"{pair[..equals]}=\"{value}\"";
    }

    /// <summary>Posts alerts to Alertmanager's own API in one call (POST /api/v2/alerts), as Prometheus does.</summary>
    public async Task PostAlertsAsync(IEnumerable<IReadOnlyDictionary<string, string>> labelSets, string description)
    {
        var alerts = new JsonArray();
        foreach (var labels in labelSets)
        {
            var labelObject = new JsonObject();
            foreach (var (name, value) in labels)
            {
                labelObject[name] = value;
            }

            alerts.Add(new JsonObject
            {
                ["labels"] = labelObject,
                ["annotations"] = new JsonObject { ["description"] = description },
                ["generatorURL"] = "http://prometheus.example:9090/graph",
            });
        }

        using var client = new HttpClient { BaseAddress = AlertmanagerUrl };
        using var response = await client.PostAsJsonAsync(new Uri("api/v2/alerts", UriKind.Relative), alerts);
        response.EnsureSuccessStatusCode();
    }

    public async Task DisposeAsync()
    {
        if (_alertmanager is not null)
        {
            await _alertmanager.DisposeAsync();
        }

        await Bot.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // left in the temp directory
        }
    }
}

[CollectionDefinition(Name)]
public sealed class AlertmanagerTests : ICollectionFixture<AlertmanagerFixture>
{
    public const string Name = "Alertmanager";
}
