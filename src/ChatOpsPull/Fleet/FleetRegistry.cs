using ChatOpsPull.Storage;
using Dapper;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Fleet;

/// <summary>One bot of the fleet as it joins: its instance id, its cluster (null for a chat replica) and API server identity.</summary>
public sealed record FleetBot(string Instance, string? Cluster, FleetRole Role, string? ApiServerUid, string Host)
{
    /// <summary>The install profile of the cluster's bot (Bot:Profile): whether fixes for the cluster may run at all.</summary>
    public InstallProfile Profile { get; init; } = InstallProfile.Remediate;
}

/// <summary>A cluster of the fleet as the shared database knows it.</summary>
/// <param name="LiveBots">Bots of the cluster heard of inside Fleet:LiveWindow (replicas count one each).</param>
/// <param name="LastSeen">The last heartbeat of any of its bots, or when it joined.</param>
public sealed record FleetCluster(string Name, string Queue, string? ApiServerUid, int LiveBots, DateTimeOffset LastSeen)
{
    public bool IsLive => LiveBots > 0;

    /// <summary>The install profile its bot last joined with.</summary>
    public InstallProfile Profile { get; init; } = InstallProfile.Remediate;
}

/// <summary>Why a bot may not join the fleet, in a sentence for the operator.</summary>
public sealed class FleetConflictException(string message) : Exception(message);

/// <summary>
/// Who is in the fleet, kept in the shared database: clusters (name, queue, API server identity) and bots (heartbeats).
/// Joining is serialized by a database lock so two bots starting at once are checked against each other.
/// </summary>
public sealed class FleetRegistry(BotDatabase database, IOptions<FleetOptions> options, TimeProvider time)
{
    private const string JoinLock = "fleet-join";

    /// <summary>Rows of bots gone for this long are removed by the next heartbeat of any bot.</summary>
    public static readonly TimeSpan ForgetBotsAfter = TimeSpan.FromDays(1);

