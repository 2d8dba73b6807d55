namespace ChatOpsPull.Core.Remediation;

/// <summary>The tools that declare a workload somewhere else and put their declaration back.</summary>
public enum OwnerTool
{
    /// <summary>An Argo CD Application (tracking annotation, or its instance label).</summary>
    ArgoCd,

    /// <summary>A Flux Kustomization (kustomize-controller labels).</summary>
    FluxKustomization,

    /// <summary>A Flux HelmRelease (helm-controller labels).</summary>
    FluxHelmRelease,

    /// <summary>A Helm release installed by the helm CLI (meta.helm.sh annotations).</summary>
    Helm,

    /// <summary>An Argo Rollouts Rollout, which owns its ReplicaSets.</summary>
    ArgoRollouts,

    /// <summary>Any other controller named as the workload's controller owner (an operator's custom resource).</summary>
    Controller,
}

/// <summary>
/// Who owns a workload besides Kubernetes: a patch by the bot is undone by that tool or makes the workload drift from
/// what it declares. <paramref name="Evidence"/> is what on the object says so (shown on the card).
/// </summary>
/// <param name="Name">The Application, Kustomization, HelmRelease, release or controller object's name.</param>
/// <param name="Namespace">Its namespace where the object says it, or null.</param>
/// <param name="Kind">The controller's kind for <see cref="OwnerTool.Controller"/> ("Prometheus"; its API version is in the evidence).</param>
/// <param name="Certain">False when only a label other tools also set points at it (Argo CD's label tracking).</param>
public sealed record WorkloadOwner(OwnerTool Tool, string Name, string? Namespace, string Evidence, string? Kind = null, bool Certain = true)
{
    /// <summary>"Argo CD application storefront-prod", "Flux HelmRelease ml/recommendations".</summary>
    public string Describe()
    {
        var qualified = Namespace is null ? Name : $"{Namespace}/{Name}";
        return Tool switch
        {
            OwnerTool.ArgoCd => $"Argo CD application {Name}",
            OwnerTool.FluxKustomization => $"Flux Kustomization {qualified}",
            OwnerTool.FluxHelmRelease => $"Flux HelmRelease {qualified}",
            OwnerTool.Helm => $"Helm release {qualified}",
            OwnerTool.ArgoRollouts => $"Argo Rollouts Rollout {Name}",
            OwnerTool.Controller => $"{Kind ?? "controller"} {Name}",
            _ => throw new ArgumentOutOfRangeException(nameof(Tool), Tool, "unknown owner tool"),
        };
    }

    /// <summary>The short name of the tool, for button labels ("Argo CD", "Flux", "Helm").</summary>
    public string ToolName => Tool switch
    {
        OwnerTool.ArgoCd => "Argo CD",
        OwnerTool.FluxKustomization or OwnerTool.FluxHelmRelease => "Flux",
        OwnerTool.Helm => "Helm",
        OwnerTool.ArgoRollouts => "Argo Rollouts",
        OwnerTool.Controller => KindName,
        _ => throw new ArgumentOutOfRangeException(nameof(Tool), Tool, "unknown owner tool"),
    };

    /// <summary>What becomes of a change the bot makes to the workload's spec, one or two sentences.</summary>
    public string WhatAPatchDoes() => Tool switch
    {
        OwnerTool.ArgoCd => "Argo CD puts the declared spec back at its next sync (at once with self-heal) or shows the application OutOfSync until someone syncs; make the same change in Git.",
        OwnerTool.FluxKustomization => "Flux applies the manifests from its source again at its next reconciliation and undoes the change; make the same change in Git.",
        OwnerTool.FluxHelmRelease => "the workload drifts from its chart: Flux's helm-controller corrects the drift when drift detection is on, and the next upgrade does in any case; change the HelmRelease's values.",
        OwnerTool.Helm => "the workload drifts from its chart until the next `helm upgrade`, which puts the chart's values back; change the release's values.",
        OwnerTool.ArgoRollouts => $"the Rollout controller owns its ReplicaSets and undoes changes to them; change Rollout {Name} instead.",
        OwnerTool.Controller => $"its controller reconciles the workload and may undo the change at any time; change {KindName} {Name} instead.",
        _ => throw new ArgumentOutOfRangeException(nameof(Tool), Tool, "unknown owner tool"),
    };

    /// <summary>
    /// True when the owner is a controller that reconciles the workload object itself (an operator's resource, an Argo
    /// Rollouts Rollout): it puts its own pod template back at once, so the bot offers no change to that template at all
    /// (no "… anyway"), whatever Approvals:ManagedWorkloads says.
    /// </summary>
    public bool ReconcilesTemplate => Tool is OwnerTool.Controller or OwnerTool.ArgoRollouts;

    private string KindName => Kind ?? "its controller";
}

/// <summary>A workload's controller owner reference (<c>metadata.ownerReferences</c> with <c>controller: true</c>).</summary>
public sealed record ControllerRef(string ApiVersion, string Kind, string Name)
{
    /// <summary>The API group: "" for v1, "apps" for apps/v1.</summary>
    public string Group => ApiVersion.IndexOf('/', StringComparison.Ordinal) is var slash and > 0 ? ApiVersion[..slash] : string.Empty;

