namespace ChatOpsPull.Core.Failures;

/// <summary>Why an image could not be pulled. A closed set; every switch over it is exhaustive.</summary>
public enum PullCause
{
    Unknown = 0,
    ImageNotFound,
    AuthFailed,
    AccessDenied,
    Network,
    Tls,
    RateLimited,
    PlatformMismatch,
    InvalidName,
    NeverPull,
    NodeStorage,
    RegistryError,
    BackoffOnly,
    ImageNotEnsured,
    NodePullLimit,
    PolicyRejected,
}

public static class PullCauseNames
{
    private static readonly (PullCause Cause, string Name)[] Names =
    [
        (PullCause.Unknown, "unknown"),
        (PullCause.ImageNotFound, "image_not_found"),
        (PullCause.AuthFailed, "auth_failed"),
        (PullCause.AccessDenied, "access_denied"),
        (PullCause.Network, "network"),
        (PullCause.Tls, "tls"),
        (PullCause.RateLimited, "rate_limited"),
        (PullCause.PlatformMismatch, "platform_mismatch"),
        (PullCause.InvalidName, "invalid_name"),
        (PullCause.NeverPull, "never_pull"),
        (PullCause.NodeStorage, "node_storage"),
        (PullCause.RegistryError, "registry_error"),
        (PullCause.BackoffOnly, "backoff_only"),
        (PullCause.ImageNotEnsured, "image_not_ensured"),
        (PullCause.NodePullLimit, "node_pull_limit"),
        (PullCause.PolicyRejected, "policy_rejected"),
    ];

    /// <summary>The snake_case name used in JSON, cards, metrics and fixtures.</summary>
    public static string ToSnakeCase(this PullCause cause) => cause switch
    {
        PullCause.Unknown => "unknown",
        PullCause.ImageNotFound => "image_not_found",
        PullCause.AuthFailed => "auth_failed",
        PullCause.AccessDenied => "access_denied",
        PullCause.Network => "network",
        PullCause.Tls => "tls",
        PullCause.RateLimited => "rate_limited",
        PullCause.PlatformMismatch => "platform_mismatch",
        PullCause.InvalidName => "invalid_name",
        PullCause.NeverPull => "never_pull",
        PullCause.NodeStorage => "node_storage",
        PullCause.RegistryError => "registry_error",
        PullCause.BackoffOnly => "backoff_only",
        PullCause.ImageNotEnsured => "image_not_ensured",
        PullCause.NodePullLimit => "node_pull_limit",
        PullCause.PolicyRejected => "policy_rejected",
        _ => throw new ArgumentOutOfRangeException(nameof(cause), cause, "not a pull cause"),
    };

    public static bool TryParse(string? name, out PullCause cause)
    {
        foreach (var (c, n) in Names)
        {
            if (string.Equals(n, name, StringComparison.Ordinal))
            {
                cause = c;
                return true;
            }
        }

        cause = PullCause.Unknown;
        return false;
    }

    public static IReadOnlyList<PullCause> All { get; } = Names.Select(n => n.Cause).ToArray();

    /// <summary>Plain words for a card title.</summary>
    public static string Describe(this PullCause cause) => cause switch
    {
        PullCause.Unknown => "Unknown pull failure",
        PullCause.ImageNotFound => "Image or tag not found",
        PullCause.AuthFailed => "Registry credentials rejected",
        PullCause.AccessDenied => "Access denied (private or missing repository)",
        PullCause.Network => "Registry unreachable",
        PullCause.Tls => "TLS error talking to the registry",
        PullCause.RateLimited => "Registry rate limit hit",
        PullCause.PlatformMismatch => "No image for the node's platform",
        PullCause.InvalidName => "Invalid image name",
        PullCause.NeverPull => "Image absent and pull policy is Never",
        PullCause.NodeStorage => "Node out of disk space",
        PullCause.RegistryError => "Registry server error",
        PullCause.BackoffOnly => "Back-off (underlying error not yet known)",
        PullCause.ImageNotEnsured => "Pod lacks the credentials the cached image was pulled with",
        PullCause.NodePullLimit => "Kubelet's own pull limit on the node",
        PullCause.PolicyRejected => "Node image policy rejected the image",
        _ => throw new ArgumentOutOfRangeException(nameof(cause), cause, "not a pull cause"),
    };
}
