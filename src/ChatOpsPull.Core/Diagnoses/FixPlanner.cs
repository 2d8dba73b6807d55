using System.Globalization;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Remediation;

namespace ChatOpsPull.Core.Diagnoses;

/// <summary>
/// The fixes a cause calls for, best first, made true for the workload they act on (<see cref="DiagnosisFacts.Shape"/>):
/// a paused Deployment gets no template change (kubectl refuses a restart and an undo there too); an OnDelete
/// StatefulSet or DaemonSet gets no restart, and a template change deletes the stuck pods afterwards; a CronJob is never
/// "restarted" but can run now from its job template, as <c>kubectl create job --from</c> does; a ReplicaSet without
/// Deployment, an Argo Rollouts Rollout or another controller's pods get only the fixes that act through pods and secrets.
/// Fixes ruled out are returned with why; a template change on a workload another tool owns carries that owner.
/// </summary>
public static class FixPlanner
{
    public static (IReadOnlyList<RemediationPlan> Plans, IReadOnlyList<WithheldFix> Withheld) Plan(DiagnosisFacts facts, PullCause cause)
    {
        var fixes = new Fixes(facts);
        var workload = facts.Workload;
        switch (cause)
        {
            case PullCause.ImageNotFound:
                foreach (var tag in facts.Registry?.SuggestedTags.Take(2) ?? [])
                {
                    fixes.AddSetTag(tag);
                }

                fixes.AddRollback();
                break;
            case PullCause.AuthFailed or PullCause.AccessDenied when DiagnosisPlanner.ProviderSuppliesCredentials(facts) is not null:
                // The node's credential provider supplies the credentials: a pull secret is not the fix.
                fixes.AddRetry();
                break;
            case PullCause.AuthFailed or PullCause.AccessDenied or PullCause.ImageNotEnsured:
                var secrets = facts.Secrets;
                if (secrets.MatchingSecret is null && secrets.UnattachedMatchingSecrets.Count > 0)
                {
                    var secret = secrets.UnattachedMatchingSecrets[0];
                    fixes.Add(RemediationKind.AttachPullSecretToServiceAccount, $"Attach {secret} to SA {facts.ServiceAccount ?? "default"}",
                        $"Adds `{secret}` to the imagePullSecrets of ServiceAccount {facts.ServiceAccount ?? "default"}, then deletes the stuck pods so they pull again.",
                        RemediationRisk.Medium, ("secret", secret), ("serviceAccount", facts.ServiceAccount ?? "default"));
                    if (workload is not null)
                    {
                        fixes.Add(RemediationKind.AttachPullSecretToWorkload, $"Attach {secret} to {workload}",
                            $"Adds `{secret}` to the pod template's imagePullSecrets{fixes.TemplateChangeNote(rolls: "this rolls the pods")}", RemediationRisk.Medium, ("secret", secret));
                    }
                }

                if (facts.CredentialSourceAvailable && facts.Image is { } image)
                {
                    var name = secrets.MatchingSecret ?? (secrets.Missing.Count > 0 ? secrets.Missing[0] : DiagnosisPlanner.PullSecretName(image.Domain));
                    var attach = secrets.MatchingSecret is null && !secrets.Missing.Contains(name) ? facts.ServiceAccount ?? "default" : string.Empty;
                    fixes.Add(RemediationKind.RefreshCredentials, $"Refresh pull secret {name}",
                        $"Writes `{name}` (kubernetes.io/dockerconfigjson) for {image.Domain} from the configured credential source, checked against the registry before and after{(attach.Length > 0 ? $", and attaches it to ServiceAccount {attach}" : string.Empty)}.",
                        RemediationRisk.Medium, ("registry", image.Domain), ("secret", name), ("serviceAccount", attach));
                }

                if (cause != PullCause.ImageNotEnsured)
                {
                    // A rollback to an image on the node meets the same check (that is how ImageNotEnsured happens).
                    fixes.AddRollback();
                }

                break;
            case PullCause.RateLimited:
                if (facts.CredentialSourceAvailable && facts.Image is { } limited)
                {
                    var name = facts.Secrets.MatchingSecret ?? DiagnosisPlanner.PullSecretName(limited.Domain);
                    fixes.Add(RemediationKind.RefreshCredentials, $"Use credentials for {limited.Domain}",
                        $"Writes `{name}` from the configured credential source so pulls are authenticated (higher rate limits).",
                        RemediationRisk.Medium, ("registry", limited.Domain), ("secret", name), ("serviceAccount", facts.Secrets.MatchingSecret is null ? facts.ServiceAccount ?? "default" : string.Empty));
                }

                fixes.AddRetry();
                break;
            case PullCause.BackoffOnly or PullCause.Network or PullCause.Tls or PullCause.RegistryError or PullCause.NodeStorage or PullCause.NodePullLimit:
                fixes.AddRetry();
                break;
            case PullCause.InvalidName or PullCause.NeverPull or PullCause.PlatformMismatch or PullCause.PolicyRejected:
                fixes.AddRollback();
                break;
            case PullCause.Unknown:
                fixes.AddRetry();
                fixes.AddRollback();
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(cause), cause, "unknown cause");
        }

