using System.Text.Json.Nodes;

namespace ChatOpsPull.Simulation.KubernetesApi;

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
    /// <summary>The verbs of an ordinary stored resource, as discovery lists them.</summary>
    public static readonly IReadOnlyList<string> StoredVerbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    public string ListKind => Kind + "List";

    /// <summary>"pods", "deployments.apps": how error messages name the resource.</summary>
    public string QualifiedName => Group.Length == 0 ? Plural : $"{Plural}.{Group}";

    public string SingularName { get; init; } = string.Empty;

    public IReadOnlyList<string> ShortNames { get; init; } = [];

    public IReadOnlyList<string> Categories { get; init; } = [];

    public IReadOnlyList<string> Verbs { get; init; } = StoredVerbs;

    /// <summary>False for the review resources (SelfSubjectAccessReview…): a create is answered, nothing is stored.</summary>
    public bool Persisted { get; init; } = true;

    /// <summary>Has a /scale subresource (autoscaling/v1 Scale).</summary>
    public bool HasScale { get; init; }

    /// <summary>Defined by a CustomResourceDefinition in the store rather than built in.</summary>
    public bool Custom { get; init; }

    /// <summary>For custom resources: the CRD version's additionalPrinterColumns (server-side table columns).</summary>
    public JsonArray? PrinterColumns { get; init; }

    public bool Equals(ResourceType? other) =>
        other is not null && Group == other.Group && Version == other.Version && Plural == other.Plural;

    public override int GetHashCode() => HashCode.Combine(Group, Version, Plural);

    private static readonly Dictionary<string, string> None = new(StringComparer.Ordinal);

    public static IReadOnlyList<ResourceType> All { get; } =
    [
        new("", "v1", "namespaces", "Namespace", false, false, true, false, new Dictionary<string, string>(StringComparer.Ordinal) { ["status.phase"] = "status.phase" })
        {
            SingularName = "namespace", ShortNames = ["ns"], Verbs = ["create", "delete", "get", "list", "patch", "update", "watch"],
        },
        new("", "v1", "pods", "Pod", true, false, true, true, new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["spec.nodeName"] = "spec.nodeName",
            ["spec.restartPolicy"] = "spec.restartPolicy",
            ["spec.schedulerName"] = "spec.schedulerName",
            ["spec.serviceAccountName"] = "spec.serviceAccountName",
            ["status.phase"] = "status.phase",
            ["status.podIP"] = "status.podIP",
            ["status.nominatedNodeName"] = "status.nominatedNodeName",
        })
        {
            SingularName = "pod", ShortNames = ["po"], Categories = ["all"],
        },
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
        })
        {
            SingularName = "event", ShortNames = ["ev"],
        },
        new("", "v1", "nodes", "Node", false, false, true, false, new Dictionary<string, string>(StringComparer.Ordinal) { ["spec.unschedulable"] = "spec.unschedulable" })
        {
            SingularName = "node", ShortNames = ["no"],
        },
        new("", "v1", "secrets", "Secret", true, false, false, false, new Dictionary<string, string>(StringComparer.Ordinal) { ["type"] = "type" })
        {
            SingularName = "secret",
        },
        new("", "v1", "serviceaccounts", "ServiceAccount", true, false, false, false, None)
        {
            SingularName = "serviceaccount", ShortNames = ["sa"],
        },
        new("apps", "v1", "deployments", "Deployment", true, true, true, false, None)
        {
            SingularName = "deployment", ShortNames = ["deploy"], Categories = ["all"], HasScale = true,
        },
        new("apps", "v1", "replicasets", "ReplicaSet", true, true, true, false, new Dictionary<string, string>(StringComparer.Ordinal) { ["status.replicas"] = "status.replicas" })
        {
            SingularName = "replicaset", ShortNames = ["rs"], Categories = ["all"], HasScale = true,
        },
        new("apps", "v1", "statefulsets", "StatefulSet", true, true, true, false, None)
        {
            SingularName = "statefulset", ShortNames = ["sts"], Categories = ["all"], HasScale = true,
        },
        new("apps", "v1", "daemonsets", "DaemonSet", true, true, true, false, None)
        {
            SingularName = "daemonset", ShortNames = ["ds"], Categories = ["all"],
        },
        new("apps", "v1", "controllerrevisions", "ControllerRevision", true, false, false, false, None)
        {
            SingularName = "controllerrevision",
        },
        new("batch", "v1", "jobs", "Job", true, true, true, false, new Dictionary<string, string>(StringComparer.Ordinal) { ["status.successful"] = "status.succeeded" })
        {
            SingularName = "job", Categories = ["all"],
        },
        new("batch", "v1", "cronjobs", "CronJob", true, true, true, false, None)
        {
            SingularName = "cronjob", ShortNames = ["cj"], Categories = ["all"],
        },
        new("coordination.k8s.io", "v1", "leases", "Lease", true, false, false, false, None)
        {
            SingularName = "lease",
        },
        new("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false, false, false, false, None)
        {
            SingularName = "clusterrole",
        },
        new("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", false, false, false, false, None)
        {
            SingularName = "clusterrolebinding",
        },
        new("rbac.authorization.k8s.io", "v1", "roles", "Role", true, false, false, false, None)
        {
            SingularName = "role",
        },
        new("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true, false, false, false, None)
        {
            SingularName = "rolebinding",
        },
        new("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", false, false, false, false, None)
        {
            SingularName = "selfsubjectaccessreview", Verbs = ["create"], Persisted = false,
        },
        new("authorization.k8s.io", "v1", "selfsubjectrulesreviews", "SelfSubjectRulesReview", false, false, false, false, None)
        {
            SingularName = "selfsubjectrulesreview", Verbs = ["create"], Persisted = false,
        },
        new("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", false, false, false, false, None)
        {
            SingularName = "selfsubjectreview", Verbs = ["create"], Persisted = false,
        },
        new("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", false, false, true, false, None)
        {
            SingularName = "customresourcedefinition", ShortNames = ["crd", "crds"], Categories = ["api-extensions"],
        },
        new("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", "ValidatingWebhookConfiguration", false, true, false, false, None)
        {
            SingularName = "validatingwebhookconfiguration", Categories = ["api-extensions"],
        },
    ];

    /// <summary>The built-in resource at group/version/plural (custom resources: <see cref="ObjectStore.FindType"/>).</summary>
    public static ResourceType? Find(string group, string version, string plural) =>
        All.FirstOrDefault(t => t.Group == group && t.Version == version && t.Plural == plural);

    public static ResourceType Of(string plural) => All.First(t => t.Plural == plural);

    /// <summary>
    /// The resource types a CustomResourceDefinition defines (one per served version), the way the apiextensions server
    /// derives them: names from spec.names, scope, the status subresource, additionalPrinterColumns.
    /// </summary>
    public static IEnumerable<ResourceType> FromCustomResourceDefinition(JsonObject crd)
    {
        var spec = crd["spec"] as JsonObject;
        var names = spec?["names"] as JsonObject;
        var group = spec?["group"]?.GetValue<string>();
        var plural = names?["plural"]?.GetValue<string>();
        var kind = names?["kind"]?.GetValue<string>();
        if (group is null || plural is null || kind is null)
        {
            yield break;
        }

        var namespaced = spec?["scope"]?.GetValue<string>() != "Cluster";
        foreach (var version in (spec?["versions"] as JsonArray ?? []).OfType<JsonObject>())
        {
            if (version["served"]?.GetValue<bool>() == false || version["name"]?.GetValue<string>() is not { } name)
            {
                continue;
            }

            yield return new ResourceType(group, name, plural, kind, namespaced, true, version["subresources"]?["status"] is not null, false, None)
            {
                SingularName = names?["singular"]?.GetValue<string>() ?? kind.ToLowerInvariant(),
                ShortNames = (names?["shortNames"] as JsonArray ?? []).Select(n => n!.GetValue<string>()).ToArray(),
                Categories = (names?["categories"] as JsonArray ?? []).Select(n => n!.GetValue<string>()).ToArray(),
                HasScale = version["subresources"]?["scale"] is not null,
                Custom = true,
                PrinterColumns = version["additionalPrinterColumns"]?.DeepClone() as JsonArray,
            };
        }
    }
}
