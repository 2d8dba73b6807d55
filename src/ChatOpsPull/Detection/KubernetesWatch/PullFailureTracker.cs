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
/// message per pod and image. Kubelet backs off per pod UID and image (image_manager.go: the back-off key is
/// "&lt;pod UID&gt;_&lt;image&gt;"), and its "Back-off pulling image" event and status carry no registry error (before
/// 1.32), so the earlier Failed event or ErrImagePull status of the same pod and image is kept and used while the
/// container backs off. Pure and single-threaded: the watcher feeds it one input at a time. Only failing pods are
/// kept, so memory follows the number of failures, not the number of pods. Deduplicates on pod uid + container +
/// reason + message, so a relist or a replayed watch reports nothing twice.
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
            if (PodPullState.IsRuntimeMessage(state.StatusMessage))
            {
                entry.StatusMessages[state.Image] = state.StatusMessage;
            }

            var message = EffectiveMessage(entry, state);
            if (!entry.Reported.TryGetValue(state.Container, out var last) || last.Reason != state.Reason || last.Message != message)
            {
                entry.Reported[state.Container] = (state.Reason, message);
                changes.Add(new FailureChange(entry.Pod, state, message));
            }
        }

        foreach (var container in entry.Reported.Keys.Where(c => !now.Contains(c)).ToArray())
        {
            entry.Reported.Remove(container);
            if (entry.States.Remove(container, out var gone))
            {
                entry.StatusMessages.Remove(gone.Image);
                if (_eventMessages.TryGetValue(uid, out var byKey))
                {
                    byKey.Remove(gone.Image);
                    byKey.Remove(ContainerKey(container));
                }
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
    /// A kubelet Warning event about a pod's container (Failed, BackOff, InspectFailed, ErrImageNeverPull). A message with
    /// the runtime's words becomes the runtime message of that pod and image (the image the message names; the container
    /// when it names none); when a failing container pulls that image and its message changes, an updated failure.
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
        if (!_eventMessages.TryGetValue(uid, out var byKey))
        {
            if (_eventMessages.Count >= EventMessageLimit)
            {
                // Keep the messages of tracked pods; drop the rest (they only matter if a failure shows up later).
                foreach (var stale in _eventMessages.Keys.Where(k => !_pods.ContainsKey(k)).ToArray())
                {
                    _eventMessages.Remove(stale);
                }
            }

            byKey = new Dictionary<string, EventMessage>(StringComparer.Ordinal);
            _eventMessages[uid] = byKey;
        }

        var key = PodPullState.ImageInMessage(warning.Message) ?? ContainerKey(container);
        if (byKey.TryGetValue(key, out var known) && known.At > at)
        {
            return [];
        }

        byKey[key] = new EventMessage(warning.Message!, at);
        if (!_pods.TryGetValue(uid, out var entry) || !entry.States.TryGetValue(container, out var state))
        {
            return [];
        }

        var message = EffectiveMessage(entry, state);
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

    /// <summary>
    /// The newest runtime words about this pod and image: a Warning event's message about the image (or about the
    /// container, when it names no image), else the status message when it carries the runtime's words, else the last
    /// status message that did (kept while the container backs off), else the status message as it is.
    /// </summary>
    private string EffectiveMessage(PodEntry entry, ContainerPullState state)
    {
        if (_eventMessages.TryGetValue(entry.Pod.Uid, out var byKey)
            && (byKey.TryGetValue(state.Image, out var fromEvent) || byKey.TryGetValue(ContainerKey(state.Container), out fromEvent)))
        {
            return fromEvent.Text;
        }

        return entry.StatusMessages.TryGetValue(state.Image, out var earlier) && !PodPullState.IsRuntimeMessage(state.StatusMessage)
            ? earlier
            : state.StatusMessage;
    }

    /// <summary>The key of an event message that names no image: only its container is known.</summary>
    private static string ContainerKey(string container) => "container:" + container;

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

        /// <summary>Image → the last status message with the runtime's words (an ErrImagePull status), kept through the back-off.</summary>
        public Dictionary<string, string> StatusMessages { get; } = new(StringComparer.Ordinal);
    }

    private sealed record EventMessage(string Text, DateTime At);
}
