using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;

namespace ChatOpsPull.Simulation.KubernetesApi;

/// <summary>
/// metadata.managedFields and server-side apply, after k8s.io/apiserver's fieldmanager and sigs.k8s.io/structured-merge-diff:
/// a field set is the set of paths an object sets (fields "f:", associative list items "k:{…}" by their merge keys,
/// set items "v:…", atomic lists and maps as one leaf), encoded as FieldsV1. An update gives its manager the fields it
/// changed and takes them from the others; an apply owns exactly the applied fields, conflicts with other managers
/// whose fields it would change (409 with the real message) unless forced, and removes fields it applied before and
/// no longer applies when nobody else owns them. Entries are sorted as the server sorts them (Apply first, then by time).
/// Known simplification: the "." self-markers SMD adds for newly created maps in an update are not reproduced.
/// </summary>
public static class ManagedFields
{
    /// <summary>Associative lists (listType=map, or patchStrategy=merge with a patchMergeKey) and their keys.</summary>
    private static readonly Dictionary<string, string[]> ListKeys = new(StringComparer.Ordinal)
    {
        ["containers"] = ["name"],
        ["initContainers"] = ["name"],
        ["ephemeralContainers"] = ["name"],
        ["env"] = ["name"],
        ["ports"] = ["containerPort", "protocol"],
        ["volumes"] = ["name"],
        ["volumeMounts"] = ["mountPath"],
        ["volumeDevices"] = ["devicePath"],
        ["imagePullSecrets"] = ["name"],
        ["ownerReferences"] = ["uid"],
        ["conditions"] = ["type"],
        ["hostAliases"] = ["ip"],
        ["topologySpreadConstraints"] = ["topologyKey", "whenUnsatisfiable"],
        ["resourceClaims"] = ["name"],
        ["secrets"] = ["name"],
        ["containerStatuses"] = ["name"],
        ["initContainerStatuses"] = ["name"],
        ["ephemeralContainerStatuses"] = ["name"],
    };

    /// <summary>Lists of scalars merged as sets (listType=set).</summary>
    private static readonly HashSet<string> SetLists = new(StringComparer.Ordinal) { "finalizers" };

    /// <summary>Structs that are atomic (+structType=atomic): set and owned as one leaf.</summary>
    private static readonly HashSet<string> AtomicMaps = new(StringComparer.Ordinal) { "selector" };

    /// <summary>Maps whose every key is data, not a field (their entries are leaves).</summary>
    private static readonly HashSet<string> DataMaps = new(StringComparer.Ordinal) { "labels", "annotations", "data", "stringData", "matchLabels", "nodeSelector" };

    /// <summary>Records an update (create, PUT, non-apply patch) by <paramref name="manager"/> on <paramref name="after"/>.</summary>
    public static void RecordUpdate(JsonObject? before, JsonObject after, string manager, string? subresource, string apiVersion, DateTimeOffset now)
    {
        var entries = Entries(after);
        var afterSet = FieldSet(after, subresource);
        var beforeSet = before is null ? [] : FieldSet(before, subresource);
        var changed = afterSet.Where(p => before is null || !beforeSet.Contains(p) || !JsonNode.DeepEquals(ValueAt(before, p), ValueAt(after, p))).ToHashSet();
        if (changed.Count == 0 && before is not null)
        {
            Write(after, entries, AllFields(after), before);
            return;
        }

        foreach (var entry in entries)
        {
            entry.Fields.ExceptWith(changed);
        }

        var mine = entries.FirstOrDefault(e => e.Manager == manager && e.Operation == "Update" && e.Subresource == subresource && e.ApiVersion == apiVersion);
        if (mine is null)
        {
            mine = new Entry(manager, "Update", apiVersion, subresource, [], now);
            entries.Add(mine);
        }

        mine.Fields.UnionWith(changed);
        mine.Time = now;
        Write(after, entries, AllFields(after), null);
    }

    /// <summary>Records a server-side apply that created <paramref name="obj"/> from <paramref name="config"/>.</summary>
    public static void RecordApply(JsonObject obj, JsonObject config, string manager, string? subresource, string apiVersion, DateTimeOffset now)
    {
        var entries = new List<Entry> { new(manager, "Apply", apiVersion, subresource, FieldSet(config, subresource), now) };
        Write(obj, entries, AllFields(obj), null);
    }

