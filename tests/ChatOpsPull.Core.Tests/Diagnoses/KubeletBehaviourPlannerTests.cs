using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Images;
using ChatOpsPull.Core.Remediation;

namespace ChatOpsPull.Core.Tests.Diagnoses;

/// <summary>The planner on newer kubelet behaviour: KEP-2535 credential verification, kubelet's own pull limit, credential providers.</summary>
public sealed class KubeletBehaviourPlannerTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 12, 0, 0, TimeSpan.Zero);

    private static readonly KubeletPullFacts Verifying = new("v1.35.0", CredentialVerification.NeverVerifyPreloadedImages, "kubelet v1.35.0 default", true, "IfNotPresent", null);

    private static DiagnosisFacts Facts(string message, string reason = "ErrImagePull", RegistryFacts? registry = null, PullSecretFacts? secrets = null, KubeletPullFacts? kubelet = null, bool credentialSource = true)
    {
        const string image = "registry.example.com/team/app:1.2";
        _ = ImageReference.TryParse(image, out var parsed, out var error);
        return new DiagnosisFacts("prod-eu", "shop", image, parsed, error, reason, message, new WorkloadRef("Deployment", "app"), "app", "deployer", "node-7",
            false, "linux/amd64", secrets ?? new PullSecretFacts([], [], null, [], true), registry, credentialSource, (3, "registry.example.com/team/app:1.1"))
        {
            Kubelet = kubelet ?? KubeletPullFacts.Unknown,
        };
    }

    private static RegistryFacts Registry(PullCause? cause, string summary) => new(cause, summary, [], null, ["linux/amd64"]);

    [Fact]
    public void An_if_not_present_rollback_that_now_gets_a_401_is_explained_as_image_not_ensured()
    {
        var secrets = new PullSecretFacts(["old-creds"], [], "old-creds", [], true);
        var d = DiagnosisPlanner.Plan(
            Facts("failed to authorize: failed to fetch oauth token: unexpected status: 401 Unauthorized", registry: Registry(PullCause.AuthFailed, "401 Unauthorized with secret old-creds"), secrets: secrets, kubelet: Verifying),
            [], Now);

        Assert.Equal(PullCause.ImageNotEnsured, d.Cause);
        Assert.Contains("is on node node-7", d.Summary, StringComparison.Ordinal);
        Assert.Contains("kubelet v1.35.0", d.Summary, StringComparison.Ordinal);
        Assert.Contains("NeverVerifyPreloadedImages", d.Summary, StringComparison.Ordinal);
        Assert.Contains("401 Unauthorized with secret old-creds", d.Summary, StringComparison.Ordinal);
        Assert.Contains("Refresh pull secret `old-creds`", d.Summary, StringComparison.Ordinal);
        Assert.Contains(d.Remediations, r => r.Kind == RemediationKind.RefreshCredentials && r.Parameters["secret"] == "old-creds");
        Assert.DoesNotContain(d.Remediations, r => r.Kind == RemediationKind.RollBack);
    }

    [Fact]
    public void The_same_401_without_verification_or_without_the_image_on_the_node_stays_a_credential_failure()
    {
        var registry = Registry(PullCause.AuthFailed, "401 Unauthorized");
        Assert.Equal(PullCause.AuthFailed, DiagnosisPlanner.Plan(Facts("401 Unauthorized", registry: registry, kubelet: Verifying with { Verification = CredentialVerification.Off }), [], Now).Cause);
        Assert.Equal(PullCause.AuthFailed, DiagnosisPlanner.Plan(Facts("401 Unauthorized", registry: registry, kubelet: Verifying with { ImageOnNode = null }), [], Now).Cause);
        Assert.Equal(PullCause.AuthFailed, DiagnosisPlanner.Plan(Facts("401 Unauthorized", registry: registry, kubelet: Verifying with { PullPolicy = "Always" }), [], Now).Cause);
    }

    [Fact]
    public void Never_pull_of_an_image_on_the_node_that_kubelet_will_not_reuse_is_image_not_ensured()
    {
        var d = DiagnosisPlanner.Plan(Facts("Container image \"registry.example.com/team/app:1.2\" is not present with pull policy of Never", "ErrImageNeverPull", kubelet: Verifying with { PullPolicy = "Never" }), [], Now);

        Assert.Equal(PullCause.ImageNotEnsured, d.Cause);
        Assert.Contains("cannot pull to check them", d.Summary, StringComparison.Ordinal);
        Assert.Contains(d.Remediations, r => r.Kind == RemediationKind.RefreshCredentials);
    }

    [Fact]
    public void The_err_image_not_ensured_reason_is_its_own_cause_with_the_registrys_answer()
    {
        var d = DiagnosisPlanner.Plan(Facts(string.Empty, "ErrImageNotEnsured", registry: Registry(PullCause.AuthFailed, "anonymous pull refused (401)"), kubelet: Verifying), [], Now);

        Assert.Equal(PullCause.ImageNotEnsured, d.Cause);
        Assert.Contains("anonymous pull refused (401)", d.Summary, StringComparison.Ordinal);
        Assert.Contains("Attach a pull secret for registry.example.com", d.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void Kubelets_own_pull_limit_names_the_node_and_blames_no_registry()
    {
        var d = DiagnosisPlanner.Plan(Facts("Failed to pull image \"registry.example.com/team/app:1.2\": pull QPS exceeded", registry: Registry(PullCause.RegistryError, "503 from registry")), [], Now);

        Assert.Equal(PullCause.NodePullLimit, d.Cause);
        Assert.Contains("node node-7", d.Summary, StringComparison.Ordinal);
        Assert.Contains("registry.example.com was not asked and is not at fault", d.Summary, StringComparison.Ordinal);
        Assert.DoesNotContain("503", d.Summary, StringComparison.Ordinal);
        Assert.Equal(RemediationKind.DeleteBackoffPods, d.Remediations[0].Kind);
    }

    [Fact]
    public void A_registry_a_credential_provider_serves_is_not_missing_a_secret()
    {
        var provider = new NodeCredentialProvider("ecr-credential-provider", false, "configured");
        var d = DiagnosisPlanner.Plan(
            Facts("no basic auth credentials", registry: Registry(PullCause.AuthFailed, "401 Unauthorized to an anonymous request"), kubelet: Verifying with { ImageOnNode = false, CredentialProvider = provider }),
            [], Now);

        Assert.Equal(PullCause.AuthFailed, d.Cause);
        Assert.Contains("No pull secret is missing", d.Summary, StringComparison.Ordinal);
        Assert.Contains("`ecr-credential-provider`", d.Summary, StringComparison.Ordinal);
        Assert.Contains("answered: 401 Unauthorized to an anonymous request", d.Summary, StringComparison.Ordinal);
        Assert.DoesNotContain("has no pull secret", d.Summary, StringComparison.Ordinal);
        Assert.DoesNotContain(d.Remediations, r => r.Kind is RemediationKind.RefreshCredentials or RemediationKind.AttachPullSecretToServiceAccount or RemediationKind.AttachPullSecretToWorkload);
    }

    [Fact]
    public void A_service_account_token_provider_names_the_pods_service_account()
    {
        var provider = new NodeCredentialProvider("sa-token-provider", true, "configured");
        var d = DiagnosisPlanner.Plan(Facts("403 Forbidden", registry: Registry(PullCause.AccessDenied, "403 Forbidden"), kubelet: KubeletPullFacts.Unknown with { CredentialProvider = provider }), [], Now);

        Assert.Contains("ServiceAccount `deployer`, KEP-4412", d.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void A_policy_refusal_says_the_registry_is_fine_when_it_serves_the_image()
    {
        var d = DiagnosisPlanner.Plan(Facts("Source image rejected: A signature was required, but no signature exists", registry: Registry(null, "pullable")), [], Now);

        Assert.Equal(PullCause.PolicyRejected, d.Cause);
        Assert.Contains("the node's policy is what refuses it", d.Summary, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("v1.35.0", CredentialVerification.NeverVerifyPreloadedImages)]
    [InlineData("v1.36.2+k3s1", CredentialVerification.NeverVerifyPreloadedImages)]
    [InlineData("v1.34.1-eks-113cf36", CredentialVerification.Off)]
    [InlineData("v1.29.0", CredentialVerification.Off)]
    [InlineData("", CredentialVerification.Unknown)]
    [InlineData("latest", CredentialVerification.Unknown)]
    public void The_default_verification_policy_follows_the_kubelet_version(string version, CredentialVerification expected)
    {
        Assert.Equal(expected, KubeletPullFacts.DefaultFor(version).Verification);
    }
}
