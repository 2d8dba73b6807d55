using k8s;
using k8s.Autorest;
using k8s.Models;

namespace ChatOpsPull.Kubernetes;

/// <summary>What a node says about itself that matters for pulls: platform and disk.</summary>
/// <param name="Os">The kubernetes.io/os label, else nodeInfo.operatingSystem.</param>
/// <param name="Arch">The kubernetes.io/arch label, else nodeInfo.architecture.</param>
/// <param name="DiskPressure">The DiskPressure condition's status ("True", "False", "Unknown"), or null when absent.</param>
public sealed record NodeFacts(
    string Name,
    string? Os,
    string? Arch,
    string? ContainerRuntime,
    string? KubeletVersion,
    string? DiskPressure,
    string? DiskPressureMessage)
{
    /// <summary>spec.providerID ("aws:///eu-west-1a/i-0abc…", "gce://…", "azure://…"), or null.</summary>
    public string? ProviderId { get; init; }

    /// <summary>Every name of every image the node's status lists (kubelet reports at most nodeStatusMaxImages, 50 by default).</summary>
    public IReadOnlySet<string> Images { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>How many images the status lists (to tell "not listed" from "not on the node": a full list may be cut).</summary>
    public int ImagesListed { get; init; }

    public bool UnderDiskPressure => string.Equals(DiskPressure, "True", StringComparison.Ordinal);

    /// <summary>"linux/amd64", the platform string an image index is matched against.</summary>
    public string? Platform => Os is null || Arch is null ? null : $"{Os}/{Arch}";
}

/// <summary>A node lookup: facts, or why there are none.</summary>
public sealed record NodeReport(string? NodeName, NodeFacts? Facts, string? Note);

/// <summary>
/// Reads the node a pod was scheduled to. A storm's pods share a few nodes: a read of the same node in flight, sent after
/// the caller began, answers it too (<see cref="SharedReads"/>).
/// </summary>
public sealed class NodeInspector
{
    private readonly IKubernetes _client;
    private readonly SharedReads _reads;

    public NodeInspector(IKubernetes client, SharedReads? reads = null)
    {
        _client = client;
        _reads = reads ?? new SharedReads();
    }

    public Task<NodeReport> InspectAsync(string? nodeName, CancellationToken cancellationToken) =>
        InspectAsync(nodeName, SharedReads.Now(), cancellationToken);

    /// <param name="notBefore">When the caller's inspection began: the oldest read of the node it accepts.</param>
    public async Task<NodeReport> InspectAsync(string? nodeName, long notBefore, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(nodeName))
        {
            return new NodeReport(null, null, "the pod is not scheduled to a node yet");
        }

        try
        {
            var node = await _reads.ReadAsync($"node//{nodeName}", notBefore, () => _client.CoreV1.ReadNodeAsync(nodeName), cancellationToken).ConfigureAwait(false);
            return new NodeReport(nodeName, Facts(node), null);
        }
        catch (HttpOperationException e)
        {
            var error = ApiError.From(e);
            var note = error.IsForbidden
                ? "the bot may not read nodes: grant get on nodes (cluster scope)"
                : error.IsNotFound ? $"node {nodeName} no longer exists" : error.Message;
            return new NodeReport(nodeName, null, note);
        }
    }

    public static NodeFacts Facts(V1Node node)
    {
        var labels = node.Metadata.Labels ?? new Dictionary<string, string>();
        var info = node.Status?.NodeInfo;
        var disk = node.Status?.Conditions?.FirstOrDefault(c => c.Type == "DiskPressure");
        return new NodeFacts(
            node.Metadata.Name,
            labels.TryGetValue("kubernetes.io/os", out var os) ? os : info?.OperatingSystem,
            labels.TryGetValue("kubernetes.io/arch", out var arch) ? arch : info?.Architecture,
            info?.ContainerRuntimeVersion,
            info?.KubeletVersion,
            disk?.Status,
            disk?.Message)
        {
            ProviderId = node.Spec?.ProviderID,
            Images = (node.Status?.Images ?? []).SelectMany(i => i.Names ?? []).ToHashSet(StringComparer.Ordinal),
            ImagesListed = node.Status?.Images?.Count ?? 0,
        };
    }
}
