using ChatOpsPull.Core.Images;

namespace ChatOpsPull.Core.Classification;

public static partial class MessageClassifier
{
    /// <summary>One line per finding, naming the image and registry the message names, and what to do.</summary>
    private static string Summarize(Finding finding, Message m, string? reason)
    {
        var image = m.Image();
        var host = m.Host(image);
        var theImage = image ?? "the image";
        var imageFirst = Capital(image ?? "The image");
        var theRegistry = host ?? "the registry";
        var registryFirst = Capital(host ?? "The registry");
        return finding switch
        {
            Finding.NeverPull =>
                $"{imageFirst} is not on this node and imagePullPolicy is Never: load it onto the node or set imagePullPolicy: IfNotPresent.",
            Finding.NotEnsured =>
                $"{imageFirst} is on the node, but this pod does not have the credentials it was pulled with, and kubelet verifies them (KEP-2535, imagePullCredentialsVerificationPolicy): attach a pull secret for {theRegistry} to the pod or its ServiceAccount, or refresh it.",
            Finding.InvalidName => InvalidName(image),
            Finding.ShortName =>
                $"The node's runtime (CRI-O) will not resolve the short name {image ?? "of the image"}: write the fully qualified name (such as docker.io/library/nginx:1.27), or configure an alias or unqualified-search-registries on the nodes.",
            Finding.NodePullLimit =>
                "Kubelet's own pull rate limit on this node was hit (registryPullQPS/registryBurst), not the registry's: kubelet retries by itself; raise registryPullQPS/registryBurst in the kubelet configuration or stagger the rollout.",
            Finding.CredentialProvider => m.Has(P.CredentialHelper) && !m.Has(P.KubeletCredentialProvider)
                ? $"The node's registry credential helper failed, so the pull of {theImage} carried no credentials: check the docker-credential-* helper and the credHelpers/credsStore of the runtime's configuration on the node."
                : $"Kubelet's credential provider plugin failed on this node, so the pull of {theImage} carried no credentials: check the plugin binary and its configuration (--image-credential-provider-config) on the node.",
            Finding.SchemaOne =>
                $"{imageFirst} is in the old Docker schema 1 format, which this runtime no longer pulls: rebuild and push it with a current builder, or use a newer tag.",
            Finding.SchemaOneBackOff =>
                $"Kubelet reports {ReasonNamed(m, reason)}: {theImage} is in the old Docker schema 1 format, which this runtime no longer pulls: rebuild and push it with a current builder, or use a newer tag.",
            Finding.PolicyRejected =>
                $"The node's image signature policy rejected {theImage}: sign the image as the policy requires, or change the policy (policy.json / ClusterImagePolicy).",
            Finding.AdmissionRejected =>
                $"An admission policy refused the pod because of {theImage} (ImagePolicyWebhook or a validating webhook such as Kyverno, Gatekeeper or a signature policy controller): sign or move the image as the policy requires, or change the policy; no node tried to pull it.",
            Finding.RegistryPolicy =>
                $"{registryFirst} refused to serve {theImage} under its project policy (Harbor's PROJECTPOLICYVIOLATION: the image exceeds the allowed vulnerability severity or lacks a required signature): rebuild or sign the image, or ask the project's admin to change the policy or allowlist the CVEs.",
            Finding.DiskFull =>
                $"The node ran out of disk space while pulling {theImage}: free space (image garbage collection, a larger disk) or let the pod run on another node.",
            Finding.DiskFailure =>
                $"The node's disk failed while storing {theImage} (I/O error or read-only file system): check the node's disk and let the pod run on another node.",
            Finding.Eviction =>
                "The node ran low on disk for images and containers (ephemeral storage, DiskPressure or image garbage collection): free space on the node, set ephemeral-storage requests and limits, or move the pods.",
            Finding.RateLimited => RateLimited(host),
            Finding.Platform =>
                $"{imageFirst} has no variant for this node's OS/architecture{(m.WantedPlatform() is { } platform ? $" ({platform})" : string.Empty)}: publish a multi-arch image or schedule the pod on matching nodes (kubernetes.io/arch).",
            Finding.Unpack =>
                $"The node could not unpack {theImage} (extracting a layer or preparing a snapshot failed; the disk is not full): a corrupt or unusual layer, or a broken image store on the node: remove the partial image (crictl rmi) and retry, or rebuild and re-push the image.",
            Finding.ManifestUnknown =>
                $"{registryFirst} says {theImage} does not exist: check the repository and tag spelling, or push the image.",
            Finding.RegistryRetired =>
                $"{registryFirst} no longer serves {theImage} (the registry is deprecated and shutting down): pull it from the registry it moved to and update the image field.",
            Finding.NoCredentials =>
                $"{registryFirst} wants credentials and the node sent none: attach an imagePullSecret for {theRegistry} to the pod or its ServiceAccount (or fix the node's credential provider).",
            Finding.TokenRejected =>
                $"The registry token for {theRegistry} has expired or is invalid: refresh the pull secret or the node's credential helper.",
            Finding.CredentialsRejected =>
                $"{registryFirst} rejected the pull credentials: the pull secret for {theRegistry} is wrong or expired, refresh it.",
            Finding.NoPullPermission =>
                $"{registryFirst} (Harbor) will not let this pull read {image ?? "the repository"}: the project exists, but the credentials sent (or none) have no pull permission in it; attach a pull secret for a member or robot account with pull rights in that project.",
            Finding.EcrRefused =>
                $"{registryFirst} (Amazon ECR) denied the pull (403 or DENIED). ECR answers a missing repository or tag with 404, so this is usually the node's credentials: the token expired (ECR tokens last 12 hours), belongs to another account or region, or the IAM role lacks ecr:BatchGetImage/ecr:GetDownloadUrlForLayer on the repository; refresh the pull secret or the node's credential provider, or grant the role pull rights. If they are right, check the repository name and region.",
            Finding.TokenDenied =>
                $"{registryFirst} refused the token the node sent: a GitHub App installation token (such as an Actions GITHUB_TOKEN) without read of the package; use a token with read:packages in the pull secret for {theRegistry}, or give the repository access to the package (Manage Actions access).",
            Finding.PullSecretsUnreadable =>
                "Kubelet could not read the pod's imagePullSecrets (named in the message), so the pull carried no credentials from them: create the secret in the pod's namespace or fix its name.",
            Finding.AttemptsDisagree =>
                $"Kubelet tried each credential it had for {theRegistry} and the answers disagree (one found no {theImage}, another was refused): the image is missing, or private to credentials this pod lacks; check the repository and tag, then the pull secret.",
            Finding.GitLabForbidden =>
                $"{registryFirst} (GitLab) answered \"access forbidden\": no project exists at that path, or the credentials sent carry no registry read (a token without read_registry), or none were sent for a project that is not public; check the image path, then attach a pull secret with a read_registry deploy or access token for {theRegistry}.",
            Finding.Denied =>
                $"{registryFirst} denied access to {image ?? "the repository"}: it is private and needs a pull secret with pull rights, or it does not exist (the registry will not say which).",
            Finding.Tls => Tls(m, host),
            Finding.Network => Network(m, theRegistry),
            Finding.AnonymousRefused =>
                $"{registryFirst} refused an anonymous pull: it wants credentials and none matched, so attach an imagePullSecret for {theRegistry} (or grant the node's identity pull rights).",
            Finding.Unauthorized =>
                $"{registryFirst} answered 401 Unauthorized: the pull secret for {theRegistry} is missing, wrong or expired.",
            Finding.RegistryFault =>
                $"{registryFirst} failed while serving {theImage}: {RegistryFault(m)}; usually on the registry side (check its status page, or a proxy/mirror in between), then retry.",
            Finding.NotFound =>
                $"{registryFirst} does not have {theImage}{(host == "ghcr.io" ? " (GHCR also answers this for private packages pulled without credentials)" : string.Empty)}: check the repository and tag spelling, or push the image.",
            Finding.BackOff =>
                $"Kubelet reports {ReasonNamed(m, reason)} for {theImage} without the underlying error: the cause is in the pod's previous Failed event (ErrImagePull).",
            Finding.Unrecognised => m.IsEmpty
                ? "The pull failed without a runtime message: look at the pod's Failed events for the underlying error."
                : $"The pull of {theImage} failed for a reason the message does not make clear: read the raw runtime message below.",
            _ => throw new ArgumentOutOfRangeException(nameof(finding), finding, "not a finding"),
        };
    }

