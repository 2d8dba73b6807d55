using System.Buffers;
using System.Text.Json;
using ChatOpsPull.Core.Failures;
using k8s.Models;

namespace ChatOpsPull.Detection.KubernetesWatch;

/// <summary>One page of a pod list: its pods, the list's resourceVersion and the token for the next page.</summary>
internal sealed record PodListPage(IReadOnlyList<WatchedPod> Items, string? ResourceVersion, string? Continue);

/// <summary>
/// One line of a pod watch: ADDED, MODIFIED, DELETED and BOOKMARK carry a pod (a bookmark only its resourceVersion);
/// ERROR carries a Status, whose code and message are kept.
/// </summary>
internal sealed record PodWatchEvent(string Type, WatchedPod? Pod, int? StatusCode, string? StatusMessage);

/// <summary>
/// Reads pod lists and pod watch events from the API's JSON with a <see cref="Utf8JsonReader"/>, keeping only what
/// <see cref="WatchedPod"/> holds and skipping the rest unread: the same result as <see cref="WatchedPod.From"/> of the
/// full model (tests compare the two on real objects), at a fraction of the allocations. Field order does not matter.
/// </summary>
internal static class PodJson
{
    public static PodListPage ReadListPage(ReadOnlySequence<byte> json, StringPool pool)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 128 });
        Expect(ref reader, JsonTokenType.StartObject);
        var items = new List<WatchedPod>();
        string? resourceVersion = null;
        string? next = null;
        while (Property(ref reader) is { } name)
        {
            switch (name)
            {
                case "metadata" when reader.TokenType == JsonTokenType.StartObject:
                    while (Property(ref reader) is { } field)
                    {
                        switch (field)
                        {
                            case "resourceVersion":
                                resourceVersion = Text(ref reader);
                                break;
                            case "continue":
                                next = Text(ref reader);
                                break;
                            default:
                                reader.Skip();
                                break;
                        }
                    }

                    break;
                case "items" when reader.TokenType == JsonTokenType.StartArray:
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        items.Add(ReadObject(ref reader, pool).ToPod());
                    }

                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        return new PodListPage(items, resourceVersion, next);
    }

    public static PodWatchEvent ReadWatchEvent(ReadOnlySequence<byte> line, StringPool pool)
    {
        var reader = new Utf8JsonReader(line, new JsonReaderOptions { MaxDepth = 128 });
        Expect(ref reader, JsonTokenType.StartObject);
        string? type = null;
        ObjectFields? read = null;
        while (Property(ref reader) is { } name)
        {
            switch (name)
            {
                case "type":
                    type = Text(ref reader);
                    break;
                case "object" when reader.TokenType == JsonTokenType.StartObject:
                    read = ReadObject(ref reader, pool);
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        if (type is null || read is null)
        {
            throw new JsonException("a watch event without type or object");
        }

        return type == "ERROR"
            ? new PodWatchEvent(type, null, read.Code, read.Message)
            : new PodWatchEvent(type, read.ToPod(), null, null);
    }

    /// <summary>Reads one object (a pod, or the Status of an ERROR event); the reader is on its StartObject.</summary>
    private static ObjectFields ReadObject(ref Utf8JsonReader reader, StringPool pool)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException($"expected an object, found {reader.TokenType}");
        }

        var fields = new ObjectFields();
        while (Property(ref reader) is { } name)
        {
            switch (name)
            {
                case "metadata" when reader.TokenType == JsonTokenType.StartObject:
                    ReadMetadata(ref reader, pool, fields);
                    break;
                case "spec" when reader.TokenType == JsonTokenType.StartObject:
                    ReadSpec(ref reader, pool, fields);
                    break;
                case "status" when reader.TokenType == JsonTokenType.StartObject:
                    ReadStatus(ref reader, pool, fields);
                    break;
                case "code" when reader.TokenType == JsonTokenType.Number:
                    fields.Code = reader.TryGetInt32(out var code) ? code : null;
                    break;
                case "message":
                    fields.Message = Text(ref reader);
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        return fields;
    }

    private static void ReadMetadata(ref Utf8JsonReader reader, StringPool pool, ObjectFields fields)
    {
        while (Property(ref reader) is { } name)
        {
            switch (name)
            {
                case "uid":
                    fields.Uid = Text(ref reader);
                    break;
                case "name":
                    fields.Name = Text(ref reader);
                    break;
                case "namespace":
                    fields.Namespace = Pooled(ref reader, pool);
                    break;
                case "resourceVersion":
                    fields.ResourceVersion = Text(ref reader);
                    break;
                case "ownerReferences" when reader.TokenType == JsonTokenType.StartArray:
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        var owner = ReadOwner(ref reader, pool);
                        if (owner.Controller == true && fields.Controller is null)
                        {
                            fields.Controller = owner;
                        }
                    }

                    break;
                default:
                    reader.Skip();
                    break;
            }
        }
    }

    private static V1OwnerReference ReadOwner(ref Utf8JsonReader reader, StringPool pool)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException($"expected an owner reference, found {reader.TokenType}");
        }

        var owner = new V1OwnerReference();
        while (Property(ref reader) is { } name)
        {
            switch (name)
            {
                case "apiVersion":
                    owner.ApiVersion = Pooled(ref reader, pool);
                    break;
                case "kind":
                    owner.Kind = Pooled(ref reader, pool);
                    break;
                case "name":
                    owner.Name = Pooled(ref reader, pool);
                    break;
                case "uid":
                    owner.Uid = Pooled(ref reader, pool);
                    break;
                case "controller":
                    owner.Controller = Flag(ref reader);
                    break;
                case "blockOwnerDeletion":
                    owner.BlockOwnerDeletion = Flag(ref reader);
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        return owner;
    }

    private static void ReadSpec(ref Utf8JsonReader reader, StringPool pool, ObjectFields fields)
    {
        while (Property(ref reader) is { } name)
        {
            switch (name)
            {
                case "nodeName":
                    fields.NodeName = Pooled(ref reader, pool);
                    break;
                case "containers" when reader.TokenType == JsonTokenType.StartArray:
                    ReadSpecContainers(ref reader, pool, ContainerKind.Regular, fields);
                    break;
                case "initContainers" when reader.TokenType == JsonTokenType.StartArray:
                    ReadSpecContainers(ref reader, pool, ContainerKind.Init, fields);
                    break;
                case "ephemeralContainers" when reader.TokenType == JsonTokenType.StartArray:
                    ReadSpecContainers(ref reader, pool, ContainerKind.Ephemeral, fields);
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }
    }

    private static void ReadSpecContainers(ref Utf8JsonReader reader, StringPool pool, ContainerKind kind, ObjectFields fields)
    {
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                continue;
            }

            string? containerName = null, image = null, policy = null;
            while (Property(ref reader) is { } name)
            {
                switch (name)
                {
                    case "name":
                        containerName = Pooled(ref reader, pool);
                        break;
                    case "image":
                        image = Pooled(ref reader, pool);
                        break;
                    case "imagePullPolicy":
                        policy = Pooled(ref reader, pool);
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }

            (fields.Spec ??= []).Add(new SpecContainer(kind, containerName, image, policy));
        }
    }

    private static void ReadStatus(ref Utf8JsonReader reader, StringPool pool, ObjectFields fields)
    {
        while (Property(ref reader) is { } name)
        {
            switch (name)
            {
                case "containerStatuses" when reader.TokenType == JsonTokenType.StartArray:
                    ReadContainerStatuses(ref reader, pool, ContainerKind.Regular, fields);
                    break;
                case "initContainerStatuses" when reader.TokenType == JsonTokenType.StartArray:
                    ReadContainerStatuses(ref reader, pool, ContainerKind.Init, fields);
                    break;
                case "ephemeralContainerStatuses" when reader.TokenType == JsonTokenType.StartArray:
                    ReadContainerStatuses(ref reader, pool, ContainerKind.Ephemeral, fields);
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }
    }

    private static void ReadContainerStatuses(ref Utf8JsonReader reader, StringPool pool, ContainerKind kind, ObjectFields fields)
    {
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                continue;
            }

            string? containerName = null, image = null, reason = null, message = null;
            while (Property(ref reader) is { } name)
            {
                switch (name)
                {
                    case "name":
                        containerName = Pooled(ref reader, pool);
                        break;
                    case "image":
                        image = Pooled(ref reader, pool);
                        break;
                    case "state" when reader.TokenType == JsonTokenType.StartObject:
                        while (Property(ref reader) is { } state)
                        {
                            if (state == "waiting" && reader.TokenType == JsonTokenType.StartObject)
                            {
                                while (Property(ref reader) is { } waiting)
                                {
                                    switch (waiting)
                                    {
                                        case "reason":
                                            reason = Pooled(ref reader, pool);
                                            break;
                                        case "message":
                                            message = Pooled(ref reader, pool);
                                            break;
                                        default:
                                            reader.Skip();
                                            break;
                                    }
                                }
                            }
                            else
                            {
                                reader.Skip();
                            }
                        }

                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }

            if (reason is not null && PullFailure.PullReasons.Contains(reason))
            {
                (fields.Statuses ??= []).Add(new WaitingContainer(kind, containerName ?? string.Empty, image, reason, message));
            }
        }
    }

    /// <summary>The next property of the current object, with the reader on its value; null at the object's end.</summary>
    private static string? Property(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
        {
            throw new JsonException("the JSON ended inside an object");
        }

        if (reader.TokenType == JsonTokenType.EndObject)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.PropertyName)
        {
            throw new JsonException($"expected a property, found {reader.TokenType}");
        }

        var name = Known(ref reader);
        if (!reader.Read())
        {
            throw new JsonException("the JSON ended after a property name");
        }

        return name;
    }

    private static readonly string[] Names =
    [
        "metadata", "items", "resourceVersion", "continue", "type", "object", "spec", "status", "code", "message", "uid",
        "name", "namespace", "ownerReferences", "apiVersion", "kind", "controller", "blockOwnerDeletion", "nodeName",
        "containers", "initContainers", "ephemeralContainers", "image", "imagePullPolicy", "containerStatuses",
        "initContainerStatuses", "ephemeralContainerStatuses", "state", "waiting", "reason",
    ];

    /// <summary>
    /// <see cref="Names"/> in UTF-8, compared with the reader's bytes as they are: comparing with a string instead
    /// transcodes the string to UTF-8 on every call, i.e. thirty transcodes for each property of each pod.
    /// </summary>
    private static readonly byte[][] Utf8Names = Array.ConvertAll(Names, System.Text.Encoding.UTF8.GetBytes);

    /// <summary>The property name as one of <see cref="Names"/> (no allocation), or the empty string for any other.</summary>
    private static string Known(ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            // The usual case: the name's bytes as they stand in the buffer.
            var name = reader.ValueSpan;
            for (var i = 0; i < Utf8Names.Length; i++)
            {
                if (name.SequenceEqual(Utf8Names[i]))
                {
                    return Names[i];
                }
            }

            return string.Empty;
        }

        for (var i = 0; i < Utf8Names.Length; i++)
        {
            if (reader.ValueTextEquals(Utf8Names[i]))
            {
                return Names[i];
            }
        }

        return string.Empty;
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type)
    {
        if (!reader.Read() || reader.TokenType != type)
        {
            throw new JsonException($"expected {type}");
        }
    }

    private static string? Text(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.String => reader.GetString(),
        JsonTokenType.Null => null,
        _ => throw new JsonException($"expected a string, found {reader.TokenType}"),
    };

    private static bool? Flag(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.True => true,
        JsonTokenType.False => false,
        JsonTokenType.Null => null,
        _ => throw new JsonException($"expected a boolean, found {reader.TokenType}"),
    };

    /// <summary>A string many pods repeat, from the pool.</summary>
    private static string? Pooled(ref Utf8JsonReader reader, StringPool pool)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException($"expected a string, found {reader.TokenType}");
        }

        if (!reader.HasValueSequence && !reader.ValueIsEscaped)
        {
            return pool.Get(reader.ValueSpan);
        }

        var length = reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length;
        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var written = reader.CopyString(rented);
            return pool.Get(rented.AsSpan(0, written));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private sealed record SpecContainer(ContainerKind Kind, string? Name, string? Image, string? PullPolicy);

    private sealed record WaitingContainer(ContainerKind Kind, string Name, string? Image, string Reason, string? Message);

    private sealed class ObjectFields
    {
        public string? Uid { get; set; }

        public string? Name { get; set; }

        public string? Namespace { get; set; }

        public string? ResourceVersion { get; set; }

        public string? NodeName { get; set; }

        public V1OwnerReference? Controller { get; set; }

        public List<SpecContainer>? Spec { get; set; }

        public List<WaitingContainer>? Statuses { get; set; }

        public int? Code { get; set; }

        public string? Message { get; set; }

        /// <summary>The pod, with its failing containers in the order <see cref="PodPullState.FailingContainers"/> gives them.</summary>
        public WatchedPod ToPod()
        {
            IReadOnlyList<ContainerPullState> failing = [];
            if (Statuses is not null)
            {
                var states = new List<ContainerPullState>(Statuses.Count);
                foreach (var kind in KindOrder)
                {
                    foreach (var s in Statuses)
                    {
                        if (s.Kind != kind)
                        {
                            continue;
                        }

                        var spec = Spec?.Find(c => c.Kind == kind && c.Name == s.Name);
                        states.Add(new ContainerPullState(s.Name, kind, spec?.Image ?? s.Image ?? string.Empty, s.Reason, s.Message ?? string.Empty, spec?.PullPolicy));
                    }
                }

                failing = states;
            }

            return new WatchedPod(Uid, Namespace ?? string.Empty, Name ?? string.Empty, ResourceVersion, NodeName, Controller, failing);
        }
    }

    private static readonly ContainerKind[] KindOrder = [ContainerKind.Init, ContainerKind.Regular, ContainerKind.Ephemeral];
}
