using System.Text.Json;
using System.Text.Json.Nodes;

namespace ChatOpsPull.Remediation;

/// <summary>
/// What a write changes in an object, as short human lines: "spec.template.spec.containers[api].image: a → b".
/// Lists of named items are matched by name; server bookkeeping (resourceVersion, generation, managedFields, status)
/// is left out; a secret's data is never shown, only that it changes.
/// </summary>
public static class ObjectDiff
{
    private const int MaxValueChars = 90;

    private static readonly HashSet<string> Ignored = new(StringComparer.Ordinal)
    {
        "status",
        "metadata.resourceVersion",
        "metadata.generation",
        "metadata.managedFields",
        "metadata.creationTimestamp",
        "metadata.uid",
        "metadata.selfLink",
    };

    public static IReadOnlyList<string> Lines(JsonNode? before, JsonNode? after)
    {
        var lines = new List<string>();
        Walk(string.Empty, before, after, lines, secretData: false);
        return lines;
    }

    /// <summary>Joins at most <paramref name="max"/> lines with "; " and says how many more there were.</summary>
    public static string Summarize(IReadOnlyList<string> lines, int max = 4) =>
        lines.Count == 0
            ? "no change"
            : string.Join("; ", lines.Take(max)) + (lines.Count > max ? $"; and {lines.Count - max} more change(s)" : string.Empty);

    private static void Walk(string path, JsonNode? before, JsonNode? after, List<string> lines, bool secretData)
    {
        if (Ignored.Contains(path) || JsonNode.DeepEquals(before, after))
        {
            return;
        }

        if (secretData || path is "data" or "stringData")
        {
            if (path is "data" or "stringData")
            {
                var keys = Keys(before).Union(Keys(after)).Order(StringComparer.Ordinal);
                foreach (var key in keys)
                {
                    Walk($"{path}.{key}", before?[key], after?[key], lines, secretData: true);
                }

                return;
            }

            lines.Add($"{path}: {(before is null ? "added" : after is null ? "removed" : "changed")} (content not shown)");
            return;
        }

        if (before is JsonObject oldObject && after is JsonObject newObject)
        {
            foreach (var key in oldObject.Select(p => p.Key).Union(newObject.Select(p => p.Key)).Order(StringComparer.Ordinal))
            {
                Walk(path.Length == 0 ? key : $"{path}.{key}", oldObject[key], newObject[key], lines, secretData: false);
            }

            return;
        }

        if (before is JsonArray oldArray && after is JsonArray newArray && IsNamedList(oldArray) && IsNamedList(newArray))
        {
            var names = oldArray.Concat(newArray).Select(Name).Distinct(StringComparer.Ordinal).ToList();
            foreach (var name in names)
            {
                var oldItem = oldArray.FirstOrDefault(i => Name(i) == name);
                var newItem = newArray.FirstOrDefault(i => Name(i) == name);
                if (oldItem is null || newItem is null)
                {
                    lines.Add($"{path}[{name}]: {(oldItem is null ? "added" : "removed")}");
                }
                else
                {
                    Walk($"{path}[{name}]", oldItem, newItem, lines, secretData: false);
                }
            }

            return;
        }

        lines.Add($"{path}: {Show(before)} → {Show(after)}");
    }

    private static IEnumerable<string> Keys(JsonNode? node) => node is JsonObject o ? o.Select(p => p.Key) : [];

    private static bool IsNamedList(JsonArray array) => array.Count > 0 && array.All(i => i is JsonObject o && o["name"] is JsonValue);

    private static string Name(JsonNode? item) => item?["name"]?.GetValue<string>() ?? string.Empty;

    private static string Show(JsonNode? node)
    {
        var text = node switch
        {
            null => "(none)",
            JsonValue value when value.TryGetValue<string>(out var s) => s,
            JsonArray array when array.All(i => i is JsonObject o && o.Count == 1 && o["name"] is not null) =>
                "[" + string.Join(", ", array.Select(Name)) + "]",
            _ => node.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }),
        };
        return text.Length <= MaxValueChars ? text : text[..(MaxValueChars - 1)] + "…";
    }
}
