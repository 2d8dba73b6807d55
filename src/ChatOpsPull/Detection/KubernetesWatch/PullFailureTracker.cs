using ChatOpsPull.Core.Failures;
using ChatOpsPull.Incidents;
using k8s.Models;

namespace ChatOpsPull.Detection.KubernetesWatch;

/// <summary>The parts of a pod the watcher keeps while one of its containers cannot pull.</summary>
public sealed record TrackedPod(string Uid, string Namespace, string Name, string? NodeName, IReadOnlyList<V1OwnerReference> Owners);

/// <summary>What the tracker decided to tell the sink.</summary>
public abstract record TrackerChange;

/// <summary>A new or changed failure of one container.</summary>
public sealed record FailureChange(TrackedPod Pod, ContainerPullState State, string Message) : TrackerChange;

/// <summary>A container (or, with a null container, the whole pod) no longer fails.</summary>
public sealed record ResolvedChange(TrackedPod Pod, string? Container, PodResolution Resolution) : TrackerChange;

/// <summary>
/// The watcher's memory: which containers it has reported and with what reason and message, and the latest runtime
/// message from Warning events per container. Pure and single-threaded: the watcher feeds it one input at a time.
/// Only failing pods are kept, so memory follows the number of failures, not the number of pods.
/// Deduplicates on pod uid + container + reason + message, so a relist or a replayed watch reports nothing twice.
/// </summary>
public sealed class PullFailureTracker
{
    private const int EventMessageLimit = 20_000;
    private readonly Dictionary<string, PodEntry> _pods = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<string, EventMessage>> _eventMessages = new(StringComparer.Ordinal);

    public int TrackedPodCount => _pods.Count;

    /// <summary>A pod was added or modified (from a watch or a list).</summary>
    public IReadOnlyList<TrackerChange> ObservePod(V1Pod pod)
    {
        var uid = pod.Metadata?.Uid;
        if (uid is null)
        {
            return [];
        }

        var failing = PodPullState.FailingContainers(pod);
        _pods.TryGetValue(uid, out var entry);
        if (failing.Count == 0 && entry is null)
        {
            return [];
        }

        var changes = new List<TrackerChange>();
        if (entry is null)
        {
            entry = new PodEntry(Track(pod));
            _pods[uid] = entry;
        }
        else if (entry.Pod.NodeName != pod.Spec?.NodeName)
        {
            entry.Pod = Track(pod);
        }

        var now = new HashSet<string>(StringComparer.Ordinal);
        foreach (var state in failing)
        {
            now.Add(state.Container);
            entry.States[state.Container] = state;
            var message = EffectiveMessage(uid, state);
            if (!entry.Reported.TryGetValue(state.Container, out var last) || last.Reason != state.Reason || last.Message != message)
            {
                entry.Reported[state.Container] = (state.Reason, message);
                changes.Add(new FailureChange(entry.Pod, state, message));
            }
        }

        foreach (var container in entry.Reported.Keys.Where(c => !now.Contains(c)).ToArray())
        {
            entry.Reported.Remove(container);
            entry.States.Remove(container);
            if (_eventMessages.TryGetValue(uid, out var byContainer))
            {
                byContainer.Remove(container);
            }

            changes.Add(new ResolvedChange(entry.Pod, container, PodResolution.Ready));
        }

        if (entry.Reported.Count == 0)
        {
            _pods.Remove(uid);
        }

        return changes;
    }

    /// <summary>A pod was deleted: everything reported for it is resolved.</summary>
    public IReadOnlyList<TrackerChange> PodDeleted(V1Pod pod)
    {
        var uid = pod.Metadata?.Uid;
        if (uid is null)
        {
            return [];
        }

        ForgetEventMessages(uid);
        if (!_pods.Remove(uid, out var entry))
        {
            return [];
        }

        return [new ResolvedChange(entry.Pod, null, PodResolution.Deleted)];
    }

