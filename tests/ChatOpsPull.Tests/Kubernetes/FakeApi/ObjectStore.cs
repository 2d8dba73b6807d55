using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Threading.Channels;

namespace ChatOpsPull.Tests.Kubernetes.FakeApi;

/// <summary>One change, as etcd's watch would deliver it.</summary>
public sealed record WatchRecord(long ResourceVersion, string Type, ResourceType Resource, JsonObject Current, JsonObject? Old)
{
    private string? _json;

    public string ObjectJson => _json ??= Current.ToJsonString(ObjectStore.Wire);
}

/// <summary>An open watch: the lines still to write, and how to end it.</summary>
public sealed class WatchSubscription
{
    internal WatchSubscription(ResourceType type, string? ns, LabelSelector labels, FieldSelector fields, bool bookmarks)
    {
        Type = type;
        Namespace = ns;
        Labels = labels;
        Fields = fields;
        Bookmarks = bookmarks;
    }

    public ResourceType Type { get; }

    public string? Namespace { get; }

    public LabelSelector Labels { get; }

    public FieldSelector Fields { get; }

    public bool Bookmarks { get; }

    public Channel<string> Lines { get; } = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Cancelled when a test drops every open watch.</summary>
    public CancellationTokenSource Dropped { get; } = new();

    internal bool Matches(JsonObject obj) =>
        (Namespace is null || obj["metadata"]?["namespace"]?.GetValue<string>() == Namespace) && Labels.Matches(obj) && Fields.Matches(obj);
}

/// <summary>
/// The fake's etcd: objects per resource in key order, one global resourceVersion counter, a bounded history of changes
/// for watches (older resourceVersions answer 410 Expired, as after compaction), consistent list snapshots for
/// limit/continue pagination, and optimistic concurrency on metadata.resourceVersion. One lock guards it all.
/// Stored objects are never mutated; every write stores a new object.
/// </summary>
public sealed partial class ObjectStore
{
    private const int SnapshotLimit = 16;
    private readonly Lock _gate = new();
    private readonly Dictionary<ResourceType, SortedDictionary<string, JsonObject>> _objects = [];
    private readonly LinkedList<WatchRecord> _history = new();
    private readonly List<WatchSubscription> _watchers = [];
    private readonly Dictionary<(ResourceType, long), JsonObject[]> _snapshots = [];
    private readonly Queue<(ResourceType, long)> _snapshotOrder = new();
    private readonly TimeProvider _time;
    private long _resourceVersion = 1000;
    private long _compactedVersion = 1000;

    public ObjectStore(TimeProvider time)
    {
        _time = time;
        foreach (var type in ResourceType.All)
        {
            _objects[type] = new SortedDictionary<string, JsonObject>(StringComparer.Ordinal);
        }
    }

    /// <summary>How many changes the watch history keeps; a watch from before them gets 410 Expired.</summary>
    public int HistoryLimit { get; set; } = 100_000;

    /// <summary>Raised after a write is stored (inside the lock): the deployment controller reacts to it.</summary>
    public event Action<WatchRecord>? Written;

    public long ResourceVersion
    {
        get
        {
            lock (_gate)
            {
                return _resourceVersion;
            }
        }
    }

    public int OpenWatches
    {
        get
        {
            lock (_gate)
            {
                return _watchers.Count;
            }
        }
    }

    public static string Key(ResourceType type, string? ns, string name) => type.Namespaced ? $"{ns}/{name}" : name;

    public JsonObject? Get(ResourceType type, string? ns, string name)
    {
        lock (_gate)
        {
            return _objects[type].TryGetValue(Key(type, ns, name), out var obj) ? obj : null;
        }
    }

    public bool NamespaceExists(string ns) => Get(ResourceType.Of("namespaces"), null, ns) is not null;

    /// <summary>Objects of a type (optionally in a namespace), current state.</summary>
    public IReadOnlyList<JsonObject> List(ResourceType type, string? ns = null)
    {
        lock (_gate)
        {
            return _objects[type].Values.Where(o => ns is null || Namespace(o) == ns).ToArray();
        }
    }

