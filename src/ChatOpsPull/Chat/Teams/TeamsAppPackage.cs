using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Nodes;
using ChatOpsPull.Chat.Commands;

namespace ChatOpsPull.Chat.Teams;

/// <summary>
/// The Teams app package people upload to install the bot ("Upload a custom app"): a zip with manifest.json and the two
/// icons at its root. The source is manifests/teams/ (embedded in the executable); the package fills in the bot's
/// Microsoft App ID, its public base URL and domain, and the command list from <see cref="ChatCommandCatalog"/>.
/// </summary>
public static class TeamsAppPackage
{
    /// <summary>The placeholders in manifests/teams/manifest.json.</summary>
    public const string PlaceholderAppId = "00000000-0000-0000-0000-000000000000";

    public const string PlaceholderBaseUrl = "https://pullbot.example.com/";

    public static IReadOnlyList<string> Files { get; } = ["manifest.json", "color.png", "outline.png"];

    /// <summary>The three scopes the bot works in: channels of a team, one-to-one chat, group chats.</summary>
    public static IReadOnlyList<string> Scopes { get; } = ["team", "personal", "groupChat"];

    /// <summary>The manifest for one bot registration.</summary>
    public static JsonObject Manifest(Guid appId, Uri baseUrl)
    {
        ArgumentNullException.ThrowIfNull(baseUrl);
        var manifest = (JsonObject)JsonNode.Parse(Source("manifest.json"))!;
        var id = appId.ToString("D");
        var site = baseUrl.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/";
        manifest["id"] = id;
        var developer = (JsonObject)manifest["developer"]!;
        foreach (var url in new[] { "websiteUrl", "privacyUrl", "termsOfUseUrl" })
        {
            developer[url] = site;
        }

        var bot = (JsonObject)((JsonArray)manifest["bots"]!)[0]!;
        bot["botId"] = id;
        bot["commandLists"] = new JsonArray
        {
            new JsonObject
            {
                ["scopes"] = new JsonArray(Scopes.Select(s => (JsonNode)JsonValue.Create(s)).ToArray()),
                ["commands"] = Commands(),
            },
        };
        manifest["validDomains"] = new JsonArray(JsonValue.Create(baseUrl.IdnHost));
        return manifest;
    }

    /// <summary>The command menu Teams shows under "@pullbot": every command of the catalog, usage first.</summary>
    public static JsonArray Commands() =>
        new(ChatCommandCatalog.All.Select(c => (JsonNode)new JsonObject { ["title"] = c.Name, ["description"] = $"{c.Usage}: {c.Description}" }).ToArray());

    /// <summary>Writes the zip: manifest.json, color.png and outline.png at its root.</summary>
    public static void Write(Stream output, Guid appId, Uri baseUrl)
    {
        using var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true);
        foreach (var file in Files)
        {
            var entry = zip.CreateEntry(file, CompressionLevel.Optimal);
            using var stream = entry.Open();
            if (file == "manifest.json")
            {
                using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
                Manifest(appId, baseUrl).WriteTo(writer);
            }
            else
            {
                stream.Write(Source(file));
            }
        }
    }

    /// <summary>A file of manifests/teams/ as embedded in the executable.</summary>
    public static byte[] Source(string file)
    {
        using var stream = typeof(TeamsAppPackage).Assembly.GetManifestResourceStream("ChatOpsPull.TeamsPackage." + file)
            ?? throw new InvalidOperationException($"manifests/teams/{file} is not embedded in the executable");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