    /// <summary>
    /// Server-side apply of <paramref name="config"/> to <paramref name="live"/>: the merged object with its new managedFields,
    /// or a 409 Conflict naming each field another manager owns with a different value.
    /// </summary>
    public static JsonObject Apply(JsonObject live, JsonObject config, string manager, bool force, string? subresource, string apiVersion, DateTimeOffset now)
    {
        var entries = Entries(live);
        var applied = FieldSet(config, subresource);
        var conflicts = new List<(Entry Owner, FieldPath Path)>();
        foreach (var entry in entries.Where(e => !(e.Manager == manager && e.Operation == "Apply")))
        {
            foreach (var path in entry.Fields.Where(applied.Contains).Where(p => !JsonNode.DeepEquals(ValueAt(live, p), ValueAt(config, p)) && !p.IsListItem))
            {
                conflicts.Add((entry, path));
            }
        }

        if (conflicts.Count > 0 && !force)
        {
            throw ConflictError(conflicts);
        }

        foreach (var (owner, path) in conflicts)
        {
            owner.Fields.Remove(path);
        }

        var merged = (JsonObject)MergeApplied(live, config)!;
        var previous = entries.FirstOrDefault(e => e.Manager == manager && e.Operation == "Apply" && e.Subresource == subresource);
        if (previous is not null)
        {
            var othersOwn = entries.Where(e => e != previous).SelectMany(e => e.Fields).ToHashSet();
            foreach (var dropped in previous.Fields.Where(p => !applied.Contains(p) && !othersOwn.Contains(p)).OrderByDescending(p => p.Length))
            {
                Remove(merged, dropped);
            }

            entries.Remove(previous);
        }

        var changed = applied.Where(p => !JsonNode.DeepEquals(ValueAt(live, p), ValueAt(merged, p))).ToHashSet();
        foreach (var entry in entries.Where(e => e.Operation == "Update"))
        {
            entry.Fields.ExceptWith(changed);
        }

        entries.Add(new Entry(manager, "Apply", apiVersion, subresource, applied, now));
        Write(merged, entries, AllFields(merged), null);
        return merged;
    }

    /// <summary>The paths an object sets, without the fields the server owns (name, uid, resourceVersion…).</summary>
    public static HashSet<FieldPath> FieldSet(JsonObject obj, string? subresource = null)
    {
        var set = new HashSet<FieldPath>();
        foreach (var (key, value) in obj)
        {
            if (key is "apiVersion" or "kind")
            {
                continue;
            }

            if (subresource == "status" ? key is not "status" : key is "status")
            {
                continue;
            }

            if (key == "metadata" && value is JsonObject metadata)
            {
                foreach (var (field, fieldValue) in metadata)
                {
                    if (field is "labels" or "annotations" or "ownerReferences" or "finalizers")
                    {
                        Walk(fieldValue, new FieldPath(["f:metadata", "f:" + field]), field, set);
                    }
                }

                continue;
            }

            Walk(value, new FieldPath(["f:" + key]), key, set);
        }

        return set;
    }

    /// <summary>Every path the object sets, its status included (what managed fields may point at).</summary>
    private static HashSet<FieldPath> AllFields(JsonObject obj)
    {
        var all = FieldSet(obj);
        all.UnionWith(FieldSet(obj, "status"));
        return all;
    }

    /// <summary>FieldsV1 JSON of a set ("f:spec": {"f:replicas": {}} …).</summary>
    public static JsonObject Encode(IEnumerable<FieldPath> paths)
    {
        var root = new Node();
        foreach (var path in paths)
        {
            var node = root;
            foreach (var segment in path.Segments)
            {
                node = node.Child(segment);
            }

            node.Member = true;
        }

        return root.ToJson();
    }

