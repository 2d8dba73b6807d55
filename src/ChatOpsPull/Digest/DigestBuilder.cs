using ChatOpsPull.Approvals;
using ChatOpsPull.Configuration;
using ChatOpsPull.Core.Approvals;
using ChatOpsPull.Core.Digest;
using ChatOpsPull.Prevention;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Digest;

/// <summary>
/// Gathers one digest: incidents, waiting approvals and audit counts from the database, pull times from the stored
/// Pulled events, and workload and pull-secret findings of the clusters it covers (in a fleet, each read by its own bot:
/// <see cref="FleetClusterScans"/>).
/// The arithmetic is in ChatOpsPull.Core.Digest.
/// </summary>
public sealed partial class DigestBuilder(
    DigestDataReader reader,
    FleetClusterScans scan,
    IServiceProvider services,
    IOptions<BotOptions> bot,
    IOptionsMonitor<DigestOptions> options,
    TimeProvider time,
    ILogger<DigestBuilder> log)
{
    /// <summary>The digest of <paramref name="schedule"/> for the period that ends at <paramref name="to"/>.</summary>
    public async Task<DigestReport> BuildAsync(DigestSchedule schedule, DateTimeOffset to, CancellationToken cancellationToken)
    {
        var settings = options.CurrentValue;
        var period = schedule.ParsedPeriod;
        var from = to - period.Length;

        var incidents = await reader.IncidentsAsync(from, to, schedule.Cluster, schedule.Namespace, cancellationToken).ConfigureAwait(false);
        var summary = IncidentInsights.Summarize(incidents, from, to, settings.Top);
        var approvals = await WaitingApprovalsAsync(schedule, incidents, cancellationToken).ConfigureAwait(false);
        var actions = await reader.ActionsAsync(from, to, schedule.Cluster, schedule.Namespace, cancellationToken).ConfigureAwait(false);
        var samples = await reader.PullsAsync(from, to, schedule.Cluster, schedule.Namespace, cancellationToken).ConfigureAwait(false);
        var pulls = PullTimeInsights.Compute(samples, from, to, new PullInsightOptions(settings.CachingHintMinPulls, settings.CachingHintMinBytes, settings.Top));
        var (scanned, cluster) = await scan.ScanAsync(schedule, cancellationToken).ConfigureAwait(false);

        return new DigestReport(schedule.Id, schedule.Scope, period, schedule.Zone, from, to, summary, approvals, actions, pulls, scanned, cluster)
        {
            Prevention = await PreventionAsync(schedule, from, to, cancellationToken).ConfigureAwait(false),
        };
    }

    /// <summary>Open "will fail" findings and the period's prevented changes, in the schedule's clusters and namespaces.</summary>
    private async Task<PreventionDigest> PreventionAsync(DigestSchedule schedule, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        if (services.GetService<FindingStore>() is not { } findings)
        {
            return PreventionDigest.None;
        }

        bool InScope(PreventionFinding f) => Glob.IsMatch(schedule.Cluster, f.Cluster) && Glob.IsMatch(schedule.Namespace, f.Namespace);
        var open = await findings.ListOpenAsync(FindingSource.Sweep, null, cancellationToken).ConfigureAwait(false);
        var seen = await findings.ListSeenAsync(from, to, cancellationToken).ConfigureAwait(false);
        return new PreventionDigest(
            open.Where(InScope).ToList(),
            seen.Where(f => f.Source == FindingSource.Admission && InScope(f)).ToList());
    }

    /// <summary>Pending requests about incidents in scope (or, for requests without a known incident, about a namespace in scope of the bot's own cluster).</summary>
    private async Task<IReadOnlyList<ApprovalRequest>> WaitingApprovalsAsync(DigestSchedule schedule, IReadOnlyList<IncidentFacts> incidents, CancellationToken cancellationToken)
    {
        var queries = services.GetService<IApprovalQueries>();
        if (queries is null)
        {
            return [];
        }

        IReadOnlyList<ApprovalRequest> pending;
        try
        {
            pending = await queries.ListPendingAsync(null, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogApprovalsFailed(log, e);
            return [];
        }

        var now = time.GetUtcNow();
        var inScope = incidents.Select(i => i.Id).ToHashSet(StringComparer.Ordinal);
        var ownCluster = Glob.IsMatch(schedule.Cluster, bot.Value.Cluster);
        return pending
            .Where(a => a.Status == ApprovalStatus.Pending && !a.IsExpiredAt(now))
            .Where(a => inScope.Contains(a.IncidentId)
                || (ownCluster && string.IsNullOrEmpty(a.IncidentId) && Glob.IsMatch(schedule.Namespace, a.Plan.Namespace)))
            .OrderBy(a => a.RequestedAt).ThenBy(a => a.Id, StringComparer.Ordinal)
            .ToList();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The digest could not read waiting approvals")]
    private static partial void LogApprovalsFailed(ILogger logger, Exception exception);
}
