using ChatOpsPull.Core.Failures;

namespace ChatOpsPull.Core.Classification;

/// <summary>
/// From a kubelet/runtime message (container status, Warning event or kubelet log line) to a cause, for containerd,
/// CRI-O (containers/image), Docker and cri-dockerd, Windows and the cloud registries. The message is scanned once, ignoring
/// case, for every known phrase (and the HTTP status it names); the rules then only test bits. Rules are written for KINDS of wording
/// (what runtimes and kubelet versions say about one situation), not for single messages, in an order where the
/// most telling evidence wins:
/// <list type="number">
/// <item>kubelet's own verdicts: pull policy Never, image not ensured (KEP-2535), an unusable name (a parse error or
/// a short name CRI-O will not resolve), kubelet's own pull limit (registryPullQPS), a failed credential provider;</item>
/// <item>admission refusing the pod's image (ImagePolicyWebhook, a validating webhook over an image or its signature);</item>
/// <item>the node refusing or failing on its own: schema 1 images, image policy / signature refusals, a full or failing
/// disk, evictions for ephemeral storage and image garbage collection;</item>
/// <item>registry rate limits and a missing platform, then unpacking on the node (extraction, snapshotter, local
/// content) that is not a full disk — all of which may also say "not found" and must not read as a missing image;</item>
/// <item>answers the registry gave: "manifest unknown" (only said after authorization), missing, expired or rejected
/// credentials (containerd's "failed to fetch oauth token", said only when a secret was sent, refused with a 401),
/// then "denied"/403 (private or missing — the registry will not say which);</item>
/// <item>transport failures: TLS, then network (a "TLS handshake timeout" is network);</item>
/// <item>generic 401s, registry-side faults (5xx and other unexpected answers, broken or garbled downloads), a bare
/// "not found";</item>
/// <item>last, a message that names a pull reason (ErrImagePull, ImagePullBackOff, "Back-off pulling image", "waiting
/// to start: trying and failing to pull image", a status column) but no error the rules know is
/// <see cref="PullCause.BackoffOnly"/> with the reason named, never <see cref="PullCause.Unknown"/>.</item>
/// </list>
/// Kubelet 1.32+ appends the last pull error to "Back-off pulling image": the appended part decides. Confidence stays
/// at or below 0.9: a message is never proof. Classifying allocates only the result; its summary is written when read.
/// </summary>
public static partial class MessageClassifier
{
    /// <summary>Kubelet messages are a few hundred characters; anything past this is not read.</summary>
    public const int MaxAnalyzedLength = 64 * 1024;

    public static Classification Classify(string? message, string? reason = null)
    {
        reason = string.IsNullOrWhiteSpace(reason) ? null : reason.Trim();
        var finding = Read(message, reason, static (m, r) => Decide(m, r));
        return new Classification(finding, message, reason);
    }

    /// <summary>The summary for a finding, written from the message again (only when someone reads it).</summary>
    internal static string Explain(Finding finding, string? message, string? reason) =>
        Read(message, reason, (m, r) => Summarize(finding, m, r));

    private delegate T MessageReader<out T>(Message message, string? reason);

    /// <summary>Trims, cuts at <see cref="MaxAnalyzedLength"/> and scans once (the scanner lower-cases on the stack when short).</summary>
    private static T Read<T>(string? message, string? reason, MessageReader<T> read)
    {
        var text = (message ?? string.Empty).AsSpan().Trim();
        if (text.Length > MaxAnalyzedLength)
        {
            text = text[..MaxAnalyzedLength];
        }

        var facts = default(MessageFacts);
        var found = P.Scanner.Scan(text, ref facts);
        return read(new Message(text, found, facts), reason);
    }

