using System.Text.Json.Serialization;

namespace ChatOpsPull.Detection.Webhooks;

/// <summary>
/// One alert of the generic webhook (<c>POST /alerts</c>): a body is one of these or an array of them. Unknown fields
/// are rejected so a misspelt field is not silently lost. See README, "Alert webhooks".
/// </summary>
public sealed class GenericAlert
{
    /// <summary>"firing" (the pull is failing) or "resolved" (it is over).</summary>
    public string? Status { get; set; }

    /// <summary>Defaults to Bot:Cluster.</summary>
    public string? Cluster { get; set; }

    public string? Namespace { get; set; }

    public string? Pod { get; set; }

    /// <summary>Empty or absent: the whole pod.</summary>
    public string? Container { get; set; }

    /// <summary>"regular" (default), "init" or "ephemeral".</summary>
    public string? ContainerKind { get; set; }

    public string? Image { get; set; }

    /// <summary>The waiting reason: ErrImagePull, ImagePullBackOff, InvalidImageName, ErrImageNeverPull. Required when firing.</summary>
    public string? Reason { get; set; }

    /// <summary>The kubelet/runtime message, if the tool has it.</summary>
    public string? Message { get; set; }

    public GenericWorkload? Workload { get; set; }

    /// <summary>The node the pod runs on.</summary>
    public string? Node { get; set; }

    /// <summary>When the tool saw it (RFC 3339); defaults to when the bot received it.</summary>
    public DateTimeOffset? ObservedAt { get; set; }
}

/// <summary>The workload that owns the pod, if the tool knows it.</summary>
public sealed class GenericWorkload
{
    /// <summary>Deployment, StatefulSet, DaemonSet, Job, CronJob, ReplicaSet or Pod.</summary>
    public string? Kind { get; set; }

    public string? Name { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(GenericAlert))]
[JsonSerializable(typeof(List<GenericAlert?>))]
public sealed partial class GenericAlertJsonContext : JsonSerializerContext;