    /// <summary>
    /// A kubelet Warning event about a pod's container (Failed, BackOff, InspectFailed, ErrImageNeverPull). Its message
    /// becomes the container's runtime message; when the container is failing and the message is new, an updated failure.
    /// </summary>
    public IReadOnlyList<TrackerChange> ObserveWarning(Corev1Event warning)
    {
        var uid = warning.InvolvedObject?.Uid;
        if (uid is null || !PodPullState.TryParseFieldPath(warning.InvolvedObject!.FieldPath, out _, out var container)
            || !PodPullState.IsRuntimeMessage(warning.Message))
        {
            return [];
        }

        var at = EventTime(warning);
        if (!_eventMessages.TryGetValue(uid, out var byContainer))
        {
            if (_eventMessages.Count >= EventMessageLimit)
            {
                // Keep the messages of tracked pods; drop the rest (they only matter if a failure shows up later).
                foreach (var stale in _eventMessages.Keys.Where(k => !_pods.ContainsKey(k)).ToArray())
                {
                    _eventMessages.Remove(stale);
                }
            }

            byContainer = new Dictionary<string, EventMessage>(StringComparer.Ordinal);
            _eventMessages[uid] = byContainer;
        }

        if (byContainer.TryGetValue(container, out var known) && known.At > at)
        {
            return [];
        }

        byContainer[container] = new EventMessage(warning.Message!, at);
        if (!_pods.TryGetValue(uid, out var entry) || !entry.States.TryGetValue(container, out var state))
        {
            return [];
        }

        var message = EffectiveMessage(uid, state);
        var last = entry.Reported[container];
        if (last.Message == message)
        {
            return [];
        }

        entry.Reported[container] = (state.Reason, message);
        return [new FailureChange(entry.Pod, state, message)];
    }

    /// <summary>
    /// After a full relist of <paramref name="namespace"/> (null: all namespaces): pods tracked there that the list no
    /// longer has were deleted while the watch was down.
    /// </summary>
    public IReadOnlyList<TrackerChange> RelistCompleted(string? @namespace, IReadOnlySet<string> listedUids)
    {
        var gone = _pods.Values
            .Where(e => (@namespace is null || e.Pod.Namespace == @namespace) && !listedUids.Contains(e.Pod.Uid))
            .ToArray();
        var changes = new List<TrackerChange>(gone.Length);
        foreach (var entry in gone)
        {
            _pods.Remove(entry.Pod.Uid);
            ForgetEventMessages(entry.Pod.Uid);
            changes.Add(new ResolvedChange(entry.Pod, null, PodResolution.Deleted));
        }

        return changes;
    }

    /// <summary>The runtime message from events when it is about this image, else the status message.</summary>
    private string EffectiveMessage(string uid, ContainerPullState state)
    {
        if (_eventMessages.TryGetValue(uid, out var byContainer) && byContainer.TryGetValue(state.Container, out var fromEvent))
        {
            var image = PodPullState.ImageInMessage(fromEvent.Text);
            if (image is null || image == state.Image)
            {
                return fromEvent.Text;
            }
        }

        return state.StatusMessage;
    }

    private void ForgetEventMessages(string uid) => _eventMessages.Remove(uid);

    private static TrackedPod Track(V1Pod pod) => new(
        pod.Metadata.Uid,
        pod.Metadata.NamespaceProperty,
        pod.Metadata.Name,
        pod.Spec?.NodeName,
        pod.Metadata.OwnerReferences?.ToArray() ?? []);

    private static DateTime EventTime(Corev1Event e) =>
        e.Series?.LastObservedTime ?? e.LastTimestamp ?? e.EventTime ?? e.FirstTimestamp ?? e.Metadata?.CreationTimestamp ?? DateTime.MinValue;

    private sealed class PodEntry(TrackedPod pod)
    {
        public TrackedPod Pod { get; set; } = pod;

        public Dictionary<string, (string Reason, string Message)> Reported { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, ContainerPullState> States { get; } = new(StringComparer.Ordinal);
    }

    private sealed record EventMessage(string Text, DateTime At);
}