    private static Finding Decide(Message m, string? reason)
    {
        // 1. Kubelet's own verdicts.
        if (reason == "ErrImageNeverPull" || m.Has(P.NeverPull))
        {
            return Finding.NeverPull;
        }

        if (reason == "ErrImageNotEnsured" || m.Has(P.NotEnsured))
        {
            return Finding.NotEnsured;
        }

        if (reason == "InvalidImageName" || m.Has(P.InvalidName))
        {
            return Finding.InvalidName;
        }

        if (m.Has(P.ShortName))
        {
            return Finding.ShortName;
        }

        if (m.Has(P.PullQps))
        {
            return Finding.NodePullLimit;
        }

        if (m.Has(P.CredentialProvider))
        {
            return Finding.CredentialProvider;
        }

        // 2. The node refusing, or failing on its own.
        if (m.Has(P.ImagePolicyBackend) || (m.Has(P.AdmissionWebhook) && m.Has(P.DeniedTheRequest) && m.Has(P.ImageWord | P.Signature)))
        {
            return Finding.AdmissionRejected;
        }

        if (reason == "SignatureValidationFailed" || m.Has(P.Policy) || (m.Has(P.Signature) && m.Has(P.Refusal)))
        {
            return Finding.PolicyRejected;
        }

        if (m.Has(P.ProjectPolicy))
        {
            return Finding.RegistryPolicy;
        }

        if (m.Has(P.SchemaOne) && !m.Has(P.FetchDescriptor))
        {
            // No cause fits an image format the runtime dropped; beside a pull reason it is still never unknown.
            return m.Has(P.PullReason | P.RegistryUnavailable) ? Finding.SchemaOneBackOff : Finding.SchemaOne;
        }

        if (m.Has(P.DiskFull))
        {
            return Finding.DiskFull;
        }

        if (m.Has(P.DiskFailure))
        {
            return Finding.DiskFailure;
        }

        if (m.Has(P.Eviction))
        {
            return Finding.Eviction;
        }

        // 3. Causes whose messages also say "not found", "failed to copy" or carry a registry URL.
        var status = m.StatusCode;
        if (m.Has(P.RateLimited) || status == 429)
        {
            return Finding.RateLimited;
        }

        if (m.Has(P.Platform))
        {
            return Finding.Platform;
        }

        if (m.Has(P.Unpack))
        {
            return Finding.Unpack;
        }

        if (m.Has(P.ExecFormat))
        {
            return Finding.Platform;
        }

        // The node's HTTP(S) proxy refused the CONNECT ("Forbidden" alone after the URL): nothing reached the registry.
        if (m.ProxyRefusedConnect)
        {
            return Finding.Network;
        }

        // 4. What the registry answered.
        // Kubelet's per-credential attempts disagreeing: one found no such image, another had its credentials refused
        // (issue 14's ambiguous case): the image is missing, or private to credentials the pod does not have.
        if (m.Has(P.KubeletAggregate) && m.Has(P.ManifestUnknown | P.NotFound)
            && (m.Has(P.UnauthorizedWord | P.CredentialRefusal | P.NoCredentials | P.CredentialsRejected | P.TokenRejected) || status == 401))
        {
            return Finding.AttemptsDisagree;
        }

        if (m.Has(P.ManifestUnknown) || (m.Has(P.ManifestFor | P.ProjectWord) && m.Has(P.SpaceNotFound)))
        {
            return Finding.ManifestUnknown;
        }

        if (m.Has(P.Deprecated) && m.Has(P.ShutDown))
        {
            return Finding.RegistryRetired;
        }

        var forbidden = m.Has(P.Forbidden) || status == 403 || m.DeniedAsWord;
        if (m.Has(P.NoCredentials) || (m.Has(P.NoCredentialsHint) && (forbidden || status == 401 || m.Has(P.Denied) || m.Has(P.Unauthorized))))
        {
            return Finding.NoCredentials;
        }

        if (m.Has(P.TokenRejected))
        {
            return Finding.TokenRejected;
        }

        if (!forbidden && m.Has(P.OAuthToken) && (status == 401 || m.Has(P.UnauthorizedWord)))
        {
            return Finding.CredentialsRejected;
        }


        // A denial from Amazon ECR (403 or DENIED: "no pull access", "may require 'docker login'", IAM's "not authorized to
        // perform") names no credential fault, so by the text it is the ambiguous denial (issue 14's labelling convention);
        // its own finding keeps ECR's habit in the summary: a missing repository or tag is a 404 there, so the credentials
        // come first. Expired or invalid ECR tokens and missing credentials were read above as auth_failed.
        if ((forbidden || m.Has(P.Denied)) && m.Has(P.EcrHost))
        {
            return Finding.EcrRefused;
        }

        if (m.Has(P.HarborNoPullPermission))
        {
            return Finding.NoPullPermission;
        }

        if (!forbidden && m.Has(P.CredentialsRejected))
        {
            return Finding.CredentialsRejected;
        }

        if (m.Has(P.InstallationNotAllowed))
        {
            return Finding.TokenDenied;
        }

        if (m.Has(P.GitLabAccessForbidden))
        {
            return Finding.GitLabForbidden;
        }

        if (forbidden || m.Has(P.Denied))
        {
            return Finding.Denied;
        }

        // 5. Transport.
        if (!m.Has(P.TlsHandshakeTimeout) && m.Has(P.Tls))
        {
            return Finding.Tls;
        }

        if (reason == "RegistryUnavailable" || m.Has(P.Network) || (m.EofAsWord && !m.Has(P.UnexpectedEof)))
        {
            return Finding.Network;
        }

        // 6. Generic authorization failures, registry-side faults, a bare "not found".
        // containerd's "failed to authorize" wraps every token request; a token service answering 5xx is the registry failing.
        // In kubelet's aggregate each attempt is its own pull: a 5xx in one does not explain a refusal in another.
        if ((m.Has(P.Unauthorized) && status is not (>= 500 and < 600)) || status == 401
            || (m.Has(P.KubeletAggregate) && m.Has(P.UnauthorizedWord | P.CredentialRefusal)))
        {
            return m.Has(P.AnonymousToken) ? Finding.AnonymousRefused : Finding.Unauthorized;
        }

        // The /v2/ version check answered 404 (or "not found") before any repository was asked for: the address is not a
        // registry's API (a mirror or endpoint configured with the wrong host or path), not a missing image.
        if (m.Has(P.Pinging) && (status == 404 || m.Has(P.NotFound)))
        {
            return Finding.RegistryFault;
        }

        if (status == 404 && m.Has(P.ManifestsPath))
        {
            return Finding.NotFound;
        }

        if (status is >= 400 and not 404 || m.Has(P.RegistryFault) || (m.Has(P.MediaType) && m.Has(P.Unsupported)) || (m.Has(P.NotFound) && m.Has(P.RemoteContent)))
        {
            return Finding.RegistryFault;
        }

        if (m.Has(P.AnyNotFound) || status == 404)
        {
            return Finding.NotFound;
        }

        // 7. Kubelet could not read the pod's pull secrets, and no registry answer says more.
        if (m.Has(P.PullSecretsUnreadable))
        {
            return Finding.PullSecretsUnreadable;
        }

        // 8. A pull reason without an error the rules know.
        return m.Has(P.PullReason) || (m.Has(P.FailedToPull) && m.EndsWithQuotedImage) || (m.IsEmpty && reason is "ErrImagePull" or "ImagePullBackOff" or "ImageInspectError")
            ? Finding.BackOff
            : Finding.Unrecognised;
    }