        return (fixes.Plans, fixes.Withheld);
    }

    /// <summary>The plans and withheld fixes of one diagnosis, and the workload facts every description needs.</summary>
    private sealed class Fixes(DiagnosisFacts facts)
    {
        private readonly WorkloadRef? _workload = facts.Workload;
        private readonly WorkloadShape? _shape = facts.Shape;

        public List<RemediationPlan> Plans { get; } = [];

        public List<WithheldFix> Withheld { get; } = [];

        private string Target => _workload?.ToString() ?? string.Empty;

        private string Kind => _workload?.Kind ?? "Pod";

        public void AddSetTag(string tag)
        {
            if (facts.Image is not { } image || _workload is null)
            {
                return;
            }

            var target = image with { Tag = tag, Digest = null, TagImplied = false };
            Add(RemediationKind.SetImageTag, $"Set tag to {tag}",
                $"Sets container `{facts.Container}` of {Target} to `{target.FamiliarString}`, which the registry confirmed exists{TemplateChangeNote(rolls: null)}",
                RemediationRisk.Medium, ("container", facts.Container), ("image", target.ToString()));
        }

        public void AddRollback()
        {
            if (_workload is { Kind: "Deployment" } && facts.PreviousRevision is { } previous && previous.Image != facts.ImageText)
            {
                Add(RemediationKind.RollBack, $"Roll back to revision {previous.Revision}",
                    $"Returns the Deployment to revision {previous.Revision} (image `{previous.Image}`), like `kubectl rollout undo`.",
                    RemediationRisk.High, ("revision", previous.Revision.ToString(CultureInfo.InvariantCulture)));
            }
        }

        public void AddRetry()
        {
            if (_workload is null)
            {
                return;
            }

            var jobPods = Kind is "CronJob" or "Job";
            Add(RemediationKind.DeleteBackoffPods, "Retry the pull now",
                jobPods
                    ? "Deletes only the pods stuck in image-pull back-off so their Job recreates them and they pull at once; each deleted pod counts as one failure toward the Job's backoffLimit."
                    : "Deletes only the pods stuck in image-pull back-off so they are recreated and pull at once.",
                RemediationRisk.Low);
            if (Kind == "CronJob")
            {
                var name = _workload.Name;
                Add(RemediationKind.RunCronJobNow, $"Run cronjob/{name} now",
                    $"Creates a Job from cronjob/{name}'s job template now, as `kubectl create job --from=cronjob/{name}` does, and waits for its pods. It runs out of schedule; the stuck Job keeps its pods until it ends.",
                    RemediationRisk.Medium);
            }

            Add(RemediationKind.RestartWorkload, $"Restart {Target}",
                $"Sets the pod template's kubectl.kubernetes.io/restartedAt annotation, rolling every pod{TemplateChangeNote(rolls: null)}", RemediationRisk.Medium);
        }

        public void Add(RemediationKind kind, string title, string description, RemediationRisk risk, params (string Key, string Value)[] parameters)
        {
            var workload = _workload ?? new WorkloadRef("Pod", string.Empty);
            title = DiagnosisPlanner.Shorten(title, 70);
            if (RemediationPlan.ChangesPodTemplate(kind) && Kind == "Pod")
            {
                return; // a bare pod: no template to change
            }

            if (WithholdReason(kind) is { } reason)
            {
                if (!Withheld.Exists(w => w.Title == title))
                {
                    Withheld.Add(new WithheldFix(kind, title, reason));
                }

                return;
            }

            var plan = new RemediationPlan(kind, facts.Namespace, workload.Kind, workload.Name, title, description, risk,
                parameters.Where(p => p.Value.Length > 0).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal))
            {
                ManagedBy = RemediationPlan.ChangesPodTemplate(kind) ? _shape?.Owner : null,
            };
            if (!Plans.Exists(p => p.Key == plan.Key))
            {
                Plans.Add(plan);
            }
        }

        /// <summary>
        /// What a template change does on this workload beyond patching it, as the end of its description: a
        /// partition, the stuck pods a StatefulSet or an OnDelete DaemonSet needs deleted, the CronJob run it takes to see it work.
        /// </summary>
        /// <param name="rolls">What to say for a workload that simply rolls (null: nothing), e.g. "this rolls the pods".</param>
        public string TemplateChangeNote(string? rolls)
        {
            var plain = rolls is null ? "." : $" ({rolls}).";
            return Kind switch
            {
                "StatefulSet" when _shape is { IsOnDelete: true } =>
                    ". With updateStrategy OnDelete no pod is replaced by itself, so the pods stuck in image-pull back-off are deleted afterwards and come back from the new template; the others keep the old one until they are deleted.",
                "StatefulSet" when _shape is { Partition: > 0 } shape =>
                    string.Create(CultureInfo.InvariantCulture, $". With partition {shape.Partition} only pods with ordinal {shape.Partition} and above take the new template; those of them stuck in image-pull back-off are deleted afterwards (a StatefulSet does not replace a pod that never became Ready)."),
                "StatefulSet" => ". Then deletes the pods stuck in image-pull back-off: a StatefulSet does not replace a pod that never became Ready, so they come back from the new template.",
                "DaemonSet" when _shape is { IsOnDelete: true } =>
                    ". With updateStrategy OnDelete no pod is replaced by itself, so the pods stuck in image-pull back-off are deleted afterwards and come back from the new template; the others keep the old one until they are deleted.",
                "CronJob" => $". The Job already running keeps its old template (a Job's template cannot change), so the bot then runs the job once now from the new one, as `kubectl create job --from=cronjob/{_workload!.Name}` does, and waits for that Job's pods.",
                _ => plain,
            };
        }

        /// <summary>Why a fix of <paramref name="kind"/> cannot be offered for this workload, or null when it can.</summary>
        private string? WithholdReason(RemediationKind kind)
        {
            if (!RemediationPlan.ChangesPodTemplate(kind) || _workload is null)
            {
                return null;
            }

            switch (Kind)
            {
                case "Deployment" or "StatefulSet" or "DaemonSet" or "CronJob":
                    var refusal = TemplateChangeRefusals.For(kind, _shape ?? new WorkloadShape(Kind, _workload.Name), facts.Namespace);
                    return refusal is null ? null : refusal + ".";
                case "ReplicaSet":
                    return $"{Target} has no Deployment, and a ReplicaSet does not replace its pods when its template changes; change the template where it comes from, then retry the stuck pods.";
                case "Job":
                    return $"{Target} is a Job without CronJob, and a Job's pod template cannot change; change what creates the Job.";
                default:
                    if (_shape?.Owner is { Tool: OwnerTool.ArgoRollouts } || Kind == "Rollout")
                    {
                        var verb = kind == RemediationKind.RestartWorkload ? "restart" : "set image";
                        return $"The pods belong to Argo Rollouts Rollout {_workload.Name}, which owns its ReplicaSets and undoes changes to them; the bot never patches them and does not change Rollouts. Change the Rollout (`kubectl argo rollouts {verb} {_workload.Name} …`).";
                    }

                    return $"The pods belong to {Kind} {_workload.Name}, a controller the bot does not change; change it there.";
            }
        }
    }
}
