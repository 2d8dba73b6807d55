using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace ChatOpsPull.Simulation.KubernetesApi;

/// <summary>One change, as etcd's watch would deliver it.</summary>
public sealed record WatchRecord(long ResourceVersion, string Type, ResourceType Resource, JsonObject Current, JsonObject? Old)
{
    /// <summary>The stored object's serialized form, shared with GETs of the same resourceVersion (or its own).</summary>
    internal SerializedObject Serialized { get; init; } = new(Current);

    /// <summary>The object as the server writes it, in UTF-8: serialized once, shared by every watch that sends it.</summary>
    public byte[] ObjectUtf8 => Serialized.Utf8;
}

/// <summary>
/// A stored object (never mutated once stored) and its wire form, serialized on first use — by the first watch that
/// writes it or the first GET that reads it, outside the store's lock — and then shared by every other watch and GET of
/// that resourceVersion. Two threads that race to serialize it compute the same bytes; either array is kept.
/// </summary>
internal sealed class SerializedObject(JsonObject stored)
{
    private byte[]? _utf8;

    public JsonObject Object => stored;

    public byte[] Utf8 => Volatile.Read(ref _utf8) ?? (_utf8 = ObjectStore.WireUtf8(stored));
}

/// <summary>An open watch: the events still to write, and how to end it.</summary>
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

    /// <summary>
    /// Events to send, in resourceVersion order. Unbounded, like the real server's per-watcher buffer as seen by a
    /// client: a slow reader holds the stream back (TCP backpressure) but never loses an event.
    /// </summary>
    public Channel<WatchEvent> Events { get; } = Channel.CreateUnbounded<WatchEvent>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Cancelled when a test drops every open watch (the connection is aborted, as when a server dies).</summary>
    public CancellationTokenSource Dropped { get; } = new();

    internal bool Matches(JsonObject obj) =>
        (Namespace is null || obj["metadata"]?["namespace"]?.GetValue<string>() == Namespace) && Labels.Matches(obj) && Fields.Matches(obj);
}

/// <summary>One watch event: its type and the object (serialized once, in UTF-8, shared by every watch that sends it).</summary>
public sealed class WatchEvent
{
    private static readonly byte[] TypeOpening = "{\"type\":\""u8.ToArray();
    private static readonly byte[] ObjectOpening = "\",\"object\":"u8.ToArray();
    private readonly SerializedObject _serialized;

    internal WatchEvent(string type, SerializedObject serialized)
    {
        Type = type;
        _serialized = serialized;
    }

    public string Type { get; }

    public JsonObject Item => _serialized.Object;

    /// <summary>The object as the server writes it: serialized by the first watch that writes it, outside the store's lock.</summary>
    public byte[] ObjectUtf8 => _serialized.Utf8;

    /// <summary>
    /// Writes the event's line (<see cref="ObjectStore.Line"/> of the type and the object) and a newline, in UTF-8,
    /// copying the shared serialized object: each watch costs a copy, not a string of the whole line and its encoding.
    /// </summary>
    public void WriteLine(IBufferWriter<byte> output)
    {
        var objectUtf8 = ObjectUtf8;
        var length = TypeOpening.Length + Encoding.UTF8.GetByteCount(Type) + ObjectOpening.Length + objectUtf8.Length + 2;
        var span = output.GetSpan(length);
        TypeOpening.CopyTo(span);
        var at = TypeOpening.Length;
        at += Encoding.UTF8.GetBytes(Type, span[at..]);
        ObjectOpening.CopyTo(span[at..]);
        at += ObjectOpening.Length;
        objectUtf8.CopyTo(span[at..]);
        at += objectUtf8.Length;
        span[at++] = (byte)'}';
        span[at++] = (byte)'\n';
        output.Advance(at);
    }
}

/// <summary>
/// The fake's etcd: objects per resource in key order, one global resourceVersion counter, a bounded history of changes
/// for watches (older resourceVersions answer 410 Expired, as after compaction), consistent list snapshots for
/// limit/continue pagination, and optimistic concurrency on metadata.resourceVersion. One lock guards it all.
/// Stored objects are never mutated (every write stores a new, fully materialized object, so readers on other threads
/// may serialize them without the lock). Writes that change nothing are no-ops, as on the real server: no new
/// resourceVersion, no watch event. Writes through the API (a field manager is named) are defaulted and tracked in
/// metadata.managedFields; writes without one (seeding, tests) store what they are given.
/// Custom resources are served for every CustomResourceDefinition in the store.
/// </summary>
public sealed partial class ObjectStore
{
    private const int SnapshotLimit = 16;
    private static readonly ResourceType Namespaces = ResourceType.Of("namespaces");
    private static readonly ResourceType Crds = ResourceType.Of("customresourcedefinitions");
    private readonly Lock _gate = new();
    private readonly Dictionary<ResourceType, SortedDictionary<string, JsonObject>> _objects = [];

    /// <summary>
    /// The same objects by key, for reads without the lock (GETs, and the type table's lookups, no longer queue behind a
    /// writer holding it): written under the lock, only ever with objects already stamped and materialized.
    /// </summary>
    private readonly ConcurrentDictionary<(ResourceType Type, string Key), SerializedObject> _current = new();
    private readonly LinkedList<WatchRecord> _history = new();
    private readonly List<WatchSubscription> _watchers = [];
    private readonly Dictionary<(ResourceType, long), KeyValuePair<string, JsonObject>[]> _snapshots = [];
    private readonly Queue<(ResourceType, long)> _snapshotOrder = new();
    private readonly TimeProvider _time;
    private volatile IReadOnlyList<ResourceType> _types = ResourceType.All;
    private long _resourceVersion = 1000;
    private long _compactedVersion = 1000;

