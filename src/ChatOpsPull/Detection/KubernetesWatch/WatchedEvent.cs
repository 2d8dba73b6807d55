using k8s.Models;

namespace ChatOpsPull.Detection.KubernetesWatch;

/// <summary>
/// The parts of a core/v1 Event the watcher reads: who it is (for the cursor and the pull-time key), what it says
/// (type, reason, message), which pod and container it is about, where it happened and when. The watcher reads it
/// straight from the API's JSON (<see cref="EventJson"/>); <see cref="From"/> gives the same from a full
/// <see cref="Corev1Event"/>. Events written through events.k8s.io/v1 read the same way: the API serves them on core/v1
/// with <c>eventTime</c>, <c>series</c> and <c>reportingInstance</c> set and <c>source</c>, <c>count</c>,
/// <c>firstTimestamp</c> and <c>lastTimestamp</c> empty, and the times below fall back accordingly.
/// </summary>
/// <param name="Uid">metadata.uid.</param>
/// <param name="Name">metadata.name.</param>
/// <param name="Namespace">metadata.namespace.</param>
/// <param name="ResourceVersion">metadata.resourceVersion (a bookmark carries only this).</param>
/// <param name="Subject">involvedObject: the object the event is about.</param>
/// <param name="SourceHost">source.host (kubelet's node), empty for events written through events.k8s.io/v1.</param>
/// <param name="ReportingInstance">reportingInstance (the node for kubelet).</param>
/// <param name="Count">count (core/v1 deduplication).</param>
/// <param name="SeriesCount">series.count (events.k8s.io/v1 deduplication).</param>
public sealed record WatchedEvent(
    string? Uid,
    string? Name,
    string? Namespace,
    string? ResourceVersion,
    string? Type,
    string? Reason,
    string? Message,
    EventSubject? Subject,
    string? SourceHost,
    string? ReportingInstance,
    int? Count,
    int? SeriesCount,
    EventTimes Times)
{
    /// <summary>When it was last seen: series.lastObservedTime, lastTimestamp, eventTime, firstTimestamp, in that order; null when none is set.</summary>
    public DateTime? LastSeen => Times.SeriesLastObserved ?? Times.Last ?? Times.EventTime ?? Times.First;

    /// <summary>How many times it happened: series.count, else count, else once.</summary>
    public int Occurrences => SeriesCount ?? Count ?? 1;

    public static WatchedEvent From(Corev1Event e) => new(
        e.Metadata?.Uid,
        e.Metadata?.Name,
        e.Metadata?.NamespaceProperty,
        e.Metadata?.ResourceVersion,
        e.Type,
        e.Reason,
        e.Message,
        e.InvolvedObject is { } o ? new EventSubject(o.Kind, o.NamespaceProperty, o.Name, o.Uid, o.FieldPath) : null,
        e.Source?.Host,
        e.ReportingInstance,
        e.Count,
        e.Series?.Count,
        new EventTimes(e.Series?.LastObservedTime, e.LastTimestamp, e.EventTime, e.FirstTimestamp, e.Metadata?.CreationTimestamp));
}

/// <summary>An event's involvedObject: kind, namespace, name, uid and, for a container, its field path (<c>spec.containers{web}</c>).</summary>
public sealed record EventSubject(string? Kind, string? Namespace, string? Name, string? Uid, string? FieldPath);

/// <summary>An event's times, UTC: series.lastObservedTime, lastTimestamp, eventTime, firstTimestamp and metadata.creationTimestamp.</summary>
public readonly record struct EventTimes(DateTime? SeriesLastObserved, DateTime? Last, DateTime? EventTime, DateTime? First, DateTime? Created);
