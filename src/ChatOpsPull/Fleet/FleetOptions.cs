using System.ComponentModel.DataAnnotations;

namespace ChatOpsPull.Fleet;

/// <summary>What a bot is in a fleet.</summary>
public enum FleetRole
{
    /// <summary>Watches, diagnoses and acts on its own cluster (Bot:Cluster) with its own ServiceAccount; may also take chat traffic.</summary>
    Cluster,

    /// <summary>No cluster and no cluster credentials: takes Slack, Teams, webhook and web traffic and the shared queue only.</summary>
    Chat,
}

/// <summary>
/// Section "Fleet": many clusters, each with its own bot, sharing one PostgreSQL database, one Slack app and one Teams bot
/// (docs/fleet.md). <see cref="Enabled"/> is the one switch; the rest have defaults that fit most fleets.
/// </summary>
public sealed class FleetOptions : IValidatableObject
{
    public const string Section = "Fleet";

    /// <summary>
    /// Fleet mode: this bot shares its PostgreSQL database with the bots of other clusters. Work for a cluster goes to that
    /// cluster's job queue; a click is decided wherever it lands and runs on the cluster it belongs to.
    /// </summary>
    public bool Enabled { get; set; }

    /// <summary>Cluster (the default) or Chat (a replica with no cluster credentials that only faces chat).</summary>
    [EnumDataType(typeof(FleetRole), ErrorMessage = "Fleet:Role must be Cluster or Chat.")]
    public FleetRole Role { get; set; } = FleetRole.Cluster;

    /// <summary>
    /// Whether this bot's job server also takes the shared queue (cluster-neutral work: sweeps, expiry, digests). A chat
    /// replica always does; turn it off on cluster bots whose database role may touch only their own cluster's rows.
    /// </summary>
    public bool SharedQueue { get; set; } = true;

    /// <summary>How often a bot tells the fleet it is alive.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00", ErrorMessage = "Fleet:HeartbeatInterval must be between 1 second and 5 minutes.")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A bot not heard of for this long is not live: its cluster's clicks wait ("waiting for cluster X").</summary>
    [Range(typeof(TimeSpan), "00:00:03", "01:00:00", ErrorMessage = "Fleet:LiveWindow must be between 3 seconds and 1 hour.")]
    public TimeSpan LiveWindow { get; set; } = TimeSpan.FromSeconds(45);

    /// <summary>
    /// How long a bot that took a chat question only another cluster's bot can answer (a live <c>diagnose</c>) waits for that
    /// bot's answer before it says the cluster has not answered. Slack shows "Working on it…" meanwhile; keep it under the
    /// 15 s a Teams message may take.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:01:00", ErrorMessage = "Fleet:RelayTimeout must be between 1 second and 1 minute.")]
    public TimeSpan RelayTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The fleet's decision key (a secret of at least 32 characters): the bot signs every approval it records, for any cluster,
    /// with that cluster's key derived from it (<see cref="DecisionKeys"/>). Give it only to the bots you trust to decide for
    /// every cluster — the chat replicas — and give each cluster's bot <see cref="ClusterDecisionKey"/> instead.
    /// </summary>
    public string? DecisionKey { get; set; }

    /// <summary>
    /// This cluster's decision key, 64 hex digits derived from the fleet's:
    /// <c>printf 'chatopspull decision key for cluster %s' CLUSTER | openssl dgst -sha256 -hmac "$FLEET_DECISION_KEY"</c>.
    /// With it (or with <see cref="DecisionKey"/>) a cluster bot runs a fix only when its approval carries a signature made with
    /// this key, and signs the approvals it records for its own cluster; it cannot sign for any other.
    /// </summary>
    public string? ClusterDecisionKey { get; set; }

    /// <summary>True when this bot has a cluster of its own (not fleet mode, or the Cluster role).</summary>
    public bool HasCluster => !Enabled || Role == FleetRole.Cluster;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Role == FleetRole.Chat && !Enabled)
        {
            yield return new ValidationResult("Fleet:Role is Chat, which only means something in a fleet: set Fleet:Enabled to true as well.", [nameof(Role)]);
        }

        if (Role == FleetRole.Chat && !SharedQueue)
        {
            yield return new ValidationResult("Fleet:SharedQueue must be true for a Chat replica: it has no cluster queue, so the shared queue is all it runs.", [nameof(SharedQueue)]);
        }

        if (DecisionKey is { } key && key.Trim().Length < 32)
        {
            yield return new ValidationResult("Fleet:DecisionKey must be at least 32 characters (a random secret, e.g. `openssl rand -hex 32`).", [nameof(DecisionKey)]);
        }

        if (ClusterDecisionKey is { } clusterKey && !DecisionKeys.IsClusterKey(clusterKey))
        {
            yield return new ValidationResult("Fleet:ClusterDecisionKey must be 64 hex digits: the key derived from the fleet's decision key for this cluster (docs/fleet.md, Trust boundary).", [nameof(ClusterDecisionKey)]);
        }

        if (ClusterDecisionKey is not null && Role == FleetRole.Chat)
        {
            yield return new ValidationResult("Fleet:ClusterDecisionKey is a cluster bot's key; a Chat replica has no cluster: give it Fleet:DecisionKey.", [nameof(ClusterDecisionKey)]);
        }

        if (LiveWindow < HeartbeatInterval * 2)
        {
            yield return new ValidationResult(
                $"Fleet:LiveWindow ({LiveWindow}) must be at least twice Fleet:HeartbeatInterval ({HeartbeatInterval}), or a live bot would look gone between two heartbeats.",
                [nameof(LiveWindow)]);
        }
    }
}
