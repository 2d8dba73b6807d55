namespace ChatOpsPull.Core.Classification;

public static partial class MessageClassifier
{
    /// <summary>
    /// The phrases the rules look for, lower-case (matched ignoring case), each a bit in a mask; grouped by the kind of wording they stand for.
    /// A message is scanned once for all of them. The table must be built before the scanner: fields initialize in order.
    /// </summary>
    private static class P
    {
        private static readonly PhraseTable Table = new();

        // Kubelet's reasons and verdicts as they appear in event and status text.
        public static readonly PhraseMask NeverPull = Table.Any("is not present with pull policy of never", "errimageneverpull");
        public static readonly PhraseMask NotEnsured = Table.Any("errimagenotensured", "does not have the proper auth");
        public static readonly PhraseMask InvalidName = Table.Any("invalid reference format", "failed to apply default image tag", "couldn't parse image name", "couldn't parse image reference", "invalidimagename",
            "failed to parse image reference", "invalid repository name", "normalize image ref");

        // containers/image short-name resolution (CRI-O, podman): the name as written cannot be used on the node.
        public static readonly PhraseMask ShortName = Table.Any("short-name", "short name", "unqualified image", "unqualified-search", "did not resolve to an alias");

        // Kubelet's own limits and credential plugins.
        public static readonly PhraseMask PullQps = Table.Any("pull qps exceeded");
        public static readonly PhraseMask CredentialHelper = Table.Any("credential helper", "docker-credential-", "error getting credentials", "failed to get credentials");
        public static readonly PhraseMask KubeletCredentialProvider = Table.Any("credential provider", "credential-provider", "credentialprovider");
        public static readonly PhraseMask CredentialProvider = CredentialHelper | KubeletCredentialProvider;

        // Refusals by the node's runtime.
        public static readonly PhraseMask SchemaOne = Table.Any("manifest.v1+prettyjws", "schema 1 image", "schema1 image");
        public static readonly PhraseMask Policy = Table.Any(
            "signature validation failed", "signaturevalidationfailed", "source image rejected", "rejected by policy", "signature was required",
            "no signature exists", "signature verification failed", "signatures were accepted", "signature for identity", "signature for digest",
            "signature by key", "no matching signatures", "image verifier", "blocked pull of", "blocking pull of", "due to configured policy",
            "not signed in notary", "not signed by",
            // containers/image (docker/docker_client.go): a registry marked blocked in registries.conf.
            "is blocked in /etc/containers", "registries.conf.d",
            // Kubernetes' ImagePolicyWebhook admission plugin and the admission policies behind it (GKE Binary
            // Authorization, Connaisseur's "signed digest"/"trust data", Azure Policy's allowed images).
            "image policy webhook", "binary authorization", "signed digest", "no trust data", "has not been allowed",
            // CRI-O's signature-policy step (cri-o/cri-o#9478: "checking signature of \"x\": verifying signatures: …"):
            // whatever follows, the node's policy check is what refused the image.
            "checking signature of", "verifying signatures",
            // containers/image signature/policy_eval_signedby.go and internal/signature: a signature by a key the policy
            // does not name ("Signature by <fp> does not match expected fingerprints [...]"), or one that does not verify.
            "does not match expected fingerprints", "invalid gpg signature", "error verifying signature",
            // Docker Content Trust (docker/cli trust, Notary): "No valid trust data for <tag>", "remote trust data does not
            // exist for <repo>: <server> does not have trust data for <repo>"; Portieris/IBM's "failed to get content trust
            // information".
            "trust data", "content trust",
            // Kyverno verifyImages (pkg/engine/internal/imageverifier.go: "failed to verify image %s: %s") and Ratify /
            // notation verifiers ("failed to verify image %s", "notation failed to verify signatures"); cosign's
            // "no signatures found".
            "failed to verify image", "failed to verify signatures", "no signatures found",
            // Gatekeeper's k8sallowedrepos library policy: "container <x> has an invalid image repo <y>, allowed repos are [...]".
            "has an invalid image repo", "allowed repos are",
            // Gatekeeper's k8sdisallowedtags ("container <x> uses a disallowed tag <y>") and k8srequiredigests
            // ("container <x> uses an image without a digest <y>") library policies.
            "uses a disallowed tag", "image without a digest",
            // sigstore policy-controller ("no matching policies: spec.containers[0].image"); notation ("no signature is
            // associated with \"<ref>\""); GKE Binary Authorization attestors ("Denied by Attestor"); OpenShift's image
            // policy admission ("this image is prohibited by policy"); Kyverno's "image verification failed".
            "no matching policies", "no signature is associated", "attestor", "prohibited by policy", "image verification failed",
            // Connaisseur / cosign ("no valid signatures"), policy-controller attestations ("no matching attestations").
            "no valid signature", "no matching attestations",
            // containers/image signature/policy_config.go (NewPolicyFromFile: "invalid policy in %q: %w"): the node's
            // policy.json cannot be read, so containers/image (CRI-O, podman) refuses every pull until it is fixed.
            "invalid policy in");

