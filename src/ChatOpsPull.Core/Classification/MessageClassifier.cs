using System.Buffers;
using ChatOpsPull.Core.Failures;

namespace ChatOpsPull.Core.Classification;

/// <summary>What the message alone says. Live evidence (registry, secrets, network) raises or overrides it.</summary>
public sealed record Classification(PullCause Cause, double Confidence, string Summary);

/// <summary>
/// From a kubelet/runtime message (container status or Warning event) to a cause, for containerd, CRI-O and
/// Docker wordings. The message is lower-cased once and scanned once for every known phrase (a vectorized
/// multi-string search); the rules below then only test bits, in an order where the most telling evidence wins:
/// <list type="number">
/// <item>kubelet's own verdicts (pull policy Never, unparsable name) and runtime refusals outside the cause set;</item>
/// <item>rate limits, a full disk, a missing platform, and the node's own image store — all of which also say
/// "not found" or "failed to copy" and must not be read as a missing image;</item>
/// <item>answers the registry gave: "manifest unknown" (it only says so after authorization), missing or rejected
/// credentials, then "denied"/403/insufficient_scope (private or missing — the registry will not tell);</item>
/// <item>transport failures: TLS, then network (a "TLS handshake timeout" is network);</item>
/// <item>generic 401s, registry-side faults (5xx, broken downloads, missing blobs), and last a bare "not found".</item>
/// </list>
/// Kubelet 1.32+ appends the last pull error to "Back-off pulling image": the appended part decides, and a bare
/// back-off is <see cref="PullCause.BackoffOnly"/>. Confidence stays at or below 0.9: a message is never proof.
/// </summary>
public static class MessageClassifier
{
    /// <summary>Kubelet messages are a few hundred characters; anything past this is not read.</summary>
    public const int MaxAnalyzedLength = 64 * 1024;

    private const int StackLimit = 1024;