    /// <summary>The cause and confidence of each finding; <paramref name="empty"/> when there was no message at all.</summary>
    internal static (PullCause Cause, double Confidence) CauseOf(Finding finding, bool empty) => finding switch
    {
        Finding.Unrecognised => (PullCause.Unknown, empty ? 0.1 : 0.2),
        Finding.BackOff => (PullCause.BackoffOnly, 0.4),
        Finding.NeverPull => (PullCause.NeverPull, empty ? 0.85 : 0.9),
        Finding.NotEnsured => (PullCause.ImageNotEnsured, 0.85),
        Finding.InvalidName => (PullCause.InvalidName, empty ? 0.8 : 0.9),
        Finding.ShortName => (PullCause.InvalidName, 0.8),
        Finding.NodePullLimit => (PullCause.NodePullLimit, 0.9),
        Finding.CredentialProvider => (PullCause.AuthFailed, 0.7),
        Finding.SchemaOne => (PullCause.Unknown, 0.6),
        Finding.SchemaOneBackOff => (PullCause.BackoffOnly, 0.6),
        Finding.PolicyRejected => (PullCause.PolicyRejected, 0.85),
        Finding.AdmissionRejected => (PullCause.PolicyRejected, 0.8),
        Finding.RegistryPolicy => (PullCause.PolicyRejected, 0.75),
        Finding.DiskFull => (PullCause.NodeStorage, 0.9),
        Finding.DiskFailure => (PullCause.NodeStorage, 0.7),
        Finding.Eviction => (PullCause.NodeStorage, 0.8),
        Finding.RateLimited => (PullCause.RateLimited, 0.9),
        Finding.Platform => (PullCause.PlatformMismatch, 0.9),
        Finding.Unpack => (PullCause.RegistryError, 0.6),
        Finding.ManifestUnknown => (PullCause.ImageNotFound, 0.85),
        Finding.RegistryRetired => (PullCause.ImageNotFound, 0.6),
        Finding.NoCredentials => (PullCause.AuthFailed, 0.85),
        Finding.TokenRejected => (PullCause.AuthFailed, 0.85),
        Finding.CredentialsRejected => (PullCause.AuthFailed, 0.85),
        Finding.NoPullPermission => (PullCause.AuthFailed, 0.8),
        Finding.EcrRefused => (PullCause.AccessDenied, 0.75),
        Finding.TokenDenied => (PullCause.AuthFailed, 0.75),
        Finding.PullSecretsUnreadable => (PullCause.AuthFailed, 0.6),
        Finding.Denied => (PullCause.AccessDenied, 0.75),
        Finding.AttemptsDisagree => (PullCause.AccessDenied, 0.6),
        Finding.GitLabForbidden => (PullCause.AccessDenied, 0.75),
        Finding.Tls => (PullCause.Tls, 0.85),
        Finding.Network => (PullCause.Network, 0.8),
        Finding.AnonymousRefused => (PullCause.AuthFailed, 0.75),
        Finding.Unauthorized => (PullCause.AuthFailed, 0.7),
        Finding.RegistryFault => (PullCause.RegistryError, 0.7),
        Finding.NotFound => (PullCause.ImageNotFound, 0.7),
        _ => throw new ArgumentOutOfRangeException(nameof(finding), finding, "not a finding"),
    };
}

/// <summary>Which rule decided; the summary is written from it.</summary>
internal enum Finding : byte
{
    Unrecognised,
    BackOff,
    NeverPull,
    NotEnsured,
    InvalidName,
    ShortName,
    NodePullLimit,
    CredentialProvider,
    SchemaOne,
    SchemaOneBackOff,
    PolicyRejected,
    AdmissionRejected,
    DiskFull,
    DiskFailure,
    Eviction,
    RateLimited,
    Platform,
    Unpack,
    ManifestUnknown,
    RegistryRetired,
    NoCredentials,
    TokenRejected,
    CredentialsRejected,
    NoPullPermission,
    Denied,
    Tls,
    Network,
    AnonymousRefused,
    Unauthorized,
    RegistryFault,
    NotFound,
    RegistryPolicy,
    EcrRefused,
    TokenDenied,
    PullSecretsUnreadable,
    AttemptsDisagree,
    GitLabForbidden,
}