        // Harbor (src/lib/errors/const.go, src/server/middleware/vulnerable and contenttrust): its project policies
        // (vulnerability severity, cosign/notation signature enforcement) refuse a pull with the error code
        // PROJECTPOLICYVIOLATION (sent as HTTP 412, src/lib/http/error.go). A bare 412 is not read as this: other
        // registries and proxies send it too.
        public static readonly PhraseMask ProjectPolicy = Table.Any("projectpolicyviolation");

        // Admission, before any node sees the pod. Kubernetes' ImagePolicyWebhook plugin
        // (plugin/pkg/admission/imagepolicy/admission.go: "image policy webhook backend denied one or more images",
        // older "one or more images rejected by webhook backend"), and any validating webhook (Kyverno, Gatekeeper with
        // Ratify, sigstore policy-controller, Portieris) that "denied the request" over an image or its verification.
        public static readonly PhraseMask ImagePolicyBackend = Table.Any("rejected by webhook backend", "denied one or more images");
        // A ValidatingAdmissionPolicy says it its own way (apiserver, validating admission policy dispatcher:
        // "ValidatingAdmissionPolicy '%s' with binding '%s' denied request: %s").
        public static readonly PhraseMask AdmissionWebhook = Table.Any("admission webhook", "validatingadmissionpolicy");
        public static readonly PhraseMask DeniedTheRequest = Table.Any("denied the request", "denied request:");
        // What such a denial says about the image (not the bare word "image", which every pull message carries:
        // matching it would cost every message a compare or more).
        public static readonly PhraseMask ImageWord = Table.Any("image verification", "image digest", "for image ", "images", "image repo", "image registry", "image tag");

        // A signature named beside a refusal ("admission webhook … denied the request: … signature …", "signature key validation failed").
        public static readonly PhraseMask Signature = Table.Any("signature", "cosign", "notary", "sigstore", "failed verification", "ratify", "attestation");
        public static readonly PhraseMask Refusal = DeniedTheRequest | Table.Any("validation failed", "verification failed", "rejected");

        // The node's disk: full, failing, or the kubelet reclaiming it (eviction, image garbage collection).
        public static readonly PhraseMask DiskFull = Table.Any("no space left", "disk quota exceeded", "not enough space on the disk", "insufficient space", "out of disk",
            "disk is full", "disk full", "thin pool", "free data blocks");
        public static readonly PhraseMask DiskFailure = Table.Any("input/output error", "read-only file system");
        public static readonly PhraseMask Eviction = Table.Any(
            "ephemeral-storage", "ephemeral storage", "ephemeral local storage", "diskpressure", "disk pressure", "imagefs", "nodefs",
            "image filesystem", "garbage collect", "usage of emptydir volume", "disk-pressure", "wanted to free");

        // The registry's rate limit (kubelet's own is PullQps).
        public static readonly PhraseMask RateLimited = Table.Any("toomanyrequests", "too many requests", "rate limit", "rate exceeded", "ratelimit", "throttl", "quota exceeded");

        public static readonly PhraseMask Platform = Table.Any(
            "no match for platform", "no matching manifest for", "does not match the specified platform", "no image found in manifest list for architecture",
            "cannot be used on this platform", "no image found in image index for", "no manifest found for platform",
            "does not match the host operating system",
            // Windows nodes: Docker's image compatibility check (moby checkImageCompatibility, osversion) refuses an image
            // built for a newer Windows build than the host ("a Windows version %s-based image is incompatible with a %s
            // host"), or one that this host could run only under Hyper-V isolation ("… using Hyper-V isolation").
            "based image is incompatible with a", "using hyper-v isolation");

