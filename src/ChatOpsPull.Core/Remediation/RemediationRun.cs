namespace ChatOpsPull.Core.Remediation;

/// <summary>Where an approved remediation is.</summary>
public enum RunStatus
{
    Queued,
    Running,

    /// <summary>The change is applied; waiting for the pods to become Ready.</summary>
    VerifyingRollout,

    /// <summary>Applied and the pods came up Ready before the deadline.</summary>
    Succeeded,

    /// <summary>Applied, but the pods were not Ready when the deadline passed.</summary>
    RolloutTimedOut,

    /// <summary>Could not be applied (after retries); the detail says why.</summary>
    Failed,
}

/// <summary>One run of one plan, keyed by the approval that allowed it.</summary>
public sealed record RemediationRun(
    string ApprovalId,
    string IncidentId,
    RemediationPlan Plan,
    RunStatus Status,
    string Detail,
    DateTimeOffset QueuedAt,
    DateTimeOffset? FinishedAt)
{
    public bool IsFinished => Status is RunStatus.Succeeded or RunStatus.RolloutTimedOut or RunStatus.Failed;
}
