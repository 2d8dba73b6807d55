using System.Text.Json.Nodes;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Kubernetes;
using k8s;
using k8s.Models;

namespace ChatOpsPull.Remediation;

/// <summary>
/// The cluster as remediation sees it: workloads of any pod-template kind read and patched as JSON (so one diff and one
/// patch shape serve Deployments, StatefulSets, DaemonSets and CronJobs), and the pods a workload owns. Every call goes
/// through <see cref="KubernetesCalls"/> (retries, RBAC explanations).
/// </summary>
public sealed class ClusterAccess(KubernetesConnection connection, KubernetesCalls calls)
{
    /// <summary>The pod-template owners remediation can change.</summary>
    public static readonly IReadOnlySet<string> TemplateKinds = new HashSet<string>(StringComparer.Ordinal) { "Deployment", "StatefulSet", "DaemonSet", "CronJob" };

    public IKubernetes Client => connection.Client
        ?? throw new RemediationRefusedException($"the bot has no connection to a cluster: {connection.Description}");

    public KubernetesCalls Calls => calls;

    /// <summary>The bot's own namespace, where credential sources live by default.</summary>
    public string? OwnNamespace => connection.OwnNamespace;

    /// <summary>Where the pod template sits in a workload of <paramref name="kind"/>.</summary>
    public static string[] TemplatePath(string kind) => kind == "CronJob" ? ["spec", "jobTemplate", "spec", "template"] : ["spec", "template"];

    public static JsonObject? Template(JsonObject workload, string kind)
    {
        JsonNode? node = workload;
        foreach (var part in TemplatePath(kind))
        {
            node = node?[part];
        }

        return node as JsonObject;
    }

    /// <summary>A patch document that sets <paramref name="template"/> content at the workload's template path.</summary>
    public static JsonObject AtTemplate(string kind, JsonObject templatePatch)
    {
        JsonNode node = templatePatch;
        foreach (var part in TemplatePath(kind).Reverse())
        {
            node = new JsonObject { [part] = node };
        }

        return (JsonObject)node;
    }

    public static string ResourceVersion(JsonObject obj) => obj["metadata"]?["resourceVersion"]?.GetValue<string>() ?? string.Empty;