        // Only after unpacking errors (a re-exec of the unpacker may say it too): a binary for another architecture.
        public static readonly PhraseMask ExecFormat = Table.Any("exec format error");

        // Unpacking on the node: extraction, snapshotters, the local content store, layer registration (Docker,
        // Windows hcsshim), committing in containers/storage. Not a full disk (that is DiskFull, tested first).
        public static readonly PhraseMask Unpack = Table.Any(
            "failed to extract layer", "failed to register layer", "extraction snapshot", "failed to unpack image on", "apply layer error",
            "applylayer", "processing tar file", "untar re-exec error", "re-exec error", "processbaselayer", "hcsshim", "windowsfilter",
            "failed to get reader from content store", "content digest", "parent snapshot", "committing the finished image", "overlay mount",
            "stream processor", "failed to update image store", "diff id", "failed to commit snapshot",
            // containerd's unpacker and snapshotters.
            "failed to prepare layer", "failed to activate layer", "failed to stat parent", "missing parent", "mount callback failed",
            "failed to resolve layers", "failed to retrieve source for layer", "number of layers and diffids", "snapshot does not exist",
            "failed to detect media type of layer", "containerd-mount", "failed to prepare snapshot", "failed to create snapshot",
            // Docker's layer store and containers/storage.
            "max depth exceeded", "adding layer with blob", "creating read-only layer", "layer not known", "lchown", "lsetxattr",
            "insufficient uids or gids", "error creating zfs mount", "failed to mount overlay",
            // containerd's snapshotter plugin unusable on the node's filesystem (xfs without ftype=1, overlay on overlay):
            // "failed to stat snapshot sha256:…: snapshotter not loaded: overlayfs: invalid argument".
            "snapshotter not loaded", "failed to stat snapshot",
            // Docker's layer store and containers/storage naming a layer missing on the node; Windows' hcs layer import.
            "layer does not exist", "read-write layer", "importlayer", "hcs::",
            // The runtime's own download store on the node, named by its path: Docker writes each layer to a temporary
            // file first (distribution/pull_v2.go: TempFile("", "GetImageBlob") under /var/lib/docker/tmp), containerd to
            // its local content store (plugin io.containerd.content.v1.content, ingest/<ref>/data). An error on those
            // files that is not a full disk (tested first) is the node's store, not the registry.
            "getimageblob", "io.containerd.content.v1.content");

        // What the registry answered.
        public static readonly PhraseMask NotFound = Table.Any("not found");
        public static readonly PhraseMask SpaceNotFound = Table.Any(" not found");
        public static readonly PhraseMask DoesNotExist = Table.Any("does not exist");
        public static readonly PhraseMask ManifestUnknown = Table.Any("manifest unknown", "name unknown", "manifest_unknown", "name_unknown", "repository name not known to registry", "not found in repository",
            // Quay (expired or deleted tags), ECR, Docker's classic wording.
            "was deleted or has expired", "revive via time machine", "requested image not found", "tag does not exist");
        public static readonly PhraseMask ManifestFor = Table.Any("manifest for ");