    public static Classification Classify(string? message, string? reason = null)
    {
        var text = (message ?? string.Empty).AsSpan().Trim();
        if (text.Length > MaxAnalyzedLength)
        {
            text = text[..MaxAnalyzedLength];
        }

        reason = string.IsNullOrWhiteSpace(reason) ? null : reason.Trim();
        if (text.IsEmpty)
        {
            return FromReasonOnly(reason);
        }

        char[]? rented = null;
        Span<char> lower = text.Length <= StackLimit
            ? stackalloc char[text.Length]
            : (rented = ArrayPool<char>.Shared.Rent(text.Length)).AsSpan(0, text.Length);
        try
        {
            text.ToLowerInvariant(lower);
            return Decide(new Message(text, lower), reason);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    private static Classification FromReasonOnly(string? reason) => reason switch
    {
        "ImagePullBackOff" => new(PullCause.BackoffOnly, 0.4, "Kubelet is backing off between pull attempts; the reason is in the previous Failed event (ErrImagePull)."),
        "InvalidImageName" => new(PullCause.InvalidName, 0.8, "Kubelet could not parse the image name: fix the image field (no URL scheme, lowercase repository, tag after the last ':')."),
        "ErrImageNeverPull" => new(PullCause.NeverPull, 0.85, "The image is not on this node and imagePullPolicy is Never: load it onto the node or set imagePullPolicy: IfNotPresent."),
        "RegistryUnavailable" => new(PullCause.Network, 0.6, "The runtime reported the registry as unavailable: check that the nodes can reach it (DNS, firewall, proxy)."),
        _ => new(PullCause.Unknown, 0.1, "The pull failed without a runtime message: look at the pod's Failed events for the underlying error."),
    };

    private static Classification Decide(Message m, string? reason)
    {
        // 1. Kubelet's own verdicts.
        if (reason == "ErrImageNeverPull" || m.Has(P.NeverPull))
        {
            return new(PullCause.NeverPull, 0.9, $"{Capital(m.ImageOr("The image"))} is not on this node and imagePullPolicy is Never: load it onto the node or set imagePullPolicy: IfNotPresent.");
        }

        if (reason == "InvalidImageName" || m.Has(P.InvalidName))
        {
            return InvalidName(m);
        }

        // Runtime refusals that are none of the pull causes; the summary still says what to do.
        if (m.Has(P.SchemaOne))
        {
            return new(PullCause.Unknown, 0.6, $"{Capital(m.ImageOr("The image"))} is in the old Docker schema 1 format, which this runtime no longer pulls: rebuild and push it with a current builder, or use a newer tag.");
        }

        if (reason == "SignatureValidationFailed" || m.Has(P.Signature))
        {
            return new(PullCause.Unknown, 0.6, $"The node's image signature policy rejected {m.ImageOr("the image")}: sign the image or fix the policy (policy.json / ClusterImagePolicy).");
        }

        if (m.Has(P.ShortName))
        {
            return new(PullCause.Unknown, 0.5, $"The node's runtime (CRI-O) cannot resolve the short name {m.ImageOr("of the image")}: use a fully qualified name such as docker.io/library/nginx, or configure unqualified-search-registries.");
        }

        // 2. Causes whose messages also contain "not found", "failed to copy" or an HTTP URL.
        if (m.Has(P.PullQps))
        {
            return new(PullCause.RateLimited, 0.9, "Kubelet's own pull rate limit on this node was hit (registryPullQPS), not the registry's: it retries by itself; raise registryPullQPS/registryBurst if it keeps happening.");
        }

        if (m.Has(P.RateLimited))
        {
            var advice = m.Host is "docker.io" or "registry-1.docker.io"
                ? "pull with Docker Hub credentials (anonymous pulls are counted per node IP), use a mirror, or wait for the window to reset"
                : "authenticate the pulls, use a pull-through cache, or wait for the limit to reset";
            return new(PullCause.RateLimited, 0.9, $"{Capital(m.HostOr("The registry"))} is rate-limiting pulls (429 Too Many Requests): {advice}.");
        }

        if (m.Has(P.DiskFull))
        {
            return new(PullCause.NodeStorage, 0.9, $"The node ran out of disk space while pulling {m.ImageOr("the image")}: free space (image garbage collection, a larger disk) or let the pod run on another node.");
        }

        if (m.Has(P.Platform))
        {
            var wanted = m.WantedPlatform() is { } platform ? $" ({platform})" : string.Empty;
            return new(PullCause.PlatformMismatch, 0.9, $"{Capital(m.ImageOr("The image"))} has no variant for this node's OS/architecture{wanted}: publish a multi-arch image or schedule the pod on matching nodes (kubernetes.io/arch).");
        }

        if (m.Has(P.LocalStore) || (m.Has(P.ContentDigest) && m.Has(P.NotFound)) || (m.Has(P.ParentSnapshot) && m.Has(P.DoesNotExist)))
        {
            return new(PullCause.NodeStorage, 0.6, $"The node's image store failed while unpacking {m.ImageOr("the image")} (a snapshot or content blob is missing or unwritable); the registry is not at fault: remove the partial image on the node (crictl rmi) or let the pod run on another node.");
        }

        // 3. What the registry answered.
        if (m.Has(P.ManifestUnknown) || (m.Has(P.ManifestFor) && m.Has(P.SpaceNotFound)))
        {
            return new(PullCause.ImageNotFound, 0.85, $"{Capital(m.HostOr("The registry"))} says {m.ImageOr("the image")} does not exist: check the repository and tag spelling, or push the image.");
        }

        if (m.Has(P.NoCredentials))
        {
            var host = m.HostOr("the registry");
            return new(PullCause.AuthFailed, 0.85, $"{Capital(host)} wants credentials and the node sent none: attach an imagePullSecret for {host} to the pod or its ServiceAccount (or fix the node's credential provider).");
        }

        if (m.Has(P.ExpiredToken))
        {
            return new(PullCause.AuthFailed, 0.85, $"The registry token for {m.HostOr("the registry")} has expired: refresh the pull secret or the node's credential helper.");
        }

        var forbidden = m.Has(P.Forbidden) || m.EndsWithWord(": denied");
        if (!forbidden && m.Has(P.CredentialsRejected))
        {
            var host = m.HostOr("the registry");
            return new(PullCause.AuthFailed, 0.85, $"{Capital(host)} rejected the pull credentials: the pull secret for {host} is wrong or expired, refresh it.");
        }

        if (forbidden || m.Has(P.Denied))
        {
            return new(PullCause.AccessDenied, 0.75, $"{Capital(m.HostOr("the registry"))} denied access to {m.ImageOr("the repository")}: it is private and needs a pull secret with pull rights, or it does not exist (the registry will not say which).");
        }

        // 4. Transport.
        if (!m.Has(P.TlsHandshakeTimeout) && m.Has(P.Tls))
        {
            return Tls(m);
        }

        if (reason == "RegistryUnavailable" || m.Has(P.Network) || (m.EndsWithWord(": eof") && !m.Has(P.UnexpectedEof)))
        {
            return Network(m);
        }

        // 5. Generic authorization failures, then registry-side faults, then a bare "not found".
        if (m.Has(P.Unauthorized))
        {
            var host = m.HostOr("the registry");
            return m.Has(P.AnonymousToken)
                ? new(PullCause.AuthFailed, 0.75, $"{Capital(host)} refused an anonymous pull: it wants credentials and none matched, so attach an imagePullSecret for {host} (or grant the node's identity pull rights).")
                : new(PullCause.AuthFailed, 0.7, $"{Capital(host)} answered 401 Unauthorized: the pull secret for {host} is missing, wrong or expired.");
        }

        if (RegistryFault(m) is { } fault)
        {
            return new(PullCause.RegistryError, 0.7, $"{Capital(m.HostOr("The registry"))} failed while serving {m.ImageOr("the image")}: {fault}; usually on the registry side (check its status page, or a proxy/mirror in between), then retry.");
        }

        if (m.Has(P.AnyNotFound))
        {
            var note = m.Host == "ghcr.io" ? " (GHCR also answers this for private packages pulled without credentials)" : string.Empty;
            return new(PullCause.ImageNotFound, 0.7, $"{Capital(m.HostOr("The registry"))} does not have {m.ImageOr("the image")}{note}: check the repository and tag spelling, or push the image.");
        }

        if (m.IsBareBackOff())
        {
            return new(PullCause.BackoffOnly, 0.4, $"Kubelet is backing off before pulling {m.ImageOr("the image")} again; the reason is in the previous Failed event (ErrImagePull).");
        }

        return reason is "InvalidImageName" or "ErrImageNeverPull"
            ? FromReasonOnly(reason)
            : new(PullCause.Unknown, 0.2, $"The pull of {m.ImageOr("the image")} failed for a reason the message does not make clear: read the raw runtime message below.");
    }

    private static Classification InvalidName(Message m)
    {
        if (m.Image is { } image && !Images.ImageReference.TryParse(image, out _, out var why))
        {
            const string prefix = "invalid reference format: ";
            why = why.StartsWith(prefix, StringComparison.Ordinal) ? why[prefix.Length..] : why;
            return new(PullCause.InvalidName, 0.9, $"The image name \"{image}\" is invalid: {why}.");
        }

        return new(PullCause.InvalidName, 0.85, "The image name is not a valid reference: fix the image field (no URL scheme, lowercase repository, tag after the last ':').");
    }

    private static Classification Tls(Message m)
    {
        var host = m.Host ?? m.WordAfter("wanted to match ") ?? "the registry";
        var detail = m.Has(P.PlainHttp)
            ? $"{host} speaks plain HTTP but the runtime uses HTTPS: serve HTTPS, or configure {host} as a plain-http registry on the nodes"
            : m.Has(P.UnknownAuthority)
                ? $"its certificate is signed by a CA the nodes do not trust: add that CA for {host} on the nodes (containerd: /etc/containerd/certs.d/{host}/ca.crt, Docker: /etc/docker/certs.d/{host}/ca.crt)"
                : m.Has(P.CertificateExpired)
                    ? "its certificate has expired or is not yet valid: renew it, or check the node's clock"
                    : m.Has(P.CertificateName)
                        ? $"its certificate does not name {host}: reissue it with {host} in the subject alternative names"
                        : "the TLS handshake failed: check the certificate chain and any TLS-intercepting proxy";
        return new(PullCause.Tls, 0.85, $"TLS to {host} failed: {detail}.");
    }

    private static Classification Network(Message m)
    {
        var host = m.HostOr("the registry");
        var detail =
            m.Has(P.Proxy) ? "the connection through the HTTP proxy failed (check HTTP(S)_PROXY and NO_PROXY of the node's runtime)"
            : m.Has(P.Dns) ? (m.Has(P.IoTimeout) ? $"the DNS lookup of {host} timed out" : $"the DNS lookup of {host} failed")
            : m.Has(P.Refused) ? $"{host} refused the connection"
            : m.Has(P.NoRoute) ? $"there is no route to {host}"
            : m.Has(P.TlsHandshakeTimeout) ? $"the TLS handshake with {host} timed out"
            : m.Has(P.ConnectionCut) || m.EndsWithWord(": eof") ? $"the connection to {host} was cut off"
            : m.Has(P.RegistryUnavailable) ? "the runtime reported the registry as unavailable"
            : $"the connection to {host} timed out";
        return new(PullCause.Network, 0.8, $"The node could not reach {host}: {detail}; check DNS, egress firewall and proxy settings on the nodes.");
    }

    private static string? RegistryFault(Message m) =>
        m.Has(P.Status500) ? "it answered 500 Internal Server Error"
        : m.Has(P.Status502) ? "it answered 502 Bad Gateway"
        : m.Has(P.Status503) ? "it answered 503 Service Unavailable"
        : m.Has(P.Status504) ? "it answered 504 Gateway Timeout"
        : m.Has(P.CorruptBlob) ? "a downloaded layer did not match its digest (a corrupt blob, cache or proxy)"
        : m.Has(P.UnexpectedEof) ? "the download broke off (unexpected EOF)"
        : m.Has(P.BlobUnknown) || (m.Has(P.NotFound) && m.Has(P.RemoteContent)) ? "it is missing content the tag refers to (re-push the image)"
        : null;

    private static string Capital(string text) =>
        text.Length > 0 && char.IsAsciiLetterLower(text[0]) && !text.Contains('.', StringComparison.Ordinal) && !text.Contains(':', StringComparison.Ordinal)
            ? char.ToUpperInvariant(text[0]) + text[1..]
            : text;

    /// <summary>
    /// The phrases the rules look for, lower-case, each a bit in a mask. Rules test masks; a message is
    /// scanned once for all phrases. The table must be built before the scanner: fields initialize in order.
    /// </summary>
    private static class P
    {
        private static readonly PhraseTable Table = new();

        public static readonly PhraseMask NeverPull = Table.Any("is not present with pull policy of never");
        public static readonly PhraseMask InvalidName = Table.Any("invalid reference format", "failed to apply default image tag", "couldn't parse image name", "couldn't parse image reference");
        public static readonly PhraseMask SchemaOne = Table.Any("manifest.v1+prettyjws", "schema 1 image", "schema1 image");
        public static readonly PhraseMask Signature = Table.Any("signature validation failed", "source image rejected", "signature was required", "signature verification failed");
        public static readonly PhraseMask ShortName = Table.Any("short-name", "unqualified image", "unqualified-search registries");
        public static readonly PhraseMask PullQps = Table.Any("pull qps exceeded");
        public static readonly PhraseMask RateLimited = Table.Any("toomanyrequests", "too many requests", "rate limit", "rate exceeded", "status 429", "status code 429", "status: 429", "error (429)");
        public static readonly PhraseMask DiskFull = Table.Any("no space left on device", "disk quota exceeded", "not enough space on the disk");
        public static readonly PhraseMask Platform = Table.Any("no match for platform", "no matching manifest for", "does not match the specified platform", "no image found in manifest list for architecture", "cannot be used on this platform");
        public static readonly PhraseMask LocalStore = Table.Any("failed to prepare extraction snapshot", "failed to get reader from content store", "failed to register layer", "error processing tar file", "failed to extract layer");
        public static readonly PhraseMask ContentDigest = Table.Any("content digest");
        public static readonly PhraseMask NotFound = Table.Any("not found");
        public static readonly PhraseMask SpaceNotFound = Table.Any(" not found");
        public static readonly PhraseMask ParentSnapshot = Table.Any("parent snapshot");
        public static readonly PhraseMask DoesNotExist = Table.Any("does not exist");
        public static readonly PhraseMask ManifestUnknown = Table.Any("manifest unknown", "name unknown", "manifest_unknown", "name_unknown", "repository name not known to registry");
        public static readonly PhraseMask ManifestFor = Table.Any("manifest for ");
        public static readonly PhraseMask NoCredentials = Table.Any("no basic auth credentials", "unauthenticated", "authentication is required but no credentials");
        public static readonly PhraseMask ExpiredToken = Table.Any("token has expired", "token is expired", "expired token");
        public static readonly PhraseMask Forbidden = Table.Any("403 forbidden", "403 (forbidden)", "status code 403", "error (403)", ": forbidden");
        public static readonly PhraseMask CredentialsRejected = Table.Any("failed to fetch oauth token", "incorrect username or password", "invalid username/password", "invalid username or password", "authentication failed");
        public static readonly PhraseMask Denied = Table.Any("pull access denied", "insufficient_scope", "may require authorization", "may require 'docker login'", "requested access to the resource is denied", "unauthorized to access repository", "access to the requested resource is not authorized", "(or it may not exist)", "denied: ");
        public static readonly PhraseMask TlsHandshakeTimeout = Table.Any("tls handshake timeout");
        public static readonly PhraseMask PlainHttp = Table.Any("server gave http response to https client", "first record does not look like a tls handshake");
        public static readonly PhraseMask UnknownAuthority = Table.Any("unknown authority");
        public static readonly PhraseMask CertificateExpired = Table.Any("certificate has expired", "not yet valid");
        public static readonly PhraseMask CertificateName = Table.Any("certificate is valid for", "certificate is not valid for", "legacy common name");
        public static readonly PhraseMask Tls = PlainHttp | UnknownAuthority | CertificateExpired | CertificateName | Table.Any("x509:", "tls: ");
        public static readonly PhraseMask Proxy = Table.Any("proxyconnect");
        public static readonly PhraseMask Dns = Table.Any("no such host", "server misbehaving", "temporary failure in name resolution", "lookup ");
        public static readonly PhraseMask IoTimeout = Table.Any("i/o timeout");
        public static readonly PhraseMask Refused = Table.Any("connection refused");
        public static readonly PhraseMask NoRoute = Table.Any("no route to host", "network is unreachable");
        public static readonly PhraseMask ConnectionCut = Table.Any("connection reset", "broken pipe");
        public static readonly PhraseMask RegistryUnavailable = Table.Any("because the registry is unavailable");
        public static readonly PhraseMask Network = Proxy | IoTimeout | Refused | NoRoute | TlsHandshakeTimeout | ConnectionCut | RegistryUnavailable
            | Table.Any("no such host", "server misbehaving", "temporary failure in name resolution", "connection timed out", "client.timeout exceeded", "context deadline exceeded", "request canceled while waiting for connection", "dial tcp");
        public static readonly PhraseMask UnexpectedEof = Table.Any("unexpected eof");
        public static readonly PhraseMask AnonymousToken = Table.Any("failed to fetch anonymous token");
        public static readonly PhraseMask Unauthorized = AnonymousToken | Table.Any("401 unauthorized", "status code 401", "status: 401", "error (401)", "unauthorized", "authentication required", "failed to authorize");
        public static readonly PhraseMask Status500 = Table.Any("internal server error", "http code: 500");
        public static readonly PhraseMask Status502 = Table.Any("bad gateway");
        public static readonly PhraseMask Status503 = Table.Any("503 service", "service unavailable", "service temporarily unavailable");
        public static readonly PhraseMask Status504 = Table.Any("504 gateway", "gateway timeout", "gateway time-out");
        public static readonly PhraseMask CorruptBlob = Table.Any("unexpected commit digest", "failed size validation", "unexpected commit size", "digest mismatch", "failed precondition");
        public static readonly PhraseMask BlobUnknown = Table.Any("blob unknown", "unknown blob", "blob_unknown");
        public static readonly PhraseMask RemoteContent = Table.Any("content at http", "from remote", "httpreadseeker: failed open");
        public static readonly PhraseMask AnyNotFound = NotFound | DoesNotExist | Table.Any("notfound");

        public static readonly PhraseScanner Scanner = Table.Build();
    }

    /// <summary>The message twice: as written (for quoting) and lower-cased (for searching), and what was found in it.</summary>
    private readonly ref struct Message
    {
        private readonly ReadOnlySpan<char> original;
        private readonly ReadOnlySpan<char> lower;
        private readonly PhraseMask found;

        public Message(ReadOnlySpan<char> original, ReadOnlySpan<char> lower)
        {
            this.original = original;
            this.lower = lower;
            found = P.Scanner.Scan(lower);
            Image = FindImage(original, lower);
            Host = FindHost(original, lower, Image);
        }

        /// <summary>The image named in the message, as written, or null.</summary>
        public string? Image { get; }

        /// <summary>The registry host: from the image when one is named, else from a URL or a DNS lookup in the message.</summary>
        public string? Host { get; }

        public bool Has(PhraseMask phrases) => found.Intersects(phrases);

        public string ImageOr(string fallback) => Image ?? fallback;

        public string HostOr(string fallback) => Host ?? fallback;

        /// <summary>The phrase as a whole last word: at the end, or followed by something that is not a letter or digit.</summary>
        public bool EndsWithWord(string phrase)
        {
            var from = 0;
            int at;
            while ((at = lower[from..].IndexOf(phrase, StringComparison.Ordinal)) >= 0)
            {
                var end = from + at + phrase.Length;
                if (end == lower.Length || !char.IsAsciiLetterOrDigit(lower[end]))
                {
                    return true;
                }

                from = end;
            }

            return false;
        }

        /// <summary>The word after an anchor ("wanted to match registry.local"), up to a space, comma or quote.</summary>
        public string? WordAfter(string anchor)
        {
            var at = lower.IndexOf(anchor, StringComparison.Ordinal);
            if (at < 0)
            {
                return null;
            }

            var rest = original[(at + anchor.Length)..];
            var end = rest.IndexOfAny(" ,\"");
            var word = (end < 0 ? rest : rest[..end]).TrimEnd('.');
            return word.IsEmpty ? null : word.ToString();
        }

        /// <summary>"Back-off pulling image "x"" with nothing after it (or only kubelet's "Error: ImagePullBackOff").</summary>
        public bool IsBareBackOff()
        {
            const string backOff = "back-off pulling image";
            var at = lower.IndexOf(backOff, StringComparison.Ordinal);
            if (at < 0)
            {
                return lower.SequenceEqual("error: imagepullbackoff") || lower.SequenceEqual("imagepullbackoff");
            }

            var rest = lower[(at + backOff.Length)..].TrimStart();
            if (!rest.IsEmpty && rest[0] == '"')
            {
                var close = rest[1..].IndexOf('"');
                rest = close < 0 ? ReadOnlySpan<char>.Empty : rest[(close + 2)..];
            }

            return rest.Trim().IsEmpty;
        }

        /// <summary>"linux/arm64" from "no matching manifest for linux/arm64 in …" or "architecture amd64, …, OS linux".</summary>
        public string? WantedPlatform()
        {
            foreach (var anchor in (ReadOnlySpan<string>)["no matching manifest for ", "wanted "])
            {
                if (Word(original, lower, anchor, " ,") is { } platform && platform.Contains('/', StringComparison.Ordinal))
                {
                    return platform;
                }
            }

            var arch = lower.IndexOf("for architecture ", StringComparison.Ordinal);
            var os = lower.IndexOf(", os ", StringComparison.Ordinal);
            if (arch < 0 || os <= arch)
            {
                return null;
            }

            var a = original[(arch + "for architecture ".Length)..];
            a = a[..Math.Max(0, a.IndexOf(','))];
            var o = original[(os + ", os ".Length)..];
            var oEnd = o.IndexOfAny(" \",");
            o = oEnd < 0 ? o : o[..oEnd];
            return a.IsEmpty || o.IsEmpty ? null : string.Concat(o, "/", a);
        }

        private static string? FindImage(ReadOnlySpan<char> original, ReadOnlySpan<char> lower)
        {
            if (Word(original, lower, "image \"", "\"") is { Length: > 0 } quoted)
            {
                return quoted;
            }

            if (Word(original, lower, "reference \"", "\"") is { Length: > 0 } reference)
            {
                return reference;
            }

            // CRI-O / containers-image: "docker://quay.io/org/app:tag: reading manifest …".
            if (Word(original, lower, "docker://", " \",") is { Length: > 0 } source)
            {
                return source.TrimEnd(':');
            }

            // containers-image: "reading manifest 1.13 in docker.io/library/nginx: …".
            var reading = lower.IndexOf("reading manifest ", StringComparison.Ordinal);
            if (reading >= 0)
            {
                var rest = original[(reading + "reading manifest ".Length)..];
                var space = rest.IndexOf(' ');
                if (space > 0 && rest[space..].StartsWith(" in ", StringComparison.Ordinal))
                {
                    var tag = rest[..space];
                    var repository = rest[(space + 4)..];
                    var end = repository.IndexOfAny(": \"");
                    repository = end < 0 ? repository : repository[..end];
                    if (!repository.IsEmpty)
                    {
                        return string.Concat(repository, tag.Contains(':') ? "@" : ":", tag);
                    }
                }
            }

            // Docker: "manifest for nginx:1.99 not found" (not "no matching manifest for linux/amd64").
            var manifestFor = lower.IndexOf("manifest for ", StringComparison.Ordinal);
            if (manifestFor >= 0 && !lower[..manifestFor].EndsWith("matching ", StringComparison.Ordinal))
            {
                var rest = original[(manifestFor + "manifest for ".Length)..];
                var end = rest.IndexOf(' ');
                return end <= 0 ? null : rest[..end].ToString();
            }

            return null;
        }

        private static string? FindHost(ReadOnlySpan<char> original, ReadOnlySpan<char> lower, string? image)
        {
            // CRI-O names the source it actually contacted ("docker://quay.io/…") after resolving short names.
            var source = Word(original, lower, "docker://", " \",")?.TrimEnd(':') ?? image;
            if (source is not null)
            {
                return RegistryHost(source);
            }

            foreach (var scheme in (ReadOnlySpan<string>)["https://", "http://"])
            {
                var from = 0;
                int at;
                while ((at = lower[from..].IndexOf(scheme, StringComparison.Ordinal)) >= 0)
                {
                    var start = from + at + scheme.Length;
                    var end = original[start..].IndexOfAny("/\" ?");
                    var host = end < 0 ? original[start..] : original[start..(start + end)];
                    from = start;
                    if (host.IsEmpty || IsDocumentationHost(host))
                    {
                        continue;
                    }

                    // Docker Hub's token service stands for Docker Hub.
                    return host.SequenceEqual("auth.docker.io") ? "docker.io" : host.ToString();
                }
            }

            foreach (var anchor in (ReadOnlySpan<string>)["lookup ", "pinging container registry ", "pinging docker registry "])
            {
                if (Word(original, lower, anchor, " :\"") is { } host && host.Contains('.', StringComparison.Ordinal))
                {
                    return host;
                }
            }

            return null;
        }

        /// <summary>The registry of an image as the runtimes pick it (splitDockerDomain), without validating the rest.</summary>
        private static string RegistryHost(string image)
        {
            var slash = image.IndexOf('/', StringComparison.Ordinal);
            if (slash <= 0)
            {
                return Images.ImageReference.DockerHubDomain;
            }

            var first = image.AsSpan(0, slash);
            var isHost = first.SequenceEqual("localhost") || first.ContainsAny('.', ':') || first.IndexOfAnyInRange('A', 'Z') >= 0;
            if (!isHost || first.SequenceEqual("index.docker.io") || first.SequenceEqual("registry-1.docker.io") || first.SequenceEqual("registry.hub.docker.com"))
            {
                return Images.ImageReference.DockerHubDomain;
            }

            return first.ToString();
        }

        /// <summary>The text after an anchor, up to one of the stop characters (or the end).</summary>
        private static string? Word(ReadOnlySpan<char> original, ReadOnlySpan<char> lower, string anchor, string stops)
        {
            var at = lower.IndexOf(anchor, StringComparison.Ordinal);
            if (at < 0)
            {
                return null;
            }

            var rest = original[(at + anchor.Length)..];
            var end = rest.IndexOfAny(stops);
            return (end < 0 ? rest : rest[..end]).ToString();
        }

        /// <summary>Links to documentation inside registry messages are not the registry.</summary>
        private static bool IsDocumentationHost(ReadOnlySpan<char> host) =>
            host.SequenceEqual("www.docker.com") || host.SequenceEqual("docs.docker.com") || host.SequenceEqual("aka.ms")
            || host.SequenceEqual("cloud.google.com") || host.SequenceEqual("docs.aws.amazon.com") || host.SequenceEqual("learn.microsoft.com");
    }
}
