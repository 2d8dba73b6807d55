using System.Text.Json;
using ChatOpsPull.Core.Remediation;

namespace ChatOpsPull.Remediation;

/// <summary>How the job judges that a fix worked.</summary>
public enum RolloutWait
{
    /// <summary>As <c>kubectl rollout status</c> does for the workload (Deployment, RollingUpdate StatefulSet or DaemonSet), and its pods Ready.</summary>
    Rollout,

    /// <summary>By the workload's pods: all Ready, as many as it wants (OnDelete workloads, deleted stuck pods, ReplicaSets, other controllers).</summary>
    Pods,

    /// <summary>By named Jobs (a CronJob's run, the Jobs whose stuck pods were deleted): complete, or their pods Ready or Succeeded.</summary>
    Jobs,
}

/// <summary>What the job waits for after an action applied, recorded as a step so a resumed run waits for the same.</summary>
public sealed record RolloutTarget(RolloutWait Wait, string Namespace, string Kind, string Name, IReadOnlyList<string> Jobs)
{
    public const string Step = "verify";

    public static RolloutTarget Rollout(RemediationPlan plan) => new(RolloutWait.Rollout, plan.Namespace, plan.WorkloadKind, plan.WorkloadName, []);

    public static RolloutTarget Pods(RemediationPlan plan) => new(RolloutWait.Pods, plan.Namespace, plan.WorkloadKind, plan.WorkloadName, []);

    public static RolloutTarget OfJobs(RemediationPlan plan, IReadOnlyList<string> jobs) => new(RolloutWait.Jobs, plan.Namespace, plan.WorkloadKind, plan.WorkloadName, jobs);

    /// <summary>What a plan waited for before actions recorded it (runs started by an older version): the rollout of a template kind, else the pods.</summary>
    public static RolloutTarget Default(RemediationPlan plan) =>
        WorkloadShape.IsTemplateKind(plan.WorkloadKind) && plan.WorkloadKind != "CronJob" && RemediationPlan.ChangesPodTemplate(plan.Kind)
            ? Rollout(plan)
            : Pods(plan);

    public string ToJson() => JsonSerializer.Serialize(this, RemediationJson.Options);

    public static RolloutTarget? FromJson(string? json) =>
        string.IsNullOrEmpty(json) ? null : JsonSerializer.Deserialize<RolloutTarget>(json, RemediationJson.Options);
}
