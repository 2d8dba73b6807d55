using ChatOpsPull.Core.Failures;
using k8s.Models;

namespace ChatOpsPull.Detection.KubernetesWatch;

/// <summary>
/// The parts of a pod the watcher reads: who it is, where it runs, its controller, the names of its ServiceAccount and
/// pull secrets, and the containers that wait on a pull. The watcher reads it straight from the API's JSON (<see cref="PodJson"/>), so a healthy pod costs a few strings
/// while its page is read and nothing after; <see cref="From"/> gives the same from a full <see cref="V1Pod"/>.
/// </summary>
/// <param name="Controller">The owner reference with <c>controller: true</c>, the only one the owner walk follows.</param>
/// <param name="Failing">Waiting containers with a pull reason, in init, regular, ephemeral order (<see cref="PodPullState.FailingContainers"/>).</param>
public sealed record WatchedPod(
    string? Uid,
    string Namespace,
    string Name,
    string? ResourceVersion,
    string? NodeName,
    V1OwnerReference? Controller,
    IReadOnlyList<ContainerPullState> Failing)
{
    /// <summary>spec.serviceAccountName as the pod has it (null when absent).</summary>
    public string? ServiceAccountName { get; init; }

    /// <summary>The names in spec.imagePullSecrets, as listed (null when the pod lists none). Names only.</summary>
    public IReadOnlyList<string>? ImagePullSecrets { get; init; }

    public static WatchedPod From(V1Pod pod) => new(
        pod.Metadata?.Uid,
        pod.Metadata?.NamespaceProperty ?? string.Empty,
        pod.Metadata?.Name ?? string.Empty,
        pod.Metadata?.ResourceVersion,
        pod.Spec?.NodeName,
        pod.Metadata?.OwnerReferences?.FirstOrDefault(o => o.Controller == true),
        PodPullState.FailingContainers(pod))
    {
        ServiceAccountName = pod.Spec?.ServiceAccountName,
        ImagePullSecrets = pod.Spec?.ImagePullSecrets is { Count: > 0 } secrets ? [.. secrets.Select(s => s.Name)] : null,
    };
}