    public ObjectStore(TimeProvider time)
    {
        _time = time;
    }

    /// <summary>How many changes the watch history keeps; a watch from before them gets 410 Expired.</summary>
    public int HistoryLimit { get; set; } = 100_000;

    /// <summary>Raised after a write is stored (inside the lock): the controllers react to it.</summary>
    public event Action<WatchRecord>? Written;

    public TimeProvider Time => _time;

    /// <summary>Every resource served now: the built-in ones and those of the stored CustomResourceDefinitions.</summary>
    public IReadOnlyList<ResourceType> Types => _types;

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

    /// <summary>The resource at group/version/plural, built in or defined by a stored CustomResourceDefinition.</summary>
    public ResourceType? FindType(string group, string version, string plural) =>
        Types.FirstOrDefault(t => t.Group == group && t.Version == version && t.Plural == plural);

    /// <summary>The resource of an object's apiVersion and kind.</summary>
    public ResourceType? FindKind(string apiVersion, string kind) =>
        Types.FirstOrDefault(t => t.ApiVersion == apiVersion && t.Kind == kind);

    /// <summary>The current object, read without the lock (stored objects are never mutated).</summary>
    public JsonObject? Get(ResourceType type, string? ns, string name) => GetSerialized(type, ns, name)?.Object;

    /// <summary>The current object with its wire form, serialized once per resourceVersion and shared with its watch event.</summary>
    internal SerializedObject? GetSerialized(ResourceType type, string? ns, string name) =>
        _current.TryGetValue((type, Key(type, ns, name)), out var stored) ? stored : null;

    public bool NamespaceExists(string ns) => Get(Namespaces, null, ns) is not null;

    /// <summary>
    /// Objects of a type (optionally in a namespace), current state. A namespace's objects are told by their key
    /// ("namespace/name", <see cref="Key"/>), not by reading each object's metadata: the workload controllers list a
    /// namespace's pods on every pod status change, and reading the namespace out of every pod's JSON under the store's
    /// lock made each change cost the whole store (5,000 pods: most of the stand-in's CPU in a 1,000/s status storm).
    /// </summary>
    public IReadOnlyList<JsonObject> List(ResourceType type, string? ns = null)
    {
        lock (_gate)
        {
            if (ns is null)
            {
                return [.. Objects(type).Values];
            }

            if (!type.Namespaced)
            {
                return [];
            }

            var prefix = ns + "/";
            return Objects(type).Where(o => o.Key.StartsWith(prefix, StringComparison.Ordinal)).Select(o => o.Value).ToArray();
        }
    }

    /// <summary>
    /// A page of a consistent list; <paramref name="continueToken"/> names the snapshot and the last key served, and the
    /// page goes on after that key, as etcd's range read does: the snapshot is in key order, so the place to go on is a
    /// binary search and a page costs its own items, not the whole list (a 100,000-pod list in pages of 500 used to
    /// scan the snapshot twice per page). remainingItemCount, as the real server, only without selectors.
    /// </summary>
    public (IReadOnlyList<JsonObject> Items, long ResourceVersion, string? Continue, long? Remaining) ListPage(
        ResourceType type, string? ns, LabelSelector labels, FieldSelector fields, int? limit, string? continueToken, bool selectorsGiven,
        string? resourceVersion = null)
    {
        lock (_gate)
        {
            KeyValuePair<string, JsonObject>[] snapshot;
            long version;
            string? start = null;
            if (!string.IsNullOrEmpty(continueToken))
            {
                (version, start) = DecodeContinue(continueToken);
                if (resourceVersion is { Length: > 0 } and not "0")
                {
                    throw ApiStatus.BadRequest("specifying resource version is not allowed when using continue");
                }

                if (version < 0)
                {
                    // The token an expired page offered (resourceVersion -1): the rest of the list as it is now.
                    version = _resourceVersion;
                    snapshot = [.. Objects(type)];
                }
                else if (!_snapshots.TryGetValue((type, version), out snapshot!) || version < _compactedVersion)
                {
                    throw ApiStatus.ContinueExpired(EncodeContinue(-1, start));
                }
            }
            else
            {
                version = _resourceVersion;
                snapshot = [.. Objects(type)];
            }

            bool Selected(JsonObject o) => (ns is null || Namespace(o) == ns) && labels.Matches(o) && fields.Matches(o);

            // Keys are "namespace/name" (or "name") in ordinal order: one namespace is one contiguous range.
            var prefix = ns is not null && type.Namespaced ? ns + "/" : null;
            var from = start is null ? FirstAtOrAfter(snapshot, prefix ?? string.Empty) : FirstAfter(snapshot, start);
            var end = prefix is null ? snapshot.Length : FirstAtOrAfter(snapshot, ns + "0"); // '0' sorts right after '/'
            var page = new List<JsonObject>(limit is > 0 ? Math.Min(limit.Value, Math.Max(0, end - from)) : Math.Max(0, end - from));
            var index = from;
            for (; index < end && (limit is not > 0 || page.Count < limit.Value); index++)
            {
                if (Selected(snapshot[index].Value))
                {
                    page.Add(snapshot[index].Value);
                }
            }

            // More to come only if a later object matches (the real server looks one further, too).
            var more = false;
            for (var next = index; limit is > 0 && next < end; next++)
            {
                if (Selected(snapshot[next].Value))
                {
                    more = true;
                    break;
                }
            }

            if (!more)
            {
                return (page, version, null, null);
            }

            if (!_snapshots.ContainsKey((type, version)))
            {
                _snapshots[(type, version)] = snapshot;
                _snapshotOrder.Enqueue((type, version));
                while (_snapshotOrder.Count > SnapshotLimit)
                {
                    _snapshots.Remove(_snapshotOrder.Dequeue());
                }
            }

            long? remaining = selectorsGiven ? null : end - index;
            return (page, version, EncodeContinue(version, snapshot[index - 1].Key), remaining);
        }
    }

