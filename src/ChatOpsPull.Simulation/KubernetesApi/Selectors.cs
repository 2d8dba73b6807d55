using System.Text.Json.Nodes;

namespace ChatOpsPull.Simulation.KubernetesApi;

/// <summary>labelSelector as the API server parses it: k=v, k==v, k!=v, k in (a,b), k notin (a,b), k, !k; comma means AND.</summary>
public sealed class LabelSelector
{
    private readonly List<Func<IReadOnlyDictionary<string, string>, bool>> _requirements = [];

    public static LabelSelector Everything { get; } = new();

    public bool Matches(JsonObject obj)
    {
        if (_requirements.Count == 0)
        {
            return true;
        }

        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (obj["metadata"]?["labels"] is JsonObject map)
        {
            foreach (var (k, v) in map)
            {
                labels[k] = v?.GetValue<string>() ?? string.Empty;
            }
        }

        return _requirements.All(r => r(labels));
    }

    public static LabelSelector Parse(string? text)
    {
        var selector = new LabelSelector();
        if (string.IsNullOrWhiteSpace(text))
        {
            return selector;
        }

        foreach (var part in SplitTopLevel(text))
        {
            var p = part.Trim();
            if (p.Length == 0)
            {
                throw ApiStatus.BadRequest($"unable to parse requirement: found '', expected: identifier (in \"{text}\")");
            }

            var inIndex = p.IndexOf(" in ", StringComparison.Ordinal);
            var notInIndex = p.IndexOf(" notin ", StringComparison.Ordinal);
            if (notInIndex > 0)
            {
                var key = p[..notInIndex].Trim();
                var values = SetValues(p[(notInIndex + 7)..], text);
                selector._requirements.Add(l => !l.TryGetValue(key, out var v) || !values.Contains(v));
            }
            else if (inIndex > 0)
            {
                var key = p[..inIndex].Trim();
                var values = SetValues(p[(inIndex + 4)..], text);
                selector._requirements.Add(l => l.TryGetValue(key, out var v) && values.Contains(v));
            }
            else if (p.Contains("!=", StringComparison.Ordinal))
            {
                var (key, value) = Split(p, "!=");
                selector._requirements.Add(l => !l.TryGetValue(key, out var v) || v != value);
            }
            else if (p.Contains("==", StringComparison.Ordinal))
            {
                var (key, value) = Split(p, "==");
                selector._requirements.Add(l => l.TryGetValue(key, out var v) && v == value);
            }
            else if (p.Contains('=', StringComparison.Ordinal))
            {
                var (key, value) = Split(p, "=");
                selector._requirements.Add(l => l.TryGetValue(key, out var v) && v == value);
            }
            else if (p.StartsWith('!'))
            {
                var key = p[1..].Trim();
                selector._requirements.Add(l => !l.ContainsKey(key));
            }
            else
            {
                selector._requirements.Add(l => l.ContainsKey(p));
            }
        }

        return selector;
    }

    private static (string Key, string Value) Split(string requirement, string op)
    {
        var i = requirement.IndexOf(op, StringComparison.Ordinal);
        return (requirement[..i].Trim(), requirement[(i + op.Length)..].Trim());
    }

    private static HashSet<string> SetValues(string text, string whole)
    {
        var t = text.Trim();
        if (!t.StartsWith('(') || !t.EndsWith(')'))
        {
            throw ApiStatus.BadRequest($"unable to parse requirement: found '{t}', expected: '(' (in \"{whole}\")");
        }

        return t[1..^1].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
    }

    private static IEnumerable<string> SplitTopLevel(string text)
    {
        var depth = 0;
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            switch (text[i])
            {
                case '(':
                    depth++;
                    break;
                case ')':
                    depth--;
                    break;
                case ',' when depth == 0:
                    yield return text[start..i];
                    start = i + 1;
                    break;
            }
        }

        yield return text[start..];
    }
}

/// <summary>fieldSelector: field=value, field==value, field!=value, comma means AND; only the fields the resource supports.</summary>
public sealed class FieldSelector
{
    private readonly List<(string[] Path, string Value, bool Equal)> _terms = [];

    public static FieldSelector Everything { get; } = new();

    public static FieldSelector Parse(string? text, ResourceType type)
    {
        var selector = new FieldSelector();
        if (string.IsNullOrWhiteSpace(text))
        {
            return selector;
        }

        foreach (var raw in text.Split(','))
        {
            var term = raw.Trim();
            var (op, i) = term.IndexOf("!=", StringComparison.Ordinal) is var ne and > 0 ? ("!=", ne)
                : term.IndexOf("==", StringComparison.Ordinal) is var ee and > 0 ? ("==", ee)
                : ("=", term.IndexOf('=', StringComparison.Ordinal));
            if (i <= 0)
            {
                throw ApiStatus.BadRequest($"invalid selector: '{text}'; can't understand '{term}'");
            }

            var field = term[..i];
            var value = term[(i + op.Length)..];
            string path;
            if (field is "metadata.name" or "metadata.namespace")
            {
                path = field;
            }
            else if (!type.FieldLabels.TryGetValue(field, out path!))
            {
                throw ApiStatus.BadRequest($"field label not supported: {field}");
            }

            selector._terms.Add((path.Split('.'), value, op != "!="));
        }

        return selector;
    }

    public bool Matches(JsonObject obj)
    {
        foreach (var (path, value, equal) in _terms)
        {
            JsonNode? node = obj;
            foreach (var segment in path)
            {
                node = node is JsonObject o ? o[segment] : null;
            }

            var actual = node switch
            {
                null => string.Empty,
                JsonValue v when v.TryGetValue<string>(out var s) => s,
                _ => node.ToJsonString(),
            };
            if ((actual == value) != equal)
            {
                return false;
            }
        }

        return true;
    }
}
