namespace ChatOpsPull.Tests.Kubernetes.FakeApi;

/// <summary>One API resource the fake serves, as discovery describes it.</summary>
/// <param name="Group">"" for core, "apps", "batch", "coordination.k8s.io".</param>
/// <param name="Plural">URL segment and RBAC resource name ("pods").</param>
/// <param name="HasGeneration">metadata.generation counts spec changes (workloads).</param>
/// <param name="HasStatus">Has a /status subresource: the main endpoint ignores .status, /status changes only it.</param>
/// <param name="FieldLabels">Field selectors the real API server supports beyond metadata.name/metadata.namespace.</param>
public sealed record ResourceType(
    string Group,
    string Version,
    string Plural,
    string Kind,
    bool Namespaced,
    bool HasGeneration,
    bool HasStatus,
    bool ReturnsDeletedObject,
    IReadOnlyDictionary<string, string> FieldLabels)
{
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    public string ListKind => Kind + "List";

    /// <summary>"pods", "deployments.apps": how error messages name the resource.</summary>
    public string QualifiedName => Group.Length == 0 ? Plural : $"{Plural}.{Group}";

    private static readonly Dictionary<string, string> None = new(StringComparer.Ordinal);

    public static IReadOnlyList<ResourceType> All { get; } =
    [
        new("", "v1", "namespaces", "Namespace", false, false, true, false, new Dictionary<string, string>(StringComparer.Ordinal) { ["status.phase"] = "status.phase" }),
        new("", "v1", "pods", "Pod", true, false, true, true, new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["spec.nodeName"] = "spec.nodeName",
            ["spec.restartPolicy"] = "spec.restartPolicy",
            ["spec.schedulerName"] = "spec.schedulerName",
            ["spec.serviceAccountName"] = "spec.serviceAccountName",
            ["status.phase"] = "status.phase",
            ["status.podIP"] = "status.podIP",
            ["status.nominatedNodeName"] = "status.nominatedNodeName",
        }),
        new("", "v1", "events", "Event", true, false, false, false, new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["involvedObject.kind"] = "involvedObject.kind",
            ["involvedObject.namespace"] = "involvedObject.namespace",
            ["involvedObject.name"] = "involvedObject.name",
            ["involvedObject.uid"] = "involvedObject.uid",
            ["involvedObject.apiVersion"] = "involvedObject.apiVersion",
            ["involvedObject.resourceVersion"] = "involvedObject.resourceVersion",
            ["involvedObject.fieldPath"] = "involvedObject.fieldPath",
            ["reason"] = "reason",
            ["reportingComponent"] = "reportingComponent",
            ["source"] = "source.component",
            ["type"] = "type",
        }),
        new("", "v1", "nodes", "Node", false, false, true, false, new Dictionary<string, string>(StringComparer.Ordinal) { ["spec.unschedulable"] = "spec.unschedulable" }),
        new("", "v1", "secrets", "Secret", true, false, false, false, new Dictionary<string, string>(StringComparer.Ordinal) { ["type"] = "type" }),
        new("", "v1", "serviceaccounts", "ServiceAccount", true, false, false, false, None),
        new("apps", "v1", "deployments", "Deployment", true, true, true, false, None),
        new("apps", "v1", "replicasets", "ReplicaSet", true, true, true, false, new Dictionary<string, string>(StringComparer.Ordinal) { ["status.replicas"] = "status.replicas" }),
        new("apps", "v1", "statefulsets", "StatefulSet", true, true, true, false, None),
        new("apps", "v1", "daemonsets", "DaemonSet", true, true, true, false, None),
        new("batch", "v1", "jobs", "Job", true, true, true, false, new Dictionary<string, string>(StringComparer.Ordinal) { ["status.successful"] = "status.succeeded" }),
        new("batch", "v1", "cronjobs", "CronJob", true, true, true, false, None),
        new("coordination.k8s.io", "v1", "leases", "Lease", true, false, false, false, None),
        new("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", "ValidatingWebhookConfiguration", false, true, false, false, None),
    ];

    public static ResourceType? Find(string group, string version, string plural) =>
        All.FirstOrDefault(t => t.Group == group && t.Version == version && t.Plural == plural);

    public static ResourceType Of(string plural) => All.First(t => t.Plural == plural);
}