    /// <summary>The index of the first key ordinally at or after <paramref name="key"/> (the length when none is).</summary>
    private static int FirstAtOrAfter(KeyValuePair<string, JsonObject>[] sorted, string key)
    {
        int low = 0, high = sorted.Length;
        while (low < high)
        {
            var middle = (low + high) >>> 1;
            if (string.CompareOrdinal(sorted[middle].Key, key) < 0)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }

    /// <summary>The index of the first key ordinally after <paramref name="key"/>.</summary>
    private static int FirstAfter(KeyValuePair<string, JsonObject>[] sorted, string key)
    {
        var at = FirstAtOrAfter(sorted, key);
        return at < sorted.Length && sorted[at].Key == key ? at + 1 : at;
    }

    /// <summary>
    /// Creates; fills uid, creationTimestamp, resourceVersion, generation. Dry run stores nothing. With a
    /// <paramref name="manager"/> (an API write) the object is defaulted and the manager recorded in managedFields.
    /// </summary>
    /// <summary>
    /// The ServiceAccount admission plugin (plugin/pkg/admission/serviceaccount): a pod created through the API that
    /// names no imagePullSecrets gets those of its ServiceAccount, so kubelet pulls with them.
    /// </summary>
    private void AdmitServiceAccountPullSecrets(string? ns, JsonObject pod)
    {
        if (ns is null || pod["spec"] is not JsonObject spec || spec["imagePullSecrets"] is JsonArray { Count: > 0 })
        {
            return;
        }

        var account = Get(ResourceType.Of("serviceaccounts"), ns, spec["serviceAccountName"]?.GetValue<string>() ?? "default");
        if (account?["imagePullSecrets"] is JsonArray { Count: > 0 } secrets)
        {
            spec["imagePullSecrets"] = new JsonArray([.. secrets.Select(s => (JsonNode)new JsonObject { ["name"] = s?["name"]?.DeepClone() })]);
        }
    }

    public JsonObject Create(ResourceType type, string? ns, JsonObject body, bool dryRun = false, bool keepIdentity = false, string? manager = null) =>
        Create(type, ns, body, dryRun, keepIdentity, manager, handOver: false);

    /// <summary>
    /// Creates from a body the caller built for this one write and hands over (a seed's defaulted copy): it becomes the
    /// stored object instead of being copied first.
    /// </summary>
    internal JsonObject CreateHandedOver(ResourceType type, string? ns, JsonObject body, bool keepIdentity) =>
        Create(type, ns, body, dryRun: false, keepIdentity, manager: null, handOver: true);

    private JsonObject Create(ResourceType type, string? ns, JsonObject body, bool dryRun, bool keepIdentity, string? manager, bool handOver)
    {
        if (!type.Persisted)
        {
            throw ApiStatus.MethodNotAllowed();
        }

        var obj = handOver ? body : (JsonObject)body.DeepClone();
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
        else
        {
            metadata.Remove("namespace");
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

        if (manager is not null)
        {
            if (type.HasStatus && type.Kind is not ("Pod" or "Namespace" or "Node"))
            {
                // The main endpoint of a resource with a status subresource ignores .status on create (pods, nodes
                // and namespaces keep what the creator sent, as their strategies do).
                obj.Remove("status");
            }

            ApiDefaults.Apply(type, obj);
            if (type.Kind == "Pod")
            {
                AdmitServiceAccountPullSecrets(ns, obj);
            }
        }

        ObjectValidation.Validate(type, name, obj);
        lock (_gate)
        {
            if (type.Namespaced && !NamespaceExistsLocked(ns!))
            {
                throw ApiStatus.NamespaceNotFound(ns!);
            }

            if (Objects(type).ContainsKey(Key(type, ns, name)))
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

            if (manager is not null)
            {
                switch (type.Kind)
                {
                    case "Job":
                        ApiDefaults.JobSelector(obj);
                        break;
                    case "Pod":
                        // podStrategy.PrepareForCreate: what the creator wrote in .status is dropped; the kubelet reports.
                        obj["status"] = new JsonObject { ["phase"] = "Pending", ["qosClass"] = PodQos(obj) };
                        break;
                }

                metadata.Remove("managedFields");
                ManagedFields.RecordUpdate(null, obj, manager, null, type.ApiVersion, _time.GetUtcNow());
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
    public JsonObject Replace(ResourceType type, string? ns, string name, JsonObject body, string? subresource = null, bool dryRun = false, string? manager = null) =>
        Update(type, ns, name, body, subresource, dryRun, manager, handOverStatus: false);

    /// <summary>
    /// PUT /status with a body the caller built for this one write (<see cref="StatusBody"/>) and hands over: its status
    /// is stored as it is instead of copied (the body loses it).
    /// </summary>
    internal JsonObject ReplaceStatus(ResourceType type, string? ns, string name, JsonObject body, string? manager = null) =>
        Update(type, ns, name, body, "status", dryRun: false, manager, handOverStatus: true);

    private JsonObject Update(ResourceType type, string? ns, string name, JsonObject body, string? subresource, bool dryRun, string? manager, bool handOverStatus)
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

            if (subresource == "status")
            {
                // The status subresource takes only .status from the body (and counts managedFields, which no comparison
                // sees): the write changes something exactly when the status does, found before anything is copied.
                return SameStatus(existing, body["status"])
                    ? existing
                    : StoreChange(type, existing, Merge(type, ns, name, existing, body, subresource, manager, handOverStatus), dryRun);
            }

            var updated = Merge(type, ns, name, existing, body, subresource, manager, handOverStatus);
            return StoreUpdate(type, existing, updated, dryRun);
        }
    }

    /// <summary>
    /// Whether the copy a status write makes (<see cref="CopyWithStatus"/>: every other member copied) would be
    /// <see cref="SameContent"/> with <paramref name="existing"/>: the status there in both or in neither, and equal.
    /// </summary>
    private static bool SameStatus(JsonObject existing, JsonNode? status) =>
        existing.TryGetPropertyValue("status", out var before) == (status is not null) && JsonNode.DeepEquals(before, status);

    /// <summary>
    /// The body of a PUT to /status that sets <paramref name="status"/> on <paramref name="current"/>: its name, the
    /// resourceVersion read (a write in between is a 409 Conflict) and the status. The status subresource takes nothing
    /// else from a body (<see cref="Merge"/> keeps the stored metadata, spec and managedFields), so the rest of the object
    /// need not be copied into it.
    /// </summary>
    public static JsonObject StatusBody(JsonObject current, JsonNode? status) => new()
    {
        ["metadata"] = new JsonObject { ["name"] = Name(current), ["resourceVersion"] = Version(current) },
        ["status"] = status,
    };

    /// <summary>Applies a patch to the current object, then stores it like an update.</summary>
    public JsonObject Patch(ResourceType type, string? ns, string name, Func<JsonObject, JsonObject> apply, string? subresource = null, bool dryRun = false, string? manager = null)
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
                patched = StatusBody(existing, patched["status"]?.DeepClone());
            }

            return Update(type, ns, name, patched, subresource, dryRun, manager, handOverStatus: subresource == "status");
        }
    }

