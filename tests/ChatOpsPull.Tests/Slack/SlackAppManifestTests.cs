using System.Text.RegularExpressions;
using ChatOpsPull.Chat.Commands;
using ChatOpsPull.Chat.Slack;
using ChatOpsPull.Tests.Manifests;
using Xunit.Abstractions;
using YamlDotNet.Serialization;

namespace ChatOpsPull.Tests.Slack;

/// <summary>
/// manifests/slack/: the app manifests a user pastes into "Create an app from a manifest". Checked against the fields
/// Slack's manifest reference documents (https://docs.slack.dev/reference/app-manifest) and against the code: every Web
/// API method the Slack client calls has its scope in the manifest, every event and command the code handles is
/// subscribed, the URLs are the routes the host maps under one base URL, and no scope is asked for that nothing uses.
/// </summary>
public sealed partial class SlackAppManifestTests(ITestOutputHelper output)
{
    private const string BaseUrl = "https://pullbot.example.com";
    private const string HttpManifest = "manifests/slack/app-manifest.yaml";
    private const string SocketModeManifest = "manifests/slack/app-manifest.socket-mode.yaml";

    /// <summary>
    /// The Web API methods the bot calls and the scope each needs, from each method's page in Slack's reference. A method
    /// the code calls that is missing here fails the test: look it up and add it. Null scope: called with an app-level
    /// token, whose scope is granted when the token is generated, not in the manifest.
    /// </summary>
    private static readonly Dictionary<string, (string? Scope, string Documentation)> MethodScopes = new(StringComparer.Ordinal)
    {
        ["chat.postMessage"] = ("chat:write", "https://docs.slack.dev/reference/methods/chat.postMessage"),
        ["chat.update"] = ("chat:write", "https://docs.slack.dev/reference/methods/chat.update"),
        ["chat.postEphemeral"] = ("chat:write", "https://docs.slack.dev/reference/methods/chat.postEphemeral"),
        ["files.getUploadURLExternal"] = ("files:write", "https://docs.slack.dev/reference/methods/files.getUploadURLExternal"),
        ["files.completeUploadExternal"] = ("files:write", "https://docs.slack.dev/reference/methods/files.completeUploadExternal"),
        ["usergroups.list"] = ("usergroups:read", "https://docs.slack.dev/reference/methods/usergroups.list"),
        ["apps.connections.open"] = (null, "https://docs.slack.dev/reference/methods/apps.connections.open (app-level token, connections:write)"),
    };

    /// <summary>The Events API events the bot handles (SlackInbound) and the scope each needs (Slack's event reference).</summary>
    private static readonly Dictionary<string, (string Scope, string Documentation)> EventScopes = new(StringComparer.Ordinal)
    {
        ["app_mention"] = ("app_mentions:read", "https://docs.slack.dev/reference/events/app_mention"),
        ["message.im"] = ("im:history", "https://docs.slack.dev/reference/events/message.im"),
    };

    /// <summary>A slash command needs the commands scope (https://docs.slack.dev/reference/scopes/commands).</summary>
    private const string SlashCommandScope = "commands";

