using System.Text.Json;
using ChatOpsPull.Configuration;
using ChatOpsPull.Core.Digest;
using ChatOpsPull.Fleet;
using ChatOpsPull.Jobs;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Digest;

/// <summary>
/// The cluster scan of a digest (workloads on floating tags, pull-secret checks, Docker Hub headroom) over every cluster the
/// digest covers. One bot: its own cluster. A fleet: each covered cluster's live bot scans its own cluster with its own
/// credentials (<see cref="ClusterScanRelayJob"/> on that cluster's queue, the result back through <see cref="FleetRelays"/>),
/// and the results are merged, each finding's namespace written "cluster/namespace"; a cluster with no live bot, or whose
/// bot does not answer within Digest:ClusterScanTimeout, is named under "Not checked".
/// </summary>
public sealed class FleetClusterScans(
    ClusterImageScan scan,
    ClusterQueues queues,
    IServiceProvider services,
    IOptions<BotOptions> bot,
    IOptionsMonitor<DigestOptions> options)
{
    internal static readonly JsonSerializerOptions ResultJson = new(JsonSerializerDefaults.Web);

    /// <summary>What is left to the relayed scans beyond the scan's own time limit (queueing, the answer's trip back).</summary>
    private static readonly TimeSpan RelayMargin = TimeSpan.FromSeconds(15);

    /// <summary>Whether any cluster was read, and the merged findings.</summary>
    public async Task<(bool Scanned, ClusterScanResult Result)> ScanAsync(DigestSchedule schedule, CancellationToken cancellationToken)
    {
        var own = scan.Covers(schedule) ? await scan.ScanAsync(schedule, cancellationToken).ConfigureAwait(false) : null;
        if (!queues.FleetMode)
        {
            return (own is not null, own ?? ClusterScanResult.None);
        }

        var fleet = services.GetRequiredService<FleetRegistry>();
        var others = (await fleet.ListAsync(cancellationToken).ConfigureAwait(false))
            .Where(c => Glob.IsMatch(schedule.Cluster, c.Name) && !(own is not null && string.Equals(c.Name, bot.Value.Cluster, StringComparison.Ordinal)))
            .ToList();
        var relayed = await Task.WhenAll(others.Select(c => RelayAsync(c, schedule, cancellationToken))).ConfigureAwait(false);
        var parts = relayed.ToList();
        if (own is not null)
        {
            parts.Insert(0, (bot.Value.Cluster, own, null));
        }

        return (parts.Any(p => p.Result is not null), Merge(parts));
    }

    /// <summary>The scan <paramref name="cluster"/>'s bot made of its own cluster for the relayed question (run there).</summary>
    public async Task<string?> ScanRelayedAsync(FleetRelay relay, CancellationToken cancellationToken)
    {
        if (!queues.RunsHere(relay.Cluster))
        {
            return null;
        }

        var schedule = new DigestSchedule { Cluster = relay.Cluster, Namespace = relay.Namespace };
        var result = scan.Covers(schedule) ? await scan.ScanAsync(schedule, cancellationToken).ConfigureAwait(false) : ClusterScanResult.None;
        return JsonSerializer.Serialize(result, ResultJson);
    }

    private async Task<(string Cluster, ClusterScanResult? Result, string? Missing)> RelayAsync(FleetCluster cluster, DigestSchedule schedule, CancellationToken cancellationToken)
    {
        if (!cluster.IsLive)
        {
            return (cluster.Name, null, $"Cluster {cluster.Name} was not scanned: no bot of it is running (last heard of {cluster.LastSeen:yyyy-MM-dd HH:mm} UTC).");
        }

        var relays = services.GetRequiredService<FleetRelays>();
        var patience = options.CurrentValue.ClusterScanTimeout + RelayMargin;
        var relay = await relays.AskAsync(cluster.Name, schedule.Namespace, "digest-scan", patience, cancellationToken).ConfigureAwait(false);
        services.GetRequiredService<ClusterJobs>().Enqueue<ClusterScanRelayJob>(cluster.Name, job => job.RunAsync(relay.Id, CancellationToken.None));
        var answer = await relays.WaitForAnswerAsync(relay, TimeSpan.FromMilliseconds(250), cancellationToken).ConfigureAwait(false);
        var result = answer is null ? null : JsonSerializer.Deserialize<ClusterScanResult>(answer, ResultJson);
        return result is null
            ? (cluster.Name, null, $"Cluster {cluster.Name} was not scanned: its bot did not send its scan within {patience.TotalSeconds:0} s.")
            : (cluster.Name, result, null);
    }

    /// <summary>One result of many: counts add up, findings keep their cluster in the namespace, Docker Hub's lowest headroom counts.</summary>
    private static ClusterScanResult Merge(List<(string Cluster, ClusterScanResult? Result, string? Missing)> parts)
    {
        var scanned = parts.Where(p => p.Result is not null).ToList();
        var missing = parts.Where(p => p.Missing is not null).Select(p => p.Missing!).ToList();
        static string In(string cluster, string ns) => $"{cluster}/{ns}";
        var floating = scanned.SelectMany(p => p.Result!.Workloads.FloatingTags.Select(f => f with { Use = f.Use with { Namespace = In(p.Cluster, f.Use.Namespace) } })).ToList();
        var always = scanned.SelectMany(p => p.Result!.Workloads.AlwaysOnImmutable.Select(f => f with { Use = f.Use with { Namespace = In(p.Cluster, f.Use.Namespace) } })).ToList();
        return new ClusterScanResult(
            scanned.Sum(p => p.Result!.Pods),
            new WorkloadImageReport(floating, always),
            scanned.SelectMany(p => p.Result!.Credentials.Select(c => c with { Secret = In(p.Cluster, c.Secret) })).OrderBy(c => c.ExpiresAt).ToList(),
            scanned.SelectMany(p => p.Result!.Refusals.Select(r => r with { Namespace = In(p.Cluster, r.Namespace) })).ToList(),
            scanned.Select(p => p.Result!.DockerHub).Where(d => d is not null).MinBy(d => d!.Remaining),
            scanned.SelectMany(p => p.Result!.Notes.Select(n => $"{p.Cluster}: {n}")).Concat(missing).ToList());
    }
}
