using ChatOpsPull.Core.Remediation;

namespace ChatOpsPull.Remediation.Actions;

/// <summary>What an action acts on: the plan, and the incident's image where the action needs it (credential checks).</summary>
public sealed record ActionInput(RemediationPlan Plan, string? Image)
{
    public string Parameter(string name) =>
        Plan.Parameters.TryGetValue(name, out var value) && value.Length > 0
            ? value
            : throw new RemediationRefusedException($"the plan \"{Plan.Title}\" has no {name}; ask for a fresh diagnosis");

    public string? OptionalParameter(string name) =>
        Plan.Parameters.TryGetValue(name, out var value) && value.Length > 0 ? value : null;

    /// <summary>"deployment/api".</summary>
    public string Workload => $"{Plan.WorkloadKind.ToLowerInvariant()}/{Plan.WorkloadName}";
}

/// <summary>One remediation kind against the cluster.</summary>
public interface IRemediationAction
{
    /// <summary>
    /// Sends what <see cref="ApplyAsync"/> would write with <c>dryRun=All</c> and returns the human diff. Changes nothing.
    /// Throws <see cref="RemediationRefusedException"/> when the action cannot work (missing object, RBAC).
    /// </summary>
    Task<string> DryRunAsync(ActionInput input, CancellationToken cancellationToken);

    /// <summary>
    /// Applies the plan step by step; a step already done (<see cref="StepLog"/>) is skipped, and each step checks the
    /// cluster's current state before writing, so running twice acts once. Returns one line for the card.
    /// </summary>
    Task<string> ApplyAsync(ActionInput input, StepLog steps, CancellationToken cancellationToken);
}

/// <summary>
/// The steps of one run: before a step acts, what it means to do is stored (its intent: the restartedAt value, the pods
/// it will delete); when it is done, its result. A resumed run reads both and does not act twice.
/// </summary>
public sealed class StepLog(RemediationRunStore store, string approvalId, TimeProvider time)
{
    public string ApprovalId => approvalId;

    /// <param name="intent">Stored before <paramref name="act"/> runs, unless an earlier attempt stored one; <paramref name="act"/> gets the stored one.</param>
    public async Task<string> RunAsync(string step, string? intent, Func<string?, CancellationToken, Task<string>> act, CancellationToken cancellationToken)
    {
        var state = await store.BeginStepAsync(approvalId, step, intent, cancellationToken).ConfigureAwait(false);
        if (state.IsDone)
        {
            return state.Result ?? string.Empty;
        }

        var result = await act(state.Intent, cancellationToken).ConfigureAwait(false);
        await store.CompleteStepAsync(approvalId, step, result, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <summary>The stored result of a step that is done, or null.</summary>
    public async Task<string?> ResultOfAsync(string step, CancellationToken cancellationToken) =>
        await store.GetStepAsync(approvalId, step, cancellationToken).ConfigureAwait(false) is { IsDone: true } done ? done.Result : null;

    /// <summary>Records what the job waits for once the action applied (the last step of every action).</summary>
    public Task RecordTargetAsync(RolloutTarget target, CancellationToken cancellationToken) =>
        RunAsync(RolloutTarget.Step, null, (_, _) => Task.FromResult(target.ToJson()), cancellationToken);

    /// <summary>A short suffix fixed for this run (names the Job a CronJob run creates): the approval id's random part.</summary>
    public string RunSuffix => approvalId[(approvalId.IndexOf('-', StringComparison.Ordinal) + 1)..];
}
