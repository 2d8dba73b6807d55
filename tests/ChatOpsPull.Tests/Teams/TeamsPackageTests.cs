using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Nodes;
using ChatOpsPull.Chat.Commands;
using ChatOpsPull.Chat.Teams;
using ChatOpsPull.Hosting;
using ChatOpsPull.Tests.Infrastructure;
using ChatOpsPull.Tests.Manifests;
using SkiaSharp;
using Xunit.Abstractions;

namespace ChatOpsPull.Tests.Teams;

/// <summary>
/// manifests/teams/ and <c>chatopspull teams-package</c>: the zip Teams installs. Its manifest.json is validated with
/// Microsoft's own validator and schema (@microsoft/app-manifest from npm, tests/teams-manifest, schema read from the
/// package for the manifest's version, which must be the newest the package has); the icons are checked for the sizes
/// and transparency Teams asks for; the command menu is the code's command list.
/// </summary>
public sealed class TeamsPackageTests(ITestOutputHelper output) : IDisposable
{
    private const string AppId = "0a1b2c3d-4e5f-6789-abcd-ef0123456789";
    private readonly string _directory = Directory.CreateTempSubdirectory("chatopspull-teams-package-").FullName;

    [Fact]
    public async Task The_verb_writes_a_zip_with_the_manifest_and_both_icons_for_the_given_bot()
    {
        var zip = Path.Combine(_directory, "pullbot.zip");
        var (code, stdout, stderr) = await RunAsync("teams-package", "--app-id", AppId, "--base-url", "https://pullbot.ops.example.org/", "--out", zip);

        Assert.True(code == 0, stderr);
        Assert.Contains("/api/messages", stdout, StringComparison.Ordinal);
        using var archive = ZipFile.OpenRead(zip);
        Assert.Equal(["color.png", "manifest.json", "outline.png"], archive.Entries.Select(e => e.FullName).Order(StringComparer.Ordinal));

        var manifest = ReadManifest(archive);
        Assert.Equal(AppId, manifest["id"]!.GetValue<string>());
        var bot = manifest["bots"]![0]!;
        Assert.Equal(AppId, bot["botId"]!.GetValue<string>());
        Assert.Equal(["team", "personal", "groupChat"], bot["scopes"]!.AsArray().Select(s => s!.GetValue<string>()));
        Assert.Equal(["pullbot.ops.example.org"], manifest["validDomains"]!.AsArray().Select(d => d!.GetValue<string>()));
        Assert.Equal("https://pullbot.ops.example.org/", manifest["developer"]!["websiteUrl"]!.GetValue<string>());
        AssertCommandsAreTheCatalog(manifest);
        Assert.Equal(TeamsAppPackage.Source("color.png"), Bytes(archive, "color.png"));
        Assert.Equal(TeamsAppPackage.Source("outline.png"), Bytes(archive, "outline.png"));

        var written = Path.Combine(_directory, "manifest.json");
        await File.WriteAllTextAsync(written, manifest.ToJsonString());
        Assert.Empty(await ValidateAsync(written));
    }

