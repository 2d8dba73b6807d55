using k8s.Models;

namespace ChatOpsPull.Kubernetes;

/// <summary>The workload a pod belongs to, read from the pod alone (no API call).</summary>
public static class PodWorkload
{
    /// <summary>
    /// ("Deployment", "api") for a pod of a Deployment's ReplicaSet (its name minus the pod-template-hash), the controller's
    /// kind and name for other controllers, ("Pod", name) for bare pods; a Job named like a CronJob's run
    /// ("backup-29012345", minutes since 1970) counts as its CronJob.
    /// </summary>
    public static (string Kind, string Name) Of(V1Pod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var owner = pod.Metadata.OwnerReferences?.FirstOrDefault(o => o.Controller == true);
        if (owner is null)
        {
            return ("Pod", pod.Metadata.Name);
        }

        if (owner.Kind == "ReplicaSet"
            && pod.Metadata.Labels?.TryGetValue("pod-template-hash", out var hash) == true
            && owner.Name.EndsWith("-" + hash, StringComparison.Ordinal))
        {
            return ("Deployment", owner.Name[..^(hash.Length + 1)]);
        }

        if (owner.Kind == "Job" && owner.Name.LastIndexOf('-') is var dash and > 0 && owner.Name.Length - dash - 1 >= 8 && owner.Name[(dash + 1)..].All(char.IsAsciiDigit))
        {
            return ("CronJob", owner.Name[..dash]);
        }

        return (owner.Kind, owner.Name);
    }
}
