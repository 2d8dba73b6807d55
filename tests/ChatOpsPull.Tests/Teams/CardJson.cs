using System.Text.Json.Nodes;

namespace ChatOpsPull.Tests.Teams;

/// <summary>Walks a rendered Adaptive Card.</summary>
public static class CardJson
{
    public static IEnumerable<JsonObject> Nodes(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                yield return obj;
                foreach (var (_, child) in obj)
                {
                    foreach (var inner in Nodes(child))
                    {
                        yield return inner;
                    }
                }

                break;
            case JsonArray array:
                foreach (var item in array)
                {
                    foreach (var inner in Nodes(item))
                    {
                        yield return inner;
                    }
                }

                break;
        }
    }

    public static IEnumerable<JsonObject> Executes(JsonNode? card) =>
        Nodes(card?["body"]).Where(n => n["type"]?.GetValue<string>() == "Action.Execute");

    public static IEnumerable<string> Verbs(JsonNode? card) => Executes(card).Select(a => a["verb"]!.GetValue<string>());

    /// <summary>Every text of the card, one per line; a RichTextBlock's runs are joined into its one line.</summary>
    public static string Texts(JsonNode? card)
    {
        var runs = Nodes(card).Where(n => n["type"]?.GetValue<string>() == "RichTextBlock")
            .SelectMany(n => n["inlines"]!.AsArray().OfType<JsonObject>())
            .ToHashSet(ReferenceEqualityComparer.Instance);
        return string.Join("\n", Nodes(card).Select(n => n["type"]?.GetValue<string>() == "RichTextBlock"
                ? string.Concat(n["inlines"]!.AsArray().Select(r => r!["text"]!.GetValue<string>()))
                : n["text"] is JsonValue && !runs.Contains(n) ? n["text"]!.GetValue<string>() : null)
            .OfType<string>());
    }

    /// <summary>The card inside a message activity the stand-in recorded.</summary>
    public static JsonNode? CardOf(JsonNode? activity) => activity?["attachments"]?[0]?["content"];
}