    /// <summary>The set a FieldsV1 object encodes.</summary>
    public static HashSet<FieldPath> Decode(JsonObject? fields)
    {
        var set = new HashSet<FieldPath>();
        void Visit(JsonObject node, List<string> prefix)
        {
            foreach (var (key, value) in node)
            {
                if (key == ".")
                {
                    set.Add(new FieldPath([.. prefix]));
                    continue;
                }

                prefix.Add(key);
                if (value is JsonObject { Count: > 0 } child)
                {
                    Visit(child, prefix);
                }
                else
                {
                    set.Add(new FieldPath([.. prefix]));
                }

                prefix.RemoveAt(prefix.Count - 1);
            }
        }

        if (fields is not null)
        {
            Visit(fields, []);
        }

        return set;
    }

    /// <summary>".spec.template.spec.containers[name=\"web\"].image": how the server names a path in conflicts.</summary>
    public static string Describe(FieldPath path)
    {
        var text = new System.Text.StringBuilder();
        foreach (var segment in path.Segments)
        {
            switch (segment[..2])
            {
                case "f:":
                    text.Append('.').Append(segment[2..]);
                    break;
                case "k:":
                    var key = (JsonObject)JsonNode.Parse(segment[2..])!;
                    text.Append('[').Append(string.Join(",", key.Select(k => $"{k.Key}={k.Value!.ToJsonString()}"))).Append(']');
                    break;
                case "v:":
                    text.Append('[').Append(segment[2..]).Append(']');
                    break;
                default:
                    text.Append('[').Append(segment[2..]).Append(']');
                    break;
            }
        }

        return text.ToString();
    }

    /// <summary>The value at a path (a list item for "k:"/"v:" segments), or null.</summary>
    public static JsonNode? ValueAt(JsonObject obj, FieldPath path)
    {
        JsonNode? node = obj;
        foreach (var segment in path.Segments)
        {
            node = Step(node, segment);
            if (node is null)
            {
                return null;
            }
        }

        return node;
    }

    private static JsonNode? Step(JsonNode? node, string segment) => segment[..2] switch
    {
        "f:" => node is JsonObject o ? o[segment[2..]] : null,
        "k:" => node is JsonArray a ? a.FirstOrDefault(i => i is JsonObject item && KeyMatches(item, (JsonObject)JsonNode.Parse(segment[2..])!)) : null,
        "v:" => node is JsonArray a ? a.FirstOrDefault(i => i?.ToJsonString() == segment[2..]) : null,
        _ => null,
    };

    private static bool KeyMatches(JsonObject item, JsonObject key) =>
        key.All(k => JsonNode.DeepEquals(item[k.Key], k.Value));

    private static void Walk(JsonNode? value, FieldPath path, string field, HashSet<FieldPath> set)
    {
        switch (value)
        {
            case JsonObject { Count: 0 }:
                set.Add(path);
                break;
            case JsonObject when AtomicMaps.Contains(field):
                set.Add(path);
                break;
            case JsonObject map when DataMaps.Contains(field):
                foreach (var (key, _) in map)
                {
                    set.Add(path.Append("f:" + key));
                }

                break;
            case JsonObject map:
                foreach (var (key, child) in map)
                {
                    Walk(child, path.Append("f:" + key), key, set);
                }

                break;
            case JsonArray list when ListKeys.TryGetValue(field, out var keys) && list.All(i => i is JsonObject):
                foreach (var item in list.OfType<JsonObject>())
                {
                    var itemPath = path.Append("k:" + KeyOf(item, keys).ToJsonString());
                    set.Add(itemPath);
                    foreach (var (key, child) in item)
                    {
                        Walk(child, itemPath.Append("f:" + key), key, set);
                    }
                }

                break;
            case JsonArray list when SetLists.Contains(field):
                foreach (var item in list)
                {
                    set.Add(path.Append("v:" + item?.ToJsonString()));
                }

                break;
            default:
                set.Add(path);
                break;
        }
    }

    private static JsonObject KeyOf(JsonObject item, string[] keys)
    {
        var key = new JsonObject();
        foreach (var k in keys)
        {
            if (item[k] is { } value)
            {
                key[k] = value.DeepClone();
            }
        }

        return key;
    }

