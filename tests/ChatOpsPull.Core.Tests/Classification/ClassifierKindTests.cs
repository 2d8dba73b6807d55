using ChatOpsPull.Core.Classification;
using ChatOpsPull.Core.Failures;

namespace ChatOpsPull.Core.Tests.Classification;

/// <summary>
/// The kinds of wording issue 14 names, each with variants: the rules are written for the kind, so every variant must
/// land on the same cause. Messages are built from kubelet's and the runtimes' own format strings (file named).
/// </summary>
public sealed class ClassifierKindTests
{
    [Theory]
    // kubectl get pods STATUS and reason-only container statuses.
    [InlineData("ErrImagePull", "ErrImagePull")]
    [InlineData("ImagePullBackOff", "ImagePullBackOff")]
    [InlineData("Init:ImagePullBackOff", "ImagePullBackOff")]
    [InlineData("Init:ErrImagePull", "ErrImagePull")]
    [InlineData("Error: ErrImagePull", "ErrImagePull")]
    [InlineData("Error: ImageInspectError", "ImageInspectError")]
    // kubectl logs: the API server's "waiting to start" answer (old and new wording).
    [InlineData("container \"app\" in pod \"app-7d4b9\" is waiting to start: trying and failing to pull image", "waiting to start")]
    [InlineData("container \"app\" in pod \"app-7d4b9\" is waiting to start: image can't be pulled", "waiting to start")]
    // Skaffold's status check (pkg/skaffold/kubernetes/status/diag/validator/pod.go): "container %s is waiting to start: %s can't be pulled".
    [InlineData("container web is waiting to start: registry.example/team/web:1.4.2 can't be pulled", "waiting to start")]
    // pod_workers.go sync error wrapping a bare back-off, quotes escaped once more.
    [InlineData("Error syncing pod 4b47 (\"app-0_ns(4b47)\"), skipping: failed to \"StartContainer\" for \"app\" with ImagePullBackOff: \"Back-off pulling image \\\"org/app:1\\\"\"", "ImagePullBackOff")]
    public void A_status_that_carries_only_the_reason_is_backoff_only_and_names_it(string message, string named)
    {
        var result = MessageClassifier.Classify(message);
        Assert.Equal(PullCause.BackoffOnly, result.Cause);
        Assert.Contains(named, result.Summary, StringComparison.Ordinal);
        Assert.Contains("previous Failed event", result.Summary, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("container \"app\" in pod \"app-0\" is waiting to start: ErrImageNeverPull", PullCause.NeverPull)]
    [InlineData("container \"app\" in pod \"app-0\" is waiting to start: InvalidImageName", PullCause.InvalidName)]
    [InlineData("ErrImageNotEnsured", PullCause.ImageNotEnsured)]
    [InlineData("Error: ErrImageNeverPull", PullCause.NeverPull)]
    public void A_reason_in_the_text_with_its_own_meaning_decides(string message, PullCause expected)
    {
        Assert.Equal(expected, MessageClassifier.Classify(message).Cause);
    }

    [Theory]
    [InlineData("ErrImagePull", "ErrImagePull")]
    [InlineData("ImagePullBackOff", "ImagePullBackOff")]
    [InlineData("ErrImageNeverPull", "ErrImageNeverPull")]
    [InlineData("InvalidImageName", "InvalidImageName")]
    [InlineData("ErrImageNotEnsured", "ErrImageNotEnsured")]
    [InlineData("ImageInspectError", "ImageInspectError")]
    [InlineData("RegistryUnavailable", "RegistryUnavailable")]
    [InlineData("SignatureValidationFailed", "SignatureValidationFailed")]
    [InlineData("Back-off pulling image", "ImagePullBackOff")]
    public void A_message_naming_a_pull_reason_is_never_unknown(string reason, string named)
    {
        // Around the reason: text no rule knows, and the wrappers kubelet, kubectl and the runtimes put around it.
        string[] around =
        [
            "{0}",
            "Error: {0}",
            "Warning  Failed  12s  kubelet  {0}",
            "container \"app\" in pod \"app-0\" is waiting to start: {0}",
            "Failed to pull image \"registry.example.com/app:1\": {0}: the flux capacitor is misaligned",
            "Error syncing pod 4b47 (\"app-0_ns(4b47)\"), skipping: failed to \"StartContainer\" for \"app\" with {0}: \"zxq wibble\"",
            "zxq wibble {0} frobnicated",
            "{0}: media type \"application/vnd.docker.distribution.manifest.v1+prettyjws\" is no longer supported",
        ];
        foreach (var text in around.Select(a => string.Format(System.Globalization.CultureInfo.InvariantCulture, a, reason))
                     .Concat([reason.ToUpperInvariant(), reason.ToLowerInvariant()]))
        {
            var result = MessageClassifier.Classify(text);
            Assert.True(result.Cause != PullCause.Unknown, $"unknown for: {text}");
            if (result.Cause == PullCause.BackoffOnly)
            {
                Assert.Contains(named, result.Summary, StringComparison.Ordinal);
            }
        }
    }

    [Theory]
    // pkg/kubelet/images/image_manager.go (KEP-2535 implementation, events.ErrImageNotEnsured).
    [InlineData("Container image \"registry.example.com/team/app:2\" is present with pull policy of \"IfNotPresent\" but does not have the proper auth (image secret) that was used to pull the image", null)]
    [InlineData("", "ErrImageNotEnsured")]
    public void An_image_on_the_node_the_pod_has_no_credentials_for_is_image_not_ensured(string message, string? reason)
    {
        var result = MessageClassifier.Classify(message, reason);
        Assert.Equal(PullCause.ImageNotEnsured, result.Cause);
        Assert.Contains("imagePullCredentialsVerificationPolicy", result.Summary, StringComparison.Ordinal);
    }

    [Theory]
    // pkg/kubelet/eviction/helpers.go: the eviction message formats for disk signals.
    [InlineData("The node was low on resource: ephemeral-storage. Threshold quantity: 10%, available: 1021Mi. ")]
    [InlineData("Pod ephemeral local storage usage exceeds the total limit of containers 2Gi. ")]
    [InlineData("Container app exceeded its local ephemeral storage limit \"1Gi\". ")]
    [InlineData("Usage of EmptyDir volume \"cache\" exceeds the limit \"500Mi\". ")]
    [InlineData("The node had condition: [DiskPressure]. ")]
    [InlineData("The node was low on resource: imagefs.available. ")]
    // pkg/kubelet/images/image_gc_manager.go
    [InlineData("Image garbage collection failed once. Stats initialization may not have completed yet: failed to garbage collect required amount of images. Attempted to free 3204448256 bytes, but only found 0 bytes eligible to free.")]
    public void Evictions_for_disk_and_image_garbage_collection_are_node_storage(string message)
    {
        var result = MessageClassifier.Classify(message);
        Assert.Equal(PullCause.NodeStorage, result.Cause);
    }

    [Fact]
    public void An_eviction_for_memory_is_not_node_storage()
    {
        Assert.NotEqual(PullCause.NodeStorage, MessageClassifier.Classify("The node was low on resource: memory. Threshold quantity: 100Mi, available: 80Mi. ").Cause);
    }

    [Theory]
    // containerd snapshotters and unpacker, Docker's layer store, Windows hcsshim, containers/storage.
    [InlineData("failed to pull and unpack image \"docker.io/library/app:1\": failed to prepare extraction snapshot \"extract-1 sha256:ab\": snapshot sha256:cd already exists")]
    [InlineData("failed to pull and unpack image \"docker.io/library/app:1\": failed to extract layer sha256:ab: mount callback failed on /var/lib/containerd/tmpmounts/containerd-mount1: lchown /usr/bin/x: invalid argument: unknown")]
    [InlineData("failed to register layer: ApplyLayer exit status 1 stdout:  stderr: lchown /etc/shadow: operation not permitted")]
    [InlineData("hcsshim::ProcessBaseLayer \\\\?\\C:\\ProgramData\\containerd\\root\\io.containerd.snapshotter.v1.windows\\snapshots\\7: The system cannot find the path specified.: unknown")]
    [InlineData("Error committing the finished image: error adding layer with blob \"sha256:ab\": error creating overlay mount to /var/lib/containers/storage/overlay/ab/merged: invalid argument")]
    public void Snapshotter_and_extraction_errors_that_are_not_a_full_disk_are_registry_errors(string message)
    {
        var result = MessageClassifier.Classify(message, "ErrImagePull");
        Assert.Equal(PullCause.RegistryError, result.Cause);
    }

    [Fact]
    public void The_same_extraction_error_with_a_full_disk_is_node_storage()
    {
        var result = MessageClassifier.Classify("failed to extract layer sha256:ab: write /var/lib/containerd/tmpmounts/m/usr/lib/libx.so: no space left on device: unknown");
        Assert.Equal(PullCause.NodeStorage, result.Cause);
    }

    [Theory]
    // containers/image pkg/shortnames and CRI-O, as printed on a pull and on an inspect.
    [InlineData("Failed to inspect image \"\": rpc error: code = Unknown desc = short name mode is enforcing, but image name app:1 returns ambiguous list")]
    [InlineData("Back-off pulling image \"app:1\": ErrImagePull: short-name \"app:1\" did not resolve to an alias and no unqualified-search registries are defined in \"/etc/containers/registries.conf\"")]
    [InlineData("pulling image: rpc error: code = Unknown desc = short-name resolution enforced but cannot prompt without a TTY")]
    public void Short_names_the_node_will_not_resolve_are_invalid_names(string message)
    {
        var result = MessageClassifier.Classify(message);
        Assert.Equal(PullCause.InvalidName, result.Cause);
        Assert.Contains("fully qualified", result.Summary, StringComparison.Ordinal);
    }

    [Theory]
    // containers/image signature/policy_eval*.go and kubelet's SignatureValidationFailed wrapping.
    [InlineData("Running image docker://quay.io/org/app:1 is rejected by policy.")]
    [InlineData("Source image rejected: Signature for identity quay.io/org/app:1 is not accepted")]
    [InlineData("image pull failed for quay.io/org/app:1 because the signature validation failed: Source image rejected: None of the signatures were accepted, reasons: cryptographic signature verification failed")]
    public void Node_policy_and_signature_refusals_are_policy_rejected(string message)
    {
        Assert.Equal(PullCause.PolicyRejected, MessageClassifier.Classify(message).Cause);
    }

    [Theory]
    // Docker: "pull access denied ... may require 'docker login'"; containerd: "... may require authorization";
    // old dockerd: "not found: does not exist or no pull access" — private or missing, the text cannot tell.
    [InlineData("Error response from daemon: pull access denied for org/app, repository does not exist or may require 'docker login': denied: requested access to the resource is denied")]
    [InlineData("failed to resolve reference \"docker.io/org/app:1\": pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed")]
    [InlineData("Error response from daemon: repository org/app not found: does not exist or no pull access")]
    [InlineData("Error: image org/app:1 not found: does not exist or no pull access")]
    public void A_message_naming_both_a_credential_problem_and_a_missing_image_is_access_denied(string message)
    {
        Assert.Equal(PullCause.AccessDenied, MessageClassifier.Classify(message).Cause);
    }

    [Theory]
    [InlineData("Failed to pull image \"org/app:1\": rpc error: code = Unknown desc = Error response from daemon: Get https://registry-1.docker.io/v2/org/app/manifests/1: denied: Your authorization token has expired. Reauthenticate and try again.", PullCause.AuthFailed)]
    [InlineData("Not continuing with pull after error: denied: The security token included in the request is invalid", PullCause.AuthFailed)]
    [InlineData("image pull failed for quay.io/org/app:1, this may be because there are no credentials on this request.  details: (Error: Status 403 trying to pull repository org/app: \"{\\\"error\\\": \\\"Permission Denied\\\"}\")", PullCause.AuthFailed)]
    [InlineData("image pull failed for gcr.io/org/app:v2, this may be because there are no credentials on this request.  details: (Tag v2 not found in repository gcr.io/org/app)", PullCause.ImageNotFound)]
    public void A_credential_problem_named_beside_a_denial_is_auth_failed(string message, PullCause expected)
    {
        Assert.Equal(expected, MessageClassifier.Classify(message).Cause);
    }

    [Theory]
    [InlineData("error pulling image configuration: error parsing HTTP 403 response body: invalid character '<' looking for beginning of value: \"<html>403</html>\"", PullCause.AccessDenied)]
    [InlineData("failed to copy: httpReadSeeker: failed open: unexpected status code https://mirror.example.com/v2/library/app/blobs/sha256:ab: 400 Bad Request", PullCause.RegistryError)]
    [InlineData("unable to pull artifact org/app with tag 1 from repo org/app: GET \"https://ghcr.io/v2/org/app/manifests/1\": response status code 429: toomanyrequests: retry-after: 1s", PullCause.RateLimited)]
    [InlineData("(HTTP code 502) unexpected - received unexpected HTTP status: 502 Bad Gateway", PullCause.RegistryError)]
    [InlineData("failed to resolve reference \"registry.example.com/app:1\": unexpected status from HEAD request to https://registry.example.com/v2/app/manifests/1: 401", PullCause.AuthFailed)]
    public void Http_statuses_are_read_wherever_the_runtime_writes_them(string message, PullCause expected)
    {
        Assert.Equal(expected, MessageClassifier.Classify(message).Cause);
    }

    [Theory]
    // containers/image: platform choice from an OCI image index (internal/manifest/oci_index.go), newer than "manifest list".
    [InlineData("choosing an image from manifest list docker://quay.io/org/app:1: no image found in image index for architecture \"arm64\", variant \"v8\", OS \"linux\"", PullCause.PlatformMismatch)]
    // containerd core/images: no manifest for the node's platform.
    [InlineData("failed to pull and unpack image \"docker.io/org/app:1\": no manifest found for platform: not found", PullCause.PlatformMismatch)]
    // Windows (hcsshim): an image built for another Windows version.
    [InlineData("hcs::CreateComputeSystem app: The container operating system does not match the host operating system.", PullCause.PlatformMismatch)]
    // containerd 2 image verifier plugins (core/transfer/local/pull.go, pkg/imageverifier).
    [InlineData("failed to pull and unpack image \"registry.example.com/app:1\": blocking pull of registry.example.com/app:1 with digest sha256:ab: image verifier bindir returned error: not signed", PullCause.PolicyRejected)]
    // A signature refusal from an admission policy in front of the runtime.
    [InlineData("admission webhook \"policy.sigstore.dev\" denied the request: validation failed: failed policy: keyless: spec.containers[0].image registry.example.com/app:1 signature key validation failed for authority", PullCause.PolicyRejected)]
    // Quay: a tag removed by its expiry (endpoints/v2/manifest.py), ECR's not-found body.
    [InlineData("Error response from daemon: manifest for quay.io/org/app:pr-12 not found: manifest unknown: Tag pr-12 was deleted or has expired. To pull, revive via time machine", PullCause.ImageNotFound)]
    [InlineData("failed to resolve reference \"123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:9\": 123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:9: not found: Requested image not found", PullCause.ImageNotFound)]
    // Credentials: ECR's STS wording, GHCR's scopes, GitLab's basic auth, Azure AD, Docker credential helpers.
    [InlineData("denied: The security token included in the request is expired", PullCause.AuthFailed)]
    [InlineData("Error response from daemon: Head \"https://ghcr.io/v2/org/app/manifests/1\": denied: permission_denied: The token provided does not match expected scopes.", PullCause.AuthFailed)]
    [InlineData("Error response from daemon: Get \"https://registry.gitlab.com/v2/\": unauthorized: HTTP Basic: Access denied", PullCause.AuthFailed)]
    [InlineData("failed to fetch oauth token: AADSTS7000215: Invalid client secret provided.", PullCause.AuthFailed)]
    [InlineData("Error response from daemon: Get \"https://registry.example.com/v2/\": error getting credentials - err: exec: \"docker-credential-ecr-login\": executable file not found in $PATH, out: ``", PullCause.AuthFailed)]
    // Network: Windows sockets and resolver, Go's net/http and containerd's pull progress timeout; proxies that want credentials.
    [InlineData("failed to do request: Head \"https://mcr.microsoft.com/v2/app/manifests/1\": read tcp 10.0.0.4:50112->13.107.246.40:443: wsarecv: An existing connection was forcibly closed by the remote host.", PullCause.Network)]
    [InlineData("Error response from daemon: Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io: getaddrinfow: The requested name is valid, but no data of the requested type was found.", PullCause.Network)]
    [InlineData("Error response from daemon: Get \"https://registry.example.com/v2/\": net/http: timeout awaiting response headers", PullCause.Network)]
    [InlineData("failed to pull and unpack image \"docker.io/org/app:1\": failed to copy: httpReadSeeker: failed open: failed to do request: Get \"https://registry-1.docker.io/v2/org/app/blobs/sha256:ab\": proxyconnect tcp: Proxy Authentication Required", PullCause.Network)]
    // TLS: Go's wording when a chain is present but does not verify.
    [InlineData("Error response from daemon: Get https://registry.example.com/v2/: x509: certificate signed by unknown authority (possibly because of \"crypto/rsa: verification error\" while trying to verify candidate authority certificate \"ca\")", PullCause.Tls)]
    // Registry faults: containers/image digest checks, containerd content commits and short reads, garbled JSON.
    [InlineData("writing blob: storing blob to file \"/var/tmp/storage123/1\": happened during read: Digest did not match, expected sha256:ab, got sha256:cd", PullCause.RegistryError)]
    [InlineData("failed to copy: failed commit on ref \"layer-sha256:ab\": unexpected commit digest sha256:cd, expected sha256:ab: failed precondition", PullCause.RegistryError)]
    [InlineData("failed to copy: short read: expected 27145915 bytes but got 1048576: unexpected EOF", PullCause.RegistryError)]
    [InlineData("error pulling image configuration: download failed after attempts=6: unknown blob", PullCause.RegistryError)]
    [InlineData("failed to resolve reference \"registry.example.com/app:1\": unexpected end of JSON input", PullCause.RegistryError)]
    // containerd's unpacker and Docker's layer store, not a full disk.
    [InlineData("failed to pull and unpack image \"docker.io/org/app:1\": failed to unpack image on snapshotter overlayfs: failed to prepare layer sha256:ab: missing parent \"sha256:cd\": not found", PullCause.RegistryError)]
    [InlineData("failed to register layer: max depth exceeded", PullCause.RegistryError)]
    // Disk: Docker devicemapper thin pools; the scheduler's disk-pressure taint.
    [InlineData("devmapper: Thin Pool has 4062 free data blocks which is less than minimum required 4096 free data blocks. Create more free space in thin pool or use dm.min_free_space option to change behavior", PullCause.NodeStorage)]
    [InlineData("0/3 nodes are available: 3 node(s) had untolerated taint {node.kubernetes.io/disk-pressure: }.", PullCause.NodeStorage)]
    // Names: containerd CRI's own parse of the reference.
    [InlineData("failed to parse image reference \"registry.example.com/App:1\": invalid reference format: repository name must be lowercase", PullCause.InvalidName)]
    public void Wording_families_of_runtimes_and_registries_land_on_their_cause(string message, PullCause expected)
    {
        Assert.Equal(expected, MessageClassifier.Classify(message).Cause);
    }

    [Theory]
    // containerd core/remotes/docker/fetcher.go: the status follows the URL ("unexpected HEAD status code <url>: 404 Not Found").
    [InlineData("failed to resolve reference \"registry.example.com/app:1\": unexpected HEAD status code https://registry.example.com/v2/app/manifests/1: 404 Not Found", PullCause.ImageNotFound)]
    [InlineData("failed to copy: httpReadSeeker: failed open: unexpected HEAD status code https://registry.example.com/v2/app/blobs/sha256:ab: 503 Service Unavailable", PullCause.RegistryError)]
    // ACR's connectivity check: "Response code: 401".
    [InlineData("CONNECTIVITY_REFRESH_TOKEN_ERROR: Access to registry was denied. Response code: 401.", PullCause.AuthFailed)]
    public void A_status_after_the_url_or_a_response_code_is_read(string message, PullCause expected)
    {
        Assert.Equal(expected, MessageClassifier.Classify(message).Cause);
    }

    [Fact]
    public void A_failed_kubelet_credential_provider_is_auth_failed_on_the_node()
    {
        var result = MessageClassifier.Classify("Failed getting credential from external registry credential provider: error execing credential provider plugin ecr-credential-provider for image 123456789012.dkr.ecr.eu-west-1.amazonaws.com/app: exit status 1");
        Assert.Equal(PullCause.AuthFailed, result.Cause);
        Assert.Contains("credential provider", result.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void A_request_cut_off_by_a_canceled_context_is_network()
    {
        var result = MessageClassifier.Classify("failed to copy: httpReadSeeker: failed open: failed to do request: Get \"https://registry.example.com/v2/app/blobs/sha256:ab\": context canceled");
        Assert.Equal(PullCause.Network, result.Cause);
        Assert.Contains("canceled", result.Summary, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("registry-1.docker.io")]
    [InlineData("registry.hub.docker.com")]
    [InlineData("index.docker.io")]
    public void Docker_hub_hosts_are_named_docker_io(string host)
    {
        var result = MessageClassifier.Classify($"Failed to pull image \"{host}/library/nginx:1\": rpc error: code = Unknown desc = toomanyrequests: You have reached your pull rate limit.");
        Assert.Equal(PullCause.RateLimited, result.Cause);
        Assert.StartsWith("docker.io is rate-limiting", result.Summary, StringComparison.Ordinal);
        Assert.Contains("Docker Hub credentials", result.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void The_summary_is_written_only_when_read_and_then_kept()
    {
        var result = MessageClassifier.Classify("Failed to pull image \"ghcr.io/org/app:1\": manifest unknown");
        Assert.Equal(PullCause.ImageNotFound, result.Cause);
        var first = result.Summary;
        Assert.Same(first, result.Summary);
        Assert.Contains("ghcr.io/org/app:1", first, StringComparison.Ordinal);
    }

    private const string Containerd = "Failed to pull image \"reg.example.com/team/app:1.2\": rpc error: code = Unknown desc = failed to pull and unpack image \"reg.example.com/team/app:1.2\": failed to resolve reference \"reg.example.com/team/app:1.2\": ";

    [Theory]
    // containerd, core/remotes/docker/authorizer.go: a basic-auth challenge with no username or secret configured
    // https://github.com/containerd/containerd/blob/main/core/remotes/docker/authorizer.go
    [InlineData(Containerd + "failed to handle basic auth because missing username or secret")]
    // JFrog Artifactory's Docker API answers UNAUTHORIZED "Authentication is required" to a pull without credentials
    // (public build logs against *.artifactory.* hosts; no vendor page at hand).
    [InlineData("Failed to pull image \"acme.jfrog.io/docker/app:1\": rpc error: code = Unknown desc = Error response from daemon: unknown: Authentication is required")]
    [InlineData("Head \"https://docker-all.artifactory.example/spring-boot/manifests/11-jdk\": unknown: Authentication is required")]
    // GHCR rejecting a token: https://github.com/kastenhq/kubestr/issues/66 ("denied: unauthenticated: User cannot be
    // authenticated with the token provided."); the same text without the "unauthenticated:" code must not read as a denial.
    [InlineData("Error response from daemon: denied: User cannot be authenticated with the token provided.")]
    // Credentials worded as "username or password" by registries: Docker Hub ("incorrect username or password",
    // https://github.com/docker/hub-feedback/issues/2383), containers/image ("invalid username/password",
    // docker/docker_client.go), Quay ("Invalid Username or Password").
    [InlineData("Error response from daemon: Get \"https://quay.example.com/v2/\": unauthorized: Invalid Username or Password")]
    public void Missing_or_rejected_credentials_in_the_producers_wordings_are_auth_failed(string message)
    {
        Assert.Equal(PullCause.AuthFailed, MessageClassifier.Classify(message).Cause);
    }

    [Theory]
    // containers/image, docker/docker_client.go: "registry %s is blocked in %s or %s" (registries.conf blocked = true)
    // https://github.com/containers/image/blob/main/docker/docker_client.go
    [InlineData("rpc error: code = Unknown desc = initializing source docker://reg.example.com/team/app:1.2: registry reg.example.com is blocked in /etc/containers/registries.conf or /etc/containers/registries.conf.d")]
    // Kubernetes' ImagePolicyWebhook admission plugin (plugin/pkg/admission/imagepolicy/admission.go) with GKE Binary
    // Authorization behind it: https://cloud.google.com/binary-authorization/docs/getting-started-cli
    [InlineData("Error creating: pods \"nginx-8586cf59-lbnjh\" is forbidden: image policy webhook backend denied one or more images: Denied by default admission rule. Overridden by evaluation mode")]
    [InlineData("Error from server (Forbidden): pods \"nginx-2\" is forbidden: image policy webhook backend denied one or more images: Images using latest tag are not allowed")]
    // Connaisseur (https://github.com/sse-secure-systems/connaisseur): no signed digest / trust data for the image.
    [InlineData("Error creating: admission webhook \"connaisseur-svc.connaisseur.svc\" denied the request: Unable to find signed digest for image docker.io/library/nginx:1.2.")]
    // Azure Policy's allowed-images constraint through Gatekeeper (https://learn.microsoft.com/azure/aks/use-azure-policy).
    [InlineData("Error creating: admission webhook \"validation.gatekeeper.sh\" denied the request: [azurepolicy-k8sazurev2containerallowedimages-1] Container image reg.example.com/team/app:1.2 for container app has not been allowed.")]
    public void Registries_blocked_on_the_node_and_admission_image_policies_are_policy_rejections(string message)
    {
        Assert.Equal(PullCause.PolicyRejected, MessageClassifier.Classify(message).Cause);
    }

    [Theory]
    // Admission refusing the pod over its image, before any node pulls: the old ImagePolicyWebhook wording (real:
    // zalando-incubator/kubernetes-on-aws#492), Gatekeeper with Ratify naming no signature (real:
    // Azure/notation-azure-kv#31), Kyverno verifyImages (real: kyverno/kyverno#3397) and sigstore policy-controller
    // (real: sigstore/policy-controller#189).
    [InlineData("pods \"pod-submit-remove-074ec533-671d-11e7-9e85-0242ac110003\" is forbidden: one or more images rejected by webhook backend")]
    [InlineData("Error from server (Forbidden): admission webhook \"validation.gatekeeper.sh\" denied the request: [ratify-constraint] Subject failed verification: condemogianni.azurecr.io/net-monitor:v1")]
    [InlineData("Error from server: admission webhook \"mutate.kyverno.svc-fail\" denied the request: \n\nresource Pod/default/unsigned was blocked due to the following policies\n\ncheck-image:\n check-image: 'image verification failed for 10.1.0.12:5000/busybox:latest: signature\n  mismatch'")]
    [InlineData("Error from server (BadRequest): error when creating \"test.yaml\": admission webhook \"policy.sigstore.dev\" denied the request: validation failed: invalid value: mysql:latest must be an image digest: spec.template.spec.containers[0].image")]
    public void Admission_refusing_the_pods_image_is_policy_rejected_and_says_no_node_pulled(string message)
    {
        var result = MessageClassifier.Classify(message);
        Assert.Equal(PullCause.PolicyRejected, result.Cause);
        Assert.Contains("admission policy", result.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void An_admission_webhook_denial_that_names_no_image_is_not_an_image_policy()
    {
        // A webhook refusing a pod for something else (built from Kyverno's "blocked due to the following policies" form).
        var result = MessageClassifier.Classify("Error from server: admission webhook \"validate.kyverno.svc-fail\" denied the request: resource Pod/default/app was blocked due to the following policies require-labels: label 'team' is required");
        Assert.NotEqual(PullCause.PolicyRejected, result.Cause);
    }

    [Theory]
    // CRI-O's signature-policy step, whatever it reports after it (real: cri-o/cri-o#9478, CRI-O 1.34 on s390x).
    [InlineData("checking signature of \"registry.k8s.io/kube-controller-manager:v1.34.1\": verifying signatures: Invalid crypto engine")]
    [InlineData("CreateContainerError: checking signature of \"quay.io/org/app:1\": verifying signatures: no signature found")]
    public void A_failure_in_the_nodes_signature_check_is_policy_rejected(string message)
    {
        Assert.Equal(PullCause.PolicyRejected, MessageClassifier.Classify(message).Cause);
    }

    [Theory]
    // containerd's overlayfs snapshotter not usable on the node's filesystem (real: containerd/containerd#1986 on
    // CentOS 7; AliyunContainerService/pouch#284 on xfs without ftype=1, with the reporter's line breaks).
    [InlineData("ctr: failed to stat snapshot sha256:f999ae22f308fea973e5a25b57699b5daf6b0f1150ac2a5c2ea9d7fecee50fdf: snapshotter not loaded: overlayfs: invalid argument")]
    [InlineData("Error: failed to pull image: failed to stat snapshot \nsha256:6dfaec39e726d242fcd42e9fffac82c3079a1aa20fc39420b662507b163ee4da: \nsnapshotter not loaded: overlayfs: invalid argument")]
    public void A_snapshotter_the_node_cannot_load_is_a_registry_error_not_unknown(string message)
    {
        var result = MessageClassifier.Classify(message);
        Assert.Equal(PullCause.RegistryError, result.Cause);
        Assert.Contains("could not unpack", result.Summary, StringComparison.Ordinal);
    }

    [Theory]
    // Harbor, src/server/middleware/v2auth/auth.go (reqChecker.check): the project is looked up first ("project x not
    // found" when missing), then only the identity's pull permission in it is checked, never whether the repository
    // exists — "unauthorized to access repository" means the credentials sent (or none) cannot pull from that project.
    // real: goharbor/harbor#17713 (Docker and containers/image wordings).
    [InlineData("rpc error: code = Unknown desc = Error response from daemon: unauthorized: unauthorized to access repository: xxxx/YYYY, action: pull: unauthorized to access repository: xxxx/YYYY, action: pull")]
    [InlineData("Error initializing source docker://registry.xxx.com/ci/xxx-services-predict-labels/main/predict-labels:1.0.0: Error reading manifest 1.0.0 in registry.xxx.com/ci/xxx-services-predict-labels/main/predict-labels: unauthorized: unauthorized to access repository: ci/xxx-services-predict-labels/main/predict-labels, action: pull: unauthorized to access repository: ci/xxx-services-predict-labels/main/predict-labels, action: pull")]
    public void Harbors_no_pull_permission_answer_is_auth_failed(string message)
    {
        var result = MessageClassifier.Classify(message, "ErrImagePull");
        Assert.Equal(PullCause.AuthFailed, result.Cause);
        Assert.Contains("pull permission", result.Summary, StringComparison.Ordinal);
    }

    [Theory]
    // Harbor answers a pull from a project that does not exist with UNAUTHORIZED and the project manager's "project %s
    // not found" (src/server/middleware/v2auth/auth.go, src/pkg/project/dao/dao.go)
    // https://github.com/goharbor/harbor/blob/main/src/server/middleware/v2auth/auth.go
    [InlineData("Failed to pull image \"harbor.example.com/p/app:1\": rpc error: code = Unknown desc = Error response from daemon: unauthorized: project p not found")]
    public void A_missing_harbor_project_is_a_missing_image_not_a_credential_problem(string message)
    {
        Assert.Equal(PullCause.ImageNotFound, MessageClassifier.Classify(message).Cause);
    }

    [Theory]
    // kubelet, pkg/kubelet/images/image_manager.go: ErrImagePull's "Failed to pull image %q: %v" cut before the error,
    // and ImageInspectError's "Failed to inspect image %q: %v" around an error no rule knows.
    // https://github.com/kubernetes/kubernetes/blob/master/pkg/kubelet/images/image_manager.go
    [InlineData("Failed to pull image \"nginx:1.99\"")]
    [InlineData("Failed to pull image \"nginx:1.99\": ")]
    [InlineData("Failed to inspect image \"nginx:1.99\": rpc error: code = Unknown desc = something no rule knows")]
    public void Kubelet_pull_texts_without_a_known_error_are_backoff_only(string message)
    {
        Assert.Equal(PullCause.BackoffOnly, MessageClassifier.Classify(message).Cause);
    }

    [Fact]
    public void A_failed_pull_whose_error_no_rule_knows_stays_unknown()
    {
        // Only the cut-off ErrImagePull text is reason-only: a pull that names an error must not be hidden behind it.
        Assert.Equal(PullCause.Unknown, MessageClassifier.Classify("Failed to pull image \"nginx:1.99\": rpc error: code = Unknown desc = something no rule knows").Cause);
    }

    [Theory]
    // containers/image, signature/policy_eval_signedby.go (ValidateKeyIdentity: "Signature by %s does not match expected
    // fingerprints %v") and internal/signature ("Invalid GPG signature"), as skopeo/CRI-O report them.
    // https://github.com/containers/image/blob/main/signature/policy_eval_signedby.go
    [InlineData("Error verifying signature: Signature by B83574F1F039B21CDCC4FD5FF884D56B4AA7091A does not match expected fingerprints [B83574F1F039B21CDCC4FD5FF884D56B4AA7091B]")]
    [InlineData("Failed to pull image \"registry.local/app:1\": rpc error: code = Unknown desc = Invalid GPG signature: &{...}")]
    // Docker Content Trust (docker/cli cli/trust, its tests: "No valid trust data for tag", "remote trust data does not exist").
    // https://github.com/docker/cli/blob/master/cli/command/trust/inspect_pretty_test.go
    [InlineData("docker: No valid trust data for unsigned.")]
    [InlineData("Error: remote trust data does not exist for docker.io/org/app: notary.docker.io does not have trust data for docker.io/org/app")]
    // IBM Portieris (documented answers of trust.hooks.securityenforcement.admission.cloud.ibm.com).
    // https://cloud.ibm.com/docs/Registry?topic=Registry-security_enforce_portieris
    [InlineData("admission webhook \"trust.hooks.securityenforcement.admission.cloud.ibm.com\" denied the request: Deny, failed to get content trust information: No valid trust data for latest")]
    // Kyverno verifyImages (pkg/engine/internal/imageverifier.go: "failed to verify image %s: %s"), as a policy report line.
    // https://github.com/kyverno/kyverno/blob/main/pkg/engine/internal/imageverifier.go
    [InlineData("policy verify-image/check-image fail: failed to verify image ghcr.io/org/app:1: .attestors[0].entries[0].keys: no signatures found")]
    // Ratify's notation verifier ("failed to verify image %s", "notation failed to verify signatures").
    // https://github.com/ratify-project/ratify
    [InlineData("failed to verify image myregistry.azurecr.io/app:1: notation failed to verify signatures")]
    // Gatekeeper library: k8sallowedrepos, k8sdisallowedtags (their rego "msg" strings).
    // https://github.com/open-policy-agent/gatekeeper-library/blob/master/library/general/allowedrepos/template.yaml
    [InlineData("admission webhook \"validation.gatekeeper.sh\" denied the request: [repo-is-openpolicyagent] container <nginx> has an invalid image repo <nginx>, allowed repos are [\"openpolicyagent\"]")]
    [InlineData("admission webhook \"validation.gatekeeper.sh\" denied the request: [disallowed-tags] container <app> uses a disallowed tag <org/app:latest>; disallowed tags are [\"latest\"]")]
    // sigstore policy-controller: an image no ClusterImagePolicy matches.
    // https://github.com/sigstore/policy-controller
    [InlineData("admission webhook \"policy.sigstore.dev\" denied the request: validation failed: no matching policies: spec.containers[0].image")]
    // A ValidatingAdmissionPolicy over the image (apiserver: "ValidatingAdmissionPolicy '%s' with binding '%s' denied request: %s").
    // https://github.com/kubernetes/kubernetes/blob/master/staging/src/k8s.io/apiserver/pkg/admission/plugin/policy/validating/dispatcher.go
    [InlineData("pods \"app-0\" is forbidden: ValidatingAdmissionPolicy 'allowed-registries' with binding 'allowed-registries' denied request: images must come from registry.example.com")]
    public void Signature_trust_and_image_admission_policies_in_their_producers_wordings_are_policy_rejected(string message)
    {
        Assert.Equal(PullCause.PolicyRejected, MessageClassifier.Classify(message).Cause);
    }

    [Theory]
    // distribution, registry/api/errcode/register.go (UNKNOWN: "unknown error") and registry/api/v2/descriptors.go
    // (MANIFEST_UNVERIFIED: "manifest failed signature verification"), sent as "<code>: <message>" (errcode.Error.Error).
    // https://github.com/distribution/distribution/blob/main/registry/api/errcode/register.go
    [InlineData("Error response from daemon: unknown: unknown error")]
    [InlineData("Error response from daemon: manifest unverified: manifest failed signature verification")]
    // A layer stream that is not what it claims: Go's compress/gzip ("gzip: invalid header"), compress/flate ("flate:
    // corrupt input before offset"), archive/tar ("archive/tar: invalid tar header"), zstd ("zstd: invalid header").
    [InlineData("Error: writing blob: storing blob to file \"/var/tmp/storage1/1\": gzip: invalid header")]
    [InlineData("Failed to pull image \"org/app:1\": rpc error: code = Unknown desc = archive/tar: invalid tar header")]
    [InlineData("writing blob: processing tar file(flate: corrupt input before offset 1234): exit status 1")]
    [InlineData("failed to copy: zstd: invalid header")]
    // Docker's distribution/pull_v2.go checks of the configuration against the manifest it was served.
    // https://github.com/moby/moby/blob/master/distribution/pull_v2.go
    [InlineData("Error response from daemon: layers from manifest don't match image configuration")]
    // Docker's layer store naming a layer the node does not have.
    [InlineData("failed to register layer: layer does not exist")]
    public void Registry_errcodes_and_garbled_layer_streams_are_registry_errors_not_unknown_or_missing(string message)
    {
        Assert.Equal(PullCause.RegistryError, MessageClassifier.Classify(message).Cause);
    }

    [Theory]
    // A bare "unknown error" is any component's shrug, not the registry's UNKNOWN code: it stays what the rest says.
    [InlineData("Failed to pull image \"nginx:1.99\": rpc error: code = Unknown desc = unknown error")]
    public void A_bare_unknown_error_is_not_read_as_a_registry_fault(string message)
    {
        Assert.NotEqual(PullCause.RegistryError, MessageClassifier.Classify(message).Cause);
    }

    [Theory]
    // containerd core/remotes/docker/authorizer.go (authHandler.doBearerAuth): "failed to fetch oauth token" wraps the
    // token request only when a secret was sent, so a 401 there is the credentials refused...
    // https://github.com/containerd/containerd/blob/main/core/remotes/docker/authorizer.go
    [InlineData("failed to resolve reference \"ghcr.io/o/a:1\": failed to authorize: failed to fetch oauth token: unexpected status from POST request to https://ghcr.io/token: 401 Unauthorized", PullCause.AuthFailed)]
    // ...while a token request that got no answer at all is the network, not the credentials.
    [InlineData("failed to resolve reference \"ghcr.io/o/a:1\": failed to authorize: failed to fetch oauth token: Post \"https://ghcr.io/token\": dial tcp 140.82.1.1:443: i/o timeout", PullCause.Network)]
    [InlineData("failed to resolve reference \"r.example/a:1\": failed to authorize: failed to fetch oauth token: unexpected status from POST request to https://r.example/token: 503 Service Unavailable", PullCause.RegistryError)]
    // A 403 there stays the ambiguous denial (CORPUS.md: 403 where the message cannot tell private from missing).
    [InlineData("failed to resolve reference \"ghcr.io/o/a:1\": failed to authorize: failed to fetch oauth token: unexpected status from GET request to https://ghcr.io/token?scope=repository%3Ao%2Fa%3Apull&service=ghcr.io: 403 Forbidden", PullCause.AccessDenied)]
    public void A_refused_oauth_token_request_is_read_by_what_refused_it(string message, PullCause expected)
    {
        Assert.Equal(expected, MessageClassifier.Classify(message).Cause);
    }

    [Theory]
    // JFrog Artifactory's answer to an anonymous download it does not allow; Quay's answer for a robot account whose name
    // or token is wrong.
    [InlineData("Error response from daemon: forbidden: Download request for repo:path is forbidden for user: 'anonymous'.", PullCause.AuthFailed)]
    [InlineData("Error response from daemon: unauthorized: Could not find robot with username: org+puller and supplied password.", PullCause.AuthFailed)]
    // Google Container Registry's answer to a request that carried no credentials (its text names both a missing
    // repository and a permission, and says why: no valid credential was supplied).
    [InlineData("Error: Status 403 trying to pull repository org/app: \"Unable to access the repository: org/app; please verify that it exists and you have permission to access it (no valid credential was supplied).\"", PullCause.AuthFailed)]
    // Docker's "No such image" and containers/storage's "image not known": nothing by that name.
    [InlineData("Error response from daemon: No such image: org/app:1", PullCause.ImageNotFound)]
    [InlineData("Error: org/app:1: image not known", PullCause.ImageNotFound)]
    public void Registry_and_engine_specific_answers_land_on_their_cause(string message, PullCause expected)
    {
        Assert.Equal(expected, MessageClassifier.Classify(message).Cause);
    }

    [Theory]
    // Kubelet (pkg/kubelet/kubelet_pods.go, getPullSecretsForPod; shown in the Kubernetes docs "Pull an Image from a
    // Private Registry"): the FailedToRetrieveImagePullSecret warning when a named pull secret does not exist.
    [InlineData("Unable to retrieve some image pull secrets (regcred); attempting to pull the image may not succeed.")]
    public void Credentials_a_registry_refused_in_its_own_wording_are_auth_failed(string message)
    {
        Assert.Equal(PullCause.AuthFailed, MessageClassifier.Classify(message).Cause);
    }

    [Theory]
    // Issue 14's labelling convention (corpus/README.md): a denial that names no credential fault is the ambiguous
    // access_denied whichever registry sends it; which of "missing" or "private" it is, the registry check tells.
    // GHCR's DENIED with no detail ({"errors":[{"code":"DENIED","message":"denied"}]}, printed "denied: denied"): GHCR
    // answers it for a private package pulled without access and for a path that does not exist.
    [InlineData("Error response from daemon: Head \"https://ghcr.io/v2/o/app/manifests/latest\": denied: denied")]
    [InlineData("Failed to pull image \"ghcr.io/o/app:1.0\": rpc error: code = Unknown desc = Error response from daemon: Head \"https://ghcr.io/v2/o/app/manifests/1.0\": denied: denied")]
    // Amazon ECR's 403 and DENIED in containerd's resolver and token fetch, BuildKit's, Docker's (current and 17.0x) and
    // IAM's wording (userguide common-errors.html): no credential fault is named.
    [InlineData("Failed to pull image \"1.dkr.ecr.us-east-1.amazonaws.com/x:1\": rpc error: code = Unknown desc = failed to pull and unpack image \"1.dkr.ecr.us-east-1.amazonaws.com/x:1\": failed to resolve reference \"1.dkr.ecr.us-east-1.amazonaws.com/x:1\": unexpected status from HEAD request to https://1.dkr.ecr.us-east-1.amazonaws.com/v2/x/manifests/1: 403 Forbidden")]
    [InlineData("failed to solve: public.ecr.aws/lts/ubuntu:22.04: pulling from host public.ecr.aws failed with status code [manifests 22.04]: 403 Forbidden")]
    [InlineData("Failed to pull image \"public.ecr.aws/a/b:1\": failed to pull and unpack image \"public.ecr.aws/a/b:1\": failed to resolve reference \"public.ecr.aws/a/b:1\": failed to authorize: failed to fetch anonymous token: unexpected status from GET request to https://public.ecr.aws/token/?scope=repository%3Aa%2Fb%3Apull&service=public.ecr.aws: 403 Forbidden")]
    [InlineData("Error response from daemon: denied: User: arn:aws:sts::1:assumed-role/node/i-1 is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:us-east-1:1:repository/x because no resource-based policy allows the ecr:BatchGetImage action")]
    [InlineData("Error response from daemon: pull access denied for 123456789012.dkr.ecr.us-east-1.amazonaws.com/app, repository does not exist or may require 'docker login'")]
    [InlineData("Error response from daemon: repository 123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app not found: does not exist or no pull access")]
    [InlineData("failed to resolve reference \"123456789012.dkr.ecr.us-east-1.amazonaws.com/app:2\": pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed")]
    // GitLab's registry token service (app/services/auth/container_registry_authentication_service.rb): DENIED "access
    // forbidden" for credentials without read_registry, none for a project that is not public, or no project at the path.
    [InlineData("Error response from daemon: Get \"https://registry.gitlab.com/v2/group/project/app/manifests/2\": denied: access forbidden")]
    [InlineData("initializing source docker://gitlab.example.com:5050/group/project/app:2: reading manifest 2 in gitlab.example.com:5050/group/project/app: denied: access forbidden")]
    // "<who> does not have permission": Artifactory's UNAUTHORIZED whose detail names a permission, not a credential.
    [InlineData("Failed to pull image \"art.example.com:5006/app:4\": rpc error: code = Unknown desc = Error response from daemon: unauthorized: The client does not have permission for manifest")]
    [InlineData("Error response from daemon: unauthorized: The client does not have permission for manifest: Upstream repository is not configured properly")]
    public void A_denial_that_names_no_credential_fault_is_access_denied_whichever_registry_sends_it(string message)
    {
        Assert.Equal(PullCause.AccessDenied, MessageClassifier.Classify(message).Cause);
    }

    [Theory]
    // The same registries' answers that do name the credentials stay auth_failed.
    [InlineData("pull access denied for public.ecr.aws/bitnami/golang, repository does not exist or may require 'docker login': denied: Your authorization token has expired. Reauthenticate and try again.")]
    [InlineData("Error response from daemon: Get https://1.dkr.ecr.us-east-1.amazonaws.com/v2/x/manifests/1: no basic auth credentials")]
    [InlineData("Not continuing with pull after error: denied: The security token included in the request is invalid")]
    [InlineData("Error response from daemon: Head \"https://ghcr.io/v2/org/app/manifests/2\": denied: installation not allowed to Read organization package")]
    [InlineData("Error response from daemon: Head \"https://ghcr.io/v2/o/app/manifests/latest\": unauthorized")]
    [InlineData("Unauthenticated requests do not have permission \"artifactregistry.repositories.downloadArtifacts\" on resource \"projects/p/locations/us/repositories/gcr.io\"")]
    public void A_denial_that_names_the_credentials_stays_auth_failed_on_the_same_registries(string message)
    {
        Assert.Equal(PullCause.AuthFailed, MessageClassifier.Classify(message).Cause);
    }

    [Fact]
    public void An_ecr_denial_names_the_token_the_role_and_the_repository_and_a_missing_pull_secret_names_the_secret()
    {
        var ecr = MessageClassifier.Classify("failed to resolve reference \"1.dkr.ecr.us-east-1.amazonaws.com/x:1\": unexpected status from HEAD request to https://1.dkr.ecr.us-east-1.amazonaws.com/v2/x/manifests/1: 403 Forbidden");
        Assert.Contains("repository name and region", ecr.Summary, StringComparison.Ordinal);
        Assert.Contains("12 hours", ecr.Summary, StringComparison.Ordinal);
        Assert.Contains("ecr:BatchGetImage", ecr.Summary, StringComparison.Ordinal);
        var secret = MessageClassifier.Classify("Unable to retrieve some image pull secrets (regcred); attempting to pull the image may not succeed.");
        Assert.Contains("imagePullSecrets", secret.Summary, StringComparison.Ordinal);
    }

    [Theory]
    // Other registries' 403s keep the ambiguous denial: the ECR reading is for ECR hosts only.
    [InlineData("failed to resolve reference \"registry.gitlab.com/g/p:1\": failed to authorize: failed to fetch oauth token: unexpected status from GET request to https://gitlab.com/jwt/auth?scope=repository%3Ag%2Fp%3Apull&service=container_registry: 403 Forbidden")]
    [InlineData("Error response from daemon: Head \"https://ghcr.io/v2/o/app/manifests/latest\": denied")]
    public void A_403_elsewhere_stays_access_denied(string message)
    {
        Assert.Equal(PullCause.AccessDenied, MessageClassifier.Classify(message).Cause);
    }

    [Theory]
    // Harbor (src/lib/http/error.go codeMap, src/lib/errors/const.go): its vulnerability and signature project policies
    // refuse a pull with the code PROJECTPOLICYVIOLATION.
    [InlineData("Error response from daemon: projectpolicyviolation: current image with 4 vulnerabilities cannot be pulled")]
    // containers/image signature/policy_config.go (NewPolicyFromFile): "invalid policy in %q: %w" — the node's policy.json
    // is unreadable, so CRI-O/podman refuse every pull until the node's policy is fixed.
    [InlineData("pulling image: rpc error: code = Unknown desc = invalid policy in \"/etc/containers/policy.json\": Unknown key \"keyPaths\"")]
    [InlineData("Error: error pulling image \"localhost:5000/alpine\": unable to pull localhost:5000/alpine: invalid policy in \"/etc/containers/policy.json\": invalid character '\"' after object key:value pair")]
    public void A_registry_project_policy_or_an_unreadable_node_policy_is_policy_rejected(string message)
    {
        Assert.Equal(PullCause.PolicyRejected, MessageClassifier.Classify(message).Cause);
    }

    [Theory]
    // The distribution spec answers a missing manifest or repository with 404; containerd prints the status of the
    // manifest request (core/remotes/docker/resolver.go, "unexpected status from HEAD request to %s: %s").
    [InlineData("failed to resolve reference \"art.example.com/d/a:1\": unexpected status from HEAD request to https://art.example.com/v2/d/a/manifests/1: 404 Not Found", PullCause.ImageNotFound)]
    // A 404 on a blob is the registry missing content its manifest lists.
    [InlineData("failed to copy: httpReadSeeker: failed open: unexpected status code https://r.example.com/v2/a/blobs/sha256:abc: 404 Not Found", PullCause.RegistryError)]
    // A 412 alone is not read as Harbor's policy (other registries and proxies send it too).
    [InlineData("failed to resolve reference \"r.example.com/a:1\": unexpected status from HEAD request to https://r.example.com/v2/a/manifests/1: 412 Precondition Failed", PullCause.RegistryError)]
    public void A_status_on_a_manifest_or_a_blob_is_read_by_what_was_asked_for(string message, PullCause expected)
    {
        Assert.Equal(expected, MessageClassifier.Classify(message).Cause);
    }

    [Theory]
    // Go's HTTP/2 client (golang.org/x/net/http2 errors.go StreamError, transport.go): the far side reset the stream or
    // closed the connection mid-transfer.
    [InlineData("failed to pull and unpack image \"r.example.com/a:1\": failed to copy: stream error: stream ID 3; INTERNAL_ERROR; received from peer", PullCause.Network)]
    [InlineData("failed to pull and unpack image \"r.example.com/a:1\": failed to copy: http2: server sent GOAWAY and closed the connection; LastStreamID=1, ErrCode=NO_ERROR, debug=\"\"", PullCause.Network)]
    // containerd's CRI cancels a pull whose transfer made no progress for image_pull_progress_timeout
    // (internal/cri/server/images/image_pull.go: "cancel pulling image ... because of no progress"): "context canceled".
    [InlineData("Failed to pull image \"r.example.com/a:1\": rpc error: code = Canceled desc = failed to pull and unpack image \"r.example.com/a:1\": context canceled", PullCause.Network)]
    // Go's net/http transport (transport.go) reading something that is not HTTP: the far end answered garbage.
    [InlineData("Error response from daemon: Get \"https://r.example.com/v2/\": net/http: HTTP/1.x transport connection broken: malformed HTTP response \"\\x00\\x00\"", PullCause.RegistryError)]
    public void Transfers_cut_or_garbled_by_the_far_side_are_read_as_such_not_unknown(string message, PullCause expected)
    {
        Assert.Equal(expected, MessageClassifier.Classify(message).Cause);
    }

    private const string Image2 = "registry.example.com/team/app:2";

    [Theory]
    // Kubelet (pkg/kubelet/kuberuntime/kuberuntime_image.go, kubeGenericRuntimeManager.PullImage) pulls once per
    // credential the keyring matched and returns utilerrors.NewAggregate(pullErrs): "[err1, err2]", each a CRI status
    // ("rpc error: code = … desc = …"). Here built from containerd's resolver ("%s: not found", "unexpected status from
    // HEAD request to %s: %s") and Docker's distribution/errors.go ("manifest for %s not found: manifest unknown: …")
    // beside distribution's UNAUTHORIZED ("authentication required").
    [InlineData("Failed to pull image \"" + Image2 + "\": [rpc error: code = NotFound desc = failed to pull and unpack image \"" + Image2 + "\": failed to resolve reference \"" + Image2 + "\": " + Image2 + ": not found, rpc error: code = Unknown desc = failed to pull and unpack image \"" + Image2 + "\": failed to resolve reference \"" + Image2 + "\": unexpected status from HEAD request to https://registry.example.com/v2/team/app/manifests/2: 401 Unauthorized]")]
    [InlineData("Failed to pull image \"" + Image2 + "\":[rpc error: code = Unknown desc = Error response from daemon: manifest for " + Image2 + " not found: manifest unknown: manifest unknown, rpc error: code = Unknown desc = Error response from daemon: Get \"https://registry.example.com/v2/team/app/manifests/2\": unauthorized: authentication required]")]
    public void Kubelets_attempts_that_disagree_between_a_missing_image_and_refused_credentials_are_access_denied(string message)
    {
        // Issue 14's ambiguous case: the image is missing, or private to credentials the pod does not have.
        var result = MessageClassifier.Classify(message);
        Assert.Equal(PullCause.AccessDenied, result.Cause);
        Assert.Contains("each credential", result.Summary, StringComparison.Ordinal);
    }

    [Theory]
    // The same aggregate shape where the attempts agree keeps its cause: all missing, or all refused.
    [InlineData("Failed to pull image \"" + Image2 + "\": [rpc error: code = NotFound desc = failed to pull and unpack image \"" + Image2 + "\": failed to resolve reference \"" + Image2 + "\": " + Image2 + ": not found, rpc error: code = NotFound desc = failed to pull and unpack image \"" + Image2 + "\": failed to resolve reference \"" + Image2 + "\": " + Image2 + ": not found]", PullCause.ImageNotFound)]
    [InlineData("Failed to pull image \"" + Image2 + "\": [rpc error: code = Unknown desc = Error response from daemon: Get \"https://registry.example.com/v2/team/app/manifests/2\": unauthorized: authentication required, rpc error: code = Unknown desc = Error response from daemon: Get \"https://registry.example.com/v2/team/app/manifests/2\": unauthorized: authentication required]", PullCause.AuthFailed)]
    // One attempt met a registry fault (distribution's client: "received unexpected HTTP status: %s"), another was refused:
    // each attempt is its own pull, so the 5xx of one does not explain away the other's refused credentials.
    [InlineData("Failed to pull image \"" + Image2 + "\": [rpc error: code = Unknown desc = Error response from daemon: Get \"https://registry.example.com/v2/team/app/manifests/2\": received unexpected HTTP status: 503 Service Unavailable, rpc error: code = Unknown desc = Error response from daemon: Get \"https://registry.example.com/v2/team/app/manifests/2\": unauthorized: authentication required]", PullCause.AuthFailed)]
    // Outside an aggregate a single chain is read as before: "manifest unknown" alone is a missing image, and a token
    // service failing with 5xx ("failed to authorize" wraps it) is the registry.
    [InlineData("Error response from daemon: manifest for " + Image2 + " not found: manifest unknown: manifest unknown", PullCause.ImageNotFound)]
    [InlineData("failed to resolve reference \"" + Image2 + "\": failed to authorize: failed to fetch anonymous token: unexpected status from GET request to https://registry.example.com/token: 503 Service Unavailable", PullCause.RegistryError)]
    public void Kubelets_attempts_that_agree_keep_their_cause(string message, PullCause expected)
    {
        Assert.Equal(expected, MessageClassifier.Classify(message).Cause);
    }

    [Theory]
    // GHCR's DENIED naming the permission a GitHub App installation token (an Actions GITHUB_TOKEN) lacks for the
    // package ("installation not allowed to <Read|Write|Create> organization package"): a token must carry read of the
    // package (docs.github.com, "About permissions for GitHub Packages").
    [InlineData("Error response from daemon: Head \"https://ghcr.io/v2/org/app/manifests/2\": denied: installation not allowed to Read organization package")]
    public void A_denial_that_can_only_mean_the_credentials_is_auth_failed(string message)
    {
        Assert.Equal(PullCause.AuthFailed, MessageClassifier.Classify(message).Cause);
    }

    [Theory]
    // The same DENIED wordings from registries that deny a missing repository the same way stay the ambiguous denial.
    [InlineData("Error response from daemon: pull access denied for org/app, repository does not exist or may require 'docker login': denied: requested access to the resource is denied")]
    [InlineData("Error response from daemon: repository org/app not found: does not exist or no pull access")]
    [InlineData("Error response from daemon: Get \"https://registry.example.com/v2/org/app/manifests/2\": denied: requested access to the resource is denied")]
    public void The_same_denials_from_registries_that_hide_missing_repositories_stay_access_denied(string message)
    {
        Assert.Equal(PullCause.AccessDenied, MessageClassifier.Classify(message).Cause);
    }

    [Fact]
    public void A_gitlab_refusal_names_the_path_and_read_registry_and_a_ghcr_installation_refusal_names_the_package_permission()
    {
        var gitlab = MessageClassifier.Classify("Error response from daemon: Get \"https://registry.gitlab.com/v2/group/project/manifests/2\": denied: access forbidden");
        Assert.Contains("no project exists at that path", gitlab.Summary, StringComparison.Ordinal);
        Assert.Contains("read_registry", gitlab.Summary, StringComparison.Ordinal);
        var ghcr = MessageClassifier.Classify("Error response from daemon: Head \"https://ghcr.io/v2/org/app/manifests/2\": denied: installation not allowed to Read organization package");
        Assert.Contains("read:packages", ghcr.Summary, StringComparison.Ordinal);
        Assert.Contains("installation token", ghcr.Summary, StringComparison.Ordinal);
    }

    [Theory]
    // The runtime's download store on the node, named by its path (moby distribution/pull_v2.go writes each layer to
    // TempFile("", "GetImageBlob") under the daemon's tmp dir; containerd to its content store, plugin
    // io.containerd.content.v1.content, ingest/<ref>/data): not the registry, and not unknown.
    [InlineData("Error response from daemon: open /var/lib/docker/tmp/GetImageBlob123456789: no such file or directory")]
    [InlineData("failed to pull and unpack image \"" + Image2 + "\": failed to copy: failed to send write: error committing write: failed to rename /var/lib/containerd/io.containerd.content.v1.content/ingest/4f3c/data: no such file or directory")]
    public void An_error_on_the_runtimes_own_download_store_is_the_nodes_unpacking(string message)
    {
        var result = MessageClassifier.Classify(message);
        Assert.Equal(PullCause.RegistryError, result.Cause);
        Assert.Contains("could not unpack", result.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void A_full_disk_under_the_runtimes_download_store_stays_node_storage()
    {
        Assert.Equal(PullCause.NodeStorage, MessageClassifier.Classify("failed to copy: write /var/lib/containerd/io.containerd.content.v1.content/ingest/4f3c/data: no space left on device").Cause);
        Assert.Equal(PullCause.NodeStorage, MessageClassifier.Classify("Error response from daemon: write /var/lib/docker/tmp/GetImageBlob123456789: no space left on device").Cause);
    }

    [Theory]
    // Windows nodes: moby's checkImageCompatibility (osversion) refuses an image built for a newer Windows build than
    // the host ("a Windows version %s.%s.%s-based image is incompatible with a %s host"), and its Hyper-V-only variant.
    [InlineData("Failed to pull image \"mcr.microsoft.com/windows/servercore:ltsc2022\": rpc error: code = Unknown desc = a Windows version 10.0.20348-based image is incompatible with a 10.0.17763 host")]
    [InlineData("Error response from daemon: a Windows version 10.0.19041-based image can only be run on a 10.0.17763 host using Hyper-V isolation")]
    public void A_windows_image_for_another_host_build_is_a_platform_mismatch(string message)
    {
        Assert.Equal(PullCause.PlatformMismatch, MessageClassifier.Classify(message).Cause);
    }

    [Theory]
    // Go's net/http transport (transport.go, dialConn) turns a proxy's non-200 answer to CONNECT into the status text alone
    // (errors.New(text) of resp.Status), inside the url.Error of the request it was for: Docker's token fetch behind a
    // proxy (distribution's auth transport), its /v2/ ping before Go quoted URLs, and containerd's "failed to do request".
    // "Forbidden" there is the proxy refusing the destination.
    [InlineData("Error response from daemon: Head \"https://registry-1.docker.io/v2/library/nginx/manifests/1.27\": Get \"https://auth.docker.io/token?scope=repository%3Alibrary%2Fnginx%3Apull&service=registry.docker.io\": Forbidden")]
    [InlineData("Error response from daemon: Get https://registry-1.docker.io/v2/: Forbidden")]
    [InlineData("failed to resolve reference \"" + Image2 + "\": failed to do request: Head \"https://registry.example.com/v2/team/app/manifests/2\": Forbidden")]
    [InlineData("Failed to pull image \"" + Image2 + "\": rpc error: code = Unknown desc = Error response from daemon: Head \\\"https://registry.example.com/v2/team/app/manifests/2\\\": Forbidden")]
    public void A_proxy_refusing_the_connect_is_the_network_path_not_the_registry(string message)
    {
        var result = MessageClassifier.Classify(message);
        Assert.Equal(PullCause.Network, result.Cause);
        Assert.Contains("HTTP proxy refused", result.Summary, StringComparison.Ordinal);
    }

    [Theory]
    // containers/image's /v2/ version check (docker/docker_client.go, detectPropertiesHelper: "pinging container registry
    // %s: %w"; older "error pinging docker registry %s: %v"), its error from httpResponseToError ("invalid status code from
    // registry %d (%s)") or, newer, registryHTTPResponseToError ("StatusCode: %d, %q"): a 404 there comes before any
    // repository is named, so the address is not a registry API, not a missing image.
    [InlineData("pinging container registry registry.example.com: invalid status code from registry 404 (Not Found)")]
    [InlineData("rpc error: code = Unknown desc = error pinging docker registry registry.example.com: invalid status code from registry 404 (Not Found)")]
    [InlineData("initializing source docker://registry.example.com/team/app:2: pinging container registry registry.example.com: StatusCode: 404, \"<html><body><h1>404 Not Found</h1></body></html>\"")]
    public void A_version_check_answered_404_is_the_registry_endpoint(string message)
    {
        var result = MessageClassifier.Classify(message);
        Assert.Equal(PullCause.RegistryError, result.Cause);
        Assert.Contains("/v2/ endpoint answered 404", result.Summary, StringComparison.Ordinal);
    }

    [Theory]
    // Go's net/http client (client.go, send: `unsupported protocol scheme %q`) on a token realm the registry named with a
    // scheme that is not http(s) (a Nexus mirror answering realm="null://…", sonatype/nexus-public).
    [InlineData("Error response from daemon: Head \"http://nexus.example.com:5005/v2/library/ubuntu/manifests/24.04\": Get \"null://nexus.example.com:5005/v2/token?scope=repository%3Alibrary%2Fubuntu%3Apull\": unsupported protocol scheme \"null\"")]
    // Envoy in front of a registry (source/common/router/router.cc): its 503/504 bodies when nothing healthy answers
    // behind it, quoted as the answer (containers/image's registryHTTPResponseToError, distribution's errcode UNKNOWN).
    [InlineData("Error response from daemon: unknown: upstream connect error or disconnect/reset before headers. reset reason: connection termination")]
    [InlineData("initializing source docker://registry.example.com/team/app:2: reading manifest 2 in registry.example.com/team/app: no healthy upstream")]
    [InlineData("initializing source docker://registry.example.com/team/app:2: reading manifest 2 in registry.example.com/team/app: upstream request timeout")]
    // containerd (core/remotes/docker/fetcher.go, dockerFetcher.Fetch): no host served content the registry's own manifest
    // named, "could not fetch content descriptor %v (%v) from remote: %w"; the media type it names may be schema 1's.
    [InlineData("ctr: httpReaderSeeker: failed open: could not fetch content descriptor sha256:0d3b4c5e (application/vnd.docker.distribution.manifest.v1+prettyjws) from remote: not found")]
    [InlineData("failed to pull and unpack image \"" + Image2 + "\": failed to copy: httpReadSeeker: failed open: could not fetch content descriptor sha256:0d3b4c5e (application/vnd.oci.image.layer.v1.tar+gzip) from remote: not found")]
    public void A_registry_or_its_front_answering_unusably_is_a_registry_error(string message)
    {
        Assert.Equal(PullCause.RegistryError, MessageClassifier.Classify(message).Cause);
    }
}
