using System.Text.Json;
using k8s;
using k8s.Models;

namespace ChatOpsPull.Remediation.Actions;

/// <summary>
/// The pods of a workload still waiting with a pull reason (ErrImagePull, ImagePullBackOff), and deleting only those, so
/// their controller recreates them and kubelet pulls at once instead of waiting out its back-off.
/// </summary>
public sealed class StuckPods(ClusterAccess cluster)
{
    /// <param name="fromOrdinal">For a StatefulSet: only pods with this ordinal and above (those a partitioned update reaches).</param>
    public async Task<IReadOnlyList<V1Pod>> FindAsync(ActionInput input, CancellationToken cancellationToken, int fromOrdinal = 0)
    {
        RequireController(input);
        var pods = await cluster.PodsOfAsync(input.Plan.WorkloadKind, input.Plan.Namespace, input.Plan.WorkloadName, cancellationToken).ConfigureAwait(false);
        return pods.Where(p => PodStates.StuckPulling(p) is not null && (fromOrdinal == 0 || Ordinal(p.Metadata.Name) >= fromOrdinal)).ToList();
    }

    /// <summary>The Jobs whose pods the "<paramref name="prefix"/>select" step chose (a CronJob's or a Job's stuck pods).</summary>
    public static async Task<IReadOnlyList<string>> SelectedJobsAsync(StepLog steps, string prefix, CancellationToken cancellationToken)
    {
        var selected = await steps.ResultOfAsync(prefix + "select", cancellationToken).ConfigureAwait(false);
        return (selected is null ? [] : JsonSerializer.Deserialize<List<SelectedPod>>(selected) ?? [])
            .Select(p => p.Job).OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// What the job waits for after the stuck pods were deleted: the Jobs they belonged to (a CronJob's or a Job's
    /// pods), otherwise the workload's pods.
    /// </summary>
    public static async Task<RolloutTarget> TargetAfterDeleteAsync(ActionInput input, StepLog steps, string prefix, CancellationToken cancellationToken)
    {
        var plan = input.Plan;
        return plan.WorkloadKind is "CronJob" or "Job"
            ? RolloutTarget.OfJobs(plan, await SelectedJobsAsync(steps, prefix, cancellationToken).ConfigureAwait(false))
            : RolloutTarget.Pods(plan);
    }

    /// <summary>A StatefulSet pod's ordinal ("db-2" → 2); -1 when the name has none.</summary>
    public static int Ordinal(string podName) =>
        podName.LastIndexOf('-') is var dash and >= 0 && int.TryParse(podName.AsSpan(dash + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var ordinal) ? ordinal : -1;

    /// <summary>Deletes each stuck pod with dryRun=All (this also proves the bot may delete pods there).</summary>
    public async Task<IReadOnlyList<string>> DryRunAsync(ActionInput input, CancellationToken cancellationToken, int fromOrdinal = 0)
    {
        var stuck = await FindAsync(input, cancellationToken, fromOrdinal).ConfigureAwait(false);
        var lines = new List<string>();
        foreach (var pod in stuck)
        {
            await DeleteAsync(input.Plan.Namespace, pod.Metadata.Name, pod.Metadata.Uid, dryRun: true, cancellationToken).ConfigureAwait(false);
            lines.Add($"delete pod {pod.Metadata.Name} ({PodStates.StuckPulling(pod)!.State.Waiting.Reason})");
        }

        if (lines.Count == 0)
        {
            lines.Add($"no pod of {input.Workload} is stuck in image-pull back-off right now");
        }

        return lines;
    }

    /// <summary>
    /// Two steps: "<paramref name="prefix"/>select" stores which pods (name and uid) are stuck, "…delete" deletes exactly
    /// those (uid precondition: a new pod with the same name is left alone). A resumed run deletes only what is left.
    /// </summary>
    public async Task<string> DeleteAsync(ActionInput input, StepLog steps, string prefix, CancellationToken cancellationToken, int fromOrdinal = 0)
    {
        var selected = await steps.RunAsync(prefix + "select", null, async (_, ct) =>
        {
            var stuck = await FindAsync(input, ct, fromOrdinal).ConfigureAwait(false);
            return JsonSerializer.Serialize(stuck.Select(p => new SelectedPod(p.Metadata.Name, p.Metadata.Uid, JobOf(p))).ToList());
        }, cancellationToken).ConfigureAwait(false);
        var pods = JsonSerializer.Deserialize<List<SelectedPod>>(selected) ?? [];
        if (pods.Count == 0)
        {
            return "no pod was stuck in image-pull back-off";
        }

        return await steps.RunAsync(prefix + "delete", null, async (_, ct) =>
        {
            var deleted = 0;
            foreach (var pod in pods)
            {
                if (await DeleteAsync(input.Plan.Namespace, pod.Name, pod.Uid, dryRun: false, ct).ConfigureAwait(false))
                {
                    deleted++;
                }
            }

            return deleted == pods.Count
                ? $"deleted {deleted} pod(s) stuck in image-pull back-off"
                : $"deleted {deleted} of {pods.Count} pod(s) stuck in image-pull back-off (the others were already gone)";
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>True when this call deleted the pod; false when it was already gone (or replaced by a new pod of the same name).</summary>
    private async Task<bool> DeleteAsync(string @namespace, string name, string uid, bool dryRun, CancellationToken cancellationToken)
    {
        var client = cluster.Client;
        try
        {
            await cluster.Calls.RunAsync(
                KubeTarget.For("delete", "Pod", @namespace),
                ct => client.CoreV1.DeleteNamespacedPodAsync(
                    name,
                    @namespace,
                    new V1DeleteOptions { Preconditions = new V1Preconditions { Uid = uid } },
                    dryRun: dryRun ? "All" : null,
                    cancellationToken: ct),
                cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (KubernetesCalls.IsNotFound(e))
        {
            return false;
        }
        catch (RemediationRefusedException) when (!dryRun)
        {
            if (await IsReplacedAsync(@namespace, name, uid, cancellationToken).ConfigureAwait(false))
            {
                return false;
            }

            throw;
        }
    }

    /// <summary>After conflicts: the pod now under this name is another one (the uid precondition can never hold).</summary>
    private async Task<bool> IsReplacedAsync(string @namespace, string name, string uid, CancellationToken cancellationToken)
    {
        try
        {
            var current = await cluster.Client.CoreV1.ReadNamespacedPodAsync(name, @namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
            return current.Metadata.Uid != uid;
        }
        catch (Exception e) when (KubernetesCalls.IsNotFound(e))
        {
            return true;
        }
    }

    private static void RequireController(ActionInput input)
    {
        if (input.Plan.WorkloadKind == "Pod")
        {
            throw new RemediationRefusedException(
                $"pod {input.Plan.Namespace}/{input.Plan.WorkloadName} has no controller that would recreate it, so the bot will not delete it");
        }
    }

    private static string? JobOf(V1Pod pod) =>
        pod.Metadata.OwnerReferences?.FirstOrDefault(o => o.Controller == true && o.Kind == "Job")?.Name;

    private sealed record SelectedPod(string Name, string Uid, string? Job = null);
}