    /// <summary>A Kubernetes controller's kind in its own group (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob, ReplicationController).</summary>
    public bool IsBuiltIn => (Group, Kind) is ("apps", "Deployment" or "ReplicaSet" or "StatefulSet" or "DaemonSet") or ("batch", "Job" or "CronJob") or ("", "ReplicationController" or "Node");
}

/// <summary>
/// Reads from a workload's labels, annotations and controller owner which tool owns it. Pure. The order: a controller
/// owner that is not Kubernetes' own (an Argo Rollouts Rollout, an operator's resource) reconciles the object itself, so
/// it comes first; then Argo CD's tracking annotation; Flux's helm-controller and kustomize-controller labels (a Flux
/// HelmRelease also carries Helm's annotations); Argo CD's custom instance label; Helm's release annotations; and last
/// the app.kubernetes.io/instance label, which Argo CD's label tracking sets but Helm charts and others set too.
/// </summary>
public static class WorkloadOwnership
{
    public const string ArgoCdTrackingAnnotation = "argocd.argoproj.io/tracking-id";
    public const string ArgoCdInstanceLabel = "argocd.argoproj.io/instance";
    public const string InstanceLabel = "app.kubernetes.io/instance";
    public const string FluxKustomizationName = "kustomize.toolkit.fluxcd.io/name";
    public const string FluxKustomizationNamespace = "kustomize.toolkit.fluxcd.io/namespace";
    public const string FluxHelmReleaseName = "helm.toolkit.fluxcd.io/name";
    public const string FluxHelmReleaseNamespace = "helm.toolkit.fluxcd.io/namespace";
    public const string HelmReleaseName = "meta.helm.sh/release-name";
    public const string HelmReleaseNamespace = "meta.helm.sh/release-namespace";
    public const string ManagedByLabel = "app.kubernetes.io/managed-by";

    public static WorkloadOwner? Detect(IReadOnlyDictionary<string, string>? labels, IReadOnlyDictionary<string, string>? annotations, ControllerRef? controller)
    {
        labels ??= new Dictionary<string, string>();
        annotations ??= new Dictionary<string, string>();
        if (controller is { IsBuiltIn: false })
        {
            return controller is { Group: "argoproj.io", Kind: "Rollout" }
                ? new WorkloadOwner(OwnerTool.ArgoRollouts, Clean(controller.Name), null, $"controller owner Rollout {Clean(controller.Name)} ({Clean(controller.ApiVersion)})")
                : new WorkloadOwner(OwnerTool.Controller, Clean(controller.Name), null, $"controller owner {Clean(controller.Kind)} {Clean(controller.Name)} ({Clean(controller.ApiVersion)})", Clean(controller.Kind));
        }

        if (annotations.TryGetValue(ArgoCdTrackingAnnotation, out var tracking) && tracking.Length > 0)
        {
            // "<application>:<group>/<kind>:<namespace>/<name>"; an application in another namespace is "<namespace>_<application>".
            var application = Clean(tracking.Split(':')[0]);
            return new WorkloadOwner(OwnerTool.ArgoCd, application, null, $"annotation {ArgoCdTrackingAnnotation}={Clean(tracking)}");
        }

        if (labels.TryGetValue(FluxHelmReleaseName, out var release) && release.Length > 0)
        {
            return new WorkloadOwner(OwnerTool.FluxHelmRelease, Clean(release), Value(labels, FluxHelmReleaseNamespace), $"label {FluxHelmReleaseName}={Clean(release)}");
        }

        if (labels.TryGetValue(FluxKustomizationName, out var kustomization) && kustomization.Length > 0)
        {
            return new WorkloadOwner(OwnerTool.FluxKustomization, Clean(kustomization), Value(labels, FluxKustomizationNamespace), $"label {FluxKustomizationName}={Clean(kustomization)}");
        }

        if (labels.TryGetValue(ArgoCdInstanceLabel, out var argoInstance) && argoInstance.Length > 0)
        {
            return new WorkloadOwner(OwnerTool.ArgoCd, Clean(argoInstance), null, $"label {ArgoCdInstanceLabel}={Clean(argoInstance)}");
        }

        if (annotations.TryGetValue(HelmReleaseName, out var helmRelease) && helmRelease.Length > 0)
        {
            return new WorkloadOwner(OwnerTool.Helm, Clean(helmRelease), Value(annotations, HelmReleaseNamespace), $"annotation {HelmReleaseName}={Clean(helmRelease)}");
        }

        var helmLabelled = labels.TryGetValue(ManagedByLabel, out var managedBy) && managedBy == "Helm";
        if (!helmLabelled && labels.TryGetValue(InstanceLabel, out var instance) && instance.Length > 0)
        {
            return new WorkloadOwner(OwnerTool.ArgoCd, Clean(instance), null, $"label {InstanceLabel}={Clean(instance)} (Argo CD's label tracking; other tools set this label too)", Certain: false);
        }

        return null;
    }

    private static string? Value(IReadOnlyDictionary<string, string> map, string key) =>
        map.TryGetValue(key, out var value) && value.Length > 0 ? Clean(value) : null;

    /// <summary>
    /// Labels, annotations and owner names come from the cluster, not from the bot: only the characters of Kubernetes
    /// names (and Argo CD's "namespace_app") are kept, cut to 253, so no markup or line break reaches a card or a command.
    /// </summary>
    public static string Clean(string value)
    {
        var kept = new string(value.Where(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or '/' or ':').Take(253).ToArray());
        return kept.Length == 0 ? "(unnamed)" : kept;
    }
}