    /// <summary>The structured merge of an applied configuration into the live object.</summary>
    private static JsonNode? MergeApplied(JsonNode? live, JsonNode? config, string? field = null)
    {
        switch (config)
        {
            case JsonObject configObject when field is null || !AtomicMaps.Contains(field):
                var result = live is JsonObject l ? (JsonObject)l.DeepClone() : new JsonObject();
                foreach (var (key, value) in configObject)
                {
                    if (field is null && key == "metadata" && value is JsonObject metadata)
                    {
                        var merged = result["metadata"] as JsonObject ?? new JsonObject();
                        foreach (var (mk, mv) in metadata)
                        {
                            if (mk is "labels" or "annotations" or "ownerReferences" or "finalizers")
                            {
                                merged[mk] = MergeApplied(merged[mk], mv, mk);
                            }
                        }

                        result["metadata"] = merged;
                        continue;
                    }

                    if (value is null)
                    {
                        result.Remove(key);
                        continue;
                    }

                    result[key] = MergeApplied(result[key], value, key);
                }

                return result;
            case JsonArray configList when field is not null && ListKeys.TryGetValue(field, out var keys) && configList.All(i => i is JsonObject):
                var items = (live as JsonArray ?? []).Select(i => i?.DeepClone()).ToList();
                foreach (var item in configList.OfType<JsonObject>())
                {
                    var key = KeyOf(item, keys);
                    var index = items.FindIndex(i => i is JsonObject o && KeyMatches(o, key));
                    if (index >= 0)
                    {
                        items[index] = MergeApplied(items[index], item);
                    }
                    else
                    {
                        items.Add(item.DeepClone());
                    }
                }

                return new JsonArray([.. items]);
            case JsonArray configSet when field is not null && SetLists.Contains(field):
                var union = (live as JsonArray ?? []).Select(i => i?.DeepClone()).ToList();
                foreach (var item in configSet)
                {
                    if (!union.Any(u => JsonNode.DeepEquals(u, item)))
                    {
                        union.Add(item?.DeepClone());
                    }
                }

                return new JsonArray([.. union]);
            default:
                return config?.DeepClone();
        }
    }

    private static void Remove(JsonObject obj, FieldPath path)
    {
        JsonNode? parent = obj;
        foreach (var segment in path.Segments[..^1])
        {
            parent = Step(parent, segment);
        }

        var last = path.Segments[^1];
        switch (parent)
        {
            case JsonObject o when last.StartsWith("f:", StringComparison.Ordinal):
                o.Remove(last[2..]);
                break;
            case JsonArray a when Step(a, last) is { } item:
                a.Remove(item);
                break;
        }
    }

