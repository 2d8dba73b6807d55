namespace ChatOpsPull.Prevention;

/// <summary>
/// Told when a finding opens, changes or resolves, so its card can be posted or updated in place. Implemented by the
/// chat cards (Chat/Prevention); without one, findings are still stored, shown in the digest and counted.
/// </summary>
public interface IPreventionNotifier
{
    Task FindingChangedAsync(PreventionFinding finding, FindingChange change, CancellationToken cancellationToken);
}
