using ChatOpsPull.Core.Failures;
using ChatOpsPull.Incidents;
using ChatOpsPull.Kubernetes;
using k8s.Models;

namespace ChatOpsPull.Detection.KubernetesWatch;

/// <summary>The parts of a pod the watcher keeps while one of its containers cannot pull.</summary>
public sealed record TrackedPod(string Uid, string Namespace, string Name, string? NodeName, IReadOnlyList<V1OwnerReference> Owners)
{
    /// <summary>The pod's ServiceAccount and pull-secret names (immutable on a pod), handed on beside its reports.</summary>
    public PodCredentialNames? Credentials { get; init; }
}

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
/// kept, so memory follows the number of failures, not the number of pods, and a failing pod is one small entry (its
/// controller reference and one slot per failing container, no dictionary of its own). Deduplicates on pod uid + container +
/// reason + message, so a relist or a replayed watch reports nothing twice.
/// </summary>
public sealed class PullFailureTracker
{
    private const int EventMessageLimit = 20_000;
    private readonly Dictionary<string, PodEntry> _pods = new(StringComparer.Ordinal);
    private readonly Dictionary<string, EventMessage[]> _eventMessages = new(StringComparer.Ordinal);

    public int TrackedPodCount => _pods.Count;

    /// <summary>Pods whose Warning events' runtime words are kept (failing pods, and pods whose failure is not seen yet).</summary>
    internal int PodsWithEventMessages => _eventMessages.Count;

    /// <summary>A pod was added or modified (from a watch or a list).</summary>
    public IReadOnlyList<TrackerChange> ObservePod(V1Pod pod) => ObservePod(WatchedPod.From(pod));

    /// <summary>
    /// A pod was added or modified. <paramref name="listMark"/> (not 0) says it came from the list of that mark, so
    /// <see cref="RelistCompleted(string?, int)"/> knows it is still there.
    /// </summary>
    public IReadOnlyList<TrackerChange> ObservePod(WatchedPod pod, int listMark = 0)
    {
        var uid = pod.Uid;
        if (uid is null)
        {
            return [];
        }

        var failing = pod.Failing;
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
        else if (entry.Pod.NodeName != pod.NodeName)
        {
            entry.Pod = Track(pod);
        }

        if (listMark != 0)
        {
            entry.ListMark = listMark;
        }

        foreach (var state in failing)
        {
            var slot = entry.Slot(state.Container);
            if (slot is null)
            {
                slot = new ContainerSlot(state);
                entry.Add(slot);
            }

            slot.State = state;
            if (PodPullState.IsRuntimeMessage(state.StatusMessage))
            {
                entry.SetStatusMessage(state.Image, state.StatusMessage);
            }

            var message = EffectiveMessage(entry, state);
            if (slot.ReportedReason is null || slot.ReportedReason != state.Reason || slot.ReportedMessage != message)
            {
                slot.ReportedReason = state.Reason;
                slot.ReportedMessage = message;
                changes.Add(new FailureChange(entry.Pod, state, message));
            }
        }

        // Containers is replaced, not changed, by Remove: this loop walks the array as it was.
        foreach (var slot in entry.Containers)
        {
            if (Fails(failing, slot.State.Container))
            {
                continue;
            }

            entry.Remove(slot);
            entry.RemoveStatusMessage(slot.State.Image);
            if (_eventMessages.TryGetValue(uid, out var byKey))
            {
                byKey = EventMessage.Without(EventMessage.Without(byKey, slot.State.Image), ContainerKey(slot.State.Container));
                _eventMessages[uid] = byKey;
            }

            changes.Add(new ResolvedChange(entry.Pod, slot.State.Container, PodResolution.Ready));
        }

        if (entry.Containers.Length == 0)
        {
            // Nothing of the pod is kept once it no longer fails: a later failure brings its own status and events.
            _pods.Remove(uid);
            ForgetEventMessages(uid);
        }

        return changes;
    }

    /// <summary>A pod was deleted: everything reported for it is resolved.</summary>
    public IReadOnlyList<TrackerChange> PodDeleted(V1Pod pod) => PodDeleted(pod.Metadata?.Uid);