        // Harbor (src/pkg/project/dao/dao.go, sent as UNAUTHORIZED by src/server/middleware/v2auth): "project x not found".
        public static readonly PhraseMask ProjectWord = Table.Any("project ");
        public static readonly PhraseMask Deprecated = Table.Any("deprecated");
        public static readonly PhraseMask ShutDown = Table.Any("shutting down", "shut down");
        public static readonly PhraseMask NoCredentials = Table.Any(
            // containerd (core/remotes/docker/authorizer.go): a basic-auth challenge and no username or secret to answer it.
            "missing username or secret", "not logged in", "please log in", "please login",
            "no basic auth credentials", "unauthenticated", "authentication is required but no credentials", "anonymous users are only allowed",
            "login required", "must be logged in", "need to be logged in",
            // JFrog Artifactory: "Download request for repo:path is forbidden for user: 'anonymous'."
            "for user: 'anonymous'",
            // Google Container Registry's refusal of a request without credentials: "Unable to access the repository: x;
            // please verify that it exists and you have permission to access it (no valid credential was supplied)."
            "no valid credential");
        public static readonly PhraseMask NoCredentialsHint = Table.Any("no credentials on this request");
        public static readonly PhraseMask TokenRejected = Table.Any(
            // GHCR: "User cannot be authenticated with the token provided"; AWS: "ExpiredTokenException".
            "cannot be authenticated", "expiredtoken",
            "token has expired", "token is expired", "expired token", "token expired", "credentials have expired", "security token included in the request is invalid",
            "token is invalid", "invalid token", "invalid_token", "token included in the request", "token exchange failed", "does not match expected scopes",
            "refresh token", "access token is invalid", "access token has expired");
        // Harbor (src/server/middleware/v2auth/auth.go, reqChecker.check): it first looks the project up (a missing
        // project answers "project x not found"), then asks only whether the request's identity may pull in that
        // project, and answers "unauthorized to access repository: <repo>, action: pull" when it may not. It never looks
        // at whether the repository exists: the text says the identity (anonymous, or an account/robot without pull
        // rights) cannot pull from an existing project, so the fix is the credentials, not the image name.
        public static readonly PhraseMask HarborNoPullPermission = Table.Any("unauthorized to access repository");
        // GHCR's DENIED naming what the token was not granted: a GitHub App installation token (an Actions GITHUB_TOKEN or
        // an App's) without the package permission ("denied: installation not allowed to Read organization package";
        // "permission_denied: installation not allowed to Write organization package"). A credential was sent and it
        // carries no read of the package: the fix is the token's permissions. (GHCR's DENIED with no detail, "denied: denied",
        // names no credential: GHCR answers it for a private package pulled without access and for a path that does not
        // exist, so it is the ambiguous denial, issue 14's labelling convention.)
        public static readonly PhraseMask InstallationNotAllowed = Table.Any("installation not allowed to");
        // GitLab's registry token service (app/services/auth/container_registry_authentication_service.rb, execute):
        // error('DENIED', status: 403, message: 'access forbidden') when the credentials carry no registry ability (a
        // token without read_registry: has_registry_ability?) or when no user, deploy token or job authenticated and no
        // scope was granted (an anonymous request for a project that is not public). Printed through distribution's
        // errcode as "denied: access forbidden". A project that does not exist at the path gets the same answer (the
        // service finds no project to grant a scope on), so by the text it is the ambiguous denial (issue 14's labelling
        // convention); the summary names both, the path first, then read_registry.
        public static readonly PhraseMask GitLabAccessForbidden = Table.Any("denied: access forbidden");
        // Amazon ECR (userguide common-errors.html, docker troubleshooting "HTTP 403 Errors or 'no basic auth
        // credentials'"): a missing repository or tag is a 404 ("name unknown", "Requested image not found"); a 403 is the
        // credentials: an expired 12-hour token, a token for another account or region, or an IAM principal without pull rights.
        // IAM's refusal names the repository's ARN ("... is not authorized to perform: ecr:BatchGetImage on resource:
        // arn:aws:ecr:<region>:<account>:repository/<name>").
        public static readonly PhraseMask EcrHost = Table.Any(".dkr.ecr.", "public.ecr.aws", "arn:aws:ecr:");
        public static readonly PhraseMask Forbidden = Table.Any("403 forbidden", "403 (forbidden)", "error (403)", ": forbidden");
        // containerd (core/remotes/docker/auth, authHandler.doBearerAuth): "failed to fetch oauth token" wraps the token
        // request only when a secret was sent ("failed to fetch anonymous token" when none was): a 401 there is the
        // registry refusing the credentials the node sent. A 403 stays a denial (the labelling guide's ambiguous
        // access_denied), and a token request that never got an answer (dial tcp, i/o timeout) is the network.
        public static readonly PhraseMask OAuthToken = Table.Any("failed to fetch oauth token");
        public static readonly PhraseMask CredentialsRejected = Table.Any("incorrect username or password", "invalid username/password", "invalid username or password", "authentication failed",
            "username or password", "username/password", "username and password",
            "http basic: access denied", "invalid clientid", "client secret", "aadsts", "not registered with aad", "signature we calculated does not match",
            "signaturedoesnotmatch", "invalidclienttokenid", "unrecognizedclientexception", "bad credentials", "invalid credentials provided",
            // Quay: a robot account whose name or token is wrong ("Could not find robot with username: x and supplied password.").
            "could not find robot");
        public static readonly PhraseMask Denied = Table.Any(
            "pull access denied", "insufficient_scope", "may require authorization", "may require 'docker login'", "requested access to the resource is denied",
            "access to the requested resource is not authorized", "(or it may not exist)", "denied: ", "no pull access",
            "needed permissions", "permission_denied", "authorizationfailure", "not authorized to perform",
            // "<who> does not have permission": GCR's "Caller does not have permission or the resource may not exist",
            // Artifactory's "unauthorized: The client does not have permission for manifest" (its answer for a path the
            // client may not read, a missing or unconfigured remote included). A permission, not a credential, is named.
            "does not have permission");

