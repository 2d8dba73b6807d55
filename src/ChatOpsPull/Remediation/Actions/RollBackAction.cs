using System.Globalization;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace ChatOpsPull.Remediation.Actions;

/// <summary>
/// Returns a Deployment to an earlier revision the way <c>kubectl rollout undo --to-revision=N</c> does
/// (kubectl/pkg/polymorphichelpers/rollback.go): find the Deployment's ReplicaSet whose
/// <c>deployment.kubernetes.io/revision</c> is N, skip when the Deployment's template already equals it (ignoring the
/// pod-template-hash label), refuse a paused Deployment, and otherwise send a JSON patch that replaces
/// <c>/spec/template</c> with the ReplicaSet's template minus the pod-template-hash label and <c>/metadata/annotations</c>
/// with the ReplicaSet's annotations — keeping the Deployment's own revision/replica bookkeeping annotations.
/// </summary>
public sealed class RollBackAction(ClusterAccess cluster, TemplateChanges templates) : IRemediationAction
{
    public const string RevisionAnnotation = "deployment.kubernetes.io/revision";
    private const string HashLabel = "pod-template-hash";

    /// <summary>kubectl's annotationsToSkip: kept from the Deployment, never copied from the ReplicaSet.</summary>
    private static readonly HashSet<string> AnnotationsToSkip = new(StringComparer.Ordinal)
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        RevisionAnnotation,
        "deployment.kubernetes.io/revision-history",
        "deployment.kubernetes.io/desired-replicas",
        "deployment.kubernetes.io/max-replicas",
        "deprecated.deployment.rollback.to",
    };

    public async Task<string> DryRunAsync(ActionInput input, CancellationToken cancellationToken)
    {
        var (deployment, target, revision) = await FindAsync(input, applying: false, cancellationToken).ConfigureAwait(false);
        if (EqualIgnoreHash(Template(target), deployment["spec"]?["template"]))
        {
            return $"no change: the deployment already runs revision {revision}'s template";
        }

        var plan = input.Plan;
        var after = await cluster.Calls.RunAsync(
            KubeTarget.For("patch", plan.WorkloadKind, plan.Namespace),
            ct => cluster.PatchWorkloadOnceAsync(plan.WorkloadKind, plan.Namespace, plan.WorkloadName, Patch(deployment, target), dryRun: true, ct),
            cancellationToken).ConfigureAwait(false);
        return ObjectDiff.Summarize(ObjectDiff.Lines(deployment, after));
    }

    public async Task<string> ApplyAsync(ActionInput input, StepLog steps, CancellationToken cancellationToken)
    {
        var plan = input.Plan;
        var rolledBack = await steps.RunAsync("1-rollback", null, (_, ct) => cluster.Calls.RunAsync(
            KubeTarget.For("patch", plan.WorkloadKind, plan.Namespace),
            async c =>
            {
                var (deployment, target, revision) = await FindAsync(input, applying: true, c).ConfigureAwait(false);
                if (EqualIgnoreHash(Template(target), deployment["spec"]?["template"]))
                {
                    return $"{input.Workload} already runs revision {revision}'s template";
                }

                await cluster.PatchWorkloadOnceAsync(plan.WorkloadKind, plan.Namespace, plan.WorkloadName, Patch(deployment, target), dryRun: false, c).ConfigureAwait(false);
                return $"rolled {input.Workload} back to revision {revision} ({Images(target)})";
            },
            ct), cancellationToken).ConfigureAwait(false);
        return await templates.FollowUpAsync(input, steps, cancellationToken).ConfigureAwait(false) is { } then ? $"{rolledBack}; {then}" : rolledBack;
    }

    private async Task<(JsonObject Deployment, JsonObject ReplicaSet, long Revision)> FindAsync(ActionInput input, bool applying, CancellationToken cancellationToken)
    {
        var plan = input.Plan;
        if (plan.WorkloadKind != "Deployment")
        {
            throw new RemediationRefusedException($"only Deployments are rolled back by revision, not {plan.WorkloadKind} objects");
        }

        if (!long.TryParse(input.Parameter("revision"), NumberStyles.None, CultureInfo.InvariantCulture, out var revision) || revision <= 0)
        {
            throw new RemediationRefusedException($"the plan's revision \"{input.Parameter("revision")}\" is not a revision number");
        }

        var deployment = await cluster.ReadWorkloadAsync("Deployment", plan.Namespace, plan.WorkloadName, cancellationToken).ConfigureAwait(false);
        TemplateChanges.Require(plan.Kind, plan.Namespace, "Deployment", deployment, applying);

        var uid = deployment["metadata"]?["uid"]?.GetValue<string>();
        var client = cluster.Client;
        var sets = await cluster.Calls.RunAsync(
            KubeTarget.For("list", "ReplicaSet", plan.Namespace),
            ct => client.AppsV1.ListNamespacedReplicaSetAsync(plan.Namespace, cancellationToken: ct),
            cancellationToken).ConfigureAwait(false);
        var owned = sets.Items.Where(rs => rs.Metadata.OwnerReferences?.Any(o => o.Uid == uid && o.Controller == true) == true);
        var match = owned.FirstOrDefault(rs => rs.Metadata.Annotations?.TryGetValue(RevisionAnnotation, out var r) == true
            && long.TryParse(r, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v == revision);
        if (match is null)
        {
            throw new RemediationRefusedException(
                $"deployment {plan.WorkloadName} has no revision {revision} any more (its ReplicaSet is gone, e.g. past revisionHistoryLimit)");
        }

        return (deployment, ClusterAccess.ToJson(match), revision);
    }

    private static JsonObject? Template(JsonObject replicaSet) => replicaSet["spec"]?["template"] as JsonObject;

    /// <summary>Templates equal once the pod-template-hash label is dropped from both.</summary>
    private static bool EqualIgnoreHash(JsonObject? a, JsonNode? b) =>
        JsonNode.DeepEquals(WithoutHash(a), WithoutHash(b as JsonObject));

    private static JsonObject? WithoutHash(JsonObject? template)
    {
        if (template is null)
        {
            return null;
        }

        var copy = (JsonObject)template.DeepClone();
        if (copy["metadata"]?["labels"] is JsonObject labels)
        {
            labels.Remove(HashLabel);
        }

        return copy;
    }

    private static V1Patch Patch(JsonObject deployment, JsonObject replicaSet)
    {
        var annotations = new JsonObject();
        var current = deployment["metadata"]?["annotations"] as JsonObject;
        foreach (var key in AnnotationsToSkip)
        {
            if (current?[key] is JsonNode value)
            {
                annotations[key] = value.DeepClone();
            }
        }

        foreach (var (key, value) in replicaSet["metadata"]?["annotations"] as JsonObject ?? [])
        {
            if (!AnnotationsToSkip.Contains(key))
            {
                annotations[key] = value?.DeepClone();
            }
        }

        var operations = new JsonArray(
            new JsonObject { ["op"] = "replace", ["path"] = "/spec/template", ["value"] = WithoutHash(Template(replicaSet)) },
            new JsonObject { ["op"] = current is null ? "add" : "replace", ["path"] = "/metadata/annotations", ["value"] = annotations });
        return new V1Patch(operations, V1Patch.PatchType.JsonPatch);
    }

    private static string Images(JsonObject replicaSet) => string.Join(", ",
        (Template(replicaSet)?["spec"]?["containers"] as JsonArray ?? [])
            .Select(c => $"{c?["name"]?.GetValue<string>()}={c?["image"]?.GetValue<string>()}"));
}
