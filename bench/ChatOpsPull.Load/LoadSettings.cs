using System.Globalization;

namespace ChatOpsPull.Load;

/// <summary>What to run: parsed from the command line.</summary>
public sealed record LoadSettings(
    string Mode,
    Uri? Url,
    string? Token,
    int DurationSeconds,
    int WarmupSeconds,
    int Connections,
    int AlertsPerRequest,
    LoadStore Store = LoadStore.Counting,
    IReadOnlyList<string>? BotSettings = null)
{
    public const string Usage = """
        usage: ChatOpsPull.Load alertmanager [options]

        Posts Alertmanager webhook messages (version 4, kube-prometheus KubeContainerWaiting alerts, each with a fresh
        fingerprint) to POST /alerts/alertmanager over N concurrent connections, and reports requests/s, latency and errors.
        Without --url it starts the bot in this process, on a free loopback port, first measures an empty endpoint of
        the same host with the same bodies (the floor), then the webhook, and checks that the sink (or the incident
        store) holds every alert of every accepted request.

          --url URL           a running bot (e.g. http://127.0.0.1:8080); omit to start one in process
          --token TOKEN       its Alerts:Alertmanager:BearerToken (only with --url)
          --duration SECONDS  measured time (default 20)
          --warmup SECONDS    unmeasured time first, for the JIT to reach its optimised code (default 10)
          --connections N     concurrent connections, one request in flight each (default 32)
          --alerts N          alerts per request (default 10)
          --store KIND        in process only: counting (a sink that counts, default), sqlite or postgres (the real
                              incident engine and store; postgres is a throwaway cluster with fsync off)
        """;

    public static LoadSettings? Parse(string[] args, TextWriter error)
    {
        if (args.Length == 0 || args[0] != "alertmanager")
        {
            error.WriteLine(Usage);
            return null;
        }

        Uri? url = null;
        string? token = null;
        int duration = 20, warmup = 10, connections = 32, alerts = 10;
        var store = LoadStore.Counting;
        var botSettings = new List<string>();
        for (var i = 1; i < args.Length; i++)
        {
            if (args[i].StartsWith("--", StringComparison.Ordinal) && args[i].Contains(':', StringComparison.Ordinal) && args[i].Contains('=', StringComparison.Ordinal))
            {
                botSettings.Add(args[i]);
                continue;
            }

            var value = i + 1 < args.Length ? args[i + 1] : null;
            var ok = args[i] switch
            {
                "--url" => Uri.TryCreate(value, UriKind.Absolute, out url),
                "--token" => (token = value) is not null,
                "--duration" => TryPositive(value, out duration),
                "--warmup" => int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out warmup),
                "--connections" => TryPositive(value, out connections),
                "--alerts" => TryPositive(value, out alerts),
                "--store" => Enum.TryParse(value, ignoreCase: true, out store) && Enum.IsDefined(store),
                _ => false,
            };
            if (!ok)
            {
                error.WriteLine($"ChatOpsPull.Load: '{args[i]} {value}' is not understood.");
                error.WriteLine(Usage);
                return null;
            }

            i++;
        }

        if (token is not null && url is null)
        {
            error.WriteLine("ChatOpsPull.Load: --token goes with --url; the in-process bot makes its own.");
            return null;
        }

        if (url is not null && (store != LoadStore.Counting || botSettings.Count > 0))
        {
            error.WriteLine("ChatOpsPull.Load: --store and bot settings are for the in-process bot; a bot at --url has its own.");
            return null;
        }

        return new LoadSettings(args[0], url, token, duration, warmup, connections, alerts, store, botSettings);
    }

    private static bool TryPositive(string? value, out int number) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out number) && number > 0;
}