    private static string InvalidName(string? image)
    {
        if (image is not null && !ImageReference.TryParse(image, out _, out var why))
        {
            const string prefix = "invalid reference format: ";
            why = why.StartsWith(prefix, StringComparison.Ordinal) ? why[prefix.Length..] : why;
            return $"The image name \"{image}\" is invalid: {why}.";
        }

        return "The image name is not a valid reference: fix the image field (no URL scheme, lowercase repository, tag after the last ':').";
    }

    private static string RateLimited(string? host)
    {
        var advice = host == DockerHub.Domain
            ? "pull with Docker Hub credentials (anonymous pulls are counted per node IP), use a mirror, or wait for the window to reset"
            : "authenticate the pulls, use a pull-through cache, or wait for the limit to reset";
        return $"{Capital(host ?? "The registry")} is rate-limiting pulls (429 Too Many Requests): {advice}.";
    }

    private static string Tls(Message m, string? host)
    {
        host ??= m.WordAfter("wanted to match ") ?? "the registry";
        var detail = m.Has(P.PlainHttp)
            ? $"{host} speaks plain HTTP but the runtime uses HTTPS: serve HTTPS, or configure {host} as a plain-http registry on the nodes"
            : m.Has(P.UnknownAuthority)
                ? $"its certificate is signed by a CA the nodes do not trust: add that CA for {host} on the nodes (containerd: /etc/containerd/certs.d/{host}/ca.crt, Docker: /etc/docker/certs.d/{host}/ca.crt)"
                : m.Has(P.CertificateExpired)
                    ? "its certificate has expired or is not yet valid: renew it, or check the node's clock"
                    : m.Has(P.CertificateName)
                        ? $"its certificate does not name {host}: reissue it with {host} in the subject alternative names"
                        : "the TLS handshake failed: check the certificate chain and any TLS-intercepting proxy";
        return $"TLS to {host} failed: {detail}.";
    }

