using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Remediation;

namespace ChatOpsPull.Prevention;

/// <summary>Where a finding came from.</summary>
public enum FindingSource
{
    /// <summary>The admission check warned about or refused a workload change ("prevented" card).</summary>
    Admission,

    /// <summary>The sweep found a running workload whose next pull would fail ("will fail" card).</summary>
    Sweep,
}

/// <summary>What the next pull would run into. A closed set; switches over it are exhaustive.</summary>
public enum FindingKind
{
    /// <summary>The tag (or the repository) is gone from the registry.</summary>
    ImageMissing,

    /// <summary>The registry refuses the pull secret's credentials.</summary>
    CredentialsRefused,

    /// <summary>The registry refuses the pull (no credentials for it, or none with access).</summary>
    AccessDenied,

    /// <summary>The pull secret's credentials expire within the warning window (or have expired).</summary>
    CredentialsExpiring,

    /// <summary>The image has no variant for a platform the pods may be scheduled on.</summary>
    PlatformMissing,

    /// <summary>The image reference is not valid.</summary>
    InvalidName,
}

public enum FindingState
{
    Open,
    Resolved,
}

public static class FindingKinds
{
    public static FindingKind? From(PullCause? cause) => cause switch
    {
        PullCause.ImageNotFound => FindingKind.ImageMissing,
        PullCause.AuthFailed => FindingKind.CredentialsRefused,
        PullCause.AccessDenied => FindingKind.AccessDenied,
        PullCause.PlatformMismatch => FindingKind.PlatformMissing,
        PullCause.InvalidName => FindingKind.InvalidName,
        _ => null,
    };

    /// <summary>snake_case, for metrics labels and storage.</summary>
    public static string Name(this FindingKind kind) => kind switch
    {
        FindingKind.ImageMissing => "image_missing",
        FindingKind.CredentialsRefused => "credentials_refused",
        FindingKind.AccessDenied => "access_denied",
        FindingKind.CredentialsExpiring => "credentials_expiring",
        FindingKind.PlatformMissing => "platform_missing",
        FindingKind.InvalidName => "invalid_name",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a finding kind"),
    };

    /// <summary>Plain words for a card title.</summary>
    public static string Describe(this FindingKind kind) => kind switch
    {
        FindingKind.ImageMissing => "Image or tag gone from the registry",
        FindingKind.CredentialsRefused => "Registry refuses the pull secret",
        FindingKind.AccessDenied => "Registry refuses the pull",
        FindingKind.CredentialsExpiring => "Pull secret credentials expire soon",
        FindingKind.PlatformMissing => "No image for some nodes' platform",
        FindingKind.InvalidName => "Invalid image name",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a finding kind"),
    };

    public static IReadOnlyList<FindingKind> All { get; } = Enum.GetValues<FindingKind>();
}

/// <summary>A workload change the admission check warned about or refused: who, what, and whether it was let in.</summary>
/// <param name="User">The user the API server named (request.userInfo.username).</param>
/// <param name="Operation">CREATE or UPDATE.</param>
/// <param name="PreviousImage">The container's image before the change (UPDATE), if it had one.</param>
/// <param name="Denied">Refused (deny mode) rather than admitted with a warning.</param>
public sealed record AdmissionChange(string User, string Operation, string? PreviousImage, bool Denied);

/// <summary>
/// One thing that will make a pull fail, for one container of one workload: found by the sweep ("will fail") or by the
/// admission check ("prevented"). Kept until it is gone, one card per finding, updated in place.
/// </summary>
/// <param name="Id">"fnd-…": what the card's buttons carry.</param>
/// <param name="Key">What makes two observations the same finding (source, cluster, namespace, workload, container, kind).</param>
/// <param name="Fix">What to do, in words; the buttons are <see cref="Plans"/>.</param>
/// <param name="Plans">Fixes the bot can run (set the tag, refresh the pull secret), best first.</param>
public sealed record PreventionFinding(
    string Id,
    string Key,
    FindingSource Source,
    FindingKind Kind,
    string Cluster,
    string Namespace,
    string WorkloadKind,
    string WorkloadName,
    string Container,
    string Image,
    string Summary,
    string? Fix,
    IReadOnlyList<Evidence> Evidence,
    IReadOnlyList<RemediationPlan> Plans,
    FindingState State,
    DateTimeOffset FirstSeen,
    DateTimeOffset LastSeen,
    DateTimeOffset? ResolvedAt,
    int Seen)
{
    public AdmissionChange? Change { get; init; }

    /// <summary>"deployment/web".</summary>
    public string Workload => $"{WorkloadKind.ToLowerInvariant()}/{WorkloadName}";

    public bool IsOpen => State == FindingState.Open;
}

/// <summary>What one check saw, before it is stored as (or merged into) a finding.</summary>
public sealed record FindingObservation(
    FindingSource Source,
    FindingKind Kind,
    string Cluster,
    string Namespace,
    string WorkloadKind,
    string WorkloadName,
    string Container,
    string Image,
    string Summary,
    string? Fix,
    IReadOnlyList<Evidence> Evidence,
    IReadOnlyList<RemediationPlan> Plans,
    AdmissionChange? Change)
{
    /// <summary>Admission findings are one per container (the latest change wins); sweep findings one per container and kind.</summary>
    public string Key => Source == FindingSource.Admission
        ? $"admission|{Cluster}|{Namespace}|{WorkloadKind}/{WorkloadName}|{Container}"
        : $"sweep|{Cluster}|{Namespace}|{WorkloadKind}/{WorkloadName}|{Container}|{Kind.Name()}";
}