    /// <summary>
    /// Adds <paramref name="bot"/> to the fleet, after checking that its cluster's queue is not taken by another cluster
    /// name and that no live bot claims the same cluster from another API server. Throws <see cref="FleetConflictException"/>.
    /// </summary>
    public async Task JoinAsync(FleetBot bot, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var liveSince = BotDatabase.ToDb(now - options.Value.LiveWindow);
        await database.InTransactionAsync(
            async (connection, transaction) =>
            {
                await database.LockAsync(connection, transaction, JoinLock).ConfigureAwait(false);
                if (bot.Cluster is { } cluster)
                {
                    var queue = ClusterQueues.QueueName(cluster);
                    var holder = await connection.QuerySingleOrDefaultAsync<string>(
                        "SELECT cluster FROM fleet_clusters WHERE queue = @queue AND cluster <> @cluster", new { queue, cluster }, transaction).ConfigureAwait(false);
                    if (holder is not null)
                    {
                        throw new FleetConflictException(
                            $"Cluster names \"{cluster}\" and \"{holder}\" both become the job queue \"{queue}\" (queues are lowercase letters, digits and '_'), so this bot would run the other cluster's work. Rename one of them (Bot:Cluster).");
                    }

                    var others = await connection.QueryAsync<(string Host, string? Uid)>(
                        "SELECT host, api_server_uid FROM fleet_bots WHERE cluster = @cluster AND seen_at >= @liveSince AND instance <> @instance",
                        new { cluster, liveSince, instance = bot.Instance }, transaction).ConfigureAwait(false);
                    var other = others.FirstOrDefault(o => o.Uid is not null && bot.ApiServerUid is not null && !string.Equals(o.Uid, bot.ApiServerUid, StringComparison.Ordinal));
                    if (other != default)
                    {
                        throw new FleetConflictException(
                            $"A live bot on {other.Host} already claims cluster \"{cluster}\" for another API server (its kube-system namespace uid is {other.Uid}, this bot's is {bot.ApiServerUid}). Two clusters cannot share a name: give this one its own Bot:Cluster, or stop the other bot first.");
                    }

                    await connection.ExecuteAsync(
                        """
                        INSERT INTO fleet_clusters (cluster, queue, api_server_uid, profile, joined_at, seen_at) VALUES (@cluster, @queue, @uid, @profile, @now, @now)
                        ON CONFLICT (cluster) DO UPDATE SET api_server_uid = COALESCE(excluded.api_server_uid, fleet_clusters.api_server_uid),
                            profile = excluded.profile, seen_at = excluded.seen_at
                        """,
                        new { cluster, queue, uid = bot.ApiServerUid, profile = bot.Profile.ToString(), now = BotDatabase.ToDb(now) },
                        transaction).ConfigureAwait(false);
                }

                await connection.ExecuteAsync(
                    """
                    INSERT INTO fleet_bots (instance, cluster, role, api_server_uid, host, started_at, seen_at) VALUES (@instance, @cluster, @role, @uid, @host, @now, @now)
                    ON CONFLICT (instance) DO UPDATE SET seen_at = excluded.seen_at
                    """,
                    new { instance = bot.Instance, cluster = bot.Cluster, role = bot.Role.ToString(), uid = bot.ApiServerUid, host = bot.Host, now = BotDatabase.ToDb(now) },
                    transaction).ConfigureAwait(false);
                return true;
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Refreshes the bot's row (re-adding it when it was forgotten) and forgets bots gone for a day.</summary>
    public async Task HeartbeatAsync(FleetBot bot, CancellationToken cancellationToken)
    {
        var now = BotDatabase.ToDb(time.GetUtcNow());
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var touched = await connection.ExecuteAsync("UPDATE fleet_bots SET seen_at = @now WHERE instance = @instance", new { now, instance = bot.Instance }).ConfigureAwait(false);
        if (touched == 0)
        {
            await connection.ExecuteAsync(
                "INSERT INTO fleet_bots (instance, cluster, role, api_server_uid, host, started_at, seen_at) VALUES (@instance, @cluster, @role, @uid, @host, @now, @now) ON CONFLICT (instance) DO NOTHING",
                new { instance = bot.Instance, cluster = bot.Cluster, role = bot.Role.ToString(), uid = bot.ApiServerUid, host = bot.Host, now }).ConfigureAwait(false);
        }

        if (bot.Cluster is { } cluster)
        {
            await connection.ExecuteAsync("UPDATE fleet_clusters SET seen_at = @now WHERE cluster = @cluster", new { now, cluster }).ConfigureAwait(false);
        }

        await connection.ExecuteAsync("DELETE FROM fleet_bots WHERE seen_at < @before", new { before = now - (long)ForgetBotsAfter.TotalMilliseconds }).ConfigureAwait(false);
    }

    /// <summary>The bot stops: its row goes at once, so its cluster is not live a moment longer than it is.</summary>
    public async Task LeaveAsync(string instance, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync("DELETE FROM fleet_bots WHERE instance = @instance", new { instance }).ConfigureAwait(false);
    }

    /// <summary>Every cluster that ever joined, with its live bots, by name.</summary>
    public async Task<IReadOnlyList<FleetCluster>> ListAsync(CancellationToken cancellationToken) => await ListAsync(null, cancellationToken).ConfigureAwait(false);

    private async Task<IReadOnlyList<FleetCluster>> ListAsync(string? only, CancellationToken cancellationToken)
    {
        var liveSince = BotDatabase.ToDb(time.GetUtcNow() - options.Value.LiveWindow);
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await connection.QueryAsync<(string Cluster, string Queue, string? Uid, string Profile, long SeenAt, long Live)>(
            """
            SELECT c.cluster, c.queue, c.api_server_uid, c.profile, c.seen_at,
                   (SELECT COUNT(*) FROM fleet_bots b WHERE b.cluster = c.cluster AND b.seen_at >= @liveSince) AS live
            FROM fleet_clusters c WHERE @only IS NULL OR c.cluster = @only ORDER BY c.cluster
            """,
            new { liveSince, only }).ConfigureAwait(false);
        return rows.Select(r => new FleetCluster(r.Cluster, r.Queue, r.Uid, (int)r.Live, BotDatabase.FromDb(r.SeenAt))
        {
            Profile = Enum.TryParse<InstallProfile>(r.Profile, out var profile) ? profile : InstallProfile.Observe,
        }).ToList();
    }

    /// <summary>The cluster as the fleet knows it, or null when no bot of that name ever joined.</summary>
    public async Task<FleetCluster?> FindAsync(string cluster, CancellationToken cancellationToken) =>
        (await ListAsync(cluster, cancellationToken).ConfigureAwait(false)).FirstOrDefault(c => string.Equals(c.Name, cluster, StringComparison.Ordinal));

    /// <summary>True when <paramref name="cluster"/> has a live bot; always true outside fleet mode (the bot is its own cluster's).</summary>
    public async Task<bool> IsLiveAsync(string cluster, CancellationToken cancellationToken) =>
        !options.Value.Enabled || (await FindAsync(cluster, cancellationToken).ConfigureAwait(false))?.IsLive == true;

    /// <summary>Live chat replicas (bots without a cluster).</summary>
    public async Task<int> CountLiveChatReplicasAsync(CancellationToken cancellationToken)
    {
        var liveSince = BotDatabase.ToDb(time.GetUtcNow() - options.Value.LiveWindow);
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.ExecuteScalarAsync<int>("SELECT COUNT(*) FROM fleet_bots WHERE cluster IS NULL AND seen_at >= @liveSince", new { liveSince }).ConfigureAwait(false);
    }
}
