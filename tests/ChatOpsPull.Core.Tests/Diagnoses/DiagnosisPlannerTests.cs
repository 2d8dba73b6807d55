using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Images;
using ChatOpsPull.Core.Remediation;

namespace ChatOpsPull.Core.Tests.Diagnoses;

public sealed class DiagnosisPlannerTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    private static DiagnosisFacts Facts(
        string image = "ghcr.io/acme/api:1.4.3",
        string reason = "ErrImagePull",
        string message = "Back-off pulling image",
        RegistryFacts? registry = null,
        PullSecretFacts? secrets = null,
        bool credentialSource = false,
        (int, string)? previous = null,
        bool? diskPressure = false,
        WorkloadRef? workload = null)
    {
        _ = ImageReference.TryParse(image, out var parsed, out var error);
        return new DiagnosisFacts("prod-eu", "shop", image, parsed, error, reason, message, workload ?? new WorkloadRef("Deployment", "api"), "api", "default", "node-1",
            diskPressure, "linux/amd64", secrets ?? new PullSecretFacts([], [], null, [], true), registry, credentialSource, previous);
    }

    private static RegistryFacts Registry(PullCause? cause, string summary = "checked", IReadOnlyList<string>? tags = null, DateTimeOffset? expiry = null) =>
        new(cause, summary, tags ?? [], expiry, ["linux/amd64", "linux/arm64"]);

    [Fact]
    public void Missing_tag_suggests_confirmed_tags_then_rollback()
    {
        var d = DiagnosisPlanner.Plan(Facts(registry: Registry(PullCause.ImageNotFound, tags: ["1.4.2", "1.5.0", "1.4.0"]), previous: (6, "ghcr.io/acme/api:1.4.2")), [], Now);

        Assert.Equal(PullCause.ImageNotFound, d.Cause);
        Assert.True(d.Confidence > 0.9);
        Assert.Contains("Tag `1.4.3` does not exist", d.Summary, StringComparison.Ordinal);
        Assert.Contains("1.4.2, 1.5.0, 1.4.0", d.Summary, StringComparison.Ordinal);
        Assert.Equal([RemediationKind.SetImageTag, RemediationKind.SetImageTag, RemediationKind.RollBack], d.Remediations.Select(r => r.Kind));
        Assert.Equal("ghcr.io/acme/api:1.4.2", d.Remediations[0].Parameters["image"]);
        Assert.Equal("6", d.Remediations[2].Parameters["revision"]);
    }

    [Fact]
    public void Registry_evidence_overrides_a_misleading_message()
    {
        var d = DiagnosisPlanner.Plan(Facts(message: "failed to resolve reference: unexpected status from HEAD request: 401 Unauthorized", registry: Registry(PullCause.ImageNotFound)), [], Now);
        Assert.Equal(PullCause.ImageNotFound, d.Cause);
    }

    [Fact]
    public void Unattached_secret_for_the_host_offers_attaching_it()
    {
        var secrets = new PullSecretFacts([], [], null, ["ghcr-creds"], true);
        var d = DiagnosisPlanner.Plan(Facts(registry: Registry(PullCause.AuthFailed), secrets: secrets), [], Now);

        Assert.Equal(PullCause.AuthFailed, d.Cause);
        Assert.Contains("`ghcr-creds` has credentials for ghcr.io but is not attached", d.Summary, StringComparison.Ordinal);
        Assert.Equal(RemediationKind.AttachPullSecretToServiceAccount, d.Remediations[0].Kind);
        Assert.Equal("ghcr-creds", d.Remediations[0].Parameters["secret"]);
        Assert.Contains(d.Remediations, r => r.Kind == RemediationKind.AttachPullSecretToWorkload);
    }

    [Fact]
    public void Expired_credentials_say_when_and_offer_a_refresh_from_the_source()
    {
        var secrets = new PullSecretFacts(["regcred"], [], "regcred", [], true);
        var d = DiagnosisPlanner.Plan(Facts(registry: Registry(PullCause.AuthFailed, expiry: Now.AddHours(-2)), secrets: secrets, credentialSource: true), [], Now);

        Assert.Contains("expired 2 h ago", d.Summary, StringComparison.Ordinal);
        var refresh = Assert.Single(d.Remediations);
        Assert.Equal(RemediationKind.RefreshCredentials, refresh.Kind);
        Assert.Equal("regcred", refresh.Parameters["secret"]);
        Assert.False(refresh.Parameters.ContainsKey("serviceAccount"));
    }

    [Fact]
    public void Missing_referenced_secret_is_named_and_recreated_under_its_own_name()
    {
        var secrets = new PullSecretFacts(["regcred"], ["regcred"], null, [], true);
        var d = DiagnosisPlanner.Plan(Facts(registry: Registry(PullCause.AuthFailed), secrets: secrets, credentialSource: true), [], Now);

        Assert.Contains("`regcred` is referenced but does not exist", d.Summary, StringComparison.Ordinal);
        Assert.Equal("regcred", Assert.Single(d.Remediations).Parameters["secret"]);
    }

    [Fact]
    public void Invalid_reference_explains_the_grammar_error()
    {
        var d = DiagnosisPlanner.Plan(Facts(image: "ghcr.io/Acme/API:1.0", reason: "InvalidImageName"), [], Now);
        Assert.Equal(PullCause.InvalidName, d.Cause);
        Assert.Contains("lowercase", d.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void Disk_pressure_wins_over_registry_silence()
    {
        var d = DiagnosisPlanner.Plan(Facts(message: "failed to register layer: write /var/lib/docker/x: no space left on device", diskPressure: true, registry: Registry(null)), [], Now);
        Assert.Equal(PullCause.NodeStorage, d.Cause);
        Assert.Equal(RemediationKind.DeleteBackoffPods, d.Remediations[0].Kind);
    }

    [Fact]
    public void Disk_pressure_does_not_hide_a_missing_tag()
    {
        var d = DiagnosisPlanner.Plan(Facts(diskPressure: true, registry: Registry(PullCause.ImageNotFound, tags: ["1.4.2"])), [], Now);
        Assert.Equal(PullCause.ImageNotFound, d.Cause);
    }

    [Fact]
    public void Disk_pressure_explains_a_failure_the_registry_does_not()
    {
        var d = DiagnosisPlanner.Plan(Facts(diskPressure: true, registry: Registry(null)), [], Now);
        Assert.Equal(PullCause.NodeStorage, d.Cause);
    }

    [Fact]
    public void Pullable_image_means_retry_with_modest_confidence()
    {
        var d = DiagnosisPlanner.Plan(Facts(registry: Registry(null)), [], Now);
        Assert.Equal(PullCause.BackoffOnly, d.Cause);
        Assert.True(d.Confidence < 0.6);
        Assert.Equal(RemediationKind.DeleteBackoffPods, d.Remediations[0].Kind);
    }

    [Fact]
    public void A_not_found_message_for_an_image_the_registry_now_serves_is_not_called_missing()
    {
        var d = DiagnosisPlanner.Plan(Facts(message: "failed to resolve reference \"ghcr.io/acme/api:1.4.3\": not found", registry: Registry(null)), [], Now);
        Assert.Equal(PullCause.BackoffOnly, d.Cause);
    }

    [Fact]
    public void When_only_the_bot_cannot_reach_the_registry_the_nodes_message_wins()
    {
        var d = DiagnosisPlanner.Plan(Facts(message: "failed to resolve reference \"ghcr.io/acme/api:1.4.3\": ghcr.io/acme/api:1.4.3: not found", registry: Registry(PullCause.Network, "DNS lookup of ghcr.io failed")), [], Now);
        Assert.Equal(PullCause.ImageNotFound, d.Cause);
        Assert.True(d.Confidence <= 0.7);
        Assert.Contains("could not reach ghcr.io itself", d.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_registry_evidence_confidence_stays_low()
    {
        var d = DiagnosisPlanner.Plan(Facts(message: "manifest unknown"), [], Now);
        Assert.True(d.Confidence <= 0.6);
        Assert.Contains("could not be checked", d.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void Rollback_is_not_offered_when_the_previous_revision_has_the_same_image()
    {
        var d = DiagnosisPlanner.Plan(Facts(registry: Registry(PullCause.ImageNotFound), previous: (6, "ghcr.io/acme/api:1.4.3")), [], Now);
        Assert.DoesNotContain(d.Remediations, r => r.Kind == RemediationKind.RollBack);
    }

    [Theory]
    [InlineData("ghcr.io", "pull-ghcr-io")]
    [InlineData("registry.example.com:5000", "pull-registry-example-com-5000")]
    public void Pull_secret_names_are_valid_kubernetes_names(string host, string expected) =>
        Assert.Equal(expected, DiagnosisPlanner.PullSecretName(host));
}
