namespace ChatOpsPull.Remediation.Actions;

/// <summary>
/// Deletes only the workload's pods still waiting with a pull reason; their controller recreates them and they pull at
/// once. Judged by those pods: the workload's pods all Ready, or for a CronJob the Jobs they belonged to.
/// </summary>
public sealed class DeleteBackoffPodsAction(StuckPods stuckPods) : IRemediationAction
{
    public async Task<string> DryRunAsync(ActionInput input, CancellationToken cancellationToken) =>
        ObjectDiff.Summarize(await stuckPods.DryRunAsync(input, cancellationToken).ConfigureAwait(false));

    public async Task<string> ApplyAsync(ActionInput input, StepLog steps, CancellationToken cancellationToken)
    {
        var deleted = await stuckPods.DeleteAsync(input, steps, "1-pods-", cancellationToken).ConfigureAwait(false);
        await steps.RecordTargetAsync(await StuckPods.TargetAfterDeleteAsync(input, steps, "1-pods-", cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        return deleted;
    }
}
