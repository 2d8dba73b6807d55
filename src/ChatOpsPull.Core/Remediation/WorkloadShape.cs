using ChatOpsPull.Core.Failures;

namespace ChatOpsPull.Core.Remediation;

/// <summary>
/// What of a workload decides how a fix acts on it, read from the object: a paused Deployment rolls nothing, an
/// <c>OnDelete</c> StatefulSet or DaemonSet replaces no pod by itself, a partitioned StatefulSet updates only the pods at
/// or above its partition, a CronJob's pods come from Jobs whose template cannot change, and a workload another tool owns
/// (<see cref="Owner"/>) gets its declared spec back.
/// </summary>
/// <param name="Kind">"Deployment", "StatefulSet", "DaemonSet", "CronJob", "ReplicaSet", "Job", or another controller's kind ("Rollout").</param>
public sealed record WorkloadShape(string Kind, string Name)
{
    /// <summary>A Deployment's <c>spec.paused</c>.</summary>
    public bool Paused { get; init; }

    /// <summary><c>spec.updateStrategy.type</c> of a StatefulSet or DaemonSet ("RollingUpdate", "OnDelete"), a Deployment's <c>spec.strategy.type</c>; null for other kinds.</summary>
    public string? UpdateStrategy { get; init; }

    /// <summary>A StatefulSet's <c>spec.updateStrategy.rollingUpdate.partition</c> (0 when unset).</summary>
    public int Partition { get; init; }

    /// <summary><c>spec.replicas</c> where the kind has one.</summary>
    public int? Replicas { get; init; }

    /// <summary>The tool that owns the workload and puts back what it declared, or null.</summary>
    public WorkloadOwner? Owner { get; init; }

    public WorkloadRef Ref => new(Kind, Name);

    /// <summary>A StatefulSet or DaemonSet that replaces a pod only when someone deletes it.</summary>
    public bool IsOnDelete => UpdateStrategy == "OnDelete" && Kind is "StatefulSet" or "DaemonSet";

    /// <summary>The kinds whose pod template the bot patches (the rest are refused or changed only through their pods).</summary>
    public static bool IsTemplateKind(string kind) => kind is "Deployment" or "StatefulSet" or "DaemonSet" or "CronJob";
}
