using ChatOpsPull.Core.Approvals;
using ChatOpsPull.Core.Digest;
using ChatOpsPull.Prevention;

namespace ChatOpsPull.Digest;

/// <summary>Everything one digest says, before it becomes a card.</summary>
/// <param name="From">Period start (inclusive).</param>
/// <param name="To">Period end (exclusive): the schedule's occurrence, or now for a digest asked for.</param>
/// <param name="ClusterScanned">False when the bot has no connection to a cluster this digest covers (no workload findings).</param>
public sealed record DigestReport(
    string ScheduleId,
    string Scope,
    DigestPeriod Period,
    TimeZoneInfo Zone,
    DateTimeOffset From,
    DateTimeOffset To,
    IncidentSummary Incidents,
    IReadOnlyList<ApprovalRequest> WaitingApprovals,
    IReadOnlyList<AuditActionCount> Actions,
    PullTimeReport Pulls,
    bool ClusterScanned,
    ClusterScanResult Cluster)
{
    /// <summary>Open "will fail" findings in scope, and workload changes the admission check warned about or refused in the period.</summary>
    public PreventionDigest Prevention { get; init; } = PreventionDigest.None;

    /// <summary>Something anyone should read: failures, approvals, findings or hints. Pull times alone are not news.</summary>
    public bool HasNews =>
        !Incidents.IsQuiet
        || WaitingApprovals.Count > 0
        || Actions.Count > 0
        || Pulls.CachingHints.Count > 0
        || Cluster.Workloads.FloatingTags.Count > 0
        || Cluster.Workloads.AlwaysOnImmutable.Count > 0
        || Cluster.Credentials.Count > 0
        || Cluster.Refusals.Count > 0
        || Prevention.WillFail.Count > 0
        || Prevention.Prevented.Count > 0
        || Cluster.DockerHub is { } hub && hub.Remaining * 5 < hub.Limit;

    /// <summary>Nothing at all to show: the digest is one line.</summary>
    public bool IsEmpty => !HasNews && Pulls.Pulls == 0 && Cluster.Notes.Count == 0;
}

/// <summary>The digest's prevention lines.</summary>
/// <param name="WillFail">Open sweep findings: running workloads whose next pull fails.</param>
/// <param name="Prevented">Admission findings seen in the period (warned or refused changes).</param>
public sealed record PreventionDigest(IReadOnlyList<PreventionFinding> WillFail, IReadOnlyList<PreventionFinding> Prevented)
{
    public static PreventionDigest None { get; } = new([], []);
}
