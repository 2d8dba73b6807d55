using System.Text.Json.Nodes;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Kubernetes;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Remediation.Actions;

/// <summary>
/// What every change to a pod template (set tag, attach a secret to the template, restart, roll back) needs before and
/// after its patch, by the workload's shape as it is at that moment. Before: refused where kubectl refuses it or where it
/// would roll nothing (<see cref="TemplateChangeRefusals"/>: a paused Deployment, a restart of an OnDelete workload or a
/// CronJob). After: a StatefulSet's pods stuck in image-pull back-off are deleted once its controller has seen the new
/// template, because a StatefulSet does not replace a pod that never became Ready (kubernetes/kubernetes#67250), and
/// with a partition only those at or above it; an OnDelete DaemonSet's stuck pods likewise, since it replaces none by
/// itself; a CronJob runs once from the new template (a Job's template cannot change, so the stuck Job keeps its own).
/// Then the target the job verifies is recorded.
/// </summary>
public sealed class TemplateChanges(ClusterAccess cluster, StuckPods stuckPods, CronJobRuns cronJobRuns, IOptionsMonitor<RemediationOptions> options, TimeProvider time)
{
    /// <summary>How long the follow-up waits for the workload's controller to see the new template before it deletes pods.</summary>
    public static readonly TimeSpan ObserveBudget = TimeSpan.FromSeconds(30);

    /// <summary>Refuses a change that cannot work on <paramref name="current"/> (the workload as read now).</summary>
    /// <param name="applying">True in the job (the request's dry run passed then): the message says nothing was changed.</param>
    public static void Require(RemediationKind kind, string @namespace, string workloadKind, JsonObject current, bool applying)
    {
        var shape = WorkloadShapes.From(current, workloadKind);
        if (TemplateChangeRefusals.For(kind, shape, @namespace) is { } reason)
        {
            throw new RemediationRefusedException(applying ? $"{reason}; nothing was changed" : reason);
        }
    }

    /// <summary>What the follow-up would do, sent with dryRun=All where it writes (pod deletes, the CronJob's Job); empty when nothing.</summary>
    public async Task<IReadOnlyList<string>> DryRunFollowUpAsync(ActionInput input, JsonObject current, CancellationToken cancellationToken)
    {
        var plan = input.Plan;
        var shape = WorkloadShapes.From(current, plan.WorkloadKind);
        return shape.Kind switch
        {
            "CronJob" => ["then " + await cronJobRuns.DryRunAsync(plan.Namespace, plan.WorkloadName, cancellationToken).ConfigureAwait(false)],
            "StatefulSet" or "DaemonSet" when shape.Kind == "StatefulSet" || shape.IsOnDelete =>
                (await stuckPods.DryRunAsync(input, cancellationToken, shape.Kind == "StatefulSet" ? shape.Partition : 0).ConfigureAwait(false)).Select(l => "then " + l).ToList(),
            _ => [],
        };
    }

    /// <summary>
    /// After the patch: deletes the stuck pods or runs the CronJob as the shape needs (its own steps, so a resumed run
    /// does not do it twice), records what the job waits for, and returns the line to add to the card (or null).
    /// </summary>
    public async Task<string?> FollowUpAsync(ActionInput input, StepLog steps, CancellationToken cancellationToken)
    {
        var plan = input.Plan;
        var shape = await cluster.ShapeAsync(plan.WorkloadKind, plan.Namespace, plan.WorkloadName, cancellationToken).ConfigureAwait(false);
        string? line = null;
        RolloutTarget target;
        switch (shape.Kind)
        {
            case "CronJob":
                line = await cronJobRuns.CreateAsync(plan.Namespace, plan.WorkloadName, steps, "then-run-job", cancellationToken).ConfigureAwait(false);
                target = RolloutTarget.OfJobs(plan, [ManualJob.Name(plan.WorkloadName, steps.RunSuffix)]);
                break;
            case "StatefulSet" or "DaemonSet" when shape.Kind == "StatefulSet" || shape.IsOnDelete:
                await WaitObservedAsync(plan.WorkloadKind, plan.Namespace, plan.WorkloadName, cancellationToken).ConfigureAwait(false);
                line = await stuckPods.DeleteAsync(input, steps, "then-pods-", cancellationToken, fromOrdinal: shape.Kind == "StatefulSet" ? shape.Partition : 0).ConfigureAwait(false);
                target = shape.IsOnDelete ? RolloutTarget.Pods(plan) : RolloutTarget.Rollout(plan);
                break;
            default:
                target = RolloutTarget.Rollout(plan);
                break;
        }

        await steps.RecordTargetAsync(target, cancellationToken).ConfigureAwait(false);
        return line;
    }

    /// <summary>Waits (a bounded time) until the workload's controller has observed its latest generation.</summary>
    private async Task WaitObservedAsync(string kind, string @namespace, string name, CancellationToken cancellationToken)
    {
        var until = time.GetUtcNow() + ObserveBudget;
        while (true)
        {
            var current = await cluster.ReadWorkloadAsync(kind, @namespace, name, cancellationToken).ConfigureAwait(false);
            var generation = current["metadata"]?["generation"]?.GetValue<long>() ?? 0;
            var observed = current["status"]?["observedGeneration"]?.GetValue<long>() ?? 0;
            if (observed >= generation || time.GetUtcNow() >= until)
            {
                return;
            }

            await Task.Delay(options.CurrentValue.RolloutPollInterval, time, cancellationToken).ConfigureAwait(false);
        }
    }
}
