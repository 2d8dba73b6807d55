using ChatOpsPull.Chat.Teams;

namespace ChatOpsPull.Cli;

/// <summary>
/// <c>chatopspull teams-package</c>: writes the Teams app package (manifest.json, color.png, outline.png in a zip) for
/// this bot's Microsoft App ID and public base URL, ready for Teams' "Upload a custom app".
/// </summary>
public static class TeamsPackageVerb
{
    public const string Usage = """
        usage: chatopspull teams-package --base-url https://bot.example.com [--app-id GUID] [--out pullbot.zip]

        Writes the Teams app package for this bot: manifest.json (the bot's Microsoft App ID, its commands, team,
        personal and group-chat scopes, the base URL's domain as valid domain) and the two icons, in a zip to upload in
        Teams (Apps → Manage your apps → Upload an app). --app-id defaults to Teams:MicrosoftAppId from the bot's
        configuration (appsettings.json next to the executable, CHATOPSPULL__Teams__MicrosoftAppId, --Teams:MicrosoftAppId=…).
        The bot's messaging endpoint is then {base URL}/api/messages in the Azure Bot registration.
        """;

    public static CliVerb Verb { get; } = new("teams-package", "Write the Teams app package (zip) for this bot's Microsoft App ID.", RunAsync, Usage);

    public static async Task<int> RunAsync(string[] args, CliIo io)
    {
        string? appId = null, baseUrl = null, output = "pullbot.zip";
        var settings = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "-h" or "--help":
                    await io.Out.WriteLineAsync(Usage).ConfigureAwait(false);
                    return 0;
                case "--app-id" or "--base-url" or "--out" when i + 1 < args.Length:
                    var value = args[++i];
                    _ = args[i - 1] switch
                    {
                        "--app-id" => appId = value,
                        "--base-url" => baseUrl = value,
                        _ => output = value,
                    };
                    break;
                case "--app-id" or "--base-url" or "--out":
                    return await FailAsync(io, $"{args[i]} needs a value").ConfigureAwait(false);
                default:
                    settings.Add(args[i]);
                    break;
            }
        }

        if (ConfigurationArguments.Problem(settings) is { } problem)
        {
            return await FailAsync(io, problem).ConfigureAwait(false);
        }

        appId ??= CliConfiguration.Build(settings)["Teams:MicrosoftAppId"];
        if (string.IsNullOrWhiteSpace(appId))
        {
            return await FailAsync(io, "the bot's Microsoft App ID is needed: --app-id GUID, or Teams:MicrosoftAppId in the configuration").ConfigureAwait(false);
        }

        if (!Guid.TryParseExact(appId, "D", out var id) || id == Guid.Empty)
        {
            return await FailAsync(io, $"'{Shorten(appId)}' is not a Microsoft App ID (a GUID such as 0a1b2c3d-4e5f-6789-abcd-ef0123456789)").ConfigureAwait(false);
        }

        if (baseUrl is null)
        {
            return await FailAsync(io, "--base-url is needed: the bot's public https address, as Teams reaches it (e.g. https://pullbot.example.com)").ConfigureAwait(false);
        }

        if (!Uri.TryCreate(baseUrl, UriKind.Absolute, out var url) || url.Scheme != Uri.UriSchemeHttps || !string.IsNullOrEmpty(url.Query) || !string.IsNullOrEmpty(url.Fragment) || url.UserInfo.Length > 0)
        {
            return await FailAsync(io, $"--base-url must be an https URL without query or credentials, not '{Shorten(baseUrl)}' (Teams reaches bots over https only)").ConfigureAwait(false);
        }

        var path = Path.GetFullPath(output);
        try
        {
            await using (var file = new FileStream(path, FileMode.Create, FileAccess.Write))
            {
                TeamsAppPackage.Write(file, id, url);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return await FailAsync(io, $"cannot write {path}: {e.Message}", exitCode: 1).ConfigureAwait(false);
        }

        await io.Out.WriteLineAsync($"Wrote {path} (manifest.json, color.png, outline.png) for app {id:D} at {url.GetLeftPart(UriPartial.Path).TrimEnd('/')}.").ConfigureAwait(false);
        await io.Out.WriteLineAsync($"Messaging endpoint for the Azure Bot: {url.GetLeftPart(UriPartial.Path).TrimEnd('/')}/api/messages. Upload the zip in Teams: Apps → Manage your apps → Upload an app.").ConfigureAwait(false);
        return 0;
    }

    private static async Task<int> FailAsync(CliIo io, string problem, int exitCode = 2)
    {
        await io.Error.WriteLineAsync($"chatopspull teams-package: {problem}. Run 'chatopspull teams-package --help'.").ConfigureAwait(false);
        return exitCode;
    }

    private static string Shorten(string text) => text.Length <= 80 ? text : text[..79] + "…";
}