    /// <summary>The pod with this uid was deleted: everything reported for it is resolved.</summary>
    public IReadOnlyList<TrackerChange> PodDeleted(string? uid)
    {
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
    public IReadOnlyList<TrackerChange> ObserveWarning(Corev1Event warning) => ObserveWarning(WatchedEvent.From(warning));

    /// <inheritdoc cref="ObserveWarning(Corev1Event)"/>
    public IReadOnlyList<TrackerChange> ObserveWarning(WatchedEvent warning)
    {
        var uid = warning.Subject?.Uid;
        if (uid is null || !PodPullState.TryParseFieldPath(warning.Subject!.FieldPath, out _, out var container)
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

            byKey = [];
        }

        var key = PodPullState.ImageInMessage(warning.Message) ?? ContainerKey(container);
        if (EventMessage.Find(byKey, key) is { } known && known.At > at)
        {
            return [];
        }

        _eventMessages[uid] = EventMessage.With(byKey, new EventMessage(key, warning.Message!, at));
        if (!_pods.TryGetValue(uid, out var entry) || entry.Slot(container) is not { } slot)
        {
            return [];
        }

        var message = EffectiveMessage(entry, slot.State);
        if (slot.ReportedMessage == message)
        {
            return [];
        }

        slot.ReportedReason = slot.State.Reason;
        slot.ReportedMessage = message;
        return [new FailureChange(entry.Pod, slot.State, message)];
    }

    /// <summary>
    /// After a full relist of <paramref name="namespace"/> (null: all namespaces): pods tracked there that the list no
    /// longer has were deleted while the watch was down.
    /// </summary>
    public IReadOnlyList<TrackerChange> RelistCompleted(string? @namespace, IReadOnlySet<string> listedUids) =>
        Forget(e => (@namespace is null || e.Pod.Namespace == @namespace) && !listedUids.Contains(e.Pod.Uid));

    /// <summary>
    /// After a full relist of <paramref name="namespace"/> (null: all namespaces) whose pods came with
    /// <paramref name="listMark"/>: pods tracked there that the list did not carry were deleted while the watch was down.
    /// </summary>
    public IReadOnlyList<TrackerChange> RelistCompleted(string? @namespace, int listMark) =>
        Forget(e => (@namespace is null || e.Pod.Namespace == @namespace) && e.ListMark != listMark);

    private List<TrackerChange> Forget(Func<PodEntry, bool> gone)
    {
        var entries = _pods.Values.Where(gone).ToArray();
        var changes = new List<TrackerChange>(entries.Length);
        foreach (var entry in entries)
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
            && (EventMessage.Find(byKey, state.Image) ?? EventMessage.Find(byKey, ContainerKey(state.Container))) is { } fromEvent)
        {
            return fromEvent.Text;
        }

        return entry.StatusMessage(state.Image) is { } earlier && !PodPullState.IsRuntimeMessage(state.StatusMessage)
            ? earlier
            : state.StatusMessage;
    }

    private static bool Fails(IReadOnlyList<ContainerPullState> failing, string container)
    {
        foreach (var state in failing)
        {
            if (state.Container == container)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The key of an event message that names no image: only its container is known.</summary>
    private static string ContainerKey(string container) => "container:" + container;

    private void ForgetEventMessages(string uid) => _eventMessages.Remove(uid);

    private static TrackedPod Track(WatchedPod pod) => new(
        pod.Uid!,
        pod.Namespace,
        pod.Name,
        pod.NodeName,
        pod.Controller is null ? [] : [pod.Controller])
    {
        Credentials = PodCredentialNames.Of(pod.ServiceAccountName, pod.ImagePullSecrets),
    };

    private static DateTime EventTime(WatchedEvent e) => e.LastSeen ?? e.Times.Created ?? DateTime.MinValue;

    /// <summary>One failing pod: its identity, one slot per failing container, and the runtime messages kept per image.</summary>
    private sealed class PodEntry(TrackedPod pod)
    {
        private (string Image, string Message)[]? _statusMessages;

        public TrackedPod Pod { get; set; } = pod;

        /// <summary>The mark of the last list that carried this pod.</summary>
        public int ListMark { get; set; }

        public ContainerSlot[] Containers { get; private set; } = [];

        public ContainerSlot? Slot(string container) => Array.Find(Containers, c => c.State.Container == container);

        public void Add(ContainerSlot slot) => Containers = [.. Containers, slot];

        public void Remove(ContainerSlot slot) => Containers = Array.FindAll(Containers, c => c != slot);

        /// <summary>Image → the last status message with the runtime's words (an ErrImagePull status), kept through the back-off.</summary>
        public string? StatusMessage(string image) =>
            _statusMessages is null ? null : Array.Find(_statusMessages, m => m.Image == image).Message;

        public void SetStatusMessage(string image, string message)
        {
            var at = _statusMessages is null ? -1 : Array.FindIndex(_statusMessages, m => m.Image == image);
            if (at >= 0)
            {
                _statusMessages![at].Message = message;
            }
            else
            {
                _statusMessages = [.. _statusMessages ?? [], (image, message)];
            }
        }

        public void RemoveStatusMessage(string image)
        {
            if (_statusMessages is not null)
            {
                var left = Array.FindAll(_statusMessages, m => m.Image != image);
                _statusMessages = left.Length == 0 ? null : left;
            }
        }
    }

    /// <summary>One failing container: its latest state and what was last reported for it.</summary>
    private sealed class ContainerSlot(ContainerPullState state)
    {
        public ContainerPullState State { get; set; } = state;

        public string? ReportedReason { get; set; }

        public string? ReportedMessage { get; set; }
    }

    /// <summary>A Warning event's runtime words about one image (or container) of a pod, and when they were said.</summary>
    private sealed record EventMessage(string Key, string Text, DateTime At)
    {
        public static EventMessage? Find(EventMessage[] messages, string key) => Array.Find(messages, m => m.Key == key);

        public static EventMessage[] With(EventMessage[] messages, EventMessage message) =>
            [.. Without(messages, message.Key), message];

        public static EventMessage[] Without(EventMessage[] messages, string key) =>
            Array.Exists(messages, m => m.Key == key) ? Array.FindAll(messages, m => m.Key != key) : messages;
    }
}
