namespace ChatOpsPull.Core.Incidents;

/// <summary>
/// The legal moves of an incident's state: Open → Diagnosed → AwaitingApproval → Remediating → Resolved/Failed,
/// plus the ways back (re-diagnosis, denied approval, reopen after a relapse).
/// </summary>
public static class IncidentTransitions
{
    /// <summary>True when an incident may go from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public static bool IsAllowed(IncidentState from, IncidentState to) => from switch
    {
        // Diagnosing, or the pods recovered (or were deleted) before anyone looked.
        IncidentState.Open => to is IncidentState.Diagnosed or IncidentState.Resolved or IncidentState.Failed,

        // Re-diagnosis stays Diagnosed; the cause changed → Open again; a fix is asked for, or runs alone by policy.
        IncidentState.Diagnosed => to is IncidentState.Diagnosed or IncidentState.Open or IncidentState.AwaitingApproval
            or IncidentState.Remediating or IncidentState.Resolved or IncidentState.Failed,

        // Approved → Remediating; denied or expired → back to Diagnosed; the pods recovered alone → Resolved.
        IncidentState.AwaitingApproval => to is IncidentState.Remediating or IncidentState.Diagnosed
            or IncidentState.Open or IncidentState.Resolved,

        // The job ends: pods Ready → Resolved, job failed → Failed, job done but pods still failing → Diagnosed.
        IncidentState.Remediating => to is IncidentState.Resolved or IncidentState.Failed or IncidentState.Diagnosed,

        // A relapse inside the quiet window reopens the same incident.
        IncidentState.Resolved => to is IncidentState.Open,

        // Failed remediation: reopen to try again, or the pods recovered later.
        IncidentState.Failed => to is IncidentState.Open or IncidentState.Resolved,

        _ => throw new ArgumentOutOfRangeException(nameof(from), from, "not an incident state"),
    };

    /// <summary>
    /// The state a stored diagnosis leaves the incident in: an open (or re-diagnosed) incident becomes Diagnosed; one that
    /// is further along (awaiting approval, remediating, closed) keeps its state and only gets the new diagnosis.
    /// </summary>
    public static IncidentState AfterDiagnosis(IncidentState state) =>
        state is IncidentState.Open or IncidentState.Diagnosed ? IncidentState.Diagnosed : state;

    /// <summary>The states <see cref="AfterDiagnosis"/> turns into Diagnosed (for a store that applies the rule in one statement).</summary>
    public static IReadOnlyList<IncidentState> BecomeDiagnosed { get; } =
        [.. Enum.GetValues<IncidentState>().Where(s => AfterDiagnosis(s) == IncidentState.Diagnosed)];

    /// <summary>Plain words for a refused transition, for logs and chat replies.</summary>
    public static string Explain(IncidentState from, IncidentState to) =>
        IsAllowed(from, to)
            ? $"{from} → {to} is allowed."
            : $"An incident that is {Describe(from)} cannot become {Describe(to)}.";

    public static string Describe(IncidentState state) => state switch
    {
        IncidentState.Open => "open",
        IncidentState.Diagnosed => "diagnosed",
        IncidentState.AwaitingApproval => "awaiting approval",
        IncidentState.Remediating => "being remediated",
        IncidentState.Resolved => "resolved",
        IncidentState.Failed => "failed",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "not an incident state"),
    };

    /// <summary>The snake_case name stored in the database and shown in JSON.</summary>
    public static string ToSnakeCase(this IncidentState state) => state switch
    {
        IncidentState.Open => "open",
        IncidentState.Diagnosed => "diagnosed",
        IncidentState.AwaitingApproval => "awaiting_approval",
        IncidentState.Remediating => "remediating",
        IncidentState.Resolved => "resolved",
        IncidentState.Failed => "failed",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "not an incident state"),
    };

    public static bool TryParse(string? name, out IncidentState state)
    {
        foreach (var candidate in Enum.GetValues<IncidentState>())
        {
            if (string.Equals(candidate.ToSnakeCase(), name, StringComparison.Ordinal))
            {
                state = candidate;
                return true;
            }
        }

        state = IncidentState.Open;
        return false;
    }
}
