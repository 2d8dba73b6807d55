using System.Globalization;

namespace ChatOpsPull.Core.Remediation;

/// <summary>Where a refresh copies credentials from: a dockerconfigjson secret the operator keeps.</summary>
public sealed record CredentialSourceRef(string Namespace, string Secret);

/// <summary>
/// A remediation plan as the kubectl commands a person can run to do what the bot's action does (the observe profile,
/// where the bot changes nothing). Lines starting with # are comments. Every value put in a command comes from a plan or
/// an incident and is checked against the characters Kubernetes names and image references use, so a command never
/// carries shell syntax; a value outside them leaves the command out and says why.
/// </summary>
public static class KubectlCommands
{
    /// <summary>Pods named in one delete command at most (the rest: "…and N more").</summary>
    public const int MaxPodsNamed = 20;

    /// <param name="stuckPods">The incident's pods still failing (for the delete commands).</param>
    /// <param name="source">The credential source configured for the plan's registry (refresh), if any.</param>
    /// <param name="now">Names the Job a CronJob run creates.</param>
    public static IReadOnlyList<string> For(RemediationPlan plan, IReadOnlyList<string> stuckPods, CredentialSourceRef? source, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(stuckPods);
        var values = new List<string> { plan.Namespace, plan.WorkloadKind, plan.WorkloadName };
        values.AddRange(plan.Parameters.Values);
        values.AddRange(stuckPods);
        if (source is not null)
        {
            values.Add(source.Namespace);
            values.Add(source.Secret);
        }

        if (values.FirstOrDefault(v => !IsPlain(v)) is { } unusual)
        {
            return [$"# not shown: \"{Printable(unusual)}\" has characters no Kubernetes name or image reference has"];
        }

        var ns = plan.Namespace;
        var workload = $"{plan.WorkloadKind.ToLowerInvariant()}/{plan.WorkloadName}";
        string Param(string name) => plan.Parameters.TryGetValue(name, out var value) ? value : string.Empty;
        List<string> lines = plan.Kind switch
        {
            RemediationKind.SetImageTag => [$"kubectl -n {ns} set image {workload} {Param("container")}={Param("image")}"],
            RemediationKind.RollBack => [$"kubectl -n {ns} rollout undo {workload} --to-revision={Param("revision")}"],
            RemediationKind.RestartWorkload => Restart(plan, now),
            RemediationKind.DeleteBackoffPods => DeletePods(ns, stuckPods),
            RemediationKind.AttachPullSecretToServiceAccount => [.. AttachToServiceAccount(ns, Param("serviceAccount"), Param("secret")), .. DeletePods(ns, stuckPods)],
            RemediationKind.AttachPullSecretToWorkload =>
                [$"kubectl -n {ns} patch {workload} -p '{AtTemplate(plan.WorkloadKind, $"{{\"spec\":{{\"imagePullSecrets\":[{{\"name\":\"{Param("secret")}\"}}]}}}}")}'"],
            RemediationKind.RefreshCredentials => Refresh(plan, source, stuckPods),
            RemediationKind.RunCronJobNow => [RunNow(plan, now)],
            _ => throw new ArgumentOutOfRangeException(nameof(plan), plan.Kind, "not a remediation"),
        };
        if (plan.WorkloadKind == "CronJob" && plan.Kind is RemediationKind.SetImageTag or RemediationKind.AttachPullSecretToWorkload)
        {
            lines.Add("# the Job already running keeps its old template; run the job once from the new one:");
            lines.Add(RunNow(plan, now));
        }

        if (plan.ManagedBy is { } owner)
        {
            lines.Insert(0, $"# {workload} is managed by {owner.Describe()}: {owner.WhatAPatchDoes()}");
        }

        return lines;
    }

    /// <summary>kubectl create job from the CronJob, named as the bot names its own runs (with the time instead of the run's id).</summary>
    private static string RunNow(RemediationPlan plan, DateTimeOffset now) =>
        $"kubectl -n {plan.Namespace} create job {ManualJob.Name(plan.WorkloadName, now.UtcDateTime.ToString("yyMMddHHmm", CultureInfo.InvariantCulture))} --from=cronjob/{plan.WorkloadName}";

    /// <summary>kubectl rollout restart; a CronJob is not restarted (kubectl refuses it): its job runs once now instead.</summary>
    private static List<string> Restart(RemediationPlan plan, DateTimeOffset now) => plan.WorkloadKind == "CronJob"
        ? ["# kubectl rollout restart does not restart a CronJob; run its job once now instead:", RunNow(plan, now)]
        : [$"kubectl -n {plan.Namespace} rollout restart {plan.WorkloadKind.ToLowerInvariant()}/{plan.WorkloadName}"];

    private static string[] AttachToServiceAccount(string ns, string account, string secret) =>
    [
        $"kubectl -n {ns} patch serviceaccount {account} --type=json -p '[{{\"op\":\"add\",\"path\":\"/imagePullSecrets/-\",\"value\":{{\"name\":\"{secret}\"}}}}]'",
        $"# when the ServiceAccount has no imagePullSecrets yet: kubectl -n {ns} patch serviceaccount {account} -p '{{\"imagePullSecrets\":[{{\"name\":\"{secret}\"}}]}}'",
    ];

    private static List<string> Refresh(RemediationPlan plan, CredentialSourceRef? source, IReadOnlyList<string> stuckPods)
    {
        var ns = plan.Namespace;
        var registry = plan.Parameters.TryGetValue("registry", out var r) ? r : string.Empty;
        var secret = plan.Parameters.TryGetValue("secret", out var s) ? s : string.Empty;
        var lines = new List<string>();
        if (source is null)
        {
            lines.Add($"# no credential source is configured for {registry}: write {secret} from credentials you hold");
            lines.Add($"kubectl -n {ns} create secret docker-registry {secret} --docker-server={registry} --docker-username=USER --docker-password=PASSWORD");
        }
        else
        {
            lines.Add($"# copies the whole source secret {source.Namespace}/{source.Secret} (the bot copies only its {registry} entry)");
            lines.Add($"kubectl -n {source.Namespace} get secret {source.Secret} -o jsonpath='{{.data.\\.dockerconfigjson}}' | base64 -d | " +
                      $"kubectl -n {ns} create secret generic {secret} --type=kubernetes.io/dockerconfigjson --from-file=.dockerconfigjson=/dev/stdin --dry-run=client -o yaml | kubectl apply -f -");
        }

        if (plan.Parameters.TryGetValue("serviceAccount", out var account) && account.Length > 0)
        {
            lines.AddRange(AttachToServiceAccount(ns, account, secret));
        }

        if (plan.WorkloadKind != "Pod" && plan.WorkloadName.Length > 0)
        {
            lines.AddRange(DeletePods(ns, stuckPods));
        }

        return lines;
    }

    private static List<string> DeletePods(string ns, IReadOnlyList<string> pods)
    {
        if (pods.Count == 0)
        {
            return [$"kubectl -n {ns} get pods | grep -E 'ErrImagePull|ImagePullBackOff'   # then: kubectl -n {ns} delete pod NAME…"];
        }

        var named = string.Join(' ', pods.Take(MaxPodsNamed));
        var more = pods.Count > MaxPodsNamed ? $"   # and {pods.Count - MaxPodsNamed} more" : string.Empty;
        return [$"kubectl -n {ns} delete pod {named}{more}"];
    }

    /// <summary>A strategic merge patch body that puts <paramref name="templateJson"/> at the workload's pod template.</summary>
    private static string AtTemplate(string kind, string templateJson) => kind == "CronJob"
        ? $"{{\"spec\":{{\"jobTemplate\":{{\"spec\":{{\"template\":{templateJson}}}}}}}}}"
        : $"{{\"spec\":{{\"template\":{templateJson}}}}}";

    /// <summary>Characters of Kubernetes names, label values and image references (registry:port/repo:tag@sha256:…).</summary>
    private static bool IsPlain(string value) =>
        value.Length <= 512 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or '/' or ':' or '@' or '+');

    private static string Printable(string value)
    {
        var shown = new string(value.Take(60).Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return value.Length > 60 ? shown + "…" : shown;
    }
}