    /// <summary>
    /// Server-side apply (PATCH application/apply-patch+yaml): creates the object when missing, otherwise merges the
    /// applied configuration, refuses with 409 when a field another manager owns would change (unless
    /// <paramref name="force"/>), and records exactly the applied fields as <paramref name="manager"/>'s.
    /// </summary>
    public JsonObject Apply(ResourceType type, string? ns, string name, JsonObject config, string manager, bool force, string? subresource = null, bool dryRun = false)
    {
        var configName = config["metadata"]?["name"]?.GetValue<string>();
        if (configName != name)
        {
            throw ApiStatus.BadRequest(configName is null
                ? "metadata.name is required in the applied configuration"
                : $"the name of the object ({configName}) does not match the name on the URL ({name})");
        }

        if (config["apiVersion"]?.GetValue<string>() != type.ApiVersion || config["kind"]?.GetValue<string>() != type.Kind)
        {
            throw ApiStatus.BadRequest($"the API version in the data ({config["apiVersion"]?.GetValue<string>()}) does not match the expected API version ({type.ApiVersion})");
        }

        lock (_gate)
        {
            var existing = GetLocked(type, ns, name);
            if (existing is null)
            {
                if (subresource is not null)
                {
                    throw ApiStatus.NotFound(type, name);
                }

                var created = (JsonObject)config.DeepClone();
                ((JsonObject)created["metadata"]!).Remove("managedFields");
                var stored = Create(type, ns, created, dryRun: true, manager: manager);
                ((JsonObject)stored["metadata"]!).Remove("managedFields");
                ManagedFields.RecordApply(stored, config, manager, subresource, type.ApiVersion, _time.GetUtcNow());
                if (!dryRun)
                {
                    Store(type, "ADDED", stored, null);
                }

                return stored;
            }

            var merged = ManagedFields.Apply(existing, config, manager, force, subresource, type.ApiVersion, _time.GetUtcNow());
            var updated = Merge(type, ns, name, existing, merged, subresource, manager: null);
            updated["metadata"]!["managedFields"] = merged["metadata"]?["managedFields"]?.DeepClone();
            ApiDefaults.Apply(type, updated);
            return StoreUpdate(type, existing, updated, dryRun);
        }
    }

    /// <summary>
    /// Deletes and, unless orphaning, its dependents (the garbage collector, at once: there is no kubelet to finish a
    /// graceful deletion). An object with finalizers only gets its deletionTimestamp; it goes when they are removed.
    /// </summary>
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

            if (existing["metadata"]?["finalizers"] is JsonArray { Count: > 0 })
            {
                if (existing["metadata"]?["deletionTimestamp"] is not null)
                {
                    return existing;
                }

                var terminating = (JsonObject)existing.DeepClone();
                terminating["metadata"]!["deletionTimestamp"] = Timestamp(_time.GetUtcNow());
                terminating["metadata"]!["deletionGracePeriodSeconds"] = 0;
                Store(type, "MODIFIED", terminating, existing);
                return terminating;
            }

