namespace ChatOpsPull.Core.Failures;

/// <summary>Where a failure was seen.</summary>
public enum FailureSource
{
    KubernetesWatch,
    Alertmanager,
    Webhook,
    Cli,
}

/// <summary>Which list of the pod spec the container is in.</summary>
public enum ContainerKind
{
    Regular,
    Init,
    Ephemeral,
}

/// <summary>The workload that owns a pod, found by walking owner references (Pod → ReplicaSet → Deployment, …).</summary>
/// <param name="Kind">Deployment, StatefulSet, DaemonSet, Job, CronJob, ReplicaSet, or Pod for a bare pod.</param>
public sealed record WorkloadRef(string Kind, string Name)
{
    public override string ToString() => $"{Kind.ToLowerInvariant()}/{Name}";
}

/// <summary>
/// One container of one pod that cannot pull its image, as a source reports it.
/// </summary>
/// <param name="Cluster">Configured cluster name (e.g. "prod-eu").</param>
/// <param name="Reason">The waiting reason: ErrImagePull, ImagePullBackOff, InvalidImageName, ErrImageNeverPull; or an alert's reason label.</param>
/// <param name="Message">The kubelet/runtime message (container status message or Warning event message); may be empty.</param>
/// <param name="Workload">Owner workload where known; null until inspected.</param>
public sealed record PullFailure(
    FailureSource Source,
    string Cluster,
    string Namespace,
    string Pod,
    string Container,
    ContainerKind ContainerKind,
    string Image,
    string Reason,
    string Message,
    DateTimeOffset ObservedAt)
{
    public WorkloadRef? Workload { get; init; }

    public string? NodeName { get; init; }

    /// <summary>The pod's imagePullPolicy for this container, where known.</summary>
    public string? PullPolicy { get; init; }

    /// <summary>A stable key for "this container of this pod" (used to resolve and de-duplicate).</summary>
    public string PodKey => $"{Cluster}/{Namespace}/{Pod}/{Container}";

    /// <summary>
    /// The waiting reasons kubelet uses for image pull failures (pkg/kubelet/images/types.go and the CRI errors kubelet
    /// passes through: RegistryUnavailable, SignatureValidationFailed), and ErrImageNotEnsured (KEP-2535).
    /// </summary>
    public static IReadOnlySet<string> PullReasons { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
        "ImageInspectError",
        "ErrImageNotEnsured",
        "RegistryUnavailable",
        "SignatureValidationFailed",
    };
}
