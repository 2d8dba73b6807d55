using System.Data.Common;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Storage;

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

/// <summary>What a source saw of one pod: failing (<see cref="Resolution"/> null), or recovered.</summary>
/// <param name="Failure">The failure; for a recovery, its pod and container (empty: every container of the pod) are what recovered.</param>
public sealed record PodReport(PullFailure Failure, PodResolution? Resolution);

/// <summary>
/// A sink that applies one subject's reports (cluster, namespace, <c>IncidentGrouping.SubjectOf</c>) in the transaction
/// that also takes them out of the source's own queue, so what the source removed is exactly what the incidents hold:
/// a queue applied again after a crash cannot apply anything twice (a fire-then-resolve pair cannot reopen and resolve
/// again). The engine implements it; the alert inbox drain uses it.
/// </summary>
public interface ISubjectReportSink
{
    /// <param name="claim">
    /// Runs first inside the subject's transaction (again on a retry): takes the source's rows of this subject (and removes
    /// them) and returns their reports, in order. Its first command must take the subject lock it is handed
    /// (<see cref="TransactionLock.QueryMultipleTakingAsync"/>: in the same round trip). Rolled back with everything else
    /// when the transaction fails.
    /// </param>
    Task ApplySubjectAsync(string cluster, string @namespace, string subject, Func<DbConnection, DbTransaction, TransactionLock, Task<IReadOnlyList<PodReport>>> claim, CancellationToken cancellationToken);
}
