namespace ChatOpsPull.Remediation.Actions;

/// <summary>Deletes only the workload's pods still waiting with a pull reason; their controller recreates them and they pull at once.</summary>
public sealed class DeleteBackoffPodsAction(StuckPods stuckPods) : IRemediationAction
{
    public async Task<string> DryRunAsync(ActionInput input, CancellationToken cancellationToken) =>
        ObjectDiff.Summarize(await stuckPods.DryRunAsync(input, cancellationToken).ConfigureAwait(false));

    public Task<string> ApplyAsync(ActionInput input, StepLog steps, CancellationToken cancellationToken) =>
        stuckPods.DeleteAsync(input, steps, "1-pods-", cancellationToken);
}
