using System.Text.RegularExpressions;
using ChatOpsPull.Core.Failures;
using k8s.Models;

namespace ChatOpsPull.Detection.KubernetesWatch;

/// <summary>One container of a pod waiting on a pull reason, read from the pod status and spec.</summary>
/// <param name="Image">The image as written in the pod spec (the status may show a resolved form).</param>
public sealed record ContainerPullState(string Container, ContainerKind Kind, string Image, string Reason, string StatusMessage, string? PullPolicy);

/// <summary>Reads pull failures out of pod objects and kubelet event messages.</summary>
public static partial class PodPullState
{
    /// <summary>Waiting containers with a pull reason, in containerStatuses, initContainerStatuses and ephemeralContainerStatuses.</summary>
    public static IReadOnlyList<ContainerPullState> FailingContainers(V1Pod pod)
    {
        var status = pod.Status;
        if (status is null)
        {
            return [];
        }

        List<ContainerPullState>? failing = null;
        Collect(status.InitContainerStatuses, ContainerKind.Init, pod, ref failing);
        Collect(status.ContainerStatuses, ContainerKind.Regular, pod, ref failing);
        Collect(status.EphemeralContainerStatuses, ContainerKind.Ephemeral, pod, ref failing);
        return failing is null ? [] : failing;
    }

    /// <summary>True when the pod's Ready condition is True.</summary>
    public static bool IsReady(V1Pod pod) =>
        pod.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;

    /// <summary>"spec.containers{web}" → (Regular, "web").</summary>
    public static bool TryParseFieldPath(string? fieldPath, out ContainerKind kind, out string container)
    {
        kind = ContainerKind.Regular;
        container = string.Empty;
        if (string.IsNullOrEmpty(fieldPath))
        {
            return false;
        }

        var match = FieldPathRegex().Match(fieldPath);
        if (!match.Success)
        {
            return false;
        }

        kind = match.Groups[1].Value switch
        {
            "initContainers" => ContainerKind.Init,
            "ephemeralContainers" => ContainerKind.Ephemeral,
            _ => ContainerKind.Regular,
        };
        container = match.Groups[2].Value;
        return true;
    }

    /// <summary>
    /// True for a message that carries the runtime's own words. A bare "Back-off pulling image \"x\"" and
    /// "Error: ErrImagePull" only repeat the reason; kubelet 1.32+ appends the last pull error to the back-off
    /// ("Back-off pulling image \"x\": ErrImagePull: …"), and that one carries it.
    /// </summary>
    public static bool IsRuntimeMessage(string? message)
    {
        if (string.IsNullOrWhiteSpace(message) || ReasonOnlyRegex().IsMatch(message))
        {
            return false;
        }

        const string backOff = "Back-off pulling image";
        if (!message.StartsWith(backOff, StringComparison.Ordinal))
        {
            return true;
        }

        var image = ImageInMessage(message);
        var rest = image is null ? string.Empty : message[(message.IndexOf(image, StringComparison.Ordinal) + image.Length + 1)..];
        return rest.TrimStart(':', ' ').Length > 0;
    }

    /// <summary>
    /// True for a kubelet Warning event about pulling: Failed ("Failed to pull image …", "Failed to inspect image …",
    /// "Failed to apply default image tag …"), BackOff ("Back-off pulling image …"), InspectFailed, ErrImageNeverPull.
    /// Other Failed/BackOff events (container start errors, crash loops) are not about pulls.
    /// </summary>
    public static bool IsPullWarning(string? reason, string? message)
    {
        message ??= string.Empty;
        return reason switch
        {
            "Failed" => message.StartsWith("Failed to pull image", StringComparison.Ordinal)
                || message.StartsWith("Failed to inspect image", StringComparison.Ordinal)
                || message.StartsWith("Failed to apply default image tag", StringComparison.Ordinal),
            "BackOff" => message.StartsWith("Back-off pulling image", StringComparison.Ordinal),
            "InspectFailed" or "ErrImageNeverPull" => true,
            _ => false,
        };
    }

    /// <summary>The image a kubelet message is about: <c>Failed to pull image "nginx:1.99": …</c> → nginx:1.99.</summary>
    public static string? ImageInMessage(string? message)
    {
        if (string.IsNullOrEmpty(message))
        {
            return null;
        }

        var match = QuotedImageRegex().Match(message);
        return match.Success ? match.Groups[1].Value : null;
    }

    private static void Collect(IList<V1ContainerStatus>? statuses, ContainerKind kind, V1Pod pod, ref List<ContainerPullState>? failing)
    {
        if (statuses is null)
        {
            return;
        }

        foreach (var s in statuses)
        {
            var waiting = s.State?.Waiting;
            if (waiting?.Reason is null || !PullFailure.PullReasons.Contains(waiting.Reason))
            {
                continue;
            }

            var (image, policy) = Spec(pod.Spec, kind, s.Name);
            failing ??= [];
            failing.Add(new ContainerPullState(s.Name, kind, image ?? s.Image ?? string.Empty, waiting.Reason, waiting.Message ?? string.Empty, policy));
        }
    }

    private static (string? Image, string? PullPolicy) Spec(V1PodSpec? spec, ContainerKind kind, string name)
    {
        if (spec is null)
        {
            return (null, null);
        }

        switch (kind)
        {
            case ContainerKind.Regular:
                var c = spec.Containers?.FirstOrDefault(x => x.Name == name);
                return (c?.Image, c?.ImagePullPolicy);
            case ContainerKind.Init:
                var i = spec.InitContainers?.FirstOrDefault(x => x.Name == name);
                return (i?.Image, i?.ImagePullPolicy);
            case ContainerKind.Ephemeral:
                var e = spec.EphemeralContainers?.FirstOrDefault(x => x.Name == name);
                return (e?.Image, e?.ImagePullPolicy);
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown container kind");
        }
    }

    [GeneratedRegex(@"^spec\.(containers|initContainers|ephemeralContainers)\{([^}]+)\}$", RegexOptions.CultureInvariant)]
    private static partial Regex FieldPathRegex();

    [GeneratedRegex(@"^Error: [A-Za-z]+$", RegexOptions.CultureInvariant)]
    private static partial Regex ReasonOnlyRegex();

    [GeneratedRegex("image \"([^\"]+)\"", RegexOptions.CultureInvariant)]
    private static partial Regex QuotedImageRegex();
}
