using System.Text.Json.Nodes;

namespace ChatOpsPull.Tests.Slack;

/// <summary>Reads tests/fixtures/slack (copied next to the test assembly).</summary>
public static class SlackFixtures
{
    public static string Text(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "slack", name));

    public static JsonObject Json(string name) => (JsonObject)JsonNode.Parse(Text(name))!;
}
