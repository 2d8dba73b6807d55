namespace ChatOpsPull.Configuration;

/// <summary>
/// What the bot may do in the cluster, as its install profile grants it (manifests/profiles; docs/install-profiles.md).
/// Each profile's manifests set Bot:Profile, so the cards offer only what the ServiceAccount may do.
/// </summary>
public enum InstallProfile
{
    /// <summary>Diagnoses, posts cards, and runs the fixes people approve (writes guarded by the admission policy).</summary>
    Remediate,

    /// <summary>Diagnoses and posts cards; changes nothing. Cards show each fix as the kubectl commands a person can run.</summary>
    Observe,
}
