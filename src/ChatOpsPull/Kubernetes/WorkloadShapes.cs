using System.Text.Json.Nodes;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Remediation;
using k8s;
using k8s.Autorest;

namespace ChatOpsPull.Kubernetes;

/// <summary>
/// A workload's <see cref="WorkloadShape"/> from its object as the API serves it (JSON as <c>kubectl get -o json</c>
/// prints it): pause, update strategy and partition, replicas, and the tool that owns it (<see cref="WorkloadOwnership"/>).
/// One reading for the diagnosis (which reads the workload with <see cref="ReadAsync"/>) and remediation (which has the
/// object already).
/// </summary>
public static class WorkloadShapes
{
    public static WorkloadShape From(JsonObject workload, string kind)
    {
        ArgumentNullException.ThrowIfNull(workload);
        var metadata = workload["metadata"];
        var spec = workload["spec"];
        var name = metadata?["name"]?.GetValue<string>() ?? string.Empty;
        var shape = new WorkloadShape(kind, name)
        {
            Replicas = Int(spec?["replicas"]),
            Owner = WorkloadOwnership.Detect(Map(metadata?["labels"]), Map(metadata?["annotations"]), Controller(metadata)),
        };
        return kind switch
        {
            "Deployment" => shape with
            {
                Paused = spec?["paused"] is JsonValue paused && paused.TryGetValue<bool>(out var p) && p,
                UpdateStrategy = spec?["strategy"]?["type"]?.GetValue<string>() ?? "RollingUpdate",
            },
            "StatefulSet" => shape with
            {
                UpdateStrategy = spec?["updateStrategy"]?["type"]?.GetValue<string>() ?? "RollingUpdate",
                Partition = Int(spec?["updateStrategy"]?["rollingUpdate"]?["partition"]) ?? 0,
            },
            "DaemonSet" => shape with { UpdateStrategy = spec?["updateStrategy"]?["type"]?.GetValue<string>() ?? "RollingUpdate" },
            _ => shape,
        };
    }

    /// <summary>
    /// The workload object itself (a V1Deployment, V1StatefulSet, V1DaemonSet, V1CronJob or V1ReplicaSet) for the kinds
    /// the bot may read, else null; throws <see cref="HttpOperationException"/> when it cannot be read. One read serves
    /// the shape and the rollout history (<see cref="Of"/>).
    /// </summary>
    public static async Task<object?> ReadWorkloadAsync(IKubernetes client, string @namespace, WorkloadRef workload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(workload);
        return workload.Kind switch
        {
            "Deployment" => await client.AppsV1.ReadNamespacedDeploymentAsync(workload.Name, @namespace, cancellationToken: cancellationToken).ConfigureAwait(false),
            "StatefulSet" => await client.AppsV1.ReadNamespacedStatefulSetAsync(workload.Name, @namespace, cancellationToken: cancellationToken).ConfigureAwait(false),
            "DaemonSet" => await client.AppsV1.ReadNamespacedDaemonSetAsync(workload.Name, @namespace, cancellationToken: cancellationToken).ConfigureAwait(false),
            "CronJob" => await client.BatchV1.ReadNamespacedCronJobAsync(workload.Name, @namespace, cancellationToken: cancellationToken).ConfigureAwait(false),
            "ReplicaSet" => await client.AppsV1.ReadNamespacedReplicaSetAsync(workload.Name, @namespace, cancellationToken: cancellationToken).ConfigureAwait(false),
            _ => null,
        };
    }

    /// <summary>
    /// The shape of the workload at the top of a pod's owner chain, from the object <see cref="ReadWorkloadAsync"/> returned
    /// for the kinds the bot may read (Deployment, StatefulSet, DaemonSet, CronJob, ReplicaSet); for another controller's
    /// kind (an Argo Rollouts Rollout, an operator's resource; <paramref name="read"/> null) from the owner reference alone.
    /// </summary>
    public static WorkloadShape? Of(object? read, OwnerChain owners)
    {
        ArgumentNullException.ThrowIfNull(owners);
        var workload = owners.Workload;
        if (read is not null)
        {
            return From(JsonNode.Parse(KubernetesJson.Serialize(read))!.AsObject(), workload.Kind);
        }

        return workload.Kind is "Pod" or "Job"
            ? null
            : OfController(workload, owners.WorkloadApiVersion);
    }

    /// <summary>The shape of a workload the bot cannot read: another controller's kind, known from its owner reference.</summary>
    public static WorkloadShape OfController(WorkloadRef workload, string? apiVersion) => new(workload.Kind, workload.Name)
    {
        Owner = WorkloadOwnership.Detect(null, null, new ControllerRef(apiVersion ?? string.Empty, workload.Kind, workload.Name)),
    };

    /// <summary>metadata.ownerReferences[controller=true], or null.</summary>
    public static ControllerRef? Controller(JsonNode? metadata) =>
        (metadata?["ownerReferences"] as JsonArray ?? [])
            .OfType<JsonObject>()
            .Where(o => o["controller"] is JsonValue c && c.TryGetValue<bool>(out var isController) && isController)
            .Select(o => new ControllerRef(o["apiVersion"]?.GetValue<string>() ?? string.Empty, o["kind"]?.GetValue<string>() ?? string.Empty, o["name"]?.GetValue<string>() ?? string.Empty))
            .FirstOrDefault();

    private static Dictionary<string, string> Map(JsonNode? node) =>
        (node as JsonObject ?? [])
            .Where(p => p.Value is JsonValue v && v.TryGetValue<string>(out _))
            .ToDictionary(p => p.Key, p => p.Value!.GetValue<string>(), StringComparer.Ordinal);

    private static int? Int(JsonNode? node) =>
        node is JsonValue v && v.TryGetValue<long>(out var l) ? (int)l : node is JsonValue w && w.TryGetValue<int>(out var i) ? i : null;
}