        // Transport.
        public static readonly PhraseMask TlsHandshakeTimeout = Table.Any("tls handshake timeout");
        public static readonly PhraseMask PlainHttp = Table.Any("server gave http response to https client", "first record does not look like a tls handshake");
        public static readonly PhraseMask UnknownAuthority = Table.Any("unknown authority");
        public static readonly PhraseMask CertificateExpired = Table.Any("certificate has expired", "not yet valid");
        public static readonly PhraseMask CertificateName = Table.Any("certificate is valid for", "certificate is not valid for", "legacy common name");
        public static readonly PhraseMask Tls = PlainHttp | UnknownAuthority | CertificateExpired | CertificateName | Table.Any(
                "x509:", "tls: ", "handshake failure", "self signed certificate", "self-signed certificate", "certificate chain", "certificate verify failed",
                "authority that is not trusted", "ssl routines", "certificate signed by");
        public static readonly PhraseMask Proxy = Table.Any("proxyconnect", "proxy authentication required", "proxy error");
        public static readonly PhraseMask DnsFailure = Table.Any(
            "no such host", "server misbehaving", "temporary failure in name resolution", "name or service not known", "requested name is valid",
            "getaddrinfo", "dial udp", "could not resolve host");

        public static readonly PhraseMask Dns = DnsFailure | Table.Any("lookup ");
        public static readonly PhraseMask IoTimeout = Table.Any("i/o timeout");
        public static readonly PhraseMask Refused = Table.Any("connection refused", "actively refused", "no connection could be made");
        public static readonly PhraseMask NoRoute = Table.Any("no route to host", "network is unreachable", "host is down", "host is unreachable");
        public static readonly PhraseMask ConnectionCut = Table.Any(
            "connection reset", "broken pipe", "forcibly closed", "wsarecv", "wsasend", "use of closed network connection", "server closed idle connection",
            "client connection lost", "connection closed",
            // Go's HTTP/2 client (golang.org/x/net/http2): the far side reset the stream ("stream error: stream ID 3;
            // INTERNAL_ERROR; received from peer") or closed the connection ("http2: server sent GOAWAY and closed the
            // connection").
            "stream error: stream id", "sent goaway");
        public static readonly PhraseMask Canceled = Table.Any("context canceled", "request canceled");
        public static readonly PhraseMask RegistryUnavailable = Table.Any("because the registry is unavailable", "registryunavailable");
        // A pull the runtime gave up on midway: containerd's CRI cancels a pull whose transfer made no progress for
        // image_pull_progress_timeout ("cancel pulling image ... because of no progress"), which surfaces as "context canceled".
        public static readonly PhraseMask Network = Proxy | DnsFailure | IoTimeout | Refused | NoRoute | TlsHandshakeTimeout | ConnectionCut | RegistryUnavailable | Canceled
            | Table.Any(
                "no such host", "server misbehaving", "temporary failure in name resolution", "timed out", "client.timeout exceeded", "context deadline exceeded",
                "request canceled while waiting for connection", "dial tcp", "failed to do request", "read tcp ", "write tcp ", "connectex", "connection attempt failed",
                "timeout awaiting response headers", "because of no progress");

        // Generic authorization failures.
        public static readonly PhraseMask AnonymousToken = Table.Any("failed to fetch anonymous token");
        public static readonly PhraseMask UnauthorizedWord = Table.Any("401 unauthorized", "error (401)", "unauthorized");
        public static readonly PhraseMask Unauthorized = AnonymousToken | UnauthorizedWord | Table.Any("401 unauthorized", "error (401)", "unauthorized", "authentication required", "failed to authorize",
            // JFrog Artifactory: "unknown: Authentication is required".
            "authentication is required");

