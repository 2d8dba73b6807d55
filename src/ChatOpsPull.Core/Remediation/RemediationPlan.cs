namespace ChatOpsPull.Core.Remediation;

/// <summary>The remediation catalogue. Each is one Hangfire job kind.</summary>
public enum RemediationKind
{
    /// <summary>Write/update a dockerconfigjson secret in the namespace from the configured credential source.</summary>
    RefreshCredentials,

    /// <summary>Add an imagePullSecret to the ServiceAccount.</summary>
    AttachPullSecretToServiceAccount,

    /// <summary>Add an imagePullSecret to the workload's pod template.</summary>
    AttachPullSecretToWorkload,

    /// <summary>Set the pod-template restartedAt annotation.</summary>
    RestartWorkload,

    /// <summary>Delete only the pods stuck in image-pull back-off.</summary>
    DeleteBackoffPods,

    /// <summary>Set the container image to a tag the registry confirmed.</summary>
    SetImageTag,

    /// <summary>Return a Deployment to its previous revision (like kubectl rollout undo).</summary>
    RollBack,

    /// <summary>Create a Job from a CronJob's job template now, as <c>kubectl create job --from=cronjob/…</c> does.</summary>
    RunCronJobNow,
}

public enum RemediationRisk
{
    Low,
    Medium,
    High,
}

/// <summary>
/// A fix the bot can run, with everything the job needs. Cards carry only its id; the server holds the plan.
/// </summary>
/// <param name="Title">Button text, short ("Set tag to 1.4.2").</param>
/// <param name="Description">What will change, one or two sentences.</param>
/// <param name="Parameters">Kind-specific values (e.g. "container", "image", "secretName", "registry").</param>
public sealed record RemediationPlan(
    RemediationKind Kind,
    string Namespace,
    string WorkloadKind,
    string WorkloadName,
    string Title,
    string Description,
    RemediationRisk Risk,
    IReadOnlyDictionary<string, string> Parameters)
{
    /// <summary>
    /// The tool that owns the workload whose spec this plan changes (Argo CD, Flux, Helm, an operator), as the diagnosis
    /// found it; null when nobody else owns it or the plan changes no spec. The server checks the live object again.
    /// </summary>
    public WorkloadOwner? ManagedBy { get; init; }

    /// <summary>Stable id within an incident: kind plus its parameters, so the same plan is not offered twice.</summary>
    public string Key => Kind + ":" + string.Join(
        ',',
        Parameters.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + "=" + p.Value));

    /// <summary>
    /// Kinds that change the workload's pod template (a restart too: it sets the kubectl.kubernetes.io/restartedAt
    /// annotation there and rolls every pod). They never run without approval, and on a workload another tool owns they
    /// need the policy's leave (Approvals:ManagedWorkloads).
    /// </summary>
    public static bool ChangesPodTemplate(RemediationKind kind) =>
        kind is RemediationKind.SetImageTag or RemediationKind.AttachPullSecretToWorkload or RemediationKind.RestartWorkload or RemediationKind.RollBack;

    public static string KindName(RemediationKind kind) => kind switch
    {
        RemediationKind.RefreshCredentials => "refresh_credentials",
        RemediationKind.AttachPullSecretToServiceAccount => "attach_secret_sa",
        RemediationKind.AttachPullSecretToWorkload => "attach_secret_workload",
        RemediationKind.RestartWorkload => "restart",
        RemediationKind.DeleteBackoffPods => "delete_backoff_pods",
        RemediationKind.SetImageTag => "set_tag",
        RemediationKind.RollBack => "rollback",
        RemediationKind.RunCronJobNow => "run_job",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a remediation"),
    };
}
