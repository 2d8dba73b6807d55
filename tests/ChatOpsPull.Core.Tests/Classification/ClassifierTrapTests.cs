using ChatOpsPull.Core.Classification;
using ChatOpsPull.Core.Failures;

namespace ChatOpsPull.Core.Tests.Classification;

/// <summary>
/// The wordings that fool a naive "contains not found / unauthorized" classifier. Messages marked "real" are copied
/// from the fixture file (source there); the others are built from real fragments to isolate one trap each.
/// </summary>
public sealed class ClassifierTrapTests
{
    [Theory]
    // real: containerd, kubewarden/adm-controller#1378
    [InlineData("Failed to pull image \"ghcr.io/kubewarden/kubewarden-controller:latest\": rpc error: code = NotFound desc = failed to pull and unpack image \"ghcr.io/kubewarden/kubewarden-controller:latest\": no match for platform in manifest: not found")]
    // real: docker with the containerd store, moby/moby#46765
    [InlineData("Error response from daemon: no matching manifest for linux/arm64/v8 in the manifest list entries: no match for platform in manifest: not found")]
    // real: containers-image, crazy-max/diun#94
    [InlineData("Error choosing image instance: no image found in manifest list for architecture amd64, variant \"\", OS linux")]
    public void Not_found_for_a_missing_platform_is_a_platform_mismatch(string message)
    {
        var result = MessageClassifier.Classify(message, "ErrImagePull");
        Assert.Equal(PullCause.PlatformMismatch, result.Cause);
        Assert.Contains("OS/architecture", result.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void The_wanted_platform_is_quoted_when_the_runtime_names_it()
    {
        var result = MessageClassifier.Classify("Error response from daemon: no matching manifest for linux/arm64/v8 in the manifest list entries: no match for platform in manifest: not found");
        Assert.Contains("(linux/arm64/v8)", result.Summary, StringComparison.Ordinal);
        Assert.DoesNotContain("Linux/arm64", result.Summary, StringComparison.Ordinal);

        var crio = MessageClassifier.Classify("Error choosing image instance: no image found in manifest list for architecture amd64, variant \"\", OS linux");
        Assert.Contains("(linux/amd64)", crio.Summary, StringComparison.Ordinal);
    }

    [Theory]
    // real: containerd/containerd#2382
    [InlineData("rpc error: code = Unknown desc = failed to pull and unpack image \"gcr.io/cri-tools/test-image-tags:1\": failed to unpack image on snapshotter overlayfs: failed to prepare extraction snapshot \"extract-731580600-yNJo sha256:fc7dabc612d929d4031ebbf977320d95b8408945bc8e096fb888aa54fb83b2ce\": parent snapshot sha256:4febd3792a1fb2153108b4fa50161c6ee5e3d16aa483a63215f936a113a88e9a does not exist: not found")]
    // real: containerd/containerd#3604
    [InlineData("Failed to pull image \"prom/mysqld-exporter:v0.12.1\": rpc error: code = Unknown desc = failed to pull and unpack image \"docker.io/prom/mysqld-exporter:v0.12.1\": failed to unpack image on snapshotter overlayfs: content digest sha256:0c18b88b8db3c193eefeede31a80d5d0c850306076b7166910ed239685dd20b0: not found")]
    // real: moby/moby#52411
    [InlineData("failed to unpack image on snapshotter overlayfs: apply layer error for \"docker.io/library/haskell:7\": failed to extract layer sha256:4dcab49015d47e8f300ec33400a02cebc7b54cadd09c37e49eccbc655279da90: NotFound: failed to get reader from content store: content digest sha256:51f5c6a04d83efd2d45c5fd59537218924bc46705e3de6ffc8bc07b51481610b: not found")]
    public void Not_found_in_the_nodes_own_image_store_is_an_unpack_error_not_a_missing_image(string message)
    {
        var result = MessageClassifier.Classify(message, "ErrImagePull");
        Assert.Equal(PullCause.RegistryError, result.Cause);
        Assert.Contains("could not unpack", result.Summary, StringComparison.Ordinal);
        Assert.Contains("the disk is not full", result.Summary, StringComparison.Ordinal);
        Assert.True(result.Confidence < 0.7, "a corrupt layer or local store is an inference, not a certainty");
    }

    [Fact]
    public void A_full_disk_while_extracting_is_node_storage_with_high_confidence()
    {
        // real: tableau/tableau-server-in-kubernetes#14
        var result = MessageClassifier.Classify("Failed to pull image \"CENSORED\": rpc error: code = Unknown desc = failed to register layer: Error processing tar file(exit status 1): write /tableau-server-CENSORED.rpm: no space left on device");
        Assert.Equal(PullCause.NodeStorage, result.Cause);
        Assert.Equal(0.9, result.Confidence);
        Assert.Contains("disk space", result.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void Not_found_for_content_on_the_registry_is_a_registry_error()
    {
        // real: komari-monitor/komari#326 — the tag resolves, a manifest it points to is gone from the registry.
        var result = MessageClassifier.Classify("Failed to pull image \"ghcr.io/komari-monitor/komari:1.0.0\": rpc error: code = NotFound desc = failed to pull and unpack image \"ghcr.io/komari-monitor/komari:1.0.0\": failed to copy: httpReadSeeker: failed open: content at https://ghcr.io/v2/komari-monitor/komari/manifests/sha256:3611825abb0c84db8974691cb4d9c44cc198a0cc45aa42ddfc70806d8db92d0b not found: not found");
        Assert.Equal(PullCause.RegistryError, result.Cause);
        Assert.Contains("missing content", result.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void Manifest_unknown_beside_an_unauthorized_attempt_in_the_same_message_is_the_ambiguous_access_denied()
    {
        // Built from real fragments: kubelet lists one error per credential it tried (kuberuntime_image.go, PullImage:
        // utilerrors.NewAggregate). One credential was refused, another saw no such manifest: issue 14 names this the
        // ambiguous access_denied case (the image is missing, or private to credentials the pod does not have), and a
        // confident image_not_found would be a wrong card whenever the refused credential was the one that mattered.
        const string message = "Failed to pull image \"registry.example.com/team/app:v9\": [rpc error: code = Unknown desc = failed to pull and unpack image \"registry.example.com/team/app:v9\": failed to resolve reference \"registry.example.com/team/app:v9\": unexpected status from HEAD request to https://registry.example.com/v2/team/app/manifests/v9: 401 Unauthorized, rpc error: code = Unknown desc = Error reading manifest v9 in registry.example.com/team/app: manifest unknown: manifest unknown]";
        var result = MessageClassifier.Classify(message, "ErrImagePull");
        Assert.Equal(PullCause.AccessDenied, result.Cause);
        Assert.Contains("each credential", result.Summary, StringComparison.Ordinal);
    }

    [Theory]
    // real: goharbor/harbor-helm#1888 — Quay said "not authorized" for a repository that did not exist.
    [InlineData("Failed to pull image \"goharbor/harbor-db:v2.12.0\": initializing source docker://quay.io/goharbor/harbor-db:v2.12.0: reading manifest v2.12.0 in quay.io/goharbor/harbor-db: unauthorized: access to the requested resource is not authorized")]
    // real: cri-o/cri-o#2331 — Docker Hub answers denied + unauthorized for a repository that does not exist.
    [InlineData("pulling image failed: rpc error: code = Unknown desc = Error reading manifest latest in docker.io/crio/busybox: errors:\ndenied: requested access to the resource is denied\nunauthorized: authentication required")]
    // real: tinkerbell/operator#18
    [InlineData("Failed to pull image \"tinkerbell/operator:v0.1.0\": rpc error: code = Unknown desc = failed to pull and unpack image \"docker.io/tinkerbell/operator:v0.1.0\": failed to resolve reference \"docker.io/tinkerbell/operator:v0.1.0\": pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed")]
    // real: podtato-head/podtato-head#66 — GHCR's bare "denied".
    [InlineData("Failed to pull image \"ghcr.io/podtato-head/podtato-right-leg:v0.1.0\": rpc error: code = Unknown desc = Error response from daemon: Head https://ghcr.io/v2/podtato-head/podtato-right-leg/manifests/v0.1.0: denied")]
    public void Unauthorized_or_denied_that_may_hide_a_missing_repository_is_access_denied(string message)
    {
        var result = MessageClassifier.Classify(message, "ErrImagePull");
        Assert.Equal(PullCause.AccessDenied, result.Cause);
        Assert.Contains("or it does not exist", result.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void Ghcr_not_found_says_that_private_packages_answer_the_same()
    {
        // real: sympozium-ai/sympozium#207 (the package was private).
        var result = MessageClassifier.Classify("rpc error: code = NotFound desc = failed to pull and unpack image \"ghcr.io/sympozium-ai/sympozium/llmfit-daemon:v0.10.34\": failed to resolve reference \"ghcr.io/sympozium-ai/sympozium/llmfit-daemon:v0.10.34\": ghcr.io/sympozium-ai/sympozium/llmfit-daemon:v0.10.34: not found");
        Assert.Equal(PullCause.ImageNotFound, result.Cause);
        Assert.Contains("private packages", result.Summary, StringComparison.Ordinal);
        Assert.True(result.Confidence < 0.85);
    }

    [Theory]
    // real: AKS, Azure/AKS#4593 — credentials were sent and rejected.
    [InlineData("failed to authorize: failed to fetch oauth token: unexpected status from GET request to https://myacr.azurecr.io/oauth2/token?scope=repository%3Afluent%2Ffluent-bit%3Apull&service=myacr.azurecr.io: 401 Unauthorized", PullCause.AuthFailed)]
    // real: dragonflydb/dragonfly#4997 — credentials were sent, the token server said 403: known but not allowed.
    [InlineData("Error: failed to authorize: failed to fetch oauth token: unexpected status from GET request to https://ghcr.io/token?scope=repository%3Adragonflydb%2Fdragonfly%2Fhelm%2Fdragonfly%3Apull&service=ghcr.io: 403 Forbidden", PullCause.AccessDenied)]
    // real: containerd/containerd#11103 — "pull access denied" wraps "no basic auth credentials": nothing was sent.
    [InlineData("pull access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials", PullCause.AuthFailed)]
    // real: coreos/coreos-kubernetes#461 — the 500 is Docker's API wrapper, not the registry.
    [InlineData("Error syncing pod, skipping: failed to \"StartContainer\" for \"zre\" with ErrImagePull: \"API error (500): Get https://<account number>.dkr.ecr.eu-west-1.amazonaws.com/v2/zre/manifests/latest:\\n no basic auth credentials\\n\"", PullCause.AuthFailed)]
    public void Credentials_missing_or_rejected_differ_from_forbidden(string message, PullCause expected)
    {
        Assert.Equal(expected, MessageClassifier.Classify(message, "ErrImagePull").Cause);
    }

    [Fact]
    public void Kubelet_back_off_with_the_pull_error_appended_is_classified_by_the_appended_error()
    {
        // real: sympozium-ai/sympozium#36 (kubelet 1.32+, kubernetes/kubernetes#127918).
        var notFound = MessageClassifier.Classify("Back-off pulling image \"ghcr.io/alexsjones/sympozium/node-probe:v0.1.8\": ErrImagePull: rpc error: code = NotFound desc = failed to pull and unpack image \"ghcr.io/alexsjones/sympozium/node-probe:v0.1.8\": failed to resolve reference \"ghcr.io/alexsjones/sympozium/node-probe:v0.1.8\": ghcr.io/alexsjones/sympozium/node-probe:v0.1.8: not found", "ImagePullBackOff");
        Assert.Equal(PullCause.ImageNotFound, notFound.Cause);

        // Same shape, with the kata-containers#10109 rate-limit error appended.
        var limited = MessageClassifier.Classify("Back-off pulling image \"busybox\": ErrImagePull: failed to pull and unpack image \"docker.io/library/busybox:latest\": failed to copy: httpReadSeeker: failed open: unexpected status code https://registry-1.docker.io/v2/library/busybox/manifests/sha256:50aa4698fa6262977cff89181b2664b99d8a56dbca847bf62f2ef04854597cf8: 429 Too Many Requests - Server message: toomanyrequests: You have reached your pull rate limit.", "ImagePullBackOff");
        Assert.Equal(PullCause.RateLimited, limited.Cause);
        Assert.Contains("docker.io", limited.Summary, StringComparison.Ordinal);

        // Same shape, with an error the classifier does not know: a message naming a pull reason is never unknown.
        var other = MessageClassifier.Classify("Back-off pulling image \"app:1\": ErrImagePull: something new went wrong", "ImagePullBackOff");
        Assert.Equal(PullCause.BackoffOnly, other.Cause);
        Assert.Contains("ImagePullBackOff", other.Summary, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Back-off pulling image \"selenium/hub\"", "ImagePullBackOff")]
    [InlineData("Back-off pulling image \"602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:latest\"", null)]
    [InlineData("container start failed: ImagePullBackOff: Back-off pulling image \"172.30.183.164:5000/XXXX/XXXXX@sha256:XXXXXXXXX\"", null)]
    [InlineData("Error: ImagePullBackOff", null)]
    [InlineData("", "ImagePullBackOff")]
    [InlineData(null, "ImagePullBackOff")]
    public void A_bare_back_off_is_backoff_only(string? message, string? reason)
    {
        var result = MessageClassifier.Classify(message, reason);
        Assert.Equal(PullCause.BackoffOnly, result.Cause);
        Assert.Contains("previous Failed event", result.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void The_image_is_quoted_in_the_back_off_summary()
    {
        var result = MessageClassifier.Classify("Back-off pulling image \"selenium/hub\"");
        Assert.Contains("selenium/hub", result.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tls_handshake_timeout_is_network_not_tls()
    {
        // real: kubernetes/kubernetes#107340
        var result = MessageClassifier.Classify("Failed to pull image \"busybox\": rpc error: code = Unknown desc = Error response from daemon: Get https://registry-1.docker.io/v2/: net/http: TLS handshake timeout");
        Assert.Equal(PullCause.Network, result.Cause);
        Assert.Contains("TLS handshake", result.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void An_eof_on_the_token_request_is_network_but_an_unexpected_eof_in_a_download_is_the_registry()
    {
        // real: router-for-me/CLIProxyAPI#2668
        var cut = MessageClassifier.Classify("Error response from daemon: failed to resolve reference \"docker.io/eceasy/cli-proxy-api-plus:latest\": failed to authorize: failed to fetch anonymous token: Get \"https://auth.docker.io/token?scope=repository%3Aeceasy%2Fcli-proxy-api-plus%3Apull&service=registry.docker.io\": EOF");
        Assert.Equal(PullCause.Network, cut.Cause);

        // real: docker-archive-public/docker.kitematic#5344
        var broken = MessageClassifier.Classify("error pulling image configuration: unexpected EOF");
        Assert.Equal(PullCause.RegistryError, broken.Cause);
    }

    [Fact]
    public void Numbers_inside_account_ids_and_digests_are_not_status_codes()
    {
        // The ECR account 602401143452 contains "401"; the digest contains "429" and "500". Built on aws/amazon-vpc-cni-k8s#1117.
        const string message = "Failed to pull image \"602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni@sha256:42950095003bbd9ce5dc2b2e82bd3b3c3ca1e2e51da4bd02e7f9eb1f7a4ac429\": rpc error: code = Unknown desc = failed to resolve reference: failed to do request: Head \"https://602401143452.dkr.ecr.us-west-2.amazonaws.com/v2/amazon-k8s-cni/manifests/sha256:42950095003bbd9ce5dc2b2e82bd3b3c3ca1e2e51da4bd02e7f9eb1f7a4ac429\": dial tcp 52.35.81.238:443: i/o timeout";
        var result = MessageClassifier.Classify(message);
        Assert.Equal(PullCause.Network, result.Cause);
        Assert.Contains("602401143452.dkr.ecr.us-west-2.amazonaws.com", result.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void Kubelets_own_pull_qps_limit_is_the_node_not_the_registry()
    {
        // real: tilt-dev/tilt#5893
        var result = MessageClassifier.Classify("Failed to pull image \"registry.gha-prod.svc.cluster.local:5000/solana-contract:tilt-d0187147de2228a4\": pull QPS exceeded");
        Assert.Equal(PullCause.NodePullLimit, result.Cause);
        Assert.Contains("registryPullQPS", result.Summary, StringComparison.Ordinal);
        Assert.DoesNotContain("registry.gha-prod", result.Summary, StringComparison.Ordinal);
    }

    [Theory]
    // real: jupyterhub/zero-to-jupyterhub-k8s#472
    [InlineData("Failed to apply default image tag \"https://harbor.k8s.mybank/release/name:1.1.0\": couldn't parse image reference \"https://harbor.k8s.mybank/release/name:1.1.0\": invalid reference format", "remove \"https://\"")]
    // real: elastic/cloud-on-k8s#2150 (zero-width spaces)
    [InlineData("Failed to apply default image tag \"docker.elastic.co/eck-snapshot\u200bs/eck-operator:1.0.0\": couldn't parse image reference \"docker.elastic.co/eck-snapshot\u200bs/eck-operator:1.0.0\": invalid reference format", "invisible character U+200B")]
    public void Invalid_name_summaries_point_at_what_is_wrong(string message, string expected)
    {
        var result = MessageClassifier.Classify(message, "InvalidImageName");
        Assert.Equal(PullCause.InvalidName, result.Cause);
        Assert.Contains(expected, result.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void Reasons_alone_decide_never_pull_and_invalid_name()
    {
        Assert.Equal(PullCause.NeverPull, MessageClassifier.Classify(null, "ErrImageNeverPull").Cause);
        Assert.Equal(PullCause.InvalidName, MessageClassifier.Classify("", "InvalidImageName").Cause);
        Assert.Equal(PullCause.NeverPull, MessageClassifier.Classify("Container image \"nginx:latest\" is not present with pull policy of Never", "ErrImageNeverPull").Cause);
    }

    [Fact]
    public void A_schema_1_refusal_is_outside_the_cause_set_with_a_specific_summary()
    {
        var result = MessageClassifier.Classify("Error response from daemon: application/vnd.docker.distribution.manifest.v1+prettyjws not supported", "ErrImagePull");
        Assert.Equal(PullCause.Unknown, result.Cause);
        Assert.Contains("schema 1", result.Summary, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("rpc error: code = Unknown desc = copying system image from manifest list: Source image rejected: A signature was required, but no signature exists", null)]
    [InlineData("image pull failed for quay.io/org/app:1 because the signature validation failed: no signature", null)]
    [InlineData("", "SignatureValidationFailed")]
    public void A_signature_or_policy_refusal_is_policy_rejected(string message, string? reason)
    {
        var result = MessageClassifier.Classify(message, reason);
        Assert.Equal(PullCause.PolicyRejected, result.Cause);
        Assert.Contains("signature policy", result.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void A_short_name_the_runtime_will_not_resolve_is_an_invalid_name()
    {
        var result = MessageClassifier.Classify("rpc error: code = Unknown desc = no registries configured while trying to pull an unqualified image", "ImageInspectError");
        Assert.Equal(PullCause.InvalidName, result.Cause);
        Assert.Contains("short name", result.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void Registry_unavailable_from_kubelet_is_network()
    {
        // kubelet's wording for the CRI RegistryUnavailable error (pkg/kubelet/images/image_manager.go).
        var result = MessageClassifier.Classify("image pull failed for registry.example.com/app:1 because the registry is unavailable: dial timeout", "RegistryUnavailable");
        Assert.Equal(PullCause.Network, result.Cause);
    }

    [Fact]
    public void Case_does_not_matter()
    {
        var result = MessageClassifier.Classify("ERROR RESPONSE FROM DAEMON: MANIFEST FOR APP:1 NOT FOUND: MANIFEST UNKNOWN: MANIFEST UNKNOWN");
        Assert.Equal(PullCause.ImageNotFound, result.Cause);
    }

    [Fact]
    public void Empty_or_unrecognised_messages_are_unknown_with_low_confidence()
    {
        var none = MessageClassifier.Classify(null);
        Assert.Equal(PullCause.Unknown, none.Cause);
        Assert.True(none.Confidence <= 0.2);

        // (A bare "context canceled" is no longer unknown: containerd's CRI cancels a pull that made no progress for
        // image_pull_progress_timeout, so it reads as a stalled transfer; see ClassifierKindTests.)
        var odd = MessageClassifier.Classify("Failed to pull image \"app:1\": rpc error: code = Unknown desc = something odd happened");
        Assert.Equal(PullCause.Unknown, odd.Cause);
        Assert.Contains("app:1", odd.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void A_huge_message_is_read_up_to_the_limit_without_failing()
    {
        var padding = new string('x', 200_000);
        var early = MessageClassifier.Classify("Failed to pull image \"app:1\": manifest unknown " + padding);
        Assert.Equal(PullCause.ImageNotFound, early.Cause);

        var late = MessageClassifier.Classify(padding + " manifest unknown");
        Assert.Equal(PullCause.Unknown, late.Cause);
    }

    [Theory]
    // The registry's own 403/5xx carry their number or error code (containerd: "unexpected status from HEAD request to
    // %s: %s" with resp.Status; distribution's client: "received unexpected HTTP status: %s"; errcode "denied: …"): they
    // keep their meaning and are not read as a proxy refusing the CONNECT.
    [InlineData("failed to resolve reference \"registry.example.com/org/app:2\": unexpected status from HEAD request to https://registry.example.com/v2/org/app/manifests/2: 403 Forbidden", PullCause.AccessDenied)]
    [InlineData("Error response from daemon: Get \"https://registry.example.com/v2/org/app/manifests/2\": denied: requested access to the resource is denied", PullCause.AccessDenied)]
    [InlineData("Error response from daemon: Get \"https://registry.example.com/v2/org/app/manifests/2\": received unexpected HTTP status: 502 Bad Gateway", PullCause.RegistryError)]
    // A proxy answering CONNECT with a 5xx text could not reach the registry, which may be down: not read as the proxy's refusal.
    [InlineData("Error response from daemon: Get \"https://registry.example.com/v2/\": Service Unavailable", PullCause.RegistryError)]
    // A manifest 404 after the version check passed stays a missing image (containers/image: "reading manifest %s in %s: %w").
    [InlineData("initializing source docker://registry.example.com/org/app:2: reading manifest 2 in registry.example.com/org/app: StatusCode: 404, \"<html><body><h1>404 Not Found</h1></body></html>\"", PullCause.ImageNotFound)]
    [InlineData("initializing source docker://registry.example.com/org/app:2: reading manifest 2 in registry.example.com/org/app: manifest unknown", PullCause.ImageNotFound)]
    // A version check that failed on the way (DNS) stays the network.
    [InlineData("pinging container registry registry.example.com: Get \"https://registry.example.com/v2/\": dial tcp: lookup registry.example.com: no such host", PullCause.Network)]
    public void Answers_that_name_their_status_keep_it_and_only_a_ping_404_is_the_endpoint(string message, PullCause expected)
    {
        Assert.Equal(expected, MessageClassifier.Classify(message).Cause);
    }
}
