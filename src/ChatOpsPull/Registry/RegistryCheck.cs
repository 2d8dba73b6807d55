using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Images;

namespace ChatOpsPull.Registry;

/// <summary>
/// What checking one image against its registry with one set of credentials established, as evidence.
/// </summary>
/// <param name="Image">The image checked.</param>
/// <param name="Cause">The cause the evidence establishes; null when the image is pullable with these credentials.
/// One of <see cref="PullCause.ImageNotFound"/>, <see cref="PullCause.AuthFailed"/>, <see cref="PullCause.AccessDenied"/>,
/// <see cref="PullCause.Network"/>, <see cref="PullCause.Tls"/>, <see cref="PullCause.RateLimited"/>,
/// <see cref="PullCause.PlatformMismatch"/>, <see cref="PullCause.RegistryError"/>.</param>
/// <param name="Confidence">0..1: how firmly the evidence establishes the cause (lower for ambiguous access denials).</param>
/// <param name="Summary">One line a tired person can act on.</param>
/// <param name="Evidence">Each thing checked, its outcome, a one-line detail and how long it took. Never a secret.</param>
public sealed record RegistryCheck(
    ImageReference Image,
    PullCause? Cause,
    double Confidence,
    string Summary,
    IReadOnlyList<Evidence> Evidence)
{
    public bool Pullable => Cause is null;

    /// <summary>Manifest digest ("sha256:…") when the registry has the image.</summary>
    public string? Digest { get; init; }

    /// <summary>Manifest media type (OCI index/manifest, Docker manifest list/v2 manifest).</summary>
    public string? MediaType { get; init; }

    /// <summary>Platforms the image offers (index entries, or the single manifest's config), when read.</summary>
    public IReadOnlyList<Platform> Platforms { get; init; } = [];

    /// <summary>Existing tags nearest to a missing one, best first.</summary>
    public IReadOnlyList<TagSuggestion> SuggestedTags { get; init; } = [];

    /// <summary>Docker Hub's pull allowance as the last response reported it.</summary>
    public RateLimitHeadroom? RateLimit { get; init; }

    /// <summary>What the credentials reveal about their expiry.</summary>
    public CredentialLifetime? CredentialLifetime { get; init; }

    /// <summary>"user alice (username/password) from secret shop/regcred, auths key \"ghcr.io\"", or "anonymous".</summary>
    public string Credentials { get; init; } = "anonymous";

    /// <summary>Whether the repository is known to exist (true), known not to (false), or unknown (null).</summary>
    public bool? RepositoryExists { get; init; }

    public DateTimeOffset CheckedAt { get; init; }

    public TimeSpan Duration { get; init; }

    /// <summary>This answer was shared from a check in flight or finished within the cache window.</summary>
    public bool FromCache { get; init; }
}

/// <summary>The result of trying the pod's pull secrets the way kubelet does: each matching credential in order.</summary>
/// <param name="Attempts">One check per credential kubelet would try (one anonymous check when none match).</param>
public sealed record KubeletPullCheck(PullSecretResolution Resolution, IReadOnlyList<RegistryCheck> Attempts)
{
    /// <summary>The attempt that pulls (kubelet stops at the first success), else the first one kubelet tries.</summary>
    public RegistryCheck Outcome => Attempts.FirstOrDefault(a => a.Pullable) ?? Attempts[0];

    public bool Pullable => Outcome.Pullable;

    /// <summary>Pull-secret evidence followed by every attempt's evidence.</summary>
    public IReadOnlyList<Evidence> AllEvidence =>
        Resolution.ToEvidence().Concat(Attempts.SelectMany(a => a.Evidence)).ToList();
}
