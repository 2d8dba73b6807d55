using ChatOpsPull.Core.Incidents;

namespace ChatOpsPull.Incidents;

public enum IncidentUpdateOutcome
{
    /// <summary>Stored (and announced, unless silenced).</summary>
    Changed,

    /// <summary>Nothing to do: already so, or superseded.</summary>
    Unchanged,

    NotFound,

    /// <summary>Not allowed (illegal transition, key taken); <see cref="IncidentUpdate.Message"/> says why.</summary>
    Refused,
}

/// <summary>The answer to a change asked of the engine.</summary>
public sealed record IncidentUpdate(IncidentUpdateOutcome Outcome, Incident? Incident, string Message);
