namespace ChatOpsPull.Remediation.Actions;

/// <summary>
/// Runs a CronJob's job once now, as <c>kubectl create job --from=cronjob/…</c> does (<see cref="CronJobRuns"/>) — what
/// works for a CronJob's pods where kubectl has no restart. Judged by the new Job: complete, or its pods Ready.
/// </summary>
public sealed class RunCronJobNowAction(CronJobRuns runs) : IRemediationAction
{
    public Task<string> DryRunAsync(ActionInput input, CancellationToken cancellationToken)
    {
        RequireCronJob(input);
        return runs.DryRunAsync(input.Plan.Namespace, input.Plan.WorkloadName, cancellationToken);
    }

    public async Task<string> ApplyAsync(ActionInput input, StepLog steps, CancellationToken cancellationToken)
    {
        RequireCronJob(input);
        var plan = input.Plan;
        var created = await runs.CreateAsync(plan.Namespace, plan.WorkloadName, steps, "1-create-job", cancellationToken).ConfigureAwait(false);
        await steps.RecordTargetAsync(
            RolloutTarget.OfJobs(plan, [Core.Remediation.ManualJob.Name(plan.WorkloadName, steps.RunSuffix)]),
            cancellationToken).ConfigureAwait(false);
        return created;
    }

    private static void RequireCronJob(ActionInput input)
    {
        if (input.Plan.WorkloadKind != "CronJob")
        {
            throw new RemediationRefusedException($"only a CronJob's job can be run now, not a {input.Plan.WorkloadKind.ToLowerInvariant()}'s");
        }
    }
}
