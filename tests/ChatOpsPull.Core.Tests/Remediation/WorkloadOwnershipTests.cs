using ChatOpsPull.Core.Remediation;

namespace ChatOpsPull.Core.Tests.Remediation;

/// <summary>Who owns a workload, from the labels, annotations and controller owners the tools really write.</summary>
public sealed class WorkloadOwnershipTests
{
    private static Dictionary<string, string> Map(params (string Key, string Value)[] pairs) => pairs.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);

    [Fact]
    public void Argo_cd_tracking_annotation_names_the_application()
    {
        var owner = WorkloadOwnership.Detect(
            Map(("app", "storefront-web"), ("app.kubernetes.io/instance", "storefront-prod")),
            Map(("argocd.argoproj.io/tracking-id", "storefront-prod:apps/Deployment:storefront/storefront-web"), ("deployment.kubernetes.io/revision", "1")),
            null);

        Assert.Equal(new WorkloadOwner(OwnerTool.ArgoCd, "storefront-prod", null, "annotation argocd.argoproj.io/tracking-id=storefront-prod:apps/Deployment:storefront/storefront-web"), owner);
        Assert.Equal("Argo CD application storefront-prod", owner!.Describe());
        Assert.Contains("next sync", owner.WhatAPatchDoes(), StringComparison.Ordinal);
    }

    [Fact]
    public void Flux_helm_release_labels_win_over_the_helm_annotations_it_also_writes()
    {
        var owner = WorkloadOwnership.Detect(
            Map(("app.kubernetes.io/managed-by", "Helm"), ("helm.toolkit.fluxcd.io/name", "recommendations"), ("helm.toolkit.fluxcd.io/namespace", "ml"), ("app.kubernetes.io/instance", "recommendations")),
            Map(("meta.helm.sh/release-name", "recommendations"), ("meta.helm.sh/release-namespace", "ml")),
            null);

        Assert.Equal(OwnerTool.FluxHelmRelease, owner!.Tool);
        Assert.Equal("Flux HelmRelease ml/recommendations", owner.Describe());
        Assert.Contains("drifts from its chart", owner.WhatAPatchDoes(), StringComparison.Ordinal);
    }

    [Fact]
    public void Flux_kustomization_labels_name_the_kustomization()
    {
        var owner = WorkloadOwnership.Detect(Map(("kustomize.toolkit.fluxcd.io/name", "apps"), ("kustomize.toolkit.fluxcd.io/namespace", "flux-system")), null, null);

        Assert.Equal("Flux Kustomization flux-system/apps", owner!.Describe());
    }

    [Fact]
    public void A_helm_release_is_read_from_helms_own_annotations_not_from_its_instance_label()
    {
        var owner = WorkloadOwnership.Detect(
            Map(("app.kubernetes.io/managed-by", "Helm"), ("app.kubernetes.io/instance", "payments-api"), ("helm.sh/chart", "payments-api-1.8.0")),
            Map(("meta.helm.sh/release-name", "payments-api"), ("meta.helm.sh/release-namespace", "payments")),
            null);

        Assert.Equal(new WorkloadOwner(OwnerTool.Helm, "payments-api", "payments", "annotation meta.helm.sh/release-name=payments-api"), owner);
        Assert.Contains("`helm upgrade`", owner!.WhatAPatchDoes(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_instance_label_alone_is_only_maybe_argo_cd()
    {
        var owner = WorkloadOwnership.Detect(Map(("app.kubernetes.io/instance", "web")), null, null);

        Assert.Equal(OwnerTool.ArgoCd, owner!.Tool);
        Assert.False(owner.Certain);
        Assert.Null(WorkloadOwnership.Detect(Map(("app.kubernetes.io/instance", "web"), ("app.kubernetes.io/managed-by", "Helm")), null, null));
    }

    [Fact]
    public void A_rollout_or_an_operator_as_controller_owner_comes_first_and_built_in_owners_are_nobody_else()
    {
        var rollout = WorkloadOwnership.Detect(null, null, new ControllerRef("argoproj.io/v1alpha1", "Rollout", "checkout"));
        var operatorOwned = WorkloadOwnership.Detect(Map(("app.kubernetes.io/instance", "k8s")), null, new ControllerRef("monitoring.coreos.com/v1", "Prometheus", "k8s"));

        Assert.Equal("Argo Rollouts Rollout checkout", rollout!.Describe());
        Assert.Equal("Prometheus k8s", operatorOwned!.Describe());
        Assert.Equal("controller owner Prometheus k8s (monitoring.coreos.com/v1)", operatorOwned.Evidence);
        Assert.Contains("change Prometheus k8s instead", operatorOwned.WhatAPatchDoes(), StringComparison.Ordinal);
        Assert.Null(WorkloadOwnership.Detect(null, null, new ControllerRef("apps/v1", "Deployment", "web")));
        Assert.Null(WorkloadOwnership.Detect(Map(("app", "web")), Map(("deployment.kubernetes.io/revision", "3")), null));
    }

    [Fact]
    public void Names_from_the_cluster_keep_only_the_characters_of_kubernetes_names()
    {
        var owner = WorkloadOwnership.Detect(null, Map(("argocd.argoproj.io/tracking-id", "evil\n`rm -rf`<!here>:apps/Deployment:shop/web")), null);

        Assert.Equal("evilrm-rfhere", owner!.Name);
        Assert.DoesNotContain('\n', owner.Evidence);
    }
}