    /// <summary>A page of a consistent list; <paramref name="continueToken"/> names the snapshot and where to go on.</summary>
    public (IReadOnlyList<JsonObject> Items, long ResourceVersion, string? Continue, long? Remaining) ListPage(
        ResourceType type, string? ns, LabelSelector labels, FieldSelector fields, int? limit, string? continueToken, bool selectorsGiven)
    {
        lock (_gate)
        {
            JsonObject[] snapshot;
            long version;
            string? start = null;
            if (!string.IsNullOrEmpty(continueToken))
            {
                (version, start) = DecodeContinue(continueToken);
                if (!_snapshots.TryGetValue((type, version), out snapshot!) || version < _compactedVersion)
                {
                    throw ApiStatus.Expired("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue value from the response to get a new inconsistent list.");
                }
            }
            else
            {
                version = _resourceVersion;
                snapshot = [.. _objects[type].Values];
            }

            var matching = snapshot
                .Where(o => (ns is null || Namespace(o) == ns) && labels.Matches(o) && fields.Matches(o))
                .Where(o => start is null || string.CompareOrdinal(Key(type, Namespace(o), Name(o)), start) > 0);
            if (limit is not > 0)
            {
                return (matching.ToArray(), version, null, null);
            }

            var page = matching.Take(limit.Value + 1).ToArray();
            if (page.Length <= limit.Value)
            {
                return (page, version, null, null);
            }

            page = page[..limit.Value];
            if (!_snapshots.ContainsKey((type, version)))
            {
                _snapshots[(type, version)] = snapshot;
                _snapshotOrder.Enqueue((type, version));
                while (_snapshotOrder.Count > SnapshotLimit)
                {
                    _snapshots.Remove(_snapshotOrder.Dequeue());
                }
            }

            var last = page[^1];
            long? remaining = selectorsGiven ? null : matching.Count() - limit.Value;
            return (page, version, EncodeContinue(version, Key(type, Namespace(last), Name(last))), remaining);
        }
    }

    /// <summary>Creates; fills uid, creationTimestamp, resourceVersion, generation. Dry run stores nothing.</summary>
    public JsonObject Create(ResourceType type, string? ns, JsonObject body, bool dryRun = false, bool keepIdentity = false)
    {
        var obj = (JsonObject)body.DeepClone();
        var metadata = obj["metadata"] as JsonObject ?? new JsonObject();
        obj["metadata"] = metadata;
        obj["kind"] = type.Kind;
        obj["apiVersion"] = type.ApiVersion;
        if (type.Namespaced)
        {
            var bodyNamespace = metadata["namespace"]?.GetValue<string>();
            if (bodyNamespace is not null && bodyNamespace != ns)
            {
                throw ApiStatus.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
            }

            metadata["namespace"] = ns;
        }

        var name = metadata["name"]?.GetValue<string>();
        if (string.IsNullOrEmpty(name) && metadata["generateName"]?.GetValue<string>() is { Length: > 0 } prefix)
        {
            name = prefix + RandomSuffix(5);
            metadata["name"] = name;
        }

        if (string.IsNullOrEmpty(name))
        {
            throw ApiStatus.Invalid(type, string.Empty, [("metadata.name", "FieldValueRequired", "Required value: name or generateName is required")]);
        }

        Validate(type, name, obj);
        lock (_gate)
        {
            if (type.Namespaced && !NamespaceExistsLocked(ns!))
            {
                throw ApiStatus.NamespaceNotFound(ns!);
            }

            if (_objects[type].ContainsKey(Key(type, ns, name)))
            {
                throw ApiStatus.AlreadyExists(type, name);
            }

            if (!keepIdentity || metadata["uid"] is null)
            {
                metadata["uid"] = Guid.NewGuid().ToString();
            }

            if (!keepIdentity || metadata["creationTimestamp"] is null)
            {
                metadata["creationTimestamp"] = Timestamp(_time.GetUtcNow());
            }

            metadata.Remove("resourceVersion");
            metadata.Remove("deletionTimestamp");
            if (type.HasGeneration && (!keepIdentity || metadata["generation"] is null))
            {
                metadata["generation"] = 1;
            }

            if (dryRun)
            {
                return obj;
            }

            Store(type, "ADDED", obj, null);
            return obj;
        }
    }

