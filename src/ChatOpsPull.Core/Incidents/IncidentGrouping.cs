using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Images;

namespace ChatOpsPull.Core.Incidents;

/// <summary>What to do with one reported failure, given the incidents already there for its subject.</summary>
public abstract record GroupingDecision
{
    private GroupingDecision()
    {
    }

    /// <summary>Add the pod to an open incident; <paramref name="UpgradeTo"/> re-keys it to a more specific cause.</summary>
    public sealed record Join(Incident Incident, PullCause? UpgradeTo) : GroupingDecision;

    /// <summary>The same problem came back inside the quiet window: reopen this closed incident instead of a new one.</summary>
    public sealed record Reopen(Incident Incident, PullCause? UpgradeTo) : GroupingDecision;

    /// <summary>Nothing open or recent fits: a new incident with this key.</summary>
    public sealed record Open(IncidentKey Key) : GroupingDecision;
}

/// <summary>How a pod's entry in an incident changed.</summary>
public enum PodChange
{
    /// <summary>Same pod, same reason and message: nothing to store.</summary>
    None,

    /// <summary>Only LastSeen moved forward (stored, nobody told).</summary>
    Seen,

    /// <summary>A pod not in the incident before.</summary>
    Joined,

    /// <summary>A pod that had recovered is failing again.</summary>
    Rejoined,

    /// <summary>Same pod, a new reason or a more specific message.</summary>
    Updated,
}

/// <summary>
/// The pure rules that group pull failures into incidents. Key = cluster + namespace + subject + cause, where the
/// subject is the workload ("deployment/api") or the image when the owner is unknown. Vague causes (back-off only,
/// unknown) never open a second incident for a subject that already has one; a specific cause upgrades a vague one.
/// </summary>
public static class IncidentGrouping
{
    /// <summary>How often a pod's LastSeen is written when nothing else about it changed.</summary>
    public static readonly TimeSpan SeenResolution = TimeSpan.FromMinutes(1);

    /// <summary>Back-off only and unknown messages say nothing about the cause.</summary>
    public static bool IsVague(PullCause cause) => cause is PullCause.BackoffOnly or PullCause.Unknown;

    /// <summary>0 back-off only, 1 unknown, 2 anything specific.</summary>
    public static int Specificity(PullCause cause) => cause switch
    {
        PullCause.BackoffOnly => 0,
        PullCause.Unknown => 1,
        _ => 2,
    };

    /// <summary>
    /// "deployment/api"; when the owner is unknown (alerts without owner labels), the workload the pod's name points to
    /// (<see cref="WorkloadInference"/>), else the image (familiar form).
    /// </summary>
    public static string SubjectOf(PullFailure failure) =>
        failure.Workload is { } workload ? workload.ToString()
        : WorkloadInference.FromPodName(failure.Pod) is { } inferred ? inferred.Subject
        : ImageSubject(failure.Image);

    /// <summary>
    /// The workload an incident's subject was inferred from its pods' names, or null when its subject is a known owner or
    /// an image. Cards say "inferred" for it.
    /// </summary>
    public static InferredWorkload? InferredWorkloadOf(Incident incident) =>
        incident.Workload is null
            ? incident.Pods.Select(p => p.Pod).Order(StringComparer.Ordinal) // the same pod however the pods were read or joined
                .Select(WorkloadInference.FromPodName).FirstOrDefault(w => w is not null && w.Subject == incident.Key.Subject)
            : null;

    /// <summary>The image as people write it ("nginx:1.25"); the raw text when it does not parse.</summary>
    public static string ImageSubject(string image)
    {
        var trimmed = image.Trim();
        return ImageReference.TryParse(trimmed, out var reference, out _) ? reference.FamiliarString : trimmed;
    }

    public static IncidentKey KeyOf(PullFailure failure, PullCause cause) =>
        new(failure.Cluster, failure.Namespace, SubjectOf(failure), cause);

