using System.Net;
using System.Text.Json.Nodes;

namespace ChatOpsPull.Simulation.KubernetesApi;

/// <summary>The three patch types the API server accepts besides server-side apply.</summary>
public static class Patches
{
    /// <summary>patchMergeKey of the lists this fake knows (from the Kubernetes API types' struct tags).</summary>
    private static readonly Dictionary<string, string> MergeKeys = new(StringComparer.Ordinal)
    {
        ["containers"] = "name",
        ["initContainers"] = "name",
        ["ephemeralContainers"] = "name",
        ["imagePullSecrets"] = "name",
        ["env"] = "name",
        ["volumes"] = "name",
        ["volumeMounts"] = "mountPath",
        ["volumeDevices"] = "devicePath",
        ["ports"] = "containerPort",
        ["ownerReferences"] = "uid",
        ["conditions"] = "type",
        ["secrets"] = "name",
        ["hostAliases"] = "ip",
        ["topologySpreadConstraints"] = "topologyKey",
        ["resourceClaims"] = "name",
        ["webhooks"] = "name",
    };

    /// <summary>RFC 7386 JSON merge patch: objects merge recursively, null deletes, anything else (arrays too) replaces.</summary>
    public static JsonNode? MergePatch(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject)
        {
            return patch?.DeepClone();
        }

        var result = target as JsonObject is { } t ? (JsonObject)t.DeepClone() : new JsonObject();
        foreach (var (key, value) in patchObject)
        {
            if (value is null)
            {
                result.Remove(key);
            }
            else
            {
                result[key] = MergePatch(result[key], value);
            }
        }

