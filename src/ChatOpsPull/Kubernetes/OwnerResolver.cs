using System.Threading.Channels;
using ChatOpsPull.Core.Caching;
using ChatOpsPull.Core.Failures;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace ChatOpsPull.Kubernetes;

/// <summary>The pod's controllers from nearest to top: [ReplicaSet/web-5d9c7, Deployment/web].</summary>
/// <param name="Note">Why the walk stopped early (no access, owner gone), or null.</param>
public sealed record OwnerChain(IReadOnlyList<WorkloadRef> Owners, string? Note)
{
    /// <summary>The top of the chain; the pod itself for a bare pod.</summary>
    public WorkloadRef Workload => Owners[^1];

    /// <summary>The API version of the top owner's reference ("apps/v1", "argoproj.io/v1alpha1"); null for a bare pod.</summary>
    public string? WorkloadApiVersion { get; init; }

    public override string ToString() => string.Join(" → ", Owners);
}

/// <summary>
/// Walks controller ownerReferences: Pod → ReplicaSet → Deployment, Pod → Job → CronJob, Pod → StatefulSet / DaemonSet;
/// a bare pod is its own workload. Owners of ReplicaSets and Jobs are read from the API and cached by uid. A storm asks
/// for the same few owners from hundreds of pods at once: each owner is read once while the others wait for that read,
/// and at most <see cref="ReadLimit"/> reads are in flight, so a storm never opens a connection per pod (each one held
/// open, idle, long after the storm) nor floods the API server.
/// </summary>
public sealed class OwnerResolver
{
    /// <summary>The most owner reads in flight at once.</summary>
    public const int ReadLimit = 8;

    private const int CacheLimit = 4096;
    private readonly IKubernetes _client;

    /// <summary>Each owner's controller by owner key, kept until <see cref="CacheLimit"/> owners are, then all dropped; a read that failed is not kept.</summary>
    private readonly SingleFlightCache<string, V1OwnerReference?> _ownerOf =
        new(static (_, _, _) => true, CacheLimit, TimeProvider.System, StringComparer.Ordinal);

    /// <summary>One token per read that may be in flight: a read takes one and gives it back.</summary>
    private readonly Channel<bool> _readSlots = Channel.CreateBounded<bool>(ReadLimit);
    private long _readsStarted;

    public OwnerResolver(IKubernetes client)
    {
        _client = client;
        for (var i = 0; i < ReadLimit; i++)
        {
            _readSlots.Writer.TryWrite(true);
        }
    }

    /// <summary>Owner reads sent to the API server so far (a shared read counts once).</summary>
    public long ReadsStarted => Interlocked.Read(ref _readsStarted);

    public Task<OwnerChain> ResolveAsync(V1Pod pod, CancellationToken cancellationToken) =>
        ResolveAsync(pod.Metadata.NamespaceProperty, pod.Metadata.Name, pod.Metadata.OwnerReferences, cancellationToken);

    public async Task<OwnerChain> ResolveAsync(string ns, string podName, IEnumerable<V1OwnerReference>? ownerReferences, CancellationToken cancellationToken)
    {
        var owners = new List<WorkloadRef>();
        var owner = Controller(ownerReferences);
        if (owner is null)
        {
            return new OwnerChain([new WorkloadRef("Pod", podName)], null);
        }

        string? note = null;
        string? apiVersion = null;
        for (var depth = 0; owner is not null && depth < 4; depth++)
        {
            owners.Add(new WorkloadRef(owner.Kind, owner.Name));
            apiVersion = owner.ApiVersion;
            if (owner.Kind is not ("ReplicaSet" or "Job"))
            {
                break;
            }

            var child = owner;
            try
            {
                owner = await OwnerOfAsync(child, ns, cancellationToken).ConfigureAwait(false);
            }
            catch (HttpOperationException e)
            {
                var error = ApiError.From(e);
                note = error.IsForbidden
                    ? $"the bot may not read {Plural(child.Kind)} in namespace {ns}: grant get on {Plural(child.Kind)}"
                    : error.IsNotFound ? $"{child.Kind.ToLowerInvariant()}/{child.Name} no longer exists" : error.Message;
                break;
            }
        }

        return new OwnerChain(owners, note) { WorkloadApiVersion = apiVersion };
    }

    /// <summary>The owner's own controller; not cancelled by this caller, as others may be waiting for the same read.</summary>
    private Task<V1OwnerReference?> OwnerOfAsync(V1OwnerReference child, string ns, CancellationToken cancellationToken) =>
        _ownerOf.GetAsync(
            child.Uid ?? $"{ns}/{child.Kind}/{child.Name}",
            (Resolver: this, Child: child, Namespace: ns),
            static (_, read) => read.Resolver.ReadOwnerAsync(read.Child, read.Namespace),
            cancellationToken);

    private async Task<V1OwnerReference?> ReadOwnerAsync(V1OwnerReference child, string ns)
    {
        await _readSlots.Reader.ReadAsync().ConfigureAwait(false);
        try
        {
            Interlocked.Increment(ref _readsStarted);
            V1ObjectMeta metadata = child.Kind switch
            {
                "ReplicaSet" => (await _client.AppsV1.ReadNamespacedReplicaSetAsync(child.Name, ns).ConfigureAwait(false)).Metadata,
                "Job" => (await _client.BatchV1.ReadNamespacedJobAsync(child.Name, ns).ConfigureAwait(false)).Metadata,
                _ => throw new ArgumentOutOfRangeException(nameof(child), child.Kind, "only ReplicaSet and Job owners are read"),
            };
            return Controller(metadata.OwnerReferences);
        }
        finally
        {
            _readSlots.Writer.TryWrite(true);
        }
    }

    private static V1OwnerReference? Controller(IEnumerable<V1OwnerReference>? references) =>
        references?.FirstOrDefault(o => o.Controller == true);

    private static string Plural(string kind) => kind switch
    {
        "ReplicaSet" => "replicasets",
        "Job" => "jobs",
        _ => kind.ToLowerInvariant() + "s",
    };
}