    private static string Network(Message m, string host)
    {
        var detail =
            m.ProxyRefusedConnect ? "the node's HTTP proxy refused to open the connection (its CONNECT answer was Forbidden: allow the registry's hosts in the proxy, or list them in NO_PROXY of the node's runtime)"
            : m.Has(P.Proxy) ? "the connection through the HTTP proxy failed (check HTTP(S)_PROXY and NO_PROXY of the node's runtime)"
            : m.Has(P.Dns) ? (m.Has(P.IoTimeout) ? $"the DNS lookup of {host} timed out" : $"the DNS lookup of {host} failed")
            : m.Has(P.Refused) ? $"{host} refused the connection"
            : m.Has(P.NoRoute) ? $"there is no route to {host}"
            : m.Has(P.TlsHandshakeTimeout) ? $"the TLS handshake with {host} timed out"
            : m.Has(P.ConnectionCut) || m.EofAsWord ? $"the connection to {host} was cut off"
            : m.Has(P.RegistryUnavailable) ? "the runtime reported the registry as unavailable"
            : m.Has(P.Canceled) && !m.Has(P.IoTimeout) ? $"the request to {host} was canceled before it was answered (a stalled transfer)"
            : $"the connection to {host} timed out";
        return $"The node could not reach {host}: {detail}; check DNS, egress firewall and proxy settings on the nodes.";
    }

    private static string RegistryFault(Message m)
    {
        var status = m.StatusCode;
        return m.Has(P.Pinging) && (status == 404 || m.Has(P.NotFound)) ? "its /v2/ endpoint answered 404, so the address is not a registry's API (check the mirror or endpoint configured for it on the nodes)"
            : m.Has(P.UpstreamDown) ? "the proxy in front of it (Envoy or a load balancer) found no healthy registry behind it"
            : m.Has(P.Status500) || status == 500 ? "it answered 500 Internal Server Error"
            : m.Has(P.Status502) || status == 502 ? "it answered 502 Bad Gateway"
            : m.Has(P.Status503) || status == 503 ? "it answered 503 Service Unavailable"
            : m.Has(P.Status504) || status == 504 ? "it answered 504 Gateway Timeout"
            : m.Has(P.BadRequest) || status == 400 ? "it answered 400 Bad Request"
            : status >= 400 ? $"it answered HTTP {status}"
            : m.Has(P.CorruptBlob) ? "a downloaded layer or manifest did not match its digest or size (a corrupt blob, cache or proxy)"
            : m.Has(P.UnexpectedEof) ? "the download broke off (unexpected EOF)"
            : m.Has(P.BlobUnknown) || (m.Has(P.NotFound) && m.Has(P.RemoteContent)) ? "it is missing content the tag refers to (re-push the image)"
            : m.Has(P.MediaType) ? "the image uses a media type this runtime does not accept (rebuild it in a standard format)"
            : m.Has(P.Garbled) ? "it answered something that is not registry content (an HTML page from a proxy or mirror)"
            : "it gave an unexpected answer";
    }

    /// <summary>The pull reason to name: the one given, else the one the text names.</summary>
    private static string ReasonNamed(Message m, string? reason) =>
        reason is "ErrImagePull" or "ImagePullBackOff" or "ImageInspectError" ? reason
        : m.Has(P.ImagePullBackOff) ? "ImagePullBackOff"
        : m.Has(P.ErrImagePull) ? "ErrImagePull"
        : m.Has(P.ImageInspectError) ? "ImageInspectError"
        : m.Has(P.RegistryUnavailable) ? "RegistryUnavailable"
        : "a failing pull (waiting to start)";

    private static string Capital(string text) =>
        text.Length > 0 && char.IsAsciiLetterLower(text[0]) && !text.Contains('.', StringComparison.Ordinal) && !text.Contains(':', StringComparison.Ordinal)
            ? char.ToUpperInvariant(text[0]) + text[1..]
            : text;
}
