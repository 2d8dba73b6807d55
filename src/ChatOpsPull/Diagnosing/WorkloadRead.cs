using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Kubernetes;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace ChatOpsPull.Diagnosing;

/// <summary>
/// The workload at the top of a pod's owner chain, read once for a diagnosis: its shape and, for a Deployment with a named
/// container, the previous revision from the namespace's ReplicaSets, listed at the same time. The read does not need the
/// pod, so a diagnosis starts it (<see cref="Start"/>) with the workload its incident names, beside the pod's own reads,
/// and uses it when the pod's owner chain ends at that workload (<see cref="Serves"/>). The diagnosis (and its start-up
/// self-check, which runs the same code) reads it here.
/// </summary>
internal sealed class WorkloadRead
{
    private readonly Task<(object? Workload, V1ReplicaSetList? Sets)?> _reads;

    private WorkloadRead(string @namespace, WorkloadRef workload, string container, Task<(object?, V1ReplicaSetList?)?> reads)
    {
        Namespace = @namespace;
        Workload = workload;
        Container = container;
        _reads = reads;
    }

    public string Namespace { get; }

    public WorkloadRef Workload { get; }

    public string Container { get; }

    /// <summary>Starts reading the workload (and, for a Deployment with a named container, the namespace's ReplicaSets) now.</summary>
    public static WorkloadRead Start(IKubernetes client, string @namespace, WorkloadRef workload, string container, CancellationToken cancellationToken) =>
        new(@namespace, workload, container, ReadAsync(client, @namespace, workload, workload.Kind == "Deployment" && container.Length > 0, cancellationToken));

    /// <summary>Whether this read is of the workload and container a diagnosis needs.</summary>
    public bool Serves(string @namespace, WorkloadRef workload, string container) =>
        Namespace == @namespace && Workload == workload && Container == container;

    /// <summary>A read started and not used (the pod's owner chain ends elsewhere): its failure, if any, is observed and dropped.</summary>
    public void Abandon() => UnusedReads.Drop(_reads);

    /// <param name="owners">The pod's owner chain, for the shape; null when the pod could not be read (no shape then).</param>
    /// <returns>Nothing when the workload or the ReplicaSets cannot be read: the diagnosis goes on without them, and the actions check again.</returns>
    public async Task<(WorkloadShape? Shape, (int Revision, string Image)? Previous)> ResultAsync(OwnerChain? owners)
    {
        if (await _reads.ConfigureAwait(false) is not var (read, sets))
        {
            return (null, null);
        }

        var shape = owners is null ? null : WorkloadShapes.Of(read, owners);
        var previous = read is V1Deployment deployment && sets is not null ? RolloutHistory.Previous(deployment, sets, Container) : null;
        return (shape, previous);
    }

    private static async Task<(object?, V1ReplicaSetList?)?> ReadAsync(IKubernetes client, string @namespace, WorkloadRef workload, bool history, CancellationToken cancellationToken)
    {
        var objectRead = WorkloadShapes.ReadWorkloadAsync(client, @namespace, workload, cancellationToken);
        var setsRead = history ? new RolloutHistory(client).ReplicaSetsAsync(@namespace, cancellationToken) : Task.FromResult<V1ReplicaSetList?>(null);
        try
        {
            await Task.WhenAll(objectRead, setsRead).ConfigureAwait(false);
        }
        catch (HttpOperationException)
        {
            return null;
        }

        return (await objectRead.ConfigureAwait(false), await setsRead.ConfigureAwait(false));
    }
}