    /// <summary>PUT: optimistic concurrency on metadata.resourceVersion; .status kept (main) or alone changed (/status).</summary>
    public JsonObject Replace(ResourceType type, string? ns, string name, JsonObject body, string? subresource = null, bool dryRun = false)
    {
        var bodyName = body["metadata"]?["name"]?.GetValue<string>();
        if (bodyName is not null && bodyName != name)
        {
            throw ApiStatus.BadRequest($"the name of the object ({bodyName}) does not match the name on the URL ({name})");
        }

        lock (_gate)
        {
            var existing = GetLocked(type, ns, name) ?? throw ApiStatus.NotFound(type, name);
            var expected = body["metadata"]?["resourceVersion"]?.GetValue<string>();
            if (!string.IsNullOrEmpty(expected) && expected != Version(existing))
            {
                throw ApiStatus.Conflict(type, name);
            }

            JsonObject updated;
            if (subresource == "status")
            {
                updated = (JsonObject)existing.DeepClone();
                updated["status"] = body["status"]?.DeepClone();
            }
            else
            {
                updated = (JsonObject)body.DeepClone();
                updated["kind"] = type.Kind;
                updated["apiVersion"] = type.ApiVersion;
                var metadata = updated["metadata"] as JsonObject ?? new JsonObject();
                updated["metadata"] = metadata;
                metadata["name"] = name;
                if (type.Namespaced)
                {
                    metadata["namespace"] = ns;
                }

                metadata["uid"] = existing["metadata"]!["uid"]!.DeepClone();
                metadata["creationTimestamp"] = existing["metadata"]!["creationTimestamp"]!.DeepClone();
                if (type.HasStatus)
                {
                    updated["status"] = existing["status"]?.DeepClone();
                    if (updated["status"] is null)
                    {
                        updated.Remove("status");
                    }
                }

                if (type.HasGeneration)
                {
                    var generation = ObjectStore.Number(existing["metadata"]?["generation"]) ?? 1;
                    metadata["generation"] = SpecChanged(existing, updated) ? generation + 1 : generation;
                }

                if (type.Kind == "Pod")
                {
                    ValidatePodUpdate(existing, updated, name);
                }

                Validate(type, name, updated);
            }

            if (dryRun)
            {
                return updated;
            }

            Store(type, "MODIFIED", updated, existing);
            return updated;
        }
    }

    /// <summary>Applies a patch to the current object, then stores it like an update.</summary>
    public JsonObject Patch(ResourceType type, string? ns, string name, Func<JsonObject, JsonObject> apply, string? subresource = null, bool dryRun = false)
    {
        lock (_gate)
        {
            var existing = GetLocked(type, ns, name) ?? throw ApiStatus.NotFound(type, name);
            var patched = apply((JsonObject)existing.DeepClone());
            var version = patched["metadata"]?["resourceVersion"]?.GetValue<string>();
            if (!string.IsNullOrEmpty(version) && version != Version(existing))
            {
                throw ApiStatus.Conflict(type, name);
            }

            if (patched["metadata"] is JsonObject m)
            {
                m["resourceVersion"] = Version(existing);
            }

            if (subresource == "status")
            {
                var body = (JsonObject)existing.DeepClone();
                body["status"] = patched["status"]?.DeepClone();
                patched = body;
            }

            return Replace(type, ns, name, patched, subresource, dryRun);
        }
    }

