namespace ChatOpsPull.Remediation;

/// <summary>
/// Whether a run may act, asked by <see cref="RemediationJob"/> before it changes anything: the run row alone proves nothing
/// (in a fleet every bot can write rows), so the approval behind it is checked where it runs. Implemented by the approvals.
/// </summary>
public interface IRunAuthority
{
    /// <summary>Null when the run may act; otherwise the sentence that says why not (it goes on the card and in the audit log).</summary>
    Task<string?> RefusalAsync(RunRecord run, CancellationToken cancellationToken);
}
