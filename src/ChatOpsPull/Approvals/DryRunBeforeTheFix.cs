using ChatOpsPull.Remediation;

namespace ChatOpsPull.Approvals;

/// <summary>
/// A request approved while its cluster had no bot leaves two jobs on that cluster's queue: its dry run
/// (<see cref="DryRunJob"/>) and its fix. When the bot returns they may run side by side; made after the fix, the dry run
/// would diff the changed workload against itself and read "no change". So the fix makes a waiting dry run first; the
/// dry-run job then finds it in and does nothing (<see cref="ApprovalWorkflow.ApplyDryRunAsync"/> is done once).
/// </summary>
public sealed class DryRunBeforeTheFix(ApprovalWorkflow approvals) : IRunPreparation
{
    public Task PrepareAsync(RunRecord run, CancellationToken cancellationToken) =>
        approvals.ApplyDryRunAsync(run.Run.ApprovalId, cancellationToken);
}