    /// <summary>Deletes (immediately: there is no kubelet to finish a graceful deletion) and, unless orphaning, its dependents.</summary>
    public JsonObject Delete(ResourceType type, string? ns, string name, string? preconditionVersion = null, bool dryRun = false, bool orphan = false)
    {
        lock (_gate)
        {
            var existing = GetLocked(type, ns, name) ?? throw ApiStatus.NotFound(type, name);
            if (!string.IsNullOrEmpty(preconditionVersion) && preconditionVersion != Version(existing))
            {
                throw ApiStatus.Conflict(type, name);
            }

            if (dryRun)
            {
                return existing;
            }

            _objects[type].Remove(Key(type, ns, name));
            var deleted = (JsonObject)existing.DeepClone();
            deleted["metadata"]!["deletionTimestamp"] = Timestamp(_time.GetUtcNow());
            Record(type, "DELETED", deleted, existing);
            if (!orphan)
            {
                DeleteDependentsLocked(existing["metadata"]!["uid"]!.GetValue<string>());
            }

            if (type.Kind == "Namespace")
            {
                foreach (var t in ResourceType.All.Where(t => t.Namespaced))
                {
                    foreach (var obj in _objects[t].Values.Where(o => Namespace(o) == name).ToArray())
                    {
                        _objects[t].Remove(Key(t, name, Name(obj)));
                        Record(t, "DELETED", (JsonObject)obj.DeepClone(), obj);
                    }
                }
            }

            return deleted;
        }
    }

    /// <summary>Opens a watch: replays history after <paramref name="fromVersion"/> (or sends every current object as ADDED).</summary>
    public WatchSubscription Watch(ResourceType type, string? ns, LabelSelector labels, FieldSelector fields, string? fromVersion, bool bookmarks)
    {
        var subscription = new WatchSubscription(type, ns, labels, fields, bookmarks);
        lock (_gate)
        {
            if (string.IsNullOrEmpty(fromVersion) || fromVersion == "0")
            {
                foreach (var obj in _objects[type].Values.Where(subscription.Matches))
                {
                    subscription.Lines.Writer.TryWrite(Line("ADDED", obj.ToJsonString(Wire)));
                }
            }
            else
            {
                if (!long.TryParse(fromVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var from))
                {
                    throw ApiStatus.BadRequest($"invalid resource version: {fromVersion}");
                }

                if (from < _compactedVersion)
                {
                    throw ApiStatus.Expired($"too old resource version: {from} ({_compactedVersion})");
                }

                foreach (var record in _history.Where(r => r.ResourceVersion > from && r.Resource == type))
                {
                    Deliver(subscription, record);
                }
            }

            _watchers.Add(subscription);
        }

        return subscription;
    }

    public void Unwatch(WatchSubscription subscription)
    {
        lock (_gate)
        {
            _watchers.Remove(subscription);
        }

        subscription.Lines.Writer.TryComplete();
    }

    /// <summary>Sends a BOOKMARK with the current resourceVersion to every watch that asked for them.</summary>
    public void SendBookmarks()
    {
        lock (_gate)
        {
            foreach (var watcher in _watchers.Where(w => w.Bookmarks))
            {
                var bookmark = new JsonObject
                {
                    ["kind"] = watcher.Type.Kind,
                    ["apiVersion"] = watcher.Type.ApiVersion,
                    ["metadata"] = new JsonObject { ["resourceVersion"] = _resourceVersion.ToString(CultureInfo.InvariantCulture), ["creationTimestamp"] = null },
                };
                watcher.Lines.Writer.TryWrite(Line("BOOKMARK", bookmark.ToJsonString(Wire)));
            }
        }
    }

    /// <summary>Ends every open watch stream abruptly (the connection is aborted mid-stream).</summary>
    public int DropWatches()
    {
        WatchSubscription[] open;
        lock (_gate)
        {
            open = [.. _watchers];
            _watchers.Clear();
        }

        foreach (var watcher in open)
        {
            watcher.Dropped.Cancel();
        }

        return open.Length;
    }

    /// <summary>Forgets all history, as an etcd compaction does: any watch from an older resourceVersion gets 410.</summary>
    public void Compact()
    {
        lock (_gate)
        {
            _history.Clear();
            _compactedVersion = _resourceVersion;
            _snapshots.Clear();
            _snapshotOrder.Clear();
        }
    }