    /// <summary>
    /// The manifest fields Slack's reference documents (https://docs.slack.dev/reference/app-manifest), for the parts of
    /// the manifest a bot like this one uses: path → (type, required, maximum length). "[]" is a list item.
    /// </summary>
    private static readonly Dictionary<string, Field> Documented = new(StringComparer.Ordinal)
    {
        ["_metadata"] = new(Kind.Map),
        ["_metadata.major_version"] = new(Kind.Integer),
        ["_metadata.minor_version"] = new(Kind.Integer),
        ["display_information"] = new(Kind.Map, Required: true),
        ["display_information.name"] = new(Kind.String, Required: true, MaxLength: 35),
        ["display_information.description"] = new(Kind.String, MaxLength: 140),
        ["display_information.long_description"] = new(Kind.String, MinLength: 174, MaxLength: 4000),
        ["display_information.background_color"] = new(Kind.String, Pattern: "^#([0-9a-fA-F]{3}){1,2}$"),
        ["features"] = new(Kind.Map),
        ["features.app_home"] = new(Kind.Map),
        ["features.app_home.home_tab_enabled"] = new(Kind.Boolean),
        ["features.app_home.messages_tab_enabled"] = new(Kind.Boolean),
        ["features.app_home.messages_tab_read_only_enabled"] = new(Kind.Boolean),
        ["features.bot_user"] = new(Kind.Map),
        ["features.bot_user.display_name"] = new(Kind.String, Required: true, MaxLength: 80, Pattern: "^[a-z0-9._-]+$"),
        ["features.bot_user.always_online"] = new(Kind.Boolean),
        ["features.slash_commands"] = new(Kind.List),
        ["features.slash_commands[]"] = new(Kind.Map),
        ["features.slash_commands[].command"] = new(Kind.String, Required: true, MaxLength: 32, Pattern: "^/[a-z0-9_-]+$"),
        ["features.slash_commands[].description"] = new(Kind.String, Required: true, MaxLength: 2000),
        ["features.slash_commands[].url"] = new(Kind.String, Pattern: "^https://"),
        ["features.slash_commands[].usage_hint"] = new(Kind.String, MaxLength: 1000),
        ["features.slash_commands[].should_escape"] = new(Kind.Boolean),
        ["oauth_config"] = new(Kind.Map),
        ["oauth_config.redirect_urls"] = new(Kind.List),
        ["oauth_config.redirect_urls[]"] = new(Kind.String),
        ["oauth_config.scopes"] = new(Kind.Map),
        ["oauth_config.scopes.bot"] = new(Kind.List),
        ["oauth_config.scopes.bot[]"] = new(Kind.String),
        ["oauth_config.scopes.user"] = new(Kind.List),
        ["oauth_config.scopes.user[]"] = new(Kind.String),
        ["settings"] = new(Kind.Map),
        ["settings.allowed_ip_address_ranges"] = new(Kind.List),
        ["settings.allowed_ip_address_ranges[]"] = new(Kind.String),
        ["settings.event_subscriptions"] = new(Kind.Map),
        ["settings.event_subscriptions.request_url"] = new(Kind.String, Pattern: "^https://"),
        ["settings.event_subscriptions.bot_events"] = new(Kind.List),
        ["settings.event_subscriptions.bot_events[]"] = new(Kind.String),
        ["settings.event_subscriptions.user_events"] = new(Kind.List),
        ["settings.event_subscriptions.user_events[]"] = new(Kind.String),
        ["settings.interactivity"] = new(Kind.Map),
        ["settings.interactivity.is_enabled"] = new(Kind.Boolean, Required: true),
        ["settings.interactivity.request_url"] = new(Kind.String, Pattern: "^https://"),
        ["settings.interactivity.message_menu_options_url"] = new(Kind.String, Pattern: "^https://"),
        ["settings.org_deploy_enabled"] = new(Kind.Boolean),
        ["settings.socket_mode_enabled"] = new(Kind.Boolean),
        ["settings.token_rotation_enabled"] = new(Kind.Boolean),
    };

    private enum Kind
    {
        Map,
        List,
        String,
        Integer,
        Boolean,
    }

    private sealed record Field(Kind Kind, bool Required = false, int MinLength = 0, int MaxLength = int.MaxValue, string? Pattern = null);

    public static TheoryData<string> Manifests => new() { HttpManifest, SocketModeManifest };

    [Theory]
    [MemberData(nameof(Manifests))]
    public void Every_field_is_one_Slack_documents_with_the_documented_type_and_limits(string file)
    {
        var problems = new List<string>();
        Check(Load(file), string.Empty, problems);
        foreach (var (path, field) in Documented.Where(d => d.Value.Required && !d.Key.Contains('.', StringComparison.Ordinal)))
        {
            if (!Load(file).ContainsKey(path))
            {
                problems.Add($"{path} is required");
            }
        }

        problems.ForEach(output.WriteLine);
        Assert.Empty(problems);
    }

