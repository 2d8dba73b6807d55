using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Kubernetes;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace ChatOpsPull.Diagnosing;

/// <summary>
/// The workload at the top of a pod's owner chain, read once for a diagnosis: its shape and, for a Deployment with a named
/// container, the previous revision from the namespace's ReplicaSets, listed at the same time. The diagnosis and its
/// start-up warm-up (which must run the same code) both read it here.
/// </summary>
internal static class WorkloadRead
{
    /// <param name="owners">The pod's owner chain, for the shape; null when the pod could not be read (no shape then).</param>
    /// <returns>Nothing when the workload or the ReplicaSets cannot be read: the diagnosis goes on without them, and the actions check again.</returns>
    public static async Task<(WorkloadShape? Shape, (int Revision, string Image)? Previous)> ReadAsync(
        IKubernetes client, string @namespace, WorkloadRef workload, OwnerChain? owners, string container, CancellationToken cancellationToken)
    {
        var history = workload.Kind == "Deployment" && container.Length > 0;
        var objectRead = WorkloadShapes.ReadWorkloadAsync(client, @namespace, workload, cancellationToken);
        var setsRead = history ? new RolloutHistory(client).ReplicaSetsAsync(@namespace, cancellationToken) : Task.FromResult<V1ReplicaSetList?>(null);
        try
        {
            await Task.WhenAll(objectRead, setsRead).ConfigureAwait(false);
        }
        catch (HttpOperationException)
        {
            return (null, null);
        }

        var read = await objectRead.ConfigureAwait(false);
        var sets = await setsRead.ConfigureAwait(false);
        var shape = owners is null ? null : WorkloadShapes.Of(read, owners);
        var previous = history && read is V1Deployment deployment && sets is not null ? RolloutHistory.Previous(deployment, sets, container) : null;
        return (shape, previous);
    }
}