        // Registry-side faults: server errors, other unexpected answers, broken or garbled content.
        public static readonly PhraseMask Status500 = Table.Any("internal server error");
        public static readonly PhraseMask Status502 = Table.Any("bad gateway");
        public static readonly PhraseMask Status503 = Table.Any("503 service", "service unavailable", "service temporarily unavailable");
        public static readonly PhraseMask Status504 = Table.Any("504 gateway", "gateway timeout", "gateway time-out");
        public static readonly PhraseMask BadRequest = Table.Any("bad request");
        public static readonly PhraseMask CorruptBlob = Table.Any(
            "unexpected commit digest", "failed size validation", "unexpected commit size", "mismatch", "failed precondition", "does not match provided manifest digest",
            "verification failed", "did not match", "short read", "failed commit on ref", "invalid content digest", "digest invalid");
        public static readonly PhraseMask UnexpectedEof = Table.Any("unexpected eof");
        public static readonly PhraseMask BlobUnknown = Table.Any("blob unknown", "unknown blob", "blob_unknown");
        public static readonly PhraseMask RemoteContent = Table.Any("content at http", "from remote", "httpreadseeker: failed open");
        public static readonly PhraseMask MediaType = Table.Any("media type", "media-type", "mediatype");
        public static readonly PhraseMask Unsupported = Table.Any("unsupported", "not supported", "unexpected", "no processor");
        public static readonly PhraseMask Garbled = Table.Any(
            "text/html", "looking for beginning of value", "error parsing http", "unexpected end of json input", "invalid character", "cannot unmarshal",
            "manifest invalid", "manifest_invalid", "operation is unsupported", "did not include a token", "download failed after attempts",
            // distribution's errcode UNKNOWN as a registry sends it (registry/api/errcode: "<code>: <message>", so "unknown:
            // unknown error"; a bare "unknown error" is any component's shrug, not the registry's) and MANIFEST_UNVERIFIED
            // ("manifest failed signature verification", registry/api/v2/descriptors.go); Docker's
            // distribution/pull_v2.go checks of what it was served.
            "unknown: unknown error", "manifest unverified", "failed signature verification", "invalid checksum", "don't match image configuration",
            "mismatched image rootfs", "content size of zero",
            // A compressed layer stream that is not what it claims (Go's compress/gzip, compress/flate, archive/tar, zstd).
            "gzip: ", "flate: corrupt", "archive/tar", "zstd: ",
            // Go's net/http transport reading something that is not HTTP at all ("net/http: HTTP/1.x transport connection
            // broken: malformed HTTP response", "malformed HTTP status code").
            "malformed http",
            // Go's net/http client (client.go, send): a token realm or redirect the registry named with a scheme that is not
            // http(s), such as Nexus answering realm="null://…" (`Get "null://host/v2/token?…": unsupported protocol scheme "null"`).
            "protocol scheme");
        // Envoy in front of a registry (Istio, Contour, a cloud load balancer; source/common/router/router.cc): its own 503/504
        // bodies when the registry behind it does not answer ("upstream connect error or disconnect/reset before headers.
        // reset reason: …", "no healthy upstream", "upstream request timeout"), quoted by the runtime as the answer it got.
        public static readonly PhraseMask UpstreamDown = Table.Any("disconnect/reset before headers", "no healthy upstream", "upstream request timeout");
        // containers/image (docker/docker_client.go, detectPropertiesHelper: "pinging container registry %s: %w", older
        // "error pinging docker registry %s") and Docker ("pinging docker registry returned"): the /v2/ version check that
        // comes before any repository is named.
        public static readonly PhraseMask Pinging = Table.Any("pinging container registry", "pinging docker registry");
        public static readonly PhraseMask UnexpectedStatus = Table.Any("unexpected status", "unexpected http status", "received unexpected");
        public static readonly PhraseMask RegistryFault = Status500 | Status502 | Status503 | Status504 | BadRequest | CorruptBlob | UnexpectedEof | BlobUnknown | Garbled | UnexpectedStatus | UpstreamDown;

        // Docker's "No such image: x" and containers/storage's "image not known" (nothing by that name to use).
        public static readonly PhraseMask AnyNotFound = NotFound | DoesNotExist | Table.Any("notfound", "no such image", "image not known");

