using System.ComponentModel;
using Hangfire;

namespace ChatOpsPull.Approvals;

/// <summary>
/// The dry run of a request asked for on another bot of the fleet (a chat replica, or another cluster's bot that took the
/// click): enqueued on the request's cluster's queue, it runs on that cluster's bot with its credentials and fills the
/// request's dry run in (<see cref="ApprovalWorkflow.ApplyDryRunAsync"/>). Idempotent: a request whose dry run is in is skipped.
/// </summary>
public sealed class DryRunJob(ApprovalWorkflow approvals)
{
    [DisplayName("Dry run for {0}")]
    [AutomaticRetry(Attempts = 3, DelaysInSeconds = [5, 30, 120])]
    public Task RunAsync(string approvalId, CancellationToken cancellationToken) => approvals.ApplyDryRunAsync(approvalId, cancellationToken);
}