    [Fact]
    public async Task The_bot_id_comes_from_the_configuration_when_no_app_id_is_given()
    {
        var zip = Path.Combine(_directory, "from-configuration.zip");
        var (code, _, stderr) = await RunAsync("teams-package", "--base-url", "https://bot.example.net", "--out", zip, $"--Teams:MicrosoftAppId={AppId}");

        Assert.True(code == 0, stderr);
        using var archive = ZipFile.OpenRead(zip);
        Assert.Equal(AppId, ReadManifest(archive)["bots"]![0]!["botId"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("not-a-guid", "https://bot.example.net", "is not a Microsoft App ID")]
    [InlineData(AppId, "http://bot.example.net", "must be an https URL")]
    [InlineData(AppId, null, "--base-url is needed")]
    public async Task A_wrong_app_id_or_base_url_is_refused_with_a_sentence_and_writes_nothing(string appId, string? baseUrl, string sentence)
    {
        var zip = Path.Combine(_directory, "refused.zip");
        string[] args = baseUrl is null
            ? ["teams-package", "--app-id", appId, "--out", zip]
            : ["teams-package", "--app-id", appId, "--base-url", baseUrl, "--out", zip];

        var (code, _, stderr) = await RunAsync(args);

        Assert.Equal(2, code);
        Assert.Contains(sentence, stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(zip));
    }

    [Fact]
    public async Task The_committed_manifest_is_valid_on_the_newest_schema_and_lists_the_codes_commands()
    {
        var source = RenderedManifests.Path("manifests/teams/manifest.json");
        var manifest = JsonNode.Parse(await File.ReadAllTextAsync(source))!.AsObject();

        Assert.Empty(await ValidateAsync(source));
        AssertCommandsAreTheCatalog(manifest);
        Assert.Equal(TeamsAppPackage.PlaceholderAppId, manifest["id"]!.GetValue<string>());
        Assert.Equal(TeamsAppPackage.PlaceholderBaseUrl, manifest["developer"]!["websiteUrl"]!.GetValue<string>());
        Assert.Equal(await File.ReadAllBytesAsync(source), TeamsAppPackage.Source("manifest.json"));
    }

    [Fact]
    public async Task The_validator_finds_what_Teams_would_refuse()
    {
        var manifest = JsonNode.Parse(TeamsAppPackage.Source("manifest.json"))!.AsObject();
        manifest["id"] = "pullbot";
        manifest["bots"]![0]!.AsObject()["commandList"] = new JsonArray();
        var file = Path.Combine(_directory, "broken.json");
        await File.WriteAllTextAsync(file, manifest.ToJsonString());

        var problems = await ValidateAsync(file);

        Assert.Contains(problems, p => p.StartsWith("/id ", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("commandList", StringComparison.Ordinal));
    }

    [Fact]
    public void The_color_icon_is_192_pixels_and_the_outline_icon_32_pixels_white_on_transparent()
    {
        using var color = SKBitmap.Decode(TeamsAppPackage.Source("color.png"));
        Assert.Equal((192, 192), (color.Width, color.Height));
        Assert.True(color.Pixels.Select(p => p.ToString()).Distinct().Count() > 2, "the color icon is a picture, not a flat square");

        using var outline = SKBitmap.Decode(TeamsAppPackage.Source("outline.png"));
        Assert.Equal((32, 32), (outline.Width, outline.Height));
        Assert.NotEqual(SKAlphaType.Opaque, outline.AlphaType);
        var pixels = outline.Pixels;
        Assert.Equal(0, outline.GetPixel(0, 0).Alpha);
        Assert.True(pixels.Count(p => p.Alpha == 0) > pixels.Length / 2, "the outline icon's background is transparent");
        Assert.True(pixels.Any(p => p.Alpha == 255), "the outline icon draws something");
        Assert.All(pixels.Where(p => p.Alpha > 0), p => Assert.True(p.Red == 255 && p.Green == 255 && p.Blue == 255, $"outline pixel {p} is not white"));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static void AssertCommandsAreTheCatalog(JsonObject manifest)
    {
        var lists = manifest["bots"]![0]!["commandLists"]!.AsArray();
        var list = Assert.Single(lists)!;
        Assert.Equal(["team", "personal", "groupChat"], list["scopes"]!.AsArray().Select(s => s!.GetValue<string>()));
        var commands = list["commands"]!.AsArray().Select(c => (c!["title"]!.GetValue<string>(), c["description"]!.GetValue<string>())).ToList();
        Assert.Equal(ChatCommandCatalog.All.Select(c => (c.Name, $"{c.Usage}: {c.Description}")), commands);
        Assert.All(ChatCommandCatalog.All, c => Assert.IsType<ChatCommand>(ChatCommandParser.Parse(c.Name), exactMatch: false));
    }

    /// <summary>Problems Microsoft's validator finds in a manifest file; none is valid.</summary>
    private async Task<List<string>> ValidateAsync(string manifest)
    {
        var tool = RenderedManifests.Path("tests/teams-manifest");
        Assert.True(
            Directory.Exists(Path.Combine(tool, "node_modules", "@microsoft", "app-manifest")),
            "tests/teams-manifest/node_modules is missing: run .ci/install-deps (it runs npm ci there)");
        var text = await ExternalProcess.RunAsync("node", [Path.Combine(tool, "validate.js"), manifest], tool, TimeSpan.FromMinutes(1));
        output.WriteLine(text);
        var result = JsonNode.Parse(text.Trim().Split('\n')[^1])!;
        Assert.Equal(result["newest"]!.GetValue<string>(), JsonNode.Parse(await File.ReadAllTextAsync(manifest))!["manifestVersion"]!.GetValue<string>());
        return result["problems"]!.AsArray().Select(p => p!.GetValue<string>()).ToList();
    }

    private static JsonObject ReadManifest(ZipArchive archive)
    {
        using var stream = archive.GetEntry("manifest.json")!.Open();
        return JsonNode.Parse(stream)!.AsObject();
    }

    private static byte[] Bytes(ZipArchive archive, string name)
    {
        using var stream = archive.GetEntry(name)!.Open();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static Task<(int Code, string Out, string Error)> RunAsync(params string[] args) => CliRun.RunAsync(args);
}