            return RemoveLocked(type, existing, orphan);
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
                foreach (var (key, obj) in Objects(type))
                {
                    if (subscription.Matches(obj))
                    {
                        subscription.Events.Writer.TryWrite(new WatchEvent("ADDED", _current[(type, key)]));
                    }
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

        subscription.Events.Writer.TryComplete();
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
                AddZeroFields(watcher.Type, bookmark);
                watcher.Events.Writer.TryWrite(new WatchEvent("BOOKMARK", new SerializedObject(bookmark)));
            }
        }
    }

    /// <summary>
    /// The real server's bookmark is the type's zero object (Go's encoding/json of an empty struct) with a
    /// resourceVersion: the fields without <c>omitempty</c>, and struct fields, are there empty. For the types the bot
    /// watches: a Pod's <c>spec</c> (with <c>containers: null</c>) and <c>status</c>; an Event's <c>involvedObject</c>,
    /// <c>source</c>, null times and empty reporting fields.
    /// </summary>
    private static void AddZeroFields(ResourceType type, JsonObject bookmark)
    {
        switch ((type.Group, type.Kind))
        {
            case ("", "Pod"):
                bookmark["spec"] = new JsonObject { ["containers"] = null };
                bookmark["status"] = new JsonObject();
                break;
            case ("", "Event"):
                bookmark["involvedObject"] = new JsonObject();
                bookmark["source"] = new JsonObject();
                bookmark["firstTimestamp"] = null;
                bookmark["lastTimestamp"] = null;
                bookmark["eventTime"] = null;
                bookmark["reportingComponent"] = string.Empty;
                bookmark["reportingInstance"] = string.Empty;
                break;
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

    /// <summary>Ends every open watch stream cleanly after what it already has (as a server shutting down gracefully).</summary>
    public int CloseWatches()
    {
        WatchSubscription[] open;
        lock (_gate)
        {
            open = [.. _watchers];
            _watchers.Clear();
        }

        foreach (var watcher in open)
        {
            watcher.Events.Writer.TryComplete();
        }

        return open.Length;
    }

    /// <summary>
    /// Expires every list's continue token handed out so far, as etcd's compaction does to a list paged slower than it
    /// compacts (the real server: about every 5 minutes): the next page answers 410 Expired with an inconsistent continue
    /// token (<see cref="ApiStatus.ContinueExpired"/>). Watch history is kept (<see cref="Compact"/> forgets both).
    /// With <paramref name="type"/>, only that resource's lists (a test expiring one list without touching another).
    /// </summary>
    public void ExpireContinueTokens(ResourceType? type = null)
    {
        lock (_gate)
        {
            foreach (var snapshot in _snapshots.Keys.Where(k => type is null || k.Item1 == type).ToList())
            {
                _snapshots.Remove(snapshot);
            }

            var kept = _snapshotOrder.Where(_snapshots.ContainsKey).ToList();
            _snapshotOrder.Clear();
            foreach (var snapshot in kept)
            {
                _snapshotOrder.Enqueue(snapshot);
            }
        }
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

    /// <summary>Writes with the lock already held, for the controllers reacting to <see cref="Written"/>.</summary>
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

    /// <summary>The writer settings <see cref="JsonNode.ToJsonString"/> takes from <see cref="Wire"/> (its depth limit is the serializer's default, 64).</summary>
    private static readonly JsonWriterOptions WireWriter = new() { Encoder = Wire.Encoder, MaxDepth = 64, SkipValidation = true };

    [ThreadStatic]
    private static (ArrayBufferWriter<byte> Output, Utf8JsonWriter Writer)? _wireWriter;

    /// <summary>
    /// What <see cref="JsonNode.ToJsonString"/> with <see cref="Wire"/> gives, in UTF-8: no string on the way, one array
    /// of the exact size (the buffer and writer are kept per thread and reused).
    /// </summary>
    public static byte[] WireUtf8(JsonNode node)
    {
        _wireWriter ??= NewWireWriter();
        var (output, writer) = _wireWriter.Value;
        output.ResetWrittenCount();
        writer.Reset(output);
        node.WriteTo(writer, Wire);
        writer.Flush();
        var bytes = output.WrittenSpan.ToArray();
        if (output.Capacity > 1024 * 1024)
        {
            _wireWriter = null; // a rare huge object does not keep its buffer on the thread
        }

        return bytes;

        static (ArrayBufferWriter<byte>, Utf8JsonWriter) NewWireWriter()
        {
            var output = new ArrayBufferWriter<byte>(16 * 1024);
            return (output, new Utf8JsonWriter(output, WireWriter));
        }
    }

    public static string Namespace(JsonObject obj) => obj["metadata"]?["namespace"]?.GetValue<string>() ?? string.Empty;

    public static string Name(JsonObject obj) => obj["metadata"]?["name"]?.GetValue<string>() ?? string.Empty;

    public static string Version(JsonObject obj) => obj["metadata"]?["resourceVersion"]?.GetValue<string>() ?? string.Empty;

    public static string Uid(JsonObject obj) => obj["metadata"]?["uid"]?.GetValue<string>() ?? string.Empty;

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

    /// <summary>True when the object's ownerReferences name <paramref name="ownerUid"/>.</summary>
    public static bool IsOwnedBy(JsonObject obj, string ownerUid) =>
        obj["metadata"]?["ownerReferences"] is JsonArray refs && refs.Any(r => r?["uid"]?.GetValue<string>() == ownerUid);

    /// <summary>The pod's QoS class (k8s.io/kubernetes pkg/apis/core/helper/qos): BestEffort without requests or limits.</summary>
    public static string PodQos(JsonObject pod)
    {
        var containers = (pod["spec"]?["containers"] as JsonArray ?? []).Concat(pod["spec"]?["initContainers"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        var any = containers.Any(c => c["resources"]?["requests"] is JsonObject { Count: > 0 } || c["resources"]?["limits"] is JsonObject { Count: > 0 });
        if (!any)
        {
            return "BestEffort";
        }

        var guaranteed = containers.All(c =>
            c["resources"]?["limits"] is JsonObject limits && limits["cpu"] is not null && limits["memory"] is not null
            && (c["resources"]?["requests"] is not JsonObject requests || ((requests["cpu"] is null || JsonNode.DeepEquals(requests["cpu"], limits["cpu"])) && (requests["memory"] is null || JsonNode.DeepEquals(requests["memory"], limits["memory"])))));
        return guaranteed ? "Guaranteed" : "Burstable";
    }

    private SortedDictionary<string, JsonObject> Objects(ResourceType type)
    {
        if (!_objects.TryGetValue(type, out var objects))
        {
            objects = new SortedDictionary<string, JsonObject>(StringComparer.Ordinal);
            _objects[type] = objects;
        }

        return objects;
    }

    private JsonObject? GetLocked(ResourceType type, string? ns, string name) =>
        Objects(type).TryGetValue(Key(type, ns, name), out var obj) ? obj : null;

    private bool NamespaceExistsLocked(string ns) => Objects(Namespaces).ContainsKey(ns);

    /// <summary>The object a PUT (or a patch) asks for, with what the server keeps and counts itself.</summary>
    private JsonObject Merge(ResourceType type, string? ns, string name, JsonObject existing, JsonObject body, string? subresource, string? manager, bool handOverStatus = false)
    {
        JsonObject updated;
        if (subresource == "status")
        {
            var status = body["status"];
            if (handOverStatus)
            {
                body.Remove("status"); // detaches it, so the stored copy can take it
            }
            else
            {
                status = status?.DeepClone();
            }

            updated = CopyWithStatus(existing, status);
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
            if (existing["metadata"]?["deletionTimestamp"] is { } deleting)
            {
                metadata["deletionTimestamp"] = deleting.DeepClone();
                metadata["deletionGracePeriodSeconds"] = existing["metadata"]?["deletionGracePeriodSeconds"]?.DeepClone();
            }

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
                var generation = Number(existing["metadata"]?["generation"]) ?? 1;
                metadata["generation"] = SpecChanged(existing, updated) ? generation + 1 : generation;
            }

            if (manager is not null)
            {
                ApiDefaults.Apply(type, updated);
            }

            if (type.Kind == "Pod")
            {
                ObjectValidation.ValidatePodUpdate(existing, updated, name);
            }
            else if (type.Kind == "StatefulSet")
            {
                ObjectValidation.ValidateStatefulSetUpdate(existing, updated, name);
            }

            ObjectValidation.Validate(type, name, updated);
        }

        if (manager is not null)
        {
            // The server computes managedFields; a client sending them back unchanged (or omitting them) changes nothing.
            var sent = updated["metadata"]?["managedFields"];
            var keep = sent is JsonArray { Count: 0 } ? new JsonArray() : existing["metadata"]?["managedFields"]?.DeepClone();
            updated["metadata"]!["managedFields"] = keep;
            if (keep is null)
            {
                ((JsonObject)updated["metadata"]!).Remove("managedFields");
            }

            ManagedFields.RecordUpdate(existing, updated, manager, subresource, type.ApiVersion, _time.GetUtcNow());
        }

        return updated;
    }

    /// <summary>
    /// A copy of <paramref name="existing"/> with <paramref name="status"/> (already a copy) as its .status, or without
    /// one when it is null: members in the same order as copying the whole object and setting .status would give,
    /// without copying the old status only to drop it.
    /// </summary>
    private static JsonObject CopyWithStatus(JsonObject existing, JsonNode? status)
    {
        var copy = new JsonObject(existing.Options);
        var comparison = existing.Options is { PropertyNameCaseInsensitive: true } ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        var placed = false;
        foreach (var (key, value) in existing)
        {
            if (!string.Equals(key, "status", comparison))
            {
                copy.Add(key, value?.DeepClone());
            }
            else if (status is not null)
            {
                copy.Add(key, status);
                placed = true;
            }
        }

        if (!placed && status is not null)
        {
            copy.Add("status", status);
        }

        return copy;
    }

    /// <summary>Stores an update unless it changes nothing (then the stored object is the answer, as on the real server).</summary>
    private JsonObject StoreUpdate(ResourceType type, JsonObject existing, JsonObject updated, bool dryRun) =>
        SameContent(existing, updated) ? existing : StoreChange(type, existing, updated, dryRun);

    /// <summary>Stores an update known to change something.</summary>
    private JsonObject StoreChange(ResourceType type, JsonObject existing, JsonObject updated, bool dryRun)
    {
        if (dryRun)
        {
            return updated;
        }

        if (updated["metadata"]?["deletionTimestamp"] is not null && updated["metadata"]?["finalizers"] is not JsonArray { Count: > 0 })
        {
            // The last finalizer is gone from an object being deleted: it goes now.
            return RemoveLocked(type, updated, orphan: false);
        }

        Store(type, "MODIFIED", updated, existing);
        return updated;
    }

    private JsonObject RemoveLocked(ResourceType type, JsonObject existing, bool orphan)
    {
        var ns = type.Namespaced ? Namespace(existing) : null;
        var name = Name(existing);
        Drop(type, Key(type, ns, name));
        var deleted = (JsonObject)existing.DeepClone();
        deleted["metadata"]!["deletionTimestamp"] ??= Timestamp(_time.GetUtcNow());
        Record(type, "DELETED", deleted, existing);
        var uid = Uid(existing);
        if (orphan)
        {
            OrphanDependentsLocked(uid, ns);
        }
        else
        {
            DeleteDependentsLocked(uid, ns);
        }

        if (type.Kind == "Namespace")
        {
            foreach (var t in _types.Where(t => t.Namespaced))
            {
                foreach (var obj in Objects(t).Values.Where(o => Namespace(o) == name).ToArray())
                {
                    Drop(t, Key(t, name, Name(obj)));
                    Record(t, "DELETED", (JsonObject)obj.DeepClone(), obj);
                }
            }
        }

        if (type == Crds)
        {
            RefreshCustomTypesLocked();
        }

        return deleted;
    }

    /// <summary>
    /// Stores <paramref name="obj"/> as the current object of its key: stamped with the next resourceVersion and
    /// materialized before any reader without the lock can see it, then recorded for watches.
    /// </summary>
    private void Store(ResourceType type, string eventType, JsonObject obj, JsonObject? old)
    {
        Stamp(obj);
        var key = Key(type, type.Namespaced ? Namespace(obj) : null, Name(obj));
        var stored = new SerializedObject(obj);
        Objects(type)[key] = obj;
        _current[(type, key)] = stored;
        Publish(new WatchRecord(_resourceVersion, eventType, type, obj, old) { Serialized = stored });
        if (type == Crds)
        {
            RefreshCustomTypesLocked();
        }
    }

    /// <summary>Forgets the current object of a key (it is deleted).</summary>
    private void Drop(ResourceType type, string key)
    {
        Objects(type).Remove(key);
        _current.TryRemove((type, key), out _);
    }

    /// <summary>Records a change of an object that is not (or no longer) stored: a deletion.</summary>
    private void Record(ResourceType type, string eventType, JsonObject obj, JsonObject? old)
    {
        Stamp(obj);
        Publish(new WatchRecord(_resourceVersion, eventType, type, obj, old));
    }

    /// <summary>Gives the object the next resourceVersion and builds all its lazily parsed nodes (readers only ever read).</summary>
    private void Stamp(JsonObject obj)
    {
        _resourceVersion++;
        obj["metadata"]!["resourceVersion"] = _resourceVersion.ToString(CultureInfo.InvariantCulture);
        Materialize(obj);
    }

    /// <summary>Keeps the change in the watch history, sends it to every open watch of its type, and tells the controllers.</summary>
    private void Publish(WatchRecord record)
    {
        var type = record.Resource;
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

    /// <summary>Builds every lazily parsed node now, so readers on other threads only ever read.</summary>
    private static void Materialize(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (_, value) in o)
                {
                    Materialize(value);
                }

                break;
            case JsonArray a:
                foreach (var item in a)
                {
                    Materialize(item);
                }

                break;
        }
    }

    private void RefreshCustomTypesLocked()
    {
        var custom = Objects(Crds).Values.SelectMany(ResourceType.FromCustomResourceDefinition)
            .Where(t => ResourceType.Find(t.Group, t.Version, t.Plural) is null)
            .ToList();
        var stale = _types.Where(t => t.Custom && !custom.Contains(t)).ToList();
        foreach (var gone in stale)
        {
            foreach (var obj in Objects(gone).Values.ToArray())
            {
                Drop(gone, Key(gone, gone.Namespaced ? Namespace(obj) : null, Name(obj)));
                Record(gone, "DELETED", (JsonObject)obj.DeepClone(), obj);
            }
        }

        _types = [.. ResourceType.All, .. custom];
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
            watcher.Events.Writer.TryWrite(new WatchEvent(type, record.Serialized));
        }
    }

    /// <summary>The garbage collector: owner references point into the owner's namespace (or anywhere, for a cluster-scoped owner).</summary>
    private void DeleteDependentsLocked(string uid, string? ns)
    {
        foreach (var type in _types)
        {
            var dependents = Objects(type).Values.Where(o => IsOwnedBy(o, uid) && (ns is null || Namespace(o) == ns)).ToArray();
            foreach (var dependent in dependents)
            {
                Drop(type, Key(type, type.Namespaced ? Namespace(dependent) : null, Name(dependent)));
                var deleted = (JsonObject)dependent.DeepClone();
                deleted["metadata"]!["deletionTimestamp"] ??= Timestamp(_time.GetUtcNow());
                Record(type, "DELETED", deleted, dependent);
                DeleteDependentsLocked(Uid(dependent), type.Namespaced ? Namespace(dependent) : null);
            }
        }
    }

    /// <summary>The garbage collector's orphaning: dependents lose their reference to the deleted owner.</summary>
    private void OrphanDependentsLocked(string uid, string? ns)
    {
        foreach (var type in _types)
        {
            foreach (var dependent in Objects(type).Values.Where(o => IsOwnedBy(o, uid) && (ns is null || Namespace(o) == ns)).ToArray())
            {
                var orphaned = (JsonObject)dependent.DeepClone();
                var refs = new JsonArray(((JsonArray)orphaned["metadata"]!["ownerReferences"]!).Where(r => r?["uid"]?.GetValue<string>() != uid).Select(r => r?.DeepClone()).ToArray());
                if (refs.Count == 0)
                {
                    ((JsonObject)orphaned["metadata"]!).Remove("ownerReferences");
                }
                else
                {
                    orphaned["metadata"]!["ownerReferences"] = refs;
                }

                Store(type, "MODIFIED", orphaned, dependent);
            }
        }
    }

    /// <summary>
    /// Whether an update changes nothing but resourceVersion and managedFields (then it is not stored: no new
    /// resourceVersion, no watch event). The same answer as <see cref="JsonNode.DeepEquals"/> of both objects with those
    /// two fields stripped, found without copying either object: the top level and metadata are compared key by key
    /// (objects are unordered, as DeepEquals has them), every other value with DeepEquals itself. Copying both objects
    /// to strip them cost two whole pods per status change in a storm.
    /// </summary>
    private static bool SameContent(JsonObject before, JsonObject after)
    {
        if (before["metadata"] is not JsonObject beforeMetadata || after["metadata"] is not JsonObject afterMetadata)
        {
            return SameContentStripped(before, after);
        }

        return SameMembers(before, after, static key => key == "metadata")
            && SameMembers(beforeMetadata, afterMetadata, static key => key is "resourceVersion" or "managedFields");
    }

    /// <summary>
    /// JsonObject's own DeepEquals over the members <paramref name="skipped"/> leaves, as if those were removed: the same
    /// count, and each member equal to the other's member of that name (a missing member reads as null, as in DeepEquals).
    /// </summary>
    private static bool SameMembers(JsonObject before, JsonObject after, Func<string, bool> skipped)
    {
        var beforeCount = 0;
        foreach (var (key, _) in before)
        {
            beforeCount += skipped(key) ? 0 : 1;
        }

        var afterCount = 0;
        foreach (var (key, _) in after)
        {
            afterCount += skipped(key) ? 0 : 1;
        }

        if (beforeCount != afterCount)
        {
            return false;
        }

        foreach (var (key, value) in before)
        {
            if (!skipped(key))
            {
                after.TryGetPropertyValue(key, out var other);
                if (!JsonNode.DeepEquals(value, other))
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>The definition <see cref="SameContent"/> keeps to: both objects copied, stripped, and compared whole.</summary>
    private static bool SameContentStripped(JsonObject before, JsonObject after)
    {
        static JsonObject Strip(JsonObject o)
        {
            var copy = (JsonObject)o.DeepClone();
            if (copy["metadata"] is JsonObject m)
            {
                m.Remove("resourceVersion");
                m.Remove("managedFields");
            }

            return copy;
        }

        return JsonNode.DeepEquals(Strip(before), Strip(after));
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

    private static string EncodeContinue(long version, string start) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { v = "meta.k8s.io/v1", rv = version, start = start + "\u0000" })))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>
    /// A list's continue token, checked as k8s.io/apiserver's storage.DecodeContinue checks it; what it refuses the
    /// real server answers 400 BadRequest "invalid continue token: …" (a token of resourceVersion 0, an empty or
    /// unclean start key, an unknown encoding version). A token of resourceVersion -1 means "the rest as it is now".
    /// </summary>
    private static (long Version, string Start) DecodeContinue(string token)
    {
        const string Invalid = "invalid continue token: continue key is not valid";
        long version;
        string? start;
        string? encoding;
        try
        {
            var base64 = token.Replace('-', '+').Replace('_', '/');
            base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
            using var document = JsonDocument.Parse(Convert.FromBase64String(base64));
            var root = document.RootElement;
            encoding = root.TryGetProperty("v", out var v) ? v.GetString() : null;
            version = root.TryGetProperty("rv", out var rv) ? rv.GetInt64() : 0;
            start = root.TryGetProperty("start", out var s) ? s.GetString() : null;
        }
        catch (Exception e) when (e is FormatException or JsonException or InvalidOperationException)
        {
            throw ApiStatus.BadRequest($"{Invalid}: {e.Message}");
        }

        if (encoding != "meta.k8s.io/v1")
        {
            throw ApiStatus.BadRequest($"{Invalid}: server does not recognize this encoded version \"{encoding}\"");
        }

        if (version == 0)
        {
            throw ApiStatus.BadRequest($"{Invalid}: incorrect encoded start resourceVersion (version meta.k8s.io/v1)");
        }

        if (string.IsNullOrEmpty(start))
        {
            throw ApiStatus.BadRequest($"{Invalid}: encoded start key empty (version meta.k8s.io/v1)");
        }

        // The real server refuses a start key that path.Clean would change (it could range outside the list's prefix).
        var rooted = start.StartsWith('/') ? start : "/" + start;
        if (!IsCleanPath(rooted))
        {
            throw ApiStatus.BadRequest($"{Invalid}: {start}");
        }

        return (version, start.TrimEnd('\u0000'));
    }

    /// <summary>Whether Go's path.Clean leaves this rooted path as it is: no empty, "." or ".." segment, no trailing slash.</summary>
    private static bool IsCleanPath(string rooted) =>
        rooted == "/" || rooted[1..].Split('/').All(segment => segment is { Length: > 0 } and not "." and not "..");
}
