using System.Text;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Fleet;

/// <summary>
/// The Hangfire queues of a fleet. Work that belongs to a cluster (diagnoses, dry runs, fixes, sweeps of its workloads)
/// goes to that cluster's queue, which only its own bots serve; cluster-neutral work (expiry, re-enqueue sweeps, digests)
/// goes to the shared queue, which every bot serves unless told not to. Outside fleet mode everything is on the shared queue.
/// Hangfire queue names are lowercase letters, digits and underscores: a cluster name is lowercased and every other
/// character becomes '_' ("prod-EU.1" → "cluster_prod_eu_1"). Two names that map to one queue ("prod-eu", "prod_eu") are
/// refused when the second bot joins (<see cref="FleetRegistry.JoinAsync"/>).
/// </summary>
public sealed class ClusterQueues(IOptions<FleetOptions> fleet, IOptions<BotOptions> bot)
{
    /// <summary>Hangfire's default queue: jobs enqueued without a queue land here, so it is the shared one.</summary>
    public const string Shared = "default";

    public const string Prefix = "cluster_";

    public bool FleetMode => fleet.Value.Enabled;

    /// <summary>The queue of the cluster's work (the shared queue outside fleet mode).</summary>
    public string For(string cluster) => FleetMode ? QueueName(cluster) : Shared;

    /// <summary>The queue this bot's own cluster uses, or null for a chat replica.</summary>
    public string? Own => FleetMode && fleet.Value.Role == FleetRole.Cluster ? QueueName(bot.Value.Cluster) : null;

    /// <summary>
    /// True when this bot may act on <paramref name="cluster"/>: always outside fleet mode (one bot, one cluster); in a fleet
    /// only a cluster bot, for its own cluster. Every cluster job checks it, so work that reached the wrong queue (or a job
    /// row someone wrote by hand) is skipped, never run against the wrong cluster.
    /// </summary>
    public bool RunsHere(string cluster) =>
        !FleetMode || (fleet.Value.Role == FleetRole.Cluster && string.Equals(cluster, bot.Value.Cluster, StringComparison.Ordinal));

    /// <summary>The queues this bot's job server takes, in the order it prefers them (its own cluster's first).</summary>
    public string[] ServerQueues()
    {
        if (!FleetMode)
        {
            return [Shared];
        }

        var queues = new List<string>();
        if (Own is { } own)
        {
            queues.Add(own);
        }

        if (fleet.Value.SharedQueue || Own is null)
        {
            queues.Add(Shared);
        }

        return queues.ToArray();
    }

    /// <summary>"cluster_" + the name lowercased, with every character that is not a-z or 0-9 as '_'.</summary>
    public static string QueueName(string cluster)
    {
        ArgumentException.ThrowIfNullOrEmpty(cluster);
        var name = new StringBuilder(Prefix, Prefix.Length + cluster.Length);
        foreach (var ch in cluster.ToLowerInvariant())
        {
            name.Append(ch is (>= 'a' and <= 'z') or (>= '0' and <= '9') ? ch : '_');
        }

        return name.ToString();
    }
}
