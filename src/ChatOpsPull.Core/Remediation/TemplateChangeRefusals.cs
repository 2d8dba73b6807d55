namespace ChatOpsPull.Core.Remediation;

/// <summary>
/// When a change to a workload's pod template cannot do what it promises, in kubectl's terms: a paused Deployment rolls
/// nothing (kubectl refuses <c>rollout restart</c> — "can't restart paused deployment (run rollout resume first)", in its
/// objectrestarter.go — and <c>rollout undo</c> there); a restart of an OnDelete StatefulSet or DaemonSet replaces no pod;
/// kubectl does not restart a CronJob ("restarting is not supported"). One wording for the card (the fix is not offered)
/// and for the server (the dry run and the job refuse it, from the object as it is then). A workload another controller
/// owns (an operator's resource, an Argo Rollouts Rollout) gets no template change at all: that controller reverts it.
/// </summary>
public static class TemplateChangeRefusals
{
    /// <summary>Why <paramref name="kind"/> cannot work on <paramref name="shape"/>, or null when it can.</summary>
    public static string? For(RemediationKind kind, WorkloadShape shape, string @namespace)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (!RemediationPlan.ChangesPodTemplate(kind))
        {
            return null;
        }

        var target = shape.Ref.ToString();
        if (shape.Owner is { ReconcilesTemplate: true } owner)
        {
            // An operator (or a Rollout) writes this object's spec from its own resource and undoes a patch at its next reconcile.
            return $"{target} belongs to {owner.Describe()} ({owner.Evidence}), whose controller writes its pod template and undoes a patch at its next reconcile; the bot does not patch it. Change {owner.Describe()} instead; \"Retry the pull now\" deletes the stuck pods";
        }

        switch (shape.Kind)
        {
            case "Deployment" when shape.Paused:
                var resume = $"`kubectl -n {@namespace} rollout resume {target}`";
                return kind switch
                {
                    RemediationKind.RestartWorkload => $"{target} is paused, and `kubectl rollout restart` refuses a paused Deployment too (\"can't restart paused deployment\"); resume it first ({resume})",
                    RemediationKind.RollBack => $"{target} is paused, and `kubectl rollout undo` refuses a paused Deployment too (\"you cannot rollback a paused deployment\"); resume it first ({resume})",
                    _ => $"{target} is paused: a change to its pod template would not roll out until someone resumes it ({resume})",
                };
            case "StatefulSet" or "DaemonSet" when kind == RemediationKind.RestartWorkload && shape.IsOnDelete:
                return $"{target} has updateStrategy OnDelete: a restart changes its template and replaces no pod; \"Retry the pull now\" deletes the stuck pods instead";
            case "CronJob" when kind == RemediationKind.RestartWorkload:
                return $"`kubectl rollout restart` does not restart a CronJob (\"restarting is not supported\": its pods belong to a Job, whose template cannot change); \"Run {target} now\" starts a new Job instead";
            default:
                return null;
        }
    }
}
