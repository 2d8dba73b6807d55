using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Nodes;
using ChatOpsPull.Core.Images;
using k8s.Models;

namespace ChatOpsPull.Prevention;

/// <summary>One container's image as a pod spec writes it.</summary>
/// <param name="Init">An init container.</param>
public sealed record ContainerImage(string Container, string Image, bool Init);

/// <summary>
/// What a pod spec (a Pod's, or a workload's pod template) says about pulling its images: the containers' images, the pull
/// secrets it names, its ServiceAccount and the platforms its node selector or required node affinity pins it to.
/// Read from the API's JSON (admission reviews) or from a <see cref="V1Pod"/> (the sweep); anything of the wrong shape is
/// left out, never trusted.
/// </summary>
/// <param name="ServiceAccount">spec.serviceAccountName, or "default".</param>
/// <param name="PullSecrets">spec.imagePullSecrets names, in order, without duplicates.</param>
/// <param name="Platforms">The platforms the pod may run on when its spec says (kubernetes.io/arch and os); empty when it does not.</param>
/// <param name="ControllerOwned">The object has an owner reference with controller=true (a ReplicaSet's pod, a CronJob's Job).</param>
public sealed record PodTemplate(
    string ServiceAccount,
    IReadOnlyList<string> PullSecrets,
    IReadOnlyList<ContainerImage> Containers,
    IReadOnlyList<Platform> Platforms,
    bool ControllerOwned)
{
    private const string ArchLabel = "kubernetes.io/arch";
    private const string OsLabel = "kubernetes.io/os";

    /// <summary>The kinds the check reads, by API group and kind, with the path from the object to its pod spec.</summary>
    private static readonly Dictionary<(string Group, string Kind), string[]> SpecPaths = new()
    {
        [(string.Empty, "Pod")] = ["spec"],
        [("apps", "Deployment")] = ["spec", "template", "spec"],
        [("apps", "StatefulSet")] = ["spec", "template", "spec"],
        [("apps", "DaemonSet")] = ["spec", "template", "spec"],
        [("apps", "ReplicaSet")] = ["spec", "template", "spec"],
        [("batch", "Job")] = ["spec", "template", "spec"],
        [("batch", "CronJob")] = ["spec", "jobTemplate", "spec", "template", "spec"],
    };

    /// <summary>True for the kinds whose pods the check looks at.</summary>
    public static bool IsChecked(string group, string kind) => SpecPaths.ContainsKey((group, kind));

    /// <summary>Reads the pod spec of <paramref name="obj"/>, an object of kind <paramref name="kind"/> in API group <paramref name="group"/>.</summary>
    public static bool TryRead(string group, string kind, JsonNode? obj, [NotNullWhen(true)] out PodTemplate? template)
    {
        template = null;
        if (!SpecPaths.TryGetValue((group, kind), out var path) || obj is not JsonObject root)
        {
            return false;
        }

        JsonNode? node = root;
        foreach (var segment in path)
        {
            node = (node as JsonObject)?[segment];
        }

        if (node is not JsonObject spec)
        {
            return false;
        }

        var containers = new List<ContainerImage>();
        foreach (var (field, init) in new[] { ("initContainers", true), ("containers", false) })
        {
            foreach (var container in (spec[field] as JsonArray ?? []).OfType<JsonObject>())
            {
                if (Text(container["name"]) is { } name && Text(container["image"]) is { } image)
                {
                    containers.Add(new ContainerImage(name, image, init));
                }
            }
        }

        var secrets = (spec["imagePullSecrets"] as JsonArray ?? []).OfType<JsonObject>().Select(s => Text(s["name"])).OfType<string>().Where(n => n.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        var selector = (spec["nodeSelector"] as JsonObject ?? []).Where(p => Text(p.Value) is not null).ToDictionary(p => p.Key, p => Text(p.Value)!, StringComparer.Ordinal);
        var terms = ((spec["affinity"] as JsonObject)?["nodeAffinity"] as JsonObject)?["requiredDuringSchedulingIgnoredDuringExecution"] is JsonObject required
            ? (required["nodeSelectorTerms"] as JsonArray ?? []).OfType<JsonObject>()
                .Select(t => (t["matchExpressions"] as JsonArray ?? []).OfType<JsonObject>()
                    .Select(e => (Key: Text(e["key"]), Operator: Text(e["operator"]), Values: (e["values"] as JsonArray ?? []).Select(Text).OfType<string>().ToList()))
                    .ToList())
                .ToList()
            : [];
        var owned = ((root["metadata"] as JsonObject)?["ownerReferences"] as JsonArray ?? []).OfType<JsonObject>()
            .Any(o => o["controller"] is JsonValue v && v.GetValueKind() == JsonValueKind.True);
        template = new PodTemplate(
            Text(spec["serviceAccountName"]) is { Length: > 0 } account ? account : "default",
            secrets,
            containers,
            PinnedPlatforms(selector, terms),
            owned);
        return true;
    }

    /// <summary>A running pod as the sweep lists it.</summary>
    public static PodTemplate FromPod(V1Pod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var spec = pod.Spec;
        var containers = (spec?.InitContainers ?? []).Where(c => !string.IsNullOrEmpty(c.Image)).Select(c => new ContainerImage(c.Name, c.Image, true))
            .Concat((spec?.Containers ?? []).Where(c => !string.IsNullOrEmpty(c.Image)).Select(c => new ContainerImage(c.Name, c.Image, false)))
            .ToList();
        var secrets = (spec?.ImagePullSecrets ?? []).Select(r => r.Name).Where(n => !string.IsNullOrEmpty(n)).Distinct(StringComparer.Ordinal).ToList();
        var selector = spec?.NodeSelector is { } s ? new Dictionary<string, string>(s, StringComparer.Ordinal) : [];
        var terms = (spec?.Affinity?.NodeAffinity?.RequiredDuringSchedulingIgnoredDuringExecution?.NodeSelectorTerms ?? [])
            .Select(t => (t.MatchExpressions ?? []).Select(e => ((string?)e.Key, (string?)e.OperatorProperty, (List<string>)[.. e.Values ?? []])).ToList())
            .ToList();
        return new PodTemplate(
            string.IsNullOrEmpty(spec?.ServiceAccountName) ? "default" : spec.ServiceAccountName,
            secrets,
            containers,
            PinnedPlatforms(selector, terms),
            pod.Metadata?.OwnerReferences?.Any(o => o.Controller == true) == true);
    }

    /// <summary>
    /// The platforms a node selector or required node affinity pins the pod to: kubernetes.io/arch from the selector, or
    /// the union of In values when every required term constrains it; kubernetes.io/os from the selector (linux otherwise).
    /// </summary>
    private static List<Platform> PinnedPlatforms(Dictionary<string, string> selector, List<List<(string? Key, string? Operator, List<string> Values)>> terms)
    {
        var os = selector.TryGetValue(OsLabel, out var selectedOs) ? selectedOs : "linux";
        List<string> archs;
        if (selector.TryGetValue(ArchLabel, out var arch))
        {
            archs = [arch];
        }
        else if (terms.Count > 0 && terms.All(t => t.Any(e => e.Key == ArchLabel && e.Operator == "In" && e.Values.Count > 0)))
        {
            archs = terms.SelectMany(t => t.Where(e => e.Key == ArchLabel && e.Operator == "In").SelectMany(e => e.Values)).Distinct(StringComparer.Ordinal).ToList();
        }
        else
        {
            return [];
        }

        var platforms = new List<Platform>();
        foreach (var a in archs)
        {
            if (Platform.TryParse($"{os}/{a}", out var platform, out _) && !platforms.Contains(platform))
            {
                platforms.Add(platform);
            }
        }

        return platforms;
    }

    private static string? Text(JsonNode? node) =>
        node is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;
}
