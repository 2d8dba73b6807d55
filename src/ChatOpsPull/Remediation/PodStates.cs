using k8s.Models;

namespace ChatOpsPull.Remediation;

/// <summary>What a pod's status says, for remediation: stuck pulling, Ready, or waiting on something.</summary>
public static class PodStates
{
    /// <summary>Waiting reasons of a container kubelet keeps retrying to pull; deleting the pod makes it pull at once.</summary>
    public static readonly IReadOnlySet<string> PullBackoffReasons = new HashSet<string>(StringComparer.Ordinal) { "ErrImagePull", "ImagePullBackOff" };

    /// <summary>The first container (init or regular) still waiting with a pull reason, or null.</summary>
    public static V1ContainerStatus? StuckPulling(V1Pod pod) =>
        Statuses(pod).FirstOrDefault(s => s.State?.Waiting?.Reason is { } reason && PullBackoffReasons.Contains(reason));

    public static bool IsReady(V1Pod pod) =>
        pod.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;

    public static bool IsSucceeded(V1Pod pod) => pod.Status?.Phase == "Succeeded";

    /// <summary>"api-7d9c-x2x4p: ImagePullBackOff (Back-off pulling image …)", or the phase when no container says more.</summary>
    public static string Describe(V1Pod pod)
    {
        var waiting = Statuses(pod).FirstOrDefault(s => s.State?.Waiting is not null)?.State.Waiting;
        if (waiting is not null)
        {
            var message = string.IsNullOrEmpty(waiting.Message) ? string.Empty : $" ({Cut(waiting.Message, 140)})";
            return $"{pod.Metadata.Name}: {waiting.Reason}{message}";
        }

        return $"{pod.Metadata.Name}: {pod.Status?.Phase ?? "Pending"}, not Ready";
    }

    private static IEnumerable<V1ContainerStatus> Statuses(V1Pod pod) =>
        (pod.Status?.InitContainerStatuses ?? []).Concat(pod.Status?.ContainerStatuses ?? []);

    private static string Cut(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";
}