        return result;
    }

    /// <summary>
    /// Strategic merge patch: like a merge patch, but lists with a patchMergeKey merge item by item, and the directives
    /// <c>$patch: delete</c> / <c>$patch: replace</c> (in maps and list items), <c>$deleteFromPrimitiveList/field</c>,
    /// <c>$setElementOrder/field</c> and <c>$retainKeys</c> are honoured.
    /// </summary>
    public static JsonNode? StrategicMergePatch(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject)
        {
            return patch?.DeepClone();
        }

        if (patchObject["$patch"]?.GetValue<string>() is { } directive)
        {
            switch (directive)
            {
                case "replace":
                    var replaced = (JsonObject)patchObject.DeepClone();
                    replaced.Remove("$patch");
                    return replaced;
                case "delete":
                    return null;
                default:
                    throw ApiStatus.BadRequest($"Unknown patch type: {directive} in map: {patchObject.ToJsonString()}");
            }
        }

        var result = target as JsonObject is { } t ? (JsonObject)t.DeepClone() : new JsonObject();
        if (patchObject["$retainKeys"] is JsonArray retain)
        {
            var keep = retain.Select(k => k!.GetValue<string>()).ToHashSet(StringComparer.Ordinal);
            foreach (var key in result.Select(p => p.Key).Where(k => !keep.Contains(k)).ToArray())
            {
                result.Remove(key);
            }
        }

        foreach (var (key, value) in patchObject)
        {
            if (key is "$retainKeys" || key.StartsWith("$setElementOrder/", StringComparison.Ordinal))
            {
                continue;
            }

            if (key.StartsWith("$deleteFromPrimitiveList/", StringComparison.Ordinal))
            {
                var field = key["$deleteFromPrimitiveList/".Length..];
                if (result[field] is JsonArray primitives && value is JsonArray remove)
                {
                    var drop = remove.Select(v => v?.ToJsonString()).ToHashSet(StringComparer.Ordinal);
                    var kept = new JsonArray(primitives.Where(v => !drop.Contains(v?.ToJsonString())).Select(v => v?.DeepClone()).ToArray());
                    result[field] = kept;
                }

                continue;
            }

            if (value is null)
            {
                result.Remove(key);
                continue;
            }

            if (value is JsonArray patchList && MergeKeys.TryGetValue(key, out var mergeKey))
            {
                result[key] = MergeList(result[key] as JsonArray, patchList, mergeKey);
                continue;
            }

            var merged = StrategicMergePatch(result[key], value);
            if (merged is null)
            {
                result.Remove(key);
            }
            else
            {
                result[key] = merged;
            }
        }

        return result;
    }

    private static JsonArray MergeList(JsonArray? current, JsonArray patch, string mergeKey)
    {
        if (patch.Any(i => i is JsonObject o && o["$patch"]?.GetValue<string>() == "replace"))
        {
            return new JsonArray(patch.Where(i => !(i is JsonObject o && o["$patch"]?.GetValue<string>() == "replace")).Select(i => i?.DeepClone()).ToArray());
        }

        var items = (current ?? []).Select(i => i?.DeepClone()).ToList();
        foreach (var item in patch)
        {
            if (item is not JsonObject patchItem)
            {
                items.Add(item?.DeepClone());
                continue;
            }

            var key = patchItem[mergeKey]?.ToJsonString();
            if (key is null)
            {
                throw ApiStatus.BadRequest($"map: {patchItem.ToJsonString()} does not contain declared merge key: {mergeKey}");
            }

            var index = items.FindIndex(i => i is JsonObject o && o[mergeKey]?.ToJsonString() == key);
            if (patchItem["$patch"]?.GetValue<string>() == "delete")
            {
                if (index >= 0)
                {
                    items.RemoveAt(index);
                }

                continue;
            }

            if (index >= 0)
            {
                items[index] = StrategicMergePatch(items[index], patchItem);
            }
            else
            {
                var added = (JsonObject)patchItem.DeepClone();
                added.Remove("$patch");
                items.Add(added);
            }
        }

        return new JsonArray(items.Where(i => i is not null).ToArray());
    }

    /// <summary>RFC 6902 JSON patch: add, remove, replace, move, copy, test with RFC 6901 pointers.</summary>
    public static JsonNode JsonPatch(JsonNode target, JsonArray operations)
    {
        var document = target.DeepClone();
        foreach (var operation in operations)
        {
            if (operation is not JsonObject op || op["op"]?.GetValue<string>() is not { } name || op["path"]?.GetValue<string>() is not { } path)
            {
                throw ApiStatus.BadRequest("json patch operations need \"op\" and \"path\"");
            }

            switch (name)
            {
                case "add":
                    document = Add(document, path, op["value"]?.DeepClone());
                    break;
                case "remove":
                    Remove(document, path);
                    break;
                case "replace":
                    Remove(document, path);
                    document = Add(document, path, op["value"]?.DeepClone());
                    break;
                case "move":
                    var moved = Get(document, op["from"]!.GetValue<string>())?.DeepClone();
                    Remove(document, op["from"]!.GetValue<string>());
                    document = Add(document, path, moved);
                    break;
                case "copy":
                    document = Add(document, path, Get(document, op["from"]!.GetValue<string>())?.DeepClone());
                    break;
                case "test":
                    var actual = Get(document, path);
                    if (!JsonNode.DeepEquals(actual, op["value"]))
                    {
                        throw Unprocessable($"testing value {path} failed: test failed");
                    }

                    break;
                default:
                    throw ApiStatus.BadRequest($"Unexpected kind: {name}");
            }
        }

        return document;
    }

    private static ApiStatusException Unprocessable(string message) =>
        new((HttpStatusCode)422, "Invalid", $"the server rejected our request due to an error in our request: {message}");

    private static string[] Tokens(string pointer)
    {
        if (pointer.Length == 0)
        {
            return [];
        }

        if (!pointer.StartsWith('/'))
        {
            throw Unprocessable($"invalid JSON pointer \"{pointer}\"");
        }

        return pointer[1..].Split('/').Select(t => t.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToArray();
    }

    private static JsonNode? Get(JsonNode document, string pointer)
    {
        JsonNode? node = document;
        foreach (var token in Tokens(pointer))
        {
            node = node switch
            {
                JsonObject o when o.ContainsKey(token) => o[token],
                JsonArray a when int.TryParse(token, out var i) && i >= 0 && i < a.Count => a[i],
                _ => throw Unprocessable($"doc is missing path: \"{pointer}\""),
            };
        }

        return node;
    }

    private static (JsonNode Parent, string Last) Parent(JsonNode document, string pointer)
    {
        var tokens = Tokens(pointer);
        if (tokens.Length == 0)
        {
            throw Unprocessable("cannot address the whole document here");
        }

        var parent = tokens.Length == 1
            ? document
            : Get(document, "/" + string.Join('/', tokens[..^1].Select(t => t.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal))));

        return (parent ?? throw Unprocessable($"doc is missing path: \"{pointer}\""), tokens[^1]);
    }

    private static JsonNode Add(JsonNode document, string pointer, JsonNode? value)
    {
        if (pointer.Length == 0)
        {
            return value ?? throw Unprocessable("cannot replace the document with null");
        }

        var (parent, last) = Parent(document, pointer);
        switch (parent)
        {
            case JsonObject o:
                o[last] = value;
                break;
            case JsonArray a when last == "-":
                a.Add(value);
                break;
            case JsonArray a when int.TryParse(last, out var i) && i >= 0 && i <= a.Count:
                a.Insert(i, value);
                break;
            default:
                throw Unprocessable($"add operation does not apply: doc is missing path: \"{pointer}\"");
        }

        return document;
    }

    private static void Remove(JsonNode document, string pointer)
    {
        var (parent, last) = Parent(document, pointer);
        switch (parent)
        {
            case JsonObject o when o.ContainsKey(last):
                o.Remove(last);
                break;
            case JsonArray a when int.TryParse(last, out var i) && i >= 0 && i < a.Count:
                a.RemoveAt(i);
                break;
            default:
                throw Unprocessable($"remove operation does not apply: doc is missing path: \"{pointer}\"");
        }
    }
}