    [Fact]
    public void The_field_check_catches_an_unknown_field_a_wrong_type_and_an_overlong_name()
    {
        var manifest = Load(HttpManifest);
        manifest["display_information"] = new Dictionary<object, object> { ["name"] = new string('x', 36) };
        manifest["settings"] = new Dictionary<object, object> { ["socket_mode_enabled"] = "yes", ["interactivity_enabled"] = true };
        var problems = new List<string>();

        Check(manifest, string.Empty, problems);

        Assert.Contains(problems, p => p.StartsWith("display_information.name", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("settings.socket_mode_enabled", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("settings.interactivity_enabled", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Manifests))]
    public void The_bot_scopes_are_exactly_those_the_code_needs(string file)
    {
        var called = WebApiMethodsInCode();
        output.WriteLine("Web API methods the code calls: " + string.Join(", ", called));
        var unknown = called.Where(m => !MethodScopes.ContainsKey(m)).ToList();
        Assert.True(unknown.Count == 0, $"the code calls {string.Join(", ", unknown)}: add the method and its scope (from Slack's method reference) to MethodScopes");
        Assert.Contains("chat.postMessage", called);

        var needed = called.Select(m => MethodScopes[m].Scope).OfType<string>()
            .Concat(EventScopes.Values.Select(e => e.Scope))
            .Append(SlashCommandScope)
            .ToHashSet(StringComparer.Ordinal);
        var asked = Strings(Load(file), "oauth_config", "scopes", "bot").ToHashSet(StringComparer.Ordinal);

        Assert.Empty(needed.Except(asked).Order(StringComparer.Ordinal));
        Assert.Empty(asked.Except(needed).Order(StringComparer.Ordinal));
        Assert.Empty(Strings(Load(file), "oauth_config", "scopes", "user"));
    }

    [Theory]
    [MemberData(nameof(Manifests))]
    public void It_subscribes_the_events_and_offers_the_command_the_code_handles(string file)
    {
        var manifest = Load(file);
        Assert.Equal(EventScopes.Keys.Order(StringComparer.Ordinal), Strings(manifest, "settings", "event_subscriptions", "bot_events").Order(StringComparer.Ordinal));

        var inbound = File.ReadAllText(RenderedManifests.Path("src/ChatOpsPull/Chat/Slack/SlackInbound.cs"));
        Assert.Contains("\"app_mention\" => true", inbound, StringComparison.Ordinal);
        Assert.Contains("\"message\" => slackEvent.ChannelType == \"im\"", inbound, StringComparison.Ordinal);

        var command = Assert.Single(List(manifest, "features", "slash_commands"));
        Assert.Equal(new SlackOptions().CommandName, command["command"]);
        var hint = (string)command["usage_hint"];
        Assert.Equal(string.Join(" | ", ChatCommandCatalog.All.Select(c => c.Usage)), hint);
        Assert.True(Bool(manifest, "settings", "interactivity", "is_enabled"));
        Assert.True(Bool(manifest, "features", "app_home", "messages_tab_enabled"));
        Assert.False(Bool(manifest, "features", "app_home", "messages_tab_read_only_enabled"));
    }

    [Fact]
    public void The_http_manifest_points_every_url_at_the_routes_the_host_maps_under_one_base_url()
    {
        var manifest = Load(HttpManifest);
        Assert.False(Bool(manifest, "settings", "socket_mode_enabled"));
        var urls = new Dictionary<string, string>
        {
            ["commands"] = (string)List(manifest, "features", "slash_commands")[0]["url"],
            ["interactions"] = (string)Map(manifest, "settings", "interactivity")["request_url"],
            ["events"] = (string)Map(manifest, "settings", "event_subscriptions")["request_url"],
        };

        var endpoints = File.ReadAllText(RenderedManifests.Path("src/ChatOpsPull/Chat/Slack/SlackEndpoints.cs"));
        Assert.Contains("app.MapGroup(\"/slack\")", endpoints, StringComparison.Ordinal);
        foreach (var (route, url) in urls)
        {
            Assert.Equal($"{BaseUrl}/slack/{route}", url);
            Assert.Contains($"slack.MapPost(\"/{route}\"", endpoints, StringComparison.Ordinal);
        }

        // The base URL is the one thing to replace: no other URL in the file.
        var text = File.ReadAllText(RenderedManifests.Path(HttpManifest));
        var yamlUrls = UrlRegex().Matches(string.Join('\n', text.Split('\n').Where(l => !l.TrimStart().StartsWith('#')))).Select(m => m.Value).ToList();
        Assert.All(yamlUrls, u => Assert.StartsWith(BaseUrl + "/", u, StringComparison.Ordinal));
        Assert.Equal(3, yamlUrls.Count);
    }

    [Fact]
    public void The_socket_mode_manifest_needs_no_url_and_differs_only_in_how_slack_reaches_the_bot()
    {
        var socket = Load(SocketModeManifest);
        Assert.True(Bool(socket, "settings", "socket_mode_enabled"));
        Assert.DoesNotContain("https://", string.Join('\n', File.ReadAllLines(RenderedManifests.Path(SocketModeManifest)).Where(l => !l.TrimStart().StartsWith('#'))), StringComparison.Ordinal);

        var http = Load(HttpManifest);
        var serializer = new SerializerBuilder().Build();
        Assert.Equal(serializer.Serialize(http["display_information"]), serializer.Serialize(socket["display_information"]));
        Assert.Equal(serializer.Serialize(http["oauth_config"]), serializer.Serialize(socket["oauth_config"]));
        Assert.Equal(serializer.Serialize(http["features"]).Replace($"  url: {BaseUrl}/slack/commands\n", string.Empty, StringComparison.Ordinal), serializer.Serialize(socket["features"]));
    }

    /// <summary>Method names in string literals of the Slack client (src/ChatOpsPull/Chat/Slack), as passed to the Web API.</summary>
    private static List<string> WebApiMethodsInCode() =>
        Directory.EnumerateFiles(RenderedManifests.Path("src/ChatOpsPull/Chat/Slack"), "*.cs", SearchOption.AllDirectories)
            .SelectMany(f => MethodLiteralRegex().Matches(File.ReadAllText(f)).Select(m => m.Groups["method"].Value))
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToList();

    private static Dictionary<object, object> Load(string file) =>
        new DeserializerBuilder().Build().Deserialize<Dictionary<object, object>>(File.ReadAllText(RenderedManifests.Path(file)));

    private static void Check(object node, string path, List<string> problems)
    {
        switch (node)
        {
            case Dictionary<object, object> map:
                foreach (var (key, value) in map)
                {
                    var child = path.Length == 0 ? (string)key : $"{path}.{key}";
                    if (!Documented.TryGetValue(child, out var field))
                    {
                        problems.Add($"{child}: not a field Slack's manifest reference documents");
                        continue;
                    }

                    CheckValue(child, field, value, problems);
                    Check(value, child, problems);
                }

                foreach (var required in Documented.Where(d => d.Value.Required && d.Key.StartsWith(path + ".", StringComparison.Ordinal) && d.Key.Count(c => c == '.') == path.Count(c => c == '.') + 1))
                {
                    if (path.Length > 0 && !map.ContainsKey(required.Key[(path.Length + 1)..]))
                    {
                        problems.Add($"{required.Key}: required");
                    }
                }

                break;
            case List<object> list:
                foreach (var item in list)
                {
                    var child = path + "[]";
                    if (Documented.TryGetValue(child, out var field))
                    {
                        CheckValue(child, field, item, problems);
                        Check(item, child, problems);
                    }
                }

                break;
        }
    }

    private static void CheckValue(string path, Field field, object value, List<string> problems)
    {
        var ok = field.Kind switch
        {
            Kind.Map => value is Dictionary<object, object>,
            Kind.List => value is List<object>,
            Kind.Integer => value is string s && int.TryParse(s, out _),
            Kind.Boolean => value is "true" or "false",
            Kind.String => value is string,
            _ => false,
        };
        if (!ok)
        {
            problems.Add($"{path}: must be {field.Kind.ToString().ToLowerInvariant()}");
            return;
        }

        if (value is string text && field.Kind == Kind.String)
        {
            if (text.Length < field.MinLength || text.Length > field.MaxLength)
            {
                problems.Add($"{path}: {text.Length} characters, Slack allows {field.MinLength} to {field.MaxLength}");
            }

            if (field.Pattern is { } pattern && !Regex.IsMatch(text, pattern, RegexOptions.CultureInvariant))
            {
                problems.Add($"{path}: \"{text}\" does not match {pattern}");
            }
        }
    }

    private static Dictionary<object, object> Map(Dictionary<object, object> root, params string[] path) =>
        path.Aggregate(root, (node, key) => (Dictionary<object, object>)node[key]);

    private static List<Dictionary<object, object>> List(Dictionary<object, object> root, params string[] path) =>
        ((List<object>)Map(root, path[..^1])[path[^1]]).Cast<Dictionary<object, object>>().ToList();

    private static List<string> Strings(Dictionary<object, object> root, params string[] path)
    {
        var parent = Map(root, path[..^1]);
        return parent.TryGetValue(path[^1], out var list) ? ((List<object>)list).Cast<string>().ToList() : [];
    }

    private static bool Bool(Dictionary<object, object> root, params string[] path) =>
        (string)Map(root, path[..^1])[path[^1]] == "true";

    [GeneratedRegex("\"(?<method>(?:api|apps|auth|bookmarks|bots|calls|chat|conversations|dnd|emoji|files|pins|reactions|reminders|search|team|usergroups|users|views|workflows)(?:\\.[A-Za-z]+)+)\"", RegexOptions.CultureInvariant)]
    private static partial Regex MethodLiteralRegex();

    [GeneratedRegex("https?://[^\\s\"']+", RegexOptions.CultureInvariant)]
    private static partial Regex UrlRegex();
}
