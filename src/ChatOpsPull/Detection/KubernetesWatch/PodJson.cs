using System.Buffers;
using System.Text.Json;
using ChatOpsPull.Core.Failures;
using k8s.Models;
using static ChatOpsPull.Detection.KubernetesWatch.SlimJson;

namespace ChatOpsPull.Detection.KubernetesWatch;

/// <summary>One page of a list (pods, events): its objects, the list's resourceVersion and the token for the next page.</summary>
internal sealed record ListPage<T>(IReadOnlyList<T> Items, string? ResourceVersion, string? Continue);

/// <summary>
/// One line of a watch: ADDED, MODIFIED, DELETED and BOOKMARK carry an object (a bookmark only its resourceVersion);
/// ERROR carries a Status, whose code and message are kept.
/// </summary>
internal sealed record WatchLine<T>(string Type, T? Object, int? StatusCode, string? StatusMessage)
    where T : class;

/// <summary>
/// Reads pod lists and pod watch events from the API's JSON with a <see cref="Utf8JsonReader"/>, keeping only what
/// <see cref="WatchedPod"/> holds and skipping the rest unread: the same result as <see cref="WatchedPod.From"/> of the
/// full model (tests compare the two on real objects), at a fraction of the allocations. Field order does not matter.
/// </summary>
internal static class PodJson
{
    public static ListPage<WatchedPod> ReadListPage(ReadOnlySequence<byte> json, StringPool pool)
    {
        var (items, resourceVersion, next) = ReadList(json, Names, pool, static (ref Utf8JsonReader reader, StringPool pool) => ReadObject(ref reader, pool).ToPod());
        return new ListPage<WatchedPod>(items, resourceVersion, next);
    }

    public static WatchLine<WatchedPod> ReadWatchEvent(ReadOnlySequence<byte> line, StringPool pool)
    {
        var (type, read) = ReadWatchLine(line, Names, pool, static (ref Utf8JsonReader reader, StringPool pool) => ReadObject(ref reader, pool));
        return type == "ERROR"
            ? new WatchLine<WatchedPod>(type, null, read.Code, read.Message)
            : new WatchLine<WatchedPod>(type, read.ToPod(), null, null);
    }

    /// <summary>Reads one object (a pod, or the Status of an ERROR event); the reader is on its StartObject.</summary>
    private static ObjectFields ReadObject(ref Utf8JsonReader reader, StringPool pool)
    {
        ExpectObject(ref reader);
        var fields = new ObjectFields();
        while (Property(ref reader, Names) is { } name)
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
        while (Property(ref reader, Names) is { } name)
        {
            if (CommonMetadata(name, ref reader, pool, ref fields.Metadata))
            {
                continue;
            }

            switch (name)
            {
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
        ExpectObject(ref reader, "an owner reference");
        var owner = new V1OwnerReference();
        while (Property(ref reader, Names) is { } name)
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
        while (Property(ref reader, Names) is { } name)
        {
            switch (name)
            {
                case "nodeName":
                    fields.NodeName = Pooled(ref reader, pool);
                    break;
                case "serviceAccountName":
                    fields.ServiceAccountName = Pooled(ref reader, pool);
                    break;
                case "imagePullSecrets" when reader.TokenType == JsonTokenType.StartArray:
                    fields.ImagePullSecrets = ReadReferenceNames(ref reader, pool);
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

    /// <summary>The names of a list of LocalObjectReferences (spec.imagePullSecrets); null when it is empty.</summary>
    private static List<string>? ReadReferenceNames(ref Utf8JsonReader reader, StringPool pool)
    {
        List<string>? names = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                continue;
            }

            string? referenceName = null;
            while (Property(ref reader, Names) is { } name)
            {
                if (name == "name")
                {
                    referenceName = Pooled(ref reader, pool);
                }
                else
                {
                    reader.Skip();
                }
            }

            (names ??= []).Add(referenceName!);
        }

        return names;
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
            while (Property(ref reader, Names) is { } name)
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
        while (Property(ref reader, Names) is { } name)
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
            while (Property(ref reader, Names) is { } name)
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
                        while (Property(ref reader, Names) is { } state)
                        {
                            if (state == "waiting" && reader.TokenType == JsonTokenType.StartObject)
                            {
                                while (Property(ref reader, Names) is { } waiting)
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

    private static readonly JsonNames Names = new(
        "metadata", "items", "resourceVersion", "continue", "type", "object", "spec", "status", "code", "message", "uid",
        "name", "namespace", "ownerReferences", "apiVersion", "kind", "controller", "blockOwnerDeletion", "nodeName",
        "serviceAccountName", "imagePullSecrets",
        "containers", "initContainers", "ephemeralContainers", "image", "imagePullPolicy", "containerStatuses",
        "initContainerStatuses", "ephemeralContainerStatuses", "state", "waiting", "reason");

    private sealed record SpecContainer(ContainerKind Kind, string? Name, string? Image, string? PullPolicy);

    private sealed record WaitingContainer(ContainerKind Kind, string Name, string? Image, string Reason, string? Message);

    private sealed class ObjectFields
    {
        /// <summary>A field, not a property, so <see cref="CommonMetadata"/> reads into it in place.</summary>
        public ObjectMetadata Metadata;

        public string? NodeName { get; set; }

        public string? ServiceAccountName { get; set; }

        public List<string>? ImagePullSecrets { get; set; }

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

            return new WatchedPod(Metadata.Uid, Metadata.Namespace ?? string.Empty, Metadata.Name ?? string.Empty, Metadata.ResourceVersion, NodeName, Controller, failing)
            {
                ServiceAccountName = ServiceAccountName,
                ImagePullSecrets = ImagePullSecrets,
            };
        }
    }

    private static readonly ContainerKind[] KindOrder = [ContainerKind.Init, ContainerKind.Regular, ContainerKind.Ephemeral];
}
