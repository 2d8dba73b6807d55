using System.Text.Json.Nodes;
using ChatOpsPull.Core.Images;
using k8s.Models;

namespace ChatOpsPull.Remediation.Actions;

/// <summary>
/// Sets one container of the workload's pod template to the image the registry confirmed ("container", "image"): the
/// tag is checked again right before the patch (with the credentials the new pods would use), and the patch carries the
/// resourceVersion read, so a concurrent edit makes it re-read and re-apply instead of overwriting.
/// </summary>
public sealed class SetImageTagAction(ClusterAccess cluster, WorkloadPullCheck pullCheck, TemplateChanges templates) : IRemediationAction
{
    public async Task<string> DryRunAsync(ActionInput input, CancellationToken cancellationToken)
    {
        var (container, image) = Targets(input);
        var plan = input.Plan;
        var before = await cluster.ReadWorkloadAsync(plan.WorkloadKind, plan.Namespace, plan.WorkloadName, cancellationToken).ConfigureAwait(false);
        TemplateChanges.Require(plan.Kind, plan.Namespace, plan.WorkloadKind, before, applying: false);
        var after = await cluster.Calls.RunAsync(
            KubeTarget.For("patch", plan.WorkloadKind, plan.Namespace),
            ct => cluster.PatchWorkloadOnceAsync(plan.WorkloadKind, plan.Namespace, plan.WorkloadName, Patch(plan.WorkloadKind, before, container, image), dryRun: true, ct),
            cancellationToken).ConfigureAwait(false);
        var lines = ObjectDiff.Lines(before, after).ToList();
        lines.AddRange(await templates.DryRunFollowUpAsync(input, before, cancellationToken).ConfigureAwait(false));
        return ObjectDiff.Summarize(lines);
    }

    public async Task<string> ApplyAsync(ActionInput input, StepLog steps, CancellationToken cancellationToken)
    {
        var (container, image) = Targets(input);
        var plan = input.Plan;
        var reference = ImageReference.TryParse(image, out var parsed, out var error)
            ? parsed
            : throw new RemediationRefusedException($"the image in the plan is not valid ({error})");

        await steps.RunAsync("1-recheck-tag", null, async (_, ct) =>
        {
            var workload = await cluster.ReadWorkloadAsync(plan.WorkloadKind, plan.Namespace, plan.WorkloadName, ct).ConfigureAwait(false);
            var check = await pullCheck.CheckAsync(plan.Namespace, ClusterAccess.Template(workload, plan.WorkloadKind), reference, ct).ConfigureAwait(false);
            if (!check.Pullable)
            {
                throw new RemediationRefusedException($"the registry no longer confirms {reference.FamiliarString}: {check.Outcome.Summary}; nothing was changed");
            }

            return $"registry confirms {reference.FamiliarString} ({check.Outcome.Digest ?? "no digest given"})";
        }, cancellationToken).ConfigureAwait(false);

        var set = await steps.RunAsync("2-set-image", null, (_, ct) => cluster.Calls.RunAsync(
            KubeTarget.For("patch", plan.WorkloadKind, plan.Namespace),
            async c =>
            {
                var current = await cluster.ReadWorkloadAsync(plan.WorkloadKind, plan.Namespace, plan.WorkloadName, c).ConfigureAwait(false);
                TemplateChanges.Require(plan.Kind, plan.Namespace, plan.WorkloadKind, current, applying: true);
                if (CurrentImage(current, plan.WorkloadKind, container) == image)
                {
                    return $"container {container} of {input.Workload} already runs {reference.FamiliarString}";
                }

                await cluster.PatchWorkloadOnceAsync(plan.WorkloadKind, plan.Namespace, plan.WorkloadName, Patch(plan.WorkloadKind, current, container, image), dryRun: false, c).ConfigureAwait(false);
                return $"set container {container} of {input.Workload} to {reference.FamiliarString}";
            },
            ct), cancellationToken).ConfigureAwait(false);
        return await templates.FollowUpAsync(input, steps, cancellationToken).ConfigureAwait(false) is { } then ? $"{set}; {then}" : set;
    }

    private static (string Container, string Image) Targets(ActionInput input) => (input.Parameter("container"), input.Parameter("image"));

    private static string? CurrentImage(JsonObject workload, string kind, string container) =>
        ContainerList(workload, kind, container)?.OfType<JsonObject>().First(c => c["name"]?.GetValue<string>() == container)["image"]?.GetValue<string>();

    /// <summary>"containers" or "initContainers", whichever holds the container.</summary>
    private static JsonArray? ContainerList(JsonObject workload, string kind, string container)
    {
        var spec = ClusterAccess.Template(workload, kind)?["spec"];
        foreach (var list in new[] { "containers", "initContainers" })
        {
            if (spec?[list] is JsonArray items && items.Any(c => c?["name"]?.GetValue<string>() == container))
            {
                return items;
            }
        }

        return null;
    }

    /// <summary>Strategic merge patch on the container (merged by name), guarded by the resourceVersion read.</summary>
    private static V1Patch Patch(string kind, JsonObject current, string container, string image)
    {
        var spec = ClusterAccess.Template(current, kind)?["spec"];
        var list = spec?["initContainers"] is JsonArray init && init.Any(c => c?["name"]?.GetValue<string>() == container) ? "initContainers" : "containers";
        if (ContainerList(current, kind, container) is null)
        {
            throw new RemediationRefusedException($"the pod template has no container named {container} any more");
        }

        var patch = ClusterAccess.AtTemplate(kind, new JsonObject
        {
            ["spec"] = new JsonObject { [list] = new JsonArray(new JsonObject { ["name"] = container, ["image"] = image }) },
        });
        patch["metadata"] = new JsonObject { ["resourceVersion"] = ClusterAccess.ResourceVersion(current) };
        return new V1Patch(patch, V1Patch.PatchType.StrategicMergePatch);
    }
}