    /// <summary>Writes with the lock already held, for the controller reacting to <see cref="Written"/>.</summary>
    internal void WithLock(Action action)
    {
        lock (_gate)
        {
            action();
        }
    }

    /// <summary>A number however it was stored (parsed JSON, int or long).</summary>
    public static long? Number(JsonNode? node) => node is JsonValue value
        ? value.TryGetValue<long>(out var l) ? l
        : value.TryGetValue<int>(out var i) ? i
        : value.TryGetValue<double>(out var d) ? (long)d
        : null
        : null;

    /// <summary>Serializes the way the real server does (no \u0022 escapes).</summary>
    public static readonly JsonSerializerOptions Wire = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Namespace(JsonObject obj) => obj["metadata"]?["namespace"]?.GetValue<string>() ?? string.Empty;

    public static string Name(JsonObject obj) => obj["metadata"]?["name"]?.GetValue<string>() ?? string.Empty;

    public static string Version(JsonObject obj) => obj["metadata"]?["resourceVersion"]?.GetValue<string>() ?? string.Empty;

    public static string Timestamp(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static string Line(string type, string objectJson) => $"{{\"type\":\"{type}\",\"object\":{objectJson}}}";

    public static string RandomSuffix(int length)
    {
        const string alphabet = "bcdfghjklmnpqrstvwxz2456789";
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = alphabet[Random.Shared.Next(alphabet.Length)];
        }

        return new string(chars);
    }

    private JsonObject? GetLocked(ResourceType type, string? ns, string name) =>
        _objects[type].TryGetValue(Key(type, ns, name), out var obj) ? obj : null;

    private bool NamespaceExistsLocked(string ns) => _objects[ResourceType.Of("namespaces")].ContainsKey(ns);

    private void Store(ResourceType type, string eventType, JsonObject obj, JsonObject? old)
    {
        _objects[type][Key(type, Namespace(obj), Name(obj))] = obj;
        Record(type, eventType, obj, old);
    }

    private void Record(ResourceType type, string eventType, JsonObject obj, JsonObject? old)
    {
        _resourceVersion++;
        obj["metadata"]!["resourceVersion"] = _resourceVersion.ToString(CultureInfo.InvariantCulture);
        var record = new WatchRecord(_resourceVersion, eventType, type, obj, old);
        _history.AddLast(record);
        while (_history.Count > HistoryLimit)
        {
            _compactedVersion = _history.First!.Value.ResourceVersion;
            _history.RemoveFirst();
        }

        foreach (var watcher in _watchers)
        {
            if (watcher.Type == type)
            {
                Deliver(watcher, record);
            }
        }

        Written?.Invoke(record);
    }

    private static void Deliver(WatchSubscription watcher, WatchRecord record)
    {
        var now = watcher.Matches(record.Current);
        var before = record.Old is not null && record.Type == "MODIFIED" && watcher.Matches(record.Old);
        var type = record.Type switch
        {
            "ADDED" => now ? "ADDED" : null,
            "DELETED" => now ? "DELETED" : null,
            _ => (before, now) switch
            {
                (true, true) => "MODIFIED",
                (false, true) => "ADDED",
                (true, false) => "DELETED",
                _ => null,
            },
        };
        if (type is not null)
        {
            watcher.Lines.Writer.TryWrite(Line(type, record.ObjectJson));
        }
    }

    private void DeleteDependentsLocked(string uid)
    {
        foreach (var type in ResourceType.All)
        {
            var dependents = _objects[type].Values
                .Where(o => o["metadata"]?["ownerReferences"] is JsonArray refs && refs.Any(r => r?["uid"]?.GetValue<string>() == uid))
                .ToArray();
            foreach (var dependent in dependents)
            {
                _objects[type].Remove(Key(type, Namespace(dependent), Name(dependent)));
                var deleted = (JsonObject)dependent.DeepClone();
                Record(type, "DELETED", deleted, dependent);
                DeleteDependentsLocked(dependent["metadata"]!["uid"]!.GetValue<string>());
            }
        }
    }