    private static ApiStatusException ConflictError(List<(Entry Owner, FieldPath Path)> conflicts)
    {
        static string Manager(Entry e)
        {
            var text = $"\"{e.Manager}\"";
            if (e.Subresource is not null)
            {
                text += $" with subresource \"{e.Subresource}\"";
            }

            return e.Operation == "Update" ? $"{text} using {e.ApiVersion}" : text;
        }

        var causes = new JsonArray();
        foreach (var (owner, path) in conflicts)
        {
            causes.Add(new JsonObject { ["reason"] = "FieldManagerConflict", ["message"] = $"conflict with {Manager(owner)}", ["field"] = Describe(path) });
        }

        string message;
        if (conflicts.Count == 1)
        {
            message = $"Apply failed with 1 conflict: conflict with {Manager(conflicts[0].Owner)}: {Describe(conflicts[0].Path)}";
        }
        else
        {
            var lines = conflicts.GroupBy(c => Manager(c.Owner), StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
                .SelectMany(g => new[] { $"conflicts with {g.Key}:" }.Concat(g.Select(c => $"- {Describe(c.Path)}")));
            message = $"Apply failed with {conflicts.Count} conflicts: {string.Join("\n", lines)}";
        }

        return new ApiStatusException(HttpStatusCode.Conflict, "Conflict", message, new JsonObject { ["causes"] = causes });
    }

    private static List<Entry> Entries(JsonObject obj) =>
        (obj["metadata"]?["managedFields"] as JsonArray ?? []).OfType<JsonObject>().Select(e => new Entry(
            e["manager"]?.GetValue<string>() ?? string.Empty,
            e["operation"]?.GetValue<string>() ?? "Update",
            e["apiVersion"]?.GetValue<string>() ?? string.Empty,
            e["subresource"]?.GetValue<string>(),
            Decode(e["fieldsV1"] as JsonObject),
            DateTimeOffset.TryParse(e["time"]?.GetValue<string>(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : DateTimeOffset.MinValue)).ToList();

    /// <summary>Writes the entries back, pruned to paths the object still has (or had before a no-op), sorted as the server sorts them.</summary>
    private static void Write(JsonObject obj, List<Entry> entries, HashSet<FieldPath> present, JsonObject? unchangedFrom)
    {
        if (unchangedFrom is not null)
        {
            obj["metadata"]!["managedFields"] = unchangedFrom["metadata"]?["managedFields"]?.DeepClone();
            if (obj["metadata"]!["managedFields"] is null)
            {
                ((JsonObject)obj["metadata"]!).Remove("managedFields");
            }

            return;
        }

        var array = new JsonArray();
        foreach (var entry in entries
            .Select(e => e with { Fields = e.Fields.Where(p => present.Contains(p) || present.Any(q => q.StartsWith(p))).ToHashSet() })
            .Where(e => e.Fields.Count > 0)
            .OrderBy(e => e.Operation == "Apply" ? 0 : 1)
            .ThenBy(e => e.Time)
            .ThenBy(e => e.Manager, StringComparer.Ordinal))
        {
            var json = new JsonObject
            {
                ["manager"] = entry.Manager,
                ["operation"] = entry.Operation,
                ["apiVersion"] = entry.ApiVersion,
                ["time"] = ObjectStore.Timestamp(entry.Time),
                ["fieldsType"] = "FieldsV1",
                ["fieldsV1"] = Encode(entry.Fields),
            };
            if (entry.Subresource is not null)
            {
                json["subresource"] = entry.Subresource;
            }

            array.Add(json);
        }

        if (array.Count == 0)
        {
            ((JsonObject)obj["metadata"]!).Remove("managedFields");
        }
        else
        {
            obj["metadata"]!["managedFields"] = array;
        }
    }

    private sealed record Entry(string Manager, string Operation, string ApiVersion, string? Subresource, HashSet<FieldPath> Fields, DateTimeOffset Time)
    {
        public DateTimeOffset Time { get; set; } = Time;
    }

    private sealed class Node
    {
        private readonly SortedDictionary<string, Node> _children = new(StringComparer.Ordinal);

        public bool Member { get; set; }

        public Node Child(string segment)
        {
            if (!_children.TryGetValue(segment, out var child))
            {
                child = new Node();
                _children[segment] = child;
            }

            return child;
        }

        public JsonObject ToJson()
        {
            var json = new JsonObject();
            if (Member && _children.Count > 0)
            {
                json["."] = new JsonObject();
            }

            foreach (var (segment, child) in _children)
            {
                json[segment] = child.ToJson();
            }

            return json;
        }
    }
}

/// <summary>A path in a field set: FieldsV1 segments ("f:spec", "k:{\"name\":\"web\"}", "v:\"x\"").</summary>
public sealed class FieldPath : IEquatable<FieldPath>
{
    private readonly string _key;

    public FieldPath(string[] segments)
    {
        Segments = segments;
        _key = string.Join('\u0001', segments);
    }

    public string[] Segments { get; }

    public int Length => Segments.Length;

    public bool IsListItem => Segments.Length > 0 && Segments[^1][..2] is "k:" or "v:";

    public FieldPath Append(string segment) => new([.. Segments, segment]);

    /// <summary>True when <paramref name="prefix"/> is this path or one of its ancestors.</summary>
    public bool StartsWith(FieldPath prefix) =>
        prefix.Segments.Length <= Segments.Length && Segments.AsSpan(0, prefix.Segments.Length).SequenceEqual(prefix.Segments);

    public bool Equals(FieldPath? other) => other is not null && other._key == _key;

    public override bool Equals(object? obj) => obj is FieldPath p && Equals(p);

    public override int GetHashCode() => _key.GetHashCode(StringComparison.Ordinal);

    public override string ToString() => ManagedFields.Describe(this);
}
