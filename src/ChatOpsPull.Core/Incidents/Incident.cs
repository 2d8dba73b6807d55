using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Failures;

namespace ChatOpsPull.Core.Incidents;

/// <summary>Open → Diagnosed → AwaitingApproval → Remediating → Resolved/Failed.</summary>
public enum IncidentState
{
    Open,
    Diagnosed,
    AwaitingApproval,
    Remediating,
    Resolved,
    Failed,
}

/// <summary>
/// What makes two failures the same problem: cluster + namespace + workload (or image when no workload is known) + cause.
/// </summary>
/// <param name="Subject">"deployment/api", or the image name when the owner is unknown (alerts without owner labels).</param>
public sealed record IncidentKey(string Cluster, string Namespace, string Subject, PullCause Cause)
{
    public override string ToString() => $"{Cluster}/{Namespace}/{Subject}/{Cause.ToSnakeCase()}";
}

/// <summary>One pod's container that is (or was) failing in an incident.</summary>
public sealed record AffectedPod(
    string Pod,
    string Container,
    string Reason,
    string Message,
    DateTimeOffset FirstSeen,
    DateTimeOffset LastSeen)
{
    public DateTimeOffset? ResolvedAt { get; init; }

    public string? NodeName { get; init; }
}

/// <summary>
/// A grouped pull problem. One card per incident per channel, updated in place.
/// </summary>
/// <param name="Id">Short stable id people can type: "inc-4f2a9c".</param>
/// <param name="Image">The image reference as the pod spec has it.</param>
/// <param name="Version">Incremented on every change; stores use it for optimistic concurrency.</param>
public sealed record Incident(
    string Id,
    IncidentKey Key,
    string Image,
    IncidentState State,
    DateTimeOffset OpenedAt,
    DateTimeOffset UpdatedAt,
    IReadOnlyList<AffectedPod> Pods,
    int Version)
{
    public WorkloadRef? Workload { get; init; }

    public Diagnosis? Diagnosis { get; init; }

    public DateTimeOffset? ResolvedAt { get; init; }

    public DateTimeOffset? SnoozedUntil { get; init; }

    /// <summary>When set, this incident is rolled up under another incident's card (storm across workloads).</summary>
    public string? RollupOf { get; init; }

    public int ActivePodCount => Pods.Count(p => p.ResolvedAt is null);

    public bool IsClosed => State is IncidentState.Resolved or IncidentState.Failed;
}
