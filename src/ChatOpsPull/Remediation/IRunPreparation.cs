namespace ChatOpsPull.Remediation;

/// <summary>
/// What must be on record before a run changes anything, made by <see cref="RemediationJob"/> on the bot that acts, after
/// <see cref="IRunAuthority"/> let the run act. Implemented by the approvals: a dry run the request still waits for (asked
/// while its cluster's bot was down) is made now, so it shows the cluster as it was before the change rather than after it.
/// </summary>
public interface IRunPreparation
{
    Task PrepareAsync(RunRecord run, CancellationToken cancellationToken);
}
