namespace ChatOpsPull.Core.Incidents;

public enum MuteScope
{
    /// <summary>Pattern is matched against the image name ("docker.io/library/nginx") and the full reference.</summary>
    Image,

    /// <summary>Pattern is matched against the namespace.</summary>
    Namespace,
}

/// <summary>
/// Silence for incidents matching a pattern: they are still stored and updated, but nobody is told.
/// </summary>
/// <param name="Cluster">Glob for the cluster ("*" for all).</param>
/// <param name="Pattern">Glob for the image or namespace.</param>
/// <param name="Until">Null mutes forever (until removed).</param>
public sealed record IncidentMute(string Id, MuteScope Scope, string Cluster, string Pattern, DateTimeOffset? Until, string CreatedBy, DateTimeOffset CreatedAt)
{
    public bool IsActive(DateTimeOffset now) => Until is null || Until > now;

    public bool Matches(Incident incident, DateTimeOffset now)
    {
        if (!IsActive(now) || !Glob.IsMatch(Cluster, incident.Key.Cluster))
        {
            return false;
        }

        return Scope switch
        {
            MuteScope.Namespace => Glob.IsMatch(Pattern, incident.Key.Namespace),
            MuteScope.Image => ImageForms(incident.Image).Any(form => Glob.IsMatch(Pattern, form)),
            _ => false,
        };
    }

    /// <summary>The ways people name an image: as written, familiar, fully qualified, and each without tag/digest.</summary>
    public static IEnumerable<string> ImageForms(string image)
    {
        yield return image;
        if (Images.ImageReference.TryParse(image, out var reference, out _))
        {
            yield return reference.FamiliarString;
            yield return reference.ToString();
            yield return reference.Name;
            var familiar = reference.FamiliarString;
            var cut = familiar.IndexOfAny([':', '@'], familiar.LastIndexOf('/') + 1);
            yield return cut < 0 ? familiar : familiar[..cut];
        }
    }
}

/// <summary>Whether anyone should be told about an incident now.</summary>
public static class IncidentSilence
{
    public static bool IsSnoozed(Incident incident, DateTimeOffset now) => incident.SnoozedUntil is { } until && until > now;

    public static IncidentMute? MatchingMute(Incident incident, IEnumerable<IncidentMute> mutes, DateTimeOffset now) =>
        mutes.FirstOrDefault(m => m.Matches(incident, now));

    public static bool IsSilenced(Incident incident, IEnumerable<IncidentMute> mutes, DateTimeOffset now) =>
        IsSnoozed(incident, now) || MatchingMute(incident, mutes, now) is not null;
}