        // Words that count only at the end of the message or before punctuation (the scan checks what follows them).
        public static readonly PhraseMask DeniedWord = Table.Positional(": denied");
        public static readonly PhraseMask EofWord = Table.Positional(": eof");
        // Go's net/http transport (transport.go, dialConn): when the node's HTTP(S) proxy answers the CONNECT with anything
        // but 200, the error is the status text alone, wrapped in the url.Error of the request it was for:
        // `Head "https://registry-1.docker.io/v2/…": Get "https://auth.docker.io/token?…": Forbidden`. A registry's own 403
        // always carries its number or an error code ("403 Forbidden", "denied: …"), so "Forbidden" right after a quoted
        // URL (or after a URL's last slash, unquoted before Go 1.14) is the proxy refusing the destination: the node's
        // network path. (A CONNECT answered "Bad Gateway" or "Service Unavailable" is the proxy failing to reach the
        // registry, which may be the registry being down: those stay registry faults.) The scan notes what precedes it.
        public static readonly PhraseMask ForbiddenWord = Table.Positional(": forbidden");

        // Where an HTTP status number may follow ("status: 401", "status code 429", "HTTP 403 response", "(HTTP code 500)").
        public static readonly PhraseMask StatusWord = Table.Positional("status");
        public static readonly PhraseMask HttpWord = Table.Positional("http ");
        public static readonly PhraseMask ResponseCode = Table.Positional("response code");
        public static readonly PhraseMask StatusAnchor = StatusWord | HttpWord | ResponseCode;

        // Pull reasons and forms that carry only the reason (kubectl's STATUS column, "waiting to start", bare back-off).
        public static readonly PhraseMask ImagePullBackOff = Table.Any("imagepullbackoff", "back-off pulling image");
        public static readonly PhraseMask ErrImagePull = Table.Any("errimagepull");
        public static readonly PhraseMask ImageInspectError = Table.Any("imageinspecterror", "failed to inspect image");
        // Skaffold's status check names the image instead (pkg/skaffold/kubernetes/status/diag/validator/pod.go,
        // extractErrorMessageFromWaitingContainerStatus: "container %s is waiting to start: %s can't be pulled").
        public static readonly PhraseMask WaitingToStart = Table.Any("trying and failing to pull", "can't be pulled", "cannot be pulled");
        public static readonly PhraseMask PullReason = ImagePullBackOff | ErrImagePull | ImageInspectError | WaitingToStart;

        // A 404 on a manifest URL (containerd: "unexpected status from HEAD request to https://r/v2/<name>/manifests/<tag>:
        // 404 Not Found"; the distribution spec answers a missing manifest or repository with 404) is a missing image; a 404
        // on a blob is the registry missing content it listed.
        public static readonly PhraseMask ManifestsPath = Table.Any("/manifests/");

        // containerd (core/remotes/docker/fetcher.go, dockerFetcher.Fetch): "could not fetch content descriptor <digest>
        // (<media type>) from remote: not found" when no host served content the registry's own manifest or index named;
        // it names the media type, schema 1's included, without saying the format was refused.
        public static readonly PhraseMask FetchDescriptor = Table.Any("content descriptor");

        // Kubelet (kubelet_pods.go, getPullSecretsForPod): the FailedToRetrieveImagePullSecret warning, "Unable to retrieve
        // some image pull secrets (<names>); attempting to pull the image may not succeed." (older: "Unable to retrieve pull
        // secret <ns>/<name> for <ns>/<pod> due to ...").
        public static readonly PhraseMask PullSecretsUnreadable = Table.Any("unable to retrieve some image pull secrets", "unable to retrieve pull secret");

        // Kubelet's kuberuntime_image.go (kubeGenericRuntimeManager.PullImage) tries the pull once per credential the
        // keyring matched and returns utilerrors.NewAggregate of the failures: "[err1, err2]", each a CRI gRPC status
        // ("rpc error: code = …"), inside "Failed to pull image \"x\": […]".
        public static readonly PhraseMask KubeletAggregate = Table.Any("[rpc error");
        // Words of a credential refusal (not "failed to authorize", which wraps every token request, 5xx ones too).
        public static readonly PhraseMask CredentialRefusal = Table.Any("authentication required");

        // Kubelet's ErrImagePull event, cut before the error: "Failed to pull image \"x\"" and nothing after it.
        public static readonly PhraseMask FailedToPull = Table.Any("failed to pull image");

        public static readonly PhraseScanner Scanner = Table.Build();
    }
}
