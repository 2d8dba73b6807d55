using ChatOpsPull.Core.Failures;

namespace ChatOpsPull.Incidents;

/// <summary>Why a pod's failure ended.</summary>
public enum PodResolution
{
    /// <summary>The container started / the pod became Ready.</summary>
    Ready,

    /// <summary>The pod was deleted.</summary>
    Deleted,

    /// <summary>The source said so (a resolved alert).</summary>
    AlertResolved,
}

/// <summary>
/// Where every detection source (Kubernetes watch, Alertmanager, generic webhook) delivers what it sees.
/// Implementations are idempotent: the same failure reported twice changes nothing the second time.
/// </summary>
public interface IPullFailureSink
{
    Task ReportAsync(PullFailure failure, CancellationToken cancellationToken);

    /// <param name="container">Null resolves every container of the pod.</param>
    Task ResolveAsync(string cluster, string @namespace, string pod, string? container, PodResolution resolution, CancellationToken cancellationToken);
}
