using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Images;

namespace ChatOpsPull.Core.Diagnoses;

/// <summary>What the registry check established, reduced to what the planner needs.</summary>
/// <param name="Cause">The cause the registry evidence establishes, or null when the image is pullable with the pod's credentials.</param>
/// <param name="Summary">One line from the check ("tag 1.4.3 not in ghcr.io/org/app", "503 from registry").</param>
/// <param name="SuggestedTags">Existing tags nearest to the missing one, best first.</param>
/// <param name="CredentialExpiry">When the credentials used expire(d), where readable.</param>
/// <param name="AvailablePlatforms">"linux/amd64" … for an index.</param>
public sealed record RegistryFacts(
    PullCause? Cause,
    string Summary,
    IReadOnlyList<string> SuggestedTags,
    DateTimeOffset? CredentialExpiry,
    IReadOnlyList<string> AvailablePlatforms);

/// <summary>The pod's pull secrets as kubelet sees them, reduced to what the planner needs.</summary>
/// <param name="Referenced">Secret names in pod spec + ServiceAccount imagePullSecrets.</param>
/// <param name="Missing">Referenced names that do not exist in the namespace.</param>
/// <param name="MatchingSecret">The referenced secret whose auths entry matches the image's registry host, or null.</param>
/// <param name="UnattachedMatchingSecrets">Secrets in the namespace with an entry for the host that the pod does not reference.</param>
/// <param name="Readable">False when the bot may not read secrets (403); then nothing above is known.</param>
public sealed record PullSecretFacts(
    IReadOnlyList<string> Referenced,
    IReadOnlyList<string> Missing,
    string? MatchingSecret,
    IReadOnlyList<string> UnattachedMatchingSecrets,
    bool Readable)
{
    public static PullSecretFacts Unknown { get; } = new([], [], null, [], false);
}

/// <summary>Everything the diagnosis planner weighs, gathered from the failure, the cluster and the registry.</summary>
/// <param name="Image">The parsed reference, or null when it does not parse (then <see cref="ImageError"/> says why).</param>
/// <param name="Registry">Registry evidence, or null when the registry could not be checked.</param>
/// <param name="CredentialSourceAvailable">A credential source is configured for this registry host (refresh possible).</param>
/// <param name="PreviousRevision">The Deployment's previous revision and its image for this container, when a rollback is possible.</param>
/// <remarks>What the node's kubelet adds is in <see cref="Kubelet"/>.</remarks>
public sealed record DiagnosisFacts(
    string Cluster,
    string Namespace,
    string ImageText,
    ImageReference? Image,
    string? ImageError,
    string Reason,
    string RawMessage,
    WorkloadRef? Workload,
    string Container,
    string? ServiceAccount,
    string? NodeName,
    bool? NodeDiskPressure,
    string? NodePlatform,
    PullSecretFacts Secrets,
    RegistryFacts? Registry,
    bool CredentialSourceAvailable,
    (int Revision, string Image)? PreviousRevision)
{
    /// <summary>The workload as the cluster has it (paused, update strategy, partition, owner), or null when it could not be read.</summary>
    public Remediation.WorkloadShape? Shape { get; init; }

    /// <summary>The node's kubelet: version, credential verification policy, the image in its cache, credential provider.</summary>
    public KubeletPullFacts Kubelet { get; init; } = KubeletPullFacts.Unknown;
}
