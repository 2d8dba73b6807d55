using System.Buffers;
using System.Text.Json;
using static ChatOpsPull.Detection.KubernetesWatch.SlimJson;

namespace ChatOpsPull.Detection.KubernetesWatch;

/// <summary>
/// Reads core/v1 event lists and event watch lines with a <see cref="Utf8JsonReader"/>, keeping only what
/// <see cref="WatchedEvent"/> holds and skipping the rest unread (managedFields, annotations, related, action, …): the
/// same result as <see cref="WatchedEvent.From"/> of KubernetesClient's full <c>Corev1Event</c> (tests compare the two
/// on real-shaped events), without its reflection-based deserializer. Field order does not matter; unknown fields are
/// skipped; missing ones are null, as in the full model.
/// </summary>
internal static class EventJson
{
    private static readonly JsonNames Names = new(
        "metadata", "items", "resourceVersion", "continue", "type", "object", "code", "message", "uid", "name", "namespace",
        "creationTimestamp", "reason", "involvedObject", "kind", "fieldPath", "source", "host", "reportingInstance", "count",
        "series", "lastObservedTime", "lastTimestamp", "eventTime", "firstTimestamp");

    public static ListPage<WatchedEvent> ReadListPage(ReadOnlySequence<byte> json, StringPool pool)
    {
        var (items, resourceVersion, next) = ReadList(json, Names, pool, static (ref Utf8JsonReader reader, StringPool pool) => ReadObject(ref reader, pool).ToEvent());
        return new ListPage<WatchedEvent>(items, resourceVersion, next);
    }

    public static WatchLine<WatchedEvent> ReadWatchEvent(ReadOnlySequence<byte> line, StringPool pool)
    {
        var (type, read) = ReadWatchLine(line, Names, pool, static (ref Utf8JsonReader reader, StringPool pool) => ReadObject(ref reader, pool));
        return type == "ERROR"
            ? new WatchLine<WatchedEvent>(type, null, read.Code, read.Message)
            : new WatchLine<WatchedEvent>(type, read.ToEvent(), null, null);
    }

    /// <summary>Reads one object (an event, or the Status of an ERROR line); the reader is on its StartObject.</summary>
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
                case "involvedObject" when reader.TokenType == JsonTokenType.StartObject:
                    fields.Subject = ReadSubject(ref reader, pool);
                    break;
                case "source" when reader.TokenType == JsonTokenType.StartObject:
                    while (Property(ref reader, Names) is { } field)
                    {
                        if (field == "host")
                        {
                            fields.SourceHost = Pooled(ref reader, pool);
                        }
                        else
                        {
                            reader.Skip();
                        }
                    }

                    break;
                case "series" when reader.TokenType == JsonTokenType.StartObject:
                    while (Property(ref reader, Names) is { } field)
                    {
                        switch (field)
                        {
                            case "count":
                                fields.SeriesCount = Number(ref reader);
                                break;
                            case "lastObservedTime":
                                fields.SeriesLastObserved = Time(ref reader);
                                break;
                            default:
                                reader.Skip();
                                break;
                        }
                    }

                    break;
                case "type":
                    fields.Type = Pooled(ref reader, pool);
                    break;
                case "reason":
                    fields.Reason = Pooled(ref reader, pool);
                    break;
                case "message":
                    fields.Message = Pooled(ref reader, pool);
                    break;
                case "reportingInstance":
                    fields.ReportingInstance = Pooled(ref reader, pool);
                    break;
                case "count":
                    fields.Count = Number(ref reader);
                    break;
                case "lastTimestamp":
                    fields.Last = Time(ref reader);
                    break;
                case "eventTime":
                    fields.EventTime = Time(ref reader);
                    break;
                case "firstTimestamp":
                    fields.First = Time(ref reader);
                    break;
                case "code" when reader.TokenType == JsonTokenType.Number:
                    // A Status (ERROR line): its HTTP code.
                    fields.Code = reader.TryGetInt32(out var code) ? code : null;
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
                case "creationTimestamp":
                    fields.Created = Time(ref reader);
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }
    }

    private static EventSubject ReadSubject(ref Utf8JsonReader reader, StringPool pool)
    {
        string? kind = null, ns = null, name = null, uid = null, fieldPath = null;
        while (Property(ref reader, Names) is { } field)
        {
            switch (field)
            {
                case "kind":
                    kind = Pooled(ref reader, pool);
                    break;
                case "namespace":
                    ns = Pooled(ref reader, pool);
                    break;
                case "name":
                    name = Text(ref reader);
                    break;
                case "uid":
                    uid = Text(ref reader);
                    break;
                case "fieldPath":
                    fieldPath = Pooled(ref reader, pool);
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        return new EventSubject(kind, ns, name, uid, fieldPath);
    }

    private sealed class ObjectFields
    {
        /// <summary>A field, not a property, so <see cref="CommonMetadata"/> reads into it in place.</summary>
        public ObjectMetadata Metadata;

        public DateTime? Created { get; set; }

        public string? Type { get; set; }

        public string? Reason { get; set; }

        public string? Message { get; set; }

        public EventSubject? Subject { get; set; }

        public string? SourceHost { get; set; }

        public string? ReportingInstance { get; set; }

        public int? Count { get; set; }

        public int? SeriesCount { get; set; }

        public DateTime? SeriesLastObserved { get; set; }

        public DateTime? Last { get; set; }

        public DateTime? EventTime { get; set; }

        public DateTime? First { get; set; }

        public int? Code { get; set; }

        public WatchedEvent ToEvent() => new(
            Metadata.Uid,
            Metadata.Name,
            Metadata.Namespace,
            Metadata.ResourceVersion,
            Type,
            Reason,
            Message,
            Subject,
            SourceHost,
            ReportingInstance,
            Count,
            SeriesCount,
            new EventTimes(SeriesLastObserved, Last, EventTime, First, Created));
    }
}