    public async Task<JsonObject> ReadWorkloadAsync(string kind, string @namespace, string name, CancellationToken cancellationToken)
    {
        RequireTemplateKind(kind);
        var client = Client;
        try
        {
            return await calls.RunAsync(KubeTarget.For("get", kind, @namespace), async ct => kind switch
            {
                "Deployment" => ToJson(await client.AppsV1.ReadNamespacedDeploymentAsync(name, @namespace, cancellationToken: ct).ConfigureAwait(false)),
                "StatefulSet" => ToJson(await client.AppsV1.ReadNamespacedStatefulSetAsync(name, @namespace, cancellationToken: ct).ConfigureAwait(false)),
                "DaemonSet" => ToJson(await client.AppsV1.ReadNamespacedDaemonSetAsync(name, @namespace, cancellationToken: ct).ConfigureAwait(false)),
                "CronJob" => ToJson(await client.BatchV1.ReadNamespacedCronJobAsync(name, @namespace, cancellationToken: ct).ConfigureAwait(false)),
                _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a template kind"),
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (KubernetesCalls.IsNotFound(e))
        {
            throw new RemediationRefusedException($"{kind.ToLowerInvariant()} {@namespace}/{name} does not exist (any more)");
        }
    }

    /// <summary>One patch call (no retry of its own: the caller's read-modify-write runs inside <see cref="KubernetesCalls.RunAsync{T}"/>).</summary>
    public async Task<JsonObject> PatchWorkloadOnceAsync(string kind, string @namespace, string name, V1Patch patch, bool dryRun, CancellationToken cancellationToken)
    {
        var client = Client;
        var dry = dryRun ? "All" : null;
        return kind switch
        {
            "Deployment" => ToJson(await client.AppsV1.PatchNamespacedDeploymentAsync(patch, name, @namespace, dryRun: dry, cancellationToken: cancellationToken).ConfigureAwait(false)),
            "StatefulSet" => ToJson(await client.AppsV1.PatchNamespacedStatefulSetAsync(patch, name, @namespace, dryRun: dry, cancellationToken: cancellationToken).ConfigureAwait(false)),
            "DaemonSet" => ToJson(await client.AppsV1.PatchNamespacedDaemonSetAsync(patch, name, @namespace, dryRun: dry, cancellationToken: cancellationToken).ConfigureAwait(false)),
            "CronJob" => ToJson(await client.BatchV1.PatchNamespacedCronJobAsync(patch, name, @namespace, dryRun: dry, cancellationToken: cancellationToken).ConfigureAwait(false)),
            _ => throw new RemediationRefusedException($"the bot does not change {kind} objects"),
        };
    }

    /// <summary>The workload's shape (paused, update strategy, partition, owner) from the object as read now.</summary>
    public async Task<WorkloadShape> ShapeAsync(string kind, string @namespace, string name, CancellationToken cancellationToken) =>
        WorkloadShapes.From(await ReadWorkloadAsync(kind, @namespace, name, cancellationToken).ConfigureAwait(false), kind);

    /// <summary>
    /// The pods a workload owns now (terminating ones excluded): a bare pod itself; a CronJob's through its Jobs; a
    /// Deployment's, StatefulSet's, DaemonSet's, ReplicaSet's or Job's by its selector; and the pods of another controller
    /// (an Argo Rollouts Rollout, an operator's resource) through the ReplicaSets or Jobs it controls, or directly.
    /// </summary>
    public async Task<IReadOnlyList<V1Pod>> PodsOfAsync(string kind, string @namespace, string name, CancellationToken cancellationToken)
    {
        var client = Client;
        List<V1Pod> pods;
        switch (kind)
        {
            case "Pod":
                try
                {
                    pods = [await calls.RunAsync(KubeTarget.For("get", "Pod", @namespace), ct => client.CoreV1.ReadNamespacedPodAsync(name, @namespace, cancellationToken: ct), cancellationToken).ConfigureAwait(false)];
                }
                catch (Exception e) when (KubernetesCalls.IsNotFound(e))
                {
                    pods = [];
                }

                break;
            case "CronJob":
                var cronJob = await ReadWorkloadAsync(kind, @namespace, name, cancellationToken).ConfigureAwait(false);
                var cronUid = cronJob["metadata"]?["uid"]?.GetValue<string>();
                var jobs = await ListJobsAsync(@namespace, cancellationToken).ConfigureAwait(false);
                var jobUids = jobs.Where(j => OwnedBy(j.Metadata, cronUid)).Select(j => j.Metadata.Uid).ToHashSet(StringComparer.Ordinal);
                var all = await ListPodsAsync(@namespace, null, cancellationToken).ConfigureAwait(false);
                pods = all.Where(p => p.Metadata.OwnerReferences?.Any(o => jobUids.Contains(o.Uid)) == true).ToList();
                break;
            case "Job":
                var job = await ReadJobAsync(@namespace, name, cancellationToken).ConfigureAwait(false);
                // By its selector, and owned by it: a Job written without a selector (one the API server did not default) selects nothing else.
                pods = job is null ? [] : [.. (await ListPodsAsync(@namespace, Selector(ToJson(job)["spec"]?["selector"]), cancellationToken).ConfigureAwait(false)).Where(p => OwnedBy(p.Metadata, job.Metadata.Uid))];
                break;
            case "ReplicaSet":
                V1ReplicaSet replicaSet;
                try
                {
                    replicaSet = await calls.RunAsync(KubeTarget.For("get", "ReplicaSet", @namespace), ct => client.AppsV1.ReadNamespacedReplicaSetAsync(name, @namespace, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (KubernetesCalls.IsNotFound(e))
                {
                    throw new RemediationRefusedException($"replicaset {@namespace}/{name} does not exist (any more)");
                }

                var rsSelector = Selector(ToJson(replicaSet)["spec"]?["selector"]);
                pods = rsSelector is null ? [] : [.. await ListPodsAsync(@namespace, rsSelector, cancellationToken).ConfigureAwait(false)];
                break;
            case "Deployment" or "StatefulSet" or "DaemonSet":
                var workload = await ReadWorkloadAsync(kind, @namespace, name, cancellationToken).ConfigureAwait(false);
                var selector = Selector(workload["spec"]?["selector"]);
                pods = selector is null ? [] : [.. await ListPodsAsync(@namespace, selector, cancellationToken).ConfigureAwait(false)];
                break;
            default:
                pods = [.. await PodsOfControllerAsync(kind, @namespace, name, cancellationToken).ConfigureAwait(false)];
                break;
        }

        return pods.Where(p => p.Metadata.DeletionTimestamp is null).OrderBy(p => p.Metadata.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>A Job, or null when it does not exist.</summary>
    public async Task<V1Job?> ReadJobAsync(string @namespace, string name, CancellationToken cancellationToken)
    {
        var client = Client;
        try
        {
            return await calls.RunAsync(KubeTarget.For("get", "Job", @namespace), ct => client.BatchV1.ReadNamespacedJobAsync(name, @namespace, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (KubernetesCalls.IsNotFound(e))
        {
            return null;
        }
    }

    /// <summary>One create call for a Job (no retry of its own: the caller decides what an existing Job means).</summary>
    public async Task<V1Job> CreateJobOnceAsync(string @namespace, JsonObject job, bool dryRun, CancellationToken cancellationToken) =>
        await Client.BatchV1.CreateNamespacedJobAsync(KubernetesJson.Deserialize<V1Job>(job.ToJsonString()), @namespace, dryRun: dryRun ? "All" : null, cancellationToken: cancellationToken).ConfigureAwait(false);

    /// <summary>The pods another controller (kind/name) owns: directly, or through the ReplicaSets or Jobs it controls.</summary>
    private async Task<IEnumerable<V1Pod>> PodsOfControllerAsync(string kind, string @namespace, string name, CancellationToken cancellationToken)
    {
        var client = Client;
        var sets = await calls.RunAsync(KubeTarget.For("list", "ReplicaSet", @namespace), ct => client.AppsV1.ListNamespacedReplicaSetAsync(@namespace, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        var owners = sets.Items.Where(s => ControlledBy(s.Metadata, kind, name)).Select(s => s.Metadata.Uid).ToHashSet(StringComparer.Ordinal);
        var all = await ListPodsAsync(@namespace, null, cancellationToken).ConfigureAwait(false);
        return all.Where(p => ControlledBy(p.Metadata, kind, name) || p.Metadata.OwnerReferences?.Any(o => o.Controller == true && owners.Contains(o.Uid)) == true);
    }

    private static bool ControlledBy(V1ObjectMeta metadata, string kind, string name) =>
        metadata.OwnerReferences?.Any(o => o.Controller == true && o.Kind == kind && o.Name == name) == true;

    private async Task<IList<V1Job>> ListJobsAsync(string @namespace, CancellationToken cancellationToken)
    {
        var client = Client;
        var jobs = await calls.RunAsync(KubeTarget.For("list", "Job", @namespace), ct => client.BatchV1.ListNamespacedJobAsync(@namespace, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        return jobs.Items;
    }

    public static JsonObject ToJson(object value) => JsonNode.Parse(KubernetesJson.Serialize(value))!.AsObject();

    /// <summary>A LabelSelector (matchLabels, matchExpressions) as the selector string list calls take.</summary>
    public static string? Selector(JsonNode? selector)
    {
        if (selector is not JsonObject s)
        {
            return null;
        }

        var parts = new List<string>();
        foreach (var (key, value) in s["matchLabels"] as JsonObject ?? [])
        {
            parts.Add($"{key}={value?.GetValue<string>()}");
        }

        foreach (var expression in (s["matchExpressions"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var key = expression["key"]?.GetValue<string>();
            var values = string.Join(",", (expression["values"] as JsonArray ?? []).Select(v => v?.GetValue<string>()));
            parts.Add(expression["operator"]?.GetValue<string>() switch
            {
                "In" => $"{key} in ({values})",
                "NotIn" => $"{key} notin ({values})",
                "Exists" => key!,
                "DoesNotExist" => "!" + key,
                var op => throw new RemediationRefusedException($"the workload's selector uses an operator the bot does not know ({op})"),
            });
        }

        return parts.Count == 0 ? null : string.Join(",", parts);
    }

    private async Task<IList<V1Pod>> ListPodsAsync(string @namespace, string? selector, CancellationToken cancellationToken)
    {
        var client = Client;
        var list = await calls.RunAsync(
            KubeTarget.For("list", "Pod", @namespace),
            ct => client.CoreV1.ListNamespacedPodAsync(@namespace, labelSelector: selector, cancellationToken: ct),
            cancellationToken).ConfigureAwait(false);
        return list.Items;
    }

    private static bool OwnedBy(V1ObjectMeta metadata, string? uid) =>
        uid is not null && metadata.OwnerReferences?.Any(o => o.Uid == uid && o.Controller == true) == true;

    private static void RequireTemplateKind(string kind)
    {
        if (!TemplateKinds.Contains(kind))
        {
            throw new RemediationRefusedException($"the bot changes only Deployments, StatefulSets, DaemonSets and CronJobs, not {kind} objects");
        }
    }
}
