using System.Net.Sockets;

namespace ChatOpsPull.Cli;

/// <summary>
/// <c>chatopspull healthcheck</c>: asks the running bot's <c>/healthz</c> and exits 0 when it answers 200, 1 when
/// it does not. It is the container's HEALTHCHECK, since the ASP.NET runtime image has no curl or wget.
/// </summary>
public static class HealthCheckVerb
{
    public const string DefaultUrl = "http://127.0.0.1:8080/healthz";

    public const string Usage = """
        usage: chatopspull healthcheck [--url http://127.0.0.1:8080/healthz] [--timeout-seconds 3]

        Exits 0 when the URL answers 200 within the timeout, 1 when it does not, 2 for a usage error.
        """;

    public static CliVerb Verb { get; } = new("healthcheck", "Check that a running bot answers /healthz (the container HEALTHCHECK).", RunAsync, Usage);

    public static async Task<int> RunAsync(string[] args, CliIo io)
    {
        var url = DefaultUrl;
        var timeoutSeconds = 3;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "-h" or "--help":
                    await io.Out.WriteLineAsync(Usage).ConfigureAwait(false);
                    return 0;
                case "--url" when i + 1 < args.Length && Uri.TryCreate(args[i + 1], UriKind.Absolute, out var parsed) && parsed.Scheme is "http" or "https":
                    url = args[++i];
                    break;
                case "--timeout-seconds" when i + 1 < args.Length && int.TryParse(args[i + 1], out var seconds) && seconds is > 0 and <= 300:
                    timeoutSeconds = seconds;
                    i++;
                    break;
                case "--url" or "--timeout-seconds":
                    await io.Error.WriteLineAsync($"chatopspull healthcheck: {args[i]} needs a value ({(args[i] == "--url" ? "an http(s) URL" : "1 to 300 seconds")}).").ConfigureAwait(false);
                    return 2;
                default:
                    await io.Error.WriteLineAsync($"chatopspull healthcheck: unknown option '{args[i]}'. Run 'chatopspull healthcheck --help'.").ConfigureAwait(false);
                    return 2;
            }
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(timeoutSeconds) };
        try
        {
            using var response = await http.GetAsync(new Uri(url)).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                return 0;
            }

            await io.Error.WriteLineAsync($"chatopspull healthcheck: {url} answered {(int)response.StatusCode} {response.ReasonPhrase}.").ConfigureAwait(false);
            return 1;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or SocketException)
        {
            var why = e is TaskCanceledException ? $"no answer within {timeoutSeconds} s" : e.Message;
            await io.Error.WriteLineAsync($"chatopspull healthcheck: {url}: {why}.").ConfigureAwait(false);
            return 1;
        }
    }
}
