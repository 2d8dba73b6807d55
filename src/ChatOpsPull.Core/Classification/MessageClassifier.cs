using System.Buffers;
using ChatOpsPull.Core.Failures;

namespace ChatOpsPull.Core.Classification;

/// <summary>What the message alone says. Live evidence (registry, secrets, network) raises or overrides it.</summary>
public sealed record Classification(PullCause Cause, double Confidence, string Summary);

/// <summary>
/// From a kubelet/runtime message (container status or Warning event) to a cause, for containerd, CRI-O and
/// Docker wordings. The message is lower-cased once and searched with ordinal (vectorized) phrase look-ups, in an
/// order where the most telling evidence wins:
/// <list type="number">
/// <item>kubelet's own verdicts (pull policy Never, unparsable name) and runtime refusals outside the cause set;</item>
/// <item>rate limits, a full disk, a missing platform, and the node's own image store — all of which also say
/// "not found" or "failed to copy" and must not be read as a missing image;</item>
/// <item>answers the registry gave: "manifest unknown" (it only says so after authorization), rejected or missing
/// credentials, then "denied"/403/insufficient_scope (private or missing — the registry will not tell);</item>
/// <item>transport failures: TLS, then network (a "TLS handshake timeout" is network);</item>
/// <item>generic 401s, registry-side faults (5xx, broken downloads, missing blobs), and last a bare "not found".</item>
/// </list>
/// Kubelet 1.32+ appends the last pull error to "Back-off pulling image": the appended part is classified, and a
/// bare back-off is <see cref="PullCause.BackoffOnly"/>. Confidence stays at or below 0.9: a message is never proof.
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
        if (reason == "ErrImageNeverPull" || m.Has("is not present with pull policy of never"))
        {
            return new(PullCause.NeverPull, 0.9, $"{Capital(m.ImageOr("The image"))} is not on this node and imagePullPolicy is Never: load it onto the node or set imagePullPolicy: IfNotPresent.");
        }

        if (reason == "InvalidImageName" || m.HasAny("invalid reference format", "failed to apply default image tag", "couldn't parse image name", "couldn't parse image reference"))
        {
            return InvalidName(m);
        }

        // Runtime refusals that are none of the pull causes; the summary still says what to do.
        if (m.HasAny("manifest.v1+prettyjws", "schema 1 image", "schema1 image"))
        {
            return new(PullCause.Unknown, 0.6, $"{Capital(m.ImageOr("The image"))} is in the old Docker schema 1 format, which this runtime no longer pulls: rebuild and push it with a current builder, or use a newer tag.");
        }

        if (reason == "SignatureValidationFailed" || m.HasAny("signature validation failed", "source image rejected", "signature was required", "signature verification failed"))
        {
            return new(PullCause.Unknown, 0.6, $"The node's image signature policy rejected {m.ImageOr("the image")}: sign the image or fix the policy (policy.json / ClusterImagePolicy).");
        }

        if (m.HasAny("short-name", "unqualified image", "unqualified-search registries"))
        {
            return new(PullCause.Unknown, 0.5, $"The node's runtime (CRI-O) cannot resolve the short name {m.ImageOr("of the image")}: use a fully qualified name such as docker.io/library/nginx, or configure unqualified-search-registries.");
        }

        // 2. Causes whose messages also contain "not found", "failed to copy" or an HTTP URL.
        if (m.Has("pull qps exceeded"))
        {
            return new(PullCause.RateLimited, 0.9, "Kubelet's own pull rate limit on this node was hit (registryPullQPS), not the registry's: it retries by itself; raise registryPullQPS/registryBurst if it keeps happening.");
        }

        if (m.HasAny("toomanyrequests", "too many requests", "rate limit", "rate exceeded", "status 429", "status code 429", "status: 429", "error (429)"))
        {
            var host = m.Host();
            var advice = host is "docker.io" or "registry-1.docker.io" or "index.docker.io" or "auth.docker.io"
                ? "pull with Docker Hub credentials (anonymous pulls are counted per node IP), use a mirror, or wait for the window to reset"
                : "authenticate the pulls, use a pull-through cache, or wait for the limit to reset";
            return new(PullCause.RateLimited, 0.9, $"{Capital(HostOr(host, "The registry"))} is rate-limiting pulls (429 Too Many Requests): {advice}.");
        }

        if (m.HasAny("no space left on device", "disk quota exceeded", "not enough space on the disk"))
        {
            return new(PullCause.NodeStorage, 0.9, $"The node ran out of disk space while pulling {m.ImageOr("the image")}: free space (image garbage collection, a larger disk) or let the pod run on another node.");
        }

        if (m.HasAny("no match for platform", "no matching manifest for", "does not match the specified platform", "no image found in manifest list for architecture", "cannot be used on this platform"))
        {
            var platform = m.WantedPlatform();
            var wanted = platform is null ? string.Empty : $" ({platform})";
            return new(PullCause.PlatformMismatch, 0.9, $"{Capital(m.ImageOr("The image"))} has no variant for this node's OS/architecture{wanted}: publish a multi-arch image or schedule the pod on matching nodes (kubernetes.io/arch).");
        }

        if (m.HasAny("failed to prepare extraction snapshot", "failed to get reader from content store", "failed to register layer", "error processing tar file", "failed to extract layer")
            || (m.Has("content digest") && m.Has("not found"))
            || (m.Has("parent snapshot") && m.Has("does not exist")))
        {
            return new(PullCause.NodeStorage, 0.6, $"The node's image store failed while unpacking {m.ImageOr("the image")} (a snapshot or content blob is missing or unwritable); the registry is not at fault: remove the partial image on the node (crictl rmi) or let the pod run on another node.");
        }

        // 3. What the registry answered.
        if (m.HasAny("manifest unknown", "name unknown", "manifest_unknown", "name_unknown", "repository name not known to registry")
            || (m.Has("manifest for ") && m.Has(" not found")))
        {
            return new(PullCause.ImageNotFound, 0.85, $"{Capital(HostOr(m.Host(), "The registry"))} says {m.ImageOr("the image")} does not exist: check the repository and tag spelling, or push the image.");
        }

        if (m.HasAny("no basic auth credentials", "unauthenticated", "authentication is required but no credentials"))
        {
            var host = HostOr(m.Host(), "the registry");
            return new(PullCause.AuthFailed, 0.85, $"{Capital(host)} wants credentials and the node sent none: attach an imagePullSecret for {host} to the pod or its ServiceAccount (or fix the node's credential provider).");
        }

        if (m.HasAny("token has expired", "token is expired", "expired token"))
        {
            var host = HostOr(m.Host(), "the registry");
            return new(PullCause.AuthFailed, 0.85, $"The registry token for {host} has expired: refresh the pull secret or the node's credential helper.");
        }

        var forbidden = m.HasAny("403 forbidden", "403 (forbidden)", "status code 403", "error (403)", ": forbidden")
            || m.EndsWithWord(": denied");
        if (!forbidden && m.HasAny("failed to fetch oauth token", "incorrect username or password", "invalid username/password", "invalid username or password", "authentication failed"))
        {
            var host = HostOr(m.Host(), "the registry");
            return new(PullCause.AuthFailed, 0.85, $"{Capital(host)} rejected the pull credentials: the pull secret for {host} is wrong or expired, refresh it.");
        }

        if (forbidden || m.HasAny("pull access denied", "insufficient_scope", "may require authorization", "may require 'docker login'", "requested access to the resource is denied", "unauthorized to access repository", "access to the requested resource is not authorized", "(or it may not exist)", "denied: "))
        {
            var host = HostOr(m.Host(), "the registry");
            return new(PullCause.AccessDenied, 0.75, $"{Capital(host)} denied access to {m.ImageOr("the repository")}: it is private and needs a pull secret with pull rights, or it does not exist (the registry will not say which).");
        }

        // 4. Transport.
        if (!m.Has("tls handshake timeout")
            && m.HasAny("x509:", "certificate signed by unknown authority", "certificate has expired", "certificate is valid for", "certificate is not valid for", "server gave http response to https client", "tls: ", "first record does not look like a tls handshake", "legacy common name"))
        {
            return Tls(m);
        }

        if (reason == "RegistryUnavailable"
            || m.HasAny("no such host", "i/o timeout", "connection refused", "connection reset", "connection timed out", "network is unreachable", "no route to host", "tls handshake timeout", "client.timeout exceeded", "context deadline exceeded", "request canceled while waiting for connection", "server misbehaving", "temporary failure in name resolution", "proxyconnect", "dial tcp", "because the registry is unavailable", "broken pipe")
            || (m.EndsWithEof() && !m.Has("unexpected eof")))
        {
            return Network(m);
        }

        // 5. Generic authorization failures, then registry-side faults, then a bare "not found".
        if (m.HasAny("401 unauthorized", "status code 401", "status: 401", "error (401)", "unauthorized", "authentication required", "failed to fetch anonymous token", "failed to authorize"))
        {
            var host = HostOr(m.Host(), "the registry");
            var anonymous = m.Has("failed to fetch anonymous token");
            return anonymous
                ? new(PullCause.AuthFailed, 0.75, $"{Capital(host)} refused an anonymous pull: it wants credentials and none matched, so attach an imagePullSecret for {host} (or grant the node's identity pull rights).")
                : new(PullCause.AuthFailed, 0.7, $"{Capital(host)} answered 401 Unauthorized: the pull secret for {host} is missing, wrong or expired.");
        }

        if (RegistryFault(m) is { } fault)
        {
            return new(PullCause.RegistryError, 0.7, $"{Capital(HostOr(m.Host(), "The registry"))} failed while serving {m.ImageOr("the image")}: {fault}; usually on the registry side (check its status page, or a proxy/mirror in between), then retry.");
        }

        if (m.HasAny("not found", "notfound", "does not exist"))
        {
            var host = m.Host();
            var note = host == "ghcr.io" ? " (GHCR also answers this for private packages pulled without credentials)" : string.Empty;
            return new(PullCause.ImageNotFound, 0.7, $"{Capital(HostOr(host, "The registry"))} does not have {m.ImageOr("the image")}{note}: check the repository and tag spelling, or push the image.");
        }

        if (m.IsBareBackOff())
        {
            return new(PullCause.BackoffOnly, 0.4, $"Kubelet is backing off before pulling {m.ImageOr("the image")} again; the reason is in the previous Failed event (ErrImagePull).");
        }

        return reason == "InvalidImageName" || reason == "ErrImageNeverPull"
            ? FromReasonOnly(reason)
            : new(PullCause.Unknown, 0.2, $"The pull of {m.ImageOr("the image")} failed for a reason the message does not make clear: read the raw runtime message below.");
    }

    private static Classification InvalidName(Message m)
    {
        var image = m.Image();
        if (image is not null && !Images.ImageReference.TryParse(image, out _, out var why))
        {
            const string prefix = "invalid reference format: ";
            why = why.StartsWith(prefix, StringComparison.Ordinal) ? why[prefix.Length..] : why;
            return new(PullCause.InvalidName, 0.9, $"The image name \"{image}\" is invalid: {why}.");
        }

        return new(PullCause.InvalidName, 0.85, "The image name is not a valid reference: fix the image field (no URL scheme, lowercase repository, tag after the last ':').");
    }

    private static Classification Tls(Message m)
    {
        var host = m.Host() ?? m.WordAfter("wanted to match ") ?? "the registry";
        var detail = m.Has("server gave http response to https client") || m.Has("first record does not look like a tls handshake")
            ? $"{host} speaks plain HTTP but the runtime uses HTTPS: serve HTTPS, or configure {host} as a plain-http registry on the nodes"
            : m.Has("unknown authority")
                ? $"its certificate is signed by a CA the nodes do not trust: add that CA for {host} on the nodes (containerd: /etc/containerd/certs.d/{host}/ca.crt, Docker: /etc/docker/certs.d/{host}/ca.crt)"
                : m.Has("certificate has expired") || m.Has("not yet valid")
                    ? "its certificate has expired or is not yet valid: renew it, or check the node's clock"
                    : m.Has("certificate is valid for") || m.Has("certificate is not valid for") || m.Has("legacy common name")
                        ? $"its certificate does not name {host}: reissue it with {host} in the subject alternative names"
                        : "the TLS handshake failed: check the certificate chain and any TLS-intercepting proxy";
        return new(PullCause.Tls, 0.85, $"TLS to {host} failed: {detail}.");
    }

    private static Classification Network(Message m)
    {
        var host = HostOr(m.Host(), "the registry");
        string detail;
        if (m.Has("proxyconnect"))
        {
            detail = "the connection through the HTTP proxy failed (check HTTP(S)_PROXY and NO_PROXY of the node's runtime)";
        }
        else if (m.HasAny("no such host", "server misbehaving", "temporary failure in name resolution", "lookup "))
        {
            detail = m.Has("i/o timeout") ? $"the DNS lookup of {host} timed out" : $"the DNS lookup of {host} failed";
        }
        else if (m.Has("connection refused"))
        {
            detail = $"{host} refused the connection";
        }
        else if (m.HasAny("no route to host", "network is unreachable"))
        {
            detail = $"there is no route to {host}";
        }
        else if (m.Has("tls handshake timeout"))
        {
            detail = $"the TLS handshake with {host} timed out";
        }
        else if (m.HasAny("connection reset", "broken pipe") || m.EndsWithEof())
        {
            detail = $"the connection to {host} was cut off";
        }
        else if (m.Has("because the registry is unavailable"))
        {
            detail = "the runtime reported the registry as unavailable";
        }
        else
        {
            detail = $"the connection to {host} timed out";
        }

        return new(PullCause.Network, 0.8, $"The node could not reach {host}: {detail}; check DNS, egress firewall and proxy settings on the nodes.");
    }

    private static string? RegistryFault(Message m)
    {
        if (m.HasAny("500 internal server error", "internal server error", "http code: 500"))
        {
            return "it answered 500 Internal Server Error";
        }

        if (m.HasAny("502 bad gateway", "bad gateway"))
        {
            return "it answered 502 Bad Gateway";
        }

        if (m.HasAny("503 service", "service unavailable", "service temporarily unavailable"))
        {
            return "it answered 503 Service Unavailable";
        }

        if (m.HasAny("504 gateway", "gateway timeout", "gateway time-out"))
        {
            return "it answered 504 Gateway Timeout";
        }

        if (m.HasAny("unexpected commit digest", "failed size validation", "unexpected commit size", "digest mismatch", "failed precondition"))
        {
            return "a downloaded layer did not match its digest (a corrupt blob, cache or proxy)";
        }

        if (m.Has("unexpected eof"))
        {
            return "the download broke off (unexpected EOF)";
        }

        if (m.HasAny("blob unknown", "unknown blob", "blob_unknown")
            || (m.Has("not found") && m.HasAny("content at http", "from remote", "httpreadseeker: failed open")))
        {
            return "it is missing content the tag refers to (re-push the image)";
        }

        return null;
    }

    private static string HostOr(string? host, string fallback) => host ?? fallback;

    private static string Capital(string text) =>
        text.Length > 0 && char.IsAsciiLetterLower(text[0]) && !text.Contains('.', StringComparison.Ordinal) && !text.Contains(':', StringComparison.Ordinal)
            ? char.ToUpperInvariant(text[0]) + text[1..]
            : text;

    /// <summary>The message twice: as written (for quoting) and lower-cased (for searching), same length.</summary>
    private readonly ref struct Message(ReadOnlySpan<char> original, ReadOnlySpan<char> lower)
    {
        private readonly ReadOnlySpan<char> original = original;
        private readonly ReadOnlySpan<char> lower = lower;

        public bool Has(string phrase) => lower.IndexOf(phrase, StringComparison.Ordinal) >= 0;

        public bool HasAny(params ReadOnlySpan<string> phrases)
        {
            foreach (var phrase in phrases)
            {
                if (lower.IndexOf(phrase, StringComparison.Ordinal) >= 0)
                {
                    return true;
                }
            }

            return false;
        }

        /// <summary>Go's net/http ends a cut connection with ": EOF" (also before a closing quote or bracket).</summary>
        public bool EndsWithEof() => EndsWithWord(": eof");

        /// <summary>The phrase as a whole last word: at the end, or followed by something that is not a letter or digit.</summary>
        public bool EndsWithWord(string phrase)
        {
            var at = lower.IndexOf(phrase, StringComparison.Ordinal);
            while (at >= 0)
            {
                var end = at + phrase.Length;
                if (end == lower.Length || !char.IsAsciiLetterOrDigit(lower[end]))
                {
                    return true;
                }

                var next = lower[end..].IndexOf(phrase, StringComparison.Ordinal);
                at = next < 0 ? -1 : end + next;
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
            var at = lower.IndexOf("back-off pulling image", StringComparison.Ordinal);
            if (at < 0)
            {
                return lower.SequenceEqual("error: imagepullbackoff") || lower.SequenceEqual("imagepullbackoff");
            }

            var rest = lower[(at + "back-off pulling image".Length)..].TrimStart();
            if (!rest.IsEmpty && rest[0] == '"')
            {
                var close = rest[1..].IndexOf('"');
                rest = close < 0 ? ReadOnlySpan<char>.Empty : rest[(close + 2)..];
            }

            return rest.Trim().IsEmpty;
        }

        /// <summary>The image named in the message, as written, or null.</summary>
        public string? Image()
        {
            if (Quoted("image \"") is { } quoted && quoted.Length > 0)
            {
                return quoted;
            }

            if (Quoted("reference \"") is { } reference && reference.Length > 0)
            {
                return reference;
            }

            // CRI-O / containers-image: "docker://quay.io/org/app:tag: reading manifest …".
            var docker = lower.IndexOf("docker://", StringComparison.Ordinal);
            if (docker >= 0)
            {
                var start = docker + "docker://".Length;
                var end = original[start..].IndexOfAny(' ', '"', ',');
                var span = end < 0 ? original[start..] : original[start..(start + end)];
                return span.TrimEnd(':').ToString();
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
                var start = manifestFor + "manifest for ".Length;
                var end = original[start..].IndexOf(' ');
                return end <= 0 ? null : original[start..(start + end)].ToString();
            }

            return null;
        }

        public string ImageOr(string fallback) => Image() is { } image ? image : fallback;

        private string? Quoted(string anchor, char close = '"')
        {
            var at = lower.IndexOf(anchor, StringComparison.Ordinal);
            if (at < 0)
            {
                return null;
            }

            var start = at + anchor.Length;
            var end = original[start..].IndexOf(close);
            return end < 0 ? original[start..].ToString() : original[start..(start + end)].ToString();
        }

        /// <summary>Links to documentation inside registry messages are not the registry.</summary>
        private static bool IsDocumentationHost(ReadOnlySpan<char> host) =>
            host.SequenceEqual("www.docker.com") || host.SequenceEqual("docs.docker.com") || host.SequenceEqual("aka.ms")
            || host.SequenceEqual("cloud.google.com") || host.SequenceEqual("docs.aws.amazon.com") || host.SequenceEqual("learn.microsoft.com");

        /// <summary>The registry host: from the image when one is named, else from a URL or a DNS lookup in the message.</summary>
        public string? Host()
        {
            // CRI-O names the source it actually contacted ("docker://quay.io/…") after resolving short names.
            var source = lower.IndexOf("docker://", StringComparison.Ordinal) >= 0 ? Quoted("docker://", ' ') : null;
            if ((source ?? Image()) is { } image && Images.ImageReference.TryParse(image.TrimEnd(':'), out var reference, out _))
            {
                return reference.Domain;
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
                var at = lower.IndexOf(anchor, StringComparison.Ordinal);
                if (at >= 0)
                {
                    var start = at + anchor.Length;
                    var end = original[start..].IndexOfAny(' ', ':', '"');
                    var host = end < 0 ? original[start..] : original[start..(start + end)];
                    if (host.Contains('.') && !host.SequenceEqual("returned"))
                    {
                        return host.ToString();
                    }
                }
            }

            return null;
        }

        /// <summary>"linux/arm64" from "no matching manifest for linux/arm64 in …" or "architecture amd64, …, OS linux".</summary>
        public string? WantedPlatform()
        {
            foreach (var anchor in (ReadOnlySpan<string>)["no matching manifest for ", "wanted "])
            {
                var at = lower.IndexOf(anchor, StringComparison.Ordinal);
                if (at >= 0)
                {
                    var start = at + anchor.Length;
                    var end = original[start..].IndexOfAny(' ', ',');
                    var platform = end < 0 ? original[start..] : original[start..(start + end)];
                    if (platform.Contains('/'))
                    {
                        return platform.ToString();
                    }
                }
            }

            var arch = lower.IndexOf("for architecture ", StringComparison.Ordinal);
            var os = lower.IndexOf(", os ", StringComparison.Ordinal);
            if (arch >= 0 && os > arch)
            {
                var a = original[(arch + "for architecture ".Length)..];
                a = a[..Math.Max(0, a.IndexOf(','))];
                var o = original[(os + ", os ".Length)..];
                var oEnd = o.IndexOfAny(' ', '"', ',');
                o = oEnd < 0 ? o : o[..oEnd];
                return a.IsEmpty || o.IsEmpty ? null : string.Concat(o, "/", a);
            }

            return null;
        }
    }
}