    /// <summary>
    /// Picks the incident a failure belongs to.
    /// </summary>
    /// <param name="open">Open incidents of the failure's cluster/namespace/subject (any cause).</param>
    /// <param name="recentlyClosed">Closed incidents of that subject; those closed inside <paramref name="quietWindow"/> can be reopened.</param>
    public static GroupingDecision Decide(
        PullFailure failure,
        PullCause cause,
        IReadOnlyList<Incident> open,
        IReadOnlyList<Incident> recentlyClosed,
        DateTimeOffset now,
        TimeSpan quietWindow)
    {
        var subject = SubjectOf(failure);
        var candidates = open.Where(i => !i.IsClosed && Matches(i.Key, failure.Cluster, failure.Namespace, subject)).ToList();
        var reopenable = recentlyClosed
            .Where(i => i.IsClosed && Matches(i.Key, failure.Cluster, failure.Namespace, subject)
                && i.ResolvedAt is { } resolved && now - resolved <= quietWindow)
            .OrderByDescending(i => i.ResolvedAt)
            .ToList();

        if (!IsVague(cause))
        {
            var exact = candidates.Find(i => i.Key.Cause == cause);
            if (exact is not null)
            {
                return new GroupingDecision.Join(exact, null);
            }

            var vague = Preferred(candidates.Where(i => IsVague(i.Key.Cause)), failure);
            if (vague is not null)
            {
                return new GroupingDecision.Join(vague, cause);
            }

            var relapse = reopenable.Find(i => i.Key.Cause == cause) ?? reopenable.Find(i => IsVague(i.Key.Cause));
            if (relapse is not null)
            {
                return new GroupingDecision.Reopen(relapse, relapse.Key.Cause == cause ? null : cause);
            }

            return new GroupingDecision.Open(new IncidentKey(failure.Cluster, failure.Namespace, subject, cause));
        }

        var any = Preferred(candidates, failure);
        if (any is not null)
        {
            return new GroupingDecision.Join(any, Upgrade(any.Key.Cause, cause));
        }

        if (reopenable.Count > 0)
        {
            var relapse = reopenable[0];
            return new GroupingDecision.Reopen(relapse, Upgrade(relapse.Key.Cause, cause));
        }

        return new GroupingDecision.Open(new IncidentKey(failure.Cluster, failure.Namespace, subject, cause));
    }

    /// <summary>Adds or refreshes the failure's pod in the incident. Returns the incident unchanged when nothing changed.</summary>
    public static (Incident Incident, PodChange Change) ApplyPod(Incident incident, PullFailure failure, PullCause cause)
    {
        var index = FindPod(incident.Pods, failure.Pod, failure.Container);
        var pods = incident.Pods.ToList();
        if (index < 0)
        {
            pods.Add(new AffectedPod(failure.Pod, failure.Container, failure.Reason, failure.Message, failure.ObservedAt, failure.ObservedAt)
            {
                NodeName = failure.NodeName,
            });
            return (incident with { Pods = pods }, PodChange.Joined);
        }

        var existing = pods[index];
        var keepOldMessage = IsVague(cause) && !IsVague(MessageCauseOf(existing));
        var reason = keepOldMessage ? existing.Reason : failure.Reason;
        var message = keepOldMessage ? existing.Message : failure.Message;
        var lastSeen = failure.ObservedAt > existing.LastSeen ? failure.ObservedAt : existing.LastSeen;
        var node = failure.NodeName ?? existing.NodeName;

        if (existing.ResolvedAt is not null)
        {
            pods[index] = existing with { Reason = reason, Message = message, LastSeen = lastSeen, ResolvedAt = null, NodeName = node };
            return (incident with { Pods = pods }, PodChange.Rejoined);
        }

        if (!string.Equals(reason, existing.Reason, StringComparison.Ordinal)
            || !string.Equals(message, existing.Message, StringComparison.Ordinal)
            || !string.Equals(node, existing.NodeName, StringComparison.Ordinal))
        {
            pods[index] = existing with { Reason = reason, Message = message, LastSeen = lastSeen, NodeName = node };
            return (incident with { Pods = pods }, PodChange.Updated);
        }

        if (lastSeen - existing.LastSeen >= SeenResolution)
        {
            pods[index] = existing with { LastSeen = lastSeen };
            return (incident with { Pods = pods }, PodChange.Seen);
        }

        return (incident, PodChange.None);
    }

    /// <summary>Marks the pod's containers (all when <paramref name="container"/> is null) recovered.</summary>
    public static (Incident Incident, int Resolved) ResolvePods(Incident incident, string pod, string? container, DateTimeOffset at)
    {
        var count = 0;
        var pods = incident.Pods
            .Select(p =>
            {
                if (p.ResolvedAt is null && p.Pod == pod && (container is null || p.Container == container))
                {
                    count++;
                    return p with { ResolvedAt = at };
                }

                return p;
            })
            .ToList();
        return count == 0 ? (incident, 0) : (incident with { Pods = pods }, count);
    }

    private static PullCause MessageCauseOf(AffectedPod pod) =>
        Classification.MessageClassifier.Classify(pod.Message, pod.Reason).Cause;

    private static PullCause? Upgrade(PullCause current, PullCause reported) =>
        Specificity(reported) > Specificity(current) ? reported : null;

    private static bool Matches(IncidentKey key, string cluster, string @namespace, string subject) =>
        key.Cluster == cluster && key.Namespace == @namespace && key.Subject == subject;

    /// <summary>The incident that already has this pod, else the one updated last.</summary>
    private static Incident? Preferred(IEnumerable<Incident> incidents, PullFailure failure)
    {
        var list = incidents.ToList();
        return list.Find(i => FindPod(i.Pods, failure.Pod, failure.Container) >= 0)
            ?? list.OrderByDescending(i => i.UpdatedAt).ThenBy(i => i.Id, StringComparer.Ordinal).FirstOrDefault();
    }

    private static int FindPod(IReadOnlyList<AffectedPod> pods, string pod, string container)
    {
        for (var i = 0; i < pods.Count; i++)
        {
            if (pods[i].Pod == pod && pods[i].Container == container)
            {
                return i;
            }
        }

        return -1;
    }
}
