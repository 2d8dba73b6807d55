using System.Globalization;
using System.Text.Json.Nodes;
using k8s.Models;

namespace ChatOpsPull.Remediation.Actions;

/// <summary>
/// Restarts the workload the way <c>kubectl rollout restart</c> does: the pod template's
/// <c>kubectl.kubernetes.io/restartedAt</c> annotation set to the time as RFC 3339 (strategic merge patch). The time is
/// chosen once and stored before the patch, so a resumed run sees its own restart already applied and does not restart again.
/// Refused where kubectl refuses it (a paused Deployment, a CronJob) and where it would replace no pod (OnDelete), at the
/// dry run and again in the job (<see cref="TemplateChanges"/>).
/// </summary>
public sealed class RestartWorkloadAction(ClusterAccess cluster, TemplateChanges templates, TimeProvider time) : IRemediationAction
{
    public const string RestartedAtAnnotation = "kubectl.kubernetes.io/restartedAt";

    public async Task<string> DryRunAsync(ActionInput input, CancellationToken cancellationToken)
    {
        var plan = input.Plan;
        var before = await cluster.ReadWorkloadAsync(plan.WorkloadKind, plan.Namespace, plan.WorkloadName, cancellationToken).ConfigureAwait(false);
        TemplateChanges.Require(plan.Kind, plan.Namespace, plan.WorkloadKind, before, applying: false);
        var after = await cluster.Calls.RunAsync(
            KubeTarget.For("patch", plan.WorkloadKind, plan.Namespace),
            ct => cluster.PatchWorkloadOnceAsync(plan.WorkloadKind, plan.Namespace, plan.WorkloadName, Patch(plan.WorkloadKind, Now()), dryRun: true, ct),
            cancellationToken).ConfigureAwait(false);
        var lines = ObjectDiff.Lines(before, after).ToList();
        lines.AddRange(await templates.DryRunFollowUpAsync(input, before, cancellationToken).ConfigureAwait(false));
        return ObjectDiff.Summarize(lines);
    }

    public async Task<string> ApplyAsync(ActionInput input, StepLog steps, CancellationToken cancellationToken)
    {
        var plan = input.Plan;
        var restarted = await steps.RunAsync("1-restart", Now(), (intent, ct) => cluster.Calls.RunAsync(
            KubeTarget.For("patch", plan.WorkloadKind, plan.Namespace),
            async c =>
            {
                var current = await cluster.ReadWorkloadAsync(plan.WorkloadKind, plan.Namespace, plan.WorkloadName, c).ConfigureAwait(false);
                TemplateChanges.Require(plan.Kind, plan.Namespace, plan.WorkloadKind, current, applying: true);
                var stamped = ClusterAccess.Template(current, plan.WorkloadKind)?["metadata"]?["annotations"]?[RestartedAtAnnotation]?.GetValue<string>();
                if (stamped == intent)
                {
                    return $"{input.Workload} was already restarted at {intent}";
                }

                await cluster.PatchWorkloadOnceAsync(plan.WorkloadKind, plan.Namespace, plan.WorkloadName, Patch(plan.WorkloadKind, intent!), dryRun: false, c).ConfigureAwait(false);
                return $"restarted {input.Workload} (restartedAt {intent})";
            },
            ct), cancellationToken).ConfigureAwait(false);
        return await templates.FollowUpAsync(input, steps, cancellationToken).ConfigureAwait(false) is { } then ? $"{restarted}; {then}" : restarted;
    }

    private string Now() => time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static V1Patch Patch(string kind, string restartedAt) => new(
        ClusterAccess.AtTemplate(kind, new JsonObject
        {
            ["metadata"] = new JsonObject { ["annotations"] = new JsonObject { [RestartedAtAnnotation] = restartedAt } },
        }),
        V1Patch.PatchType.StrategicMergePatch);
}