    private static bool SpecChanged(JsonObject before, JsonObject after)
    {
        static JsonObject Strip(JsonObject o)
        {
            var copy = (JsonObject)o.DeepClone();
            copy.Remove("metadata");
            copy.Remove("status");
            return copy;
        }

        return !JsonNode.DeepEquals(Strip(before), Strip(after));
    }

    private static void ValidatePodUpdate(JsonObject existing, JsonObject updated, string name)
    {
        static JsonNode? WithoutImages(JsonNode? spec)
        {
            var copy = spec?.DeepClone();
            foreach (var list in new[] { "containers", "initContainers" })
            {
                if (copy?[list] is JsonArray containers)
                {
                    foreach (var c in containers.OfType<JsonObject>())
                    {
                        c.Remove("image");
                    }
                }
            }

            if (copy is JsonObject o)
            {
                o.Remove("activeDeadlineSeconds");
                o.Remove("tolerations");
                o.Remove("ephemeralContainers");
            }

            return copy;
        }

        if (!JsonNode.DeepEquals(WithoutImages(existing["spec"]), WithoutImages(updated["spec"])))
        {
            throw ApiStatus.Invalid(ResourceType.Of("pods"), name,
            [
                ("spec", "FieldValueForbidden",
                    "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"),
            ]);
        }
    }

    private static void Validate(ResourceType type, string name, JsonObject obj)
    {
        var causes = new List<(string, string, string)>();
        if (!Rfc1123Subdomain().IsMatch(name) || name.Length > 253)
        {
            causes.Add(("metadata.name", "FieldValueInvalid",
                $"Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"));
        }

        var podSpec = type.Kind switch
        {
            "Pod" => obj["spec"],
            "Deployment" or "ReplicaSet" or "StatefulSet" or "DaemonSet" or "Job" => obj["spec"]?["template"]?["spec"],
            "CronJob" => obj["spec"]?["jobTemplate"]?["spec"]?["template"]?["spec"],
            _ => null,
        };
        var prefix = type.Kind switch
        {
            "Pod" => "spec",
            "CronJob" => "spec.jobTemplate.spec.template.spec",
            _ => "spec.template.spec",
        };
        if (podSpec is not null || type.Kind == "Pod")
        {
            if (podSpec?["containers"] is not JsonArray { Count: > 0 } containers)
            {
                causes.Add(($"{prefix}.containers", "FieldValueRequired", "Required value"));
            }
            else
            {
                for (var i = 0; i < containers.Count; i++)
                {
                    if (string.IsNullOrEmpty(containers[i]?["name"]?.GetValue<string>()))
                    {
                        causes.Add(($"{prefix}.containers[{i}].name", "FieldValueRequired", "Required value"));
                    }

                    if (type.Kind != "Pod" && string.IsNullOrEmpty(containers[i]?["image"]?.GetValue<string>()))
                    {
                        causes.Add(($"{prefix}.containers[{i}].image", "FieldValueRequired", "Required value"));
                    }
                }
            }
        }

        if (type.Kind == "Lease" && obj["spec"]?["leaseDurationSeconds"] is JsonValue duration && ObjectStore.Number(duration) <= 0)
        {
            causes.Add(("spec.leaseDurationSeconds", "FieldValueInvalid", $"Invalid value: {ObjectStore.Number(duration)}: must be greater than 0"));
        }

        if (causes.Count > 0)
        {
            throw ApiStatus.Invalid(type, name, causes);
        }
    }

    private static string EncodeContinue(long version, string start) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { v = "meta.k8s.io/v1", rv = version, start = start + "\u0000" })))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static (long Version, string Start) DecodeContinue(string token)
    {
        try
        {
            var base64 = token.Replace('-', '+').Replace('_', '/');
            base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
            using var document = JsonDocument.Parse(Convert.FromBase64String(base64));
            var root = document.RootElement;
            return (root.GetProperty("rv").GetInt64(), root.GetProperty("start").GetString()!.TrimEnd('\u0000'));
        }
        catch (Exception e) when (e is FormatException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw ApiStatus.BadRequest($"continue key is not valid: {e.Message}");
        }
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex Rfc1123Subdomain();
}
