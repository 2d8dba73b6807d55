using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Fleet;

/// <summary>
/// The keys that sign approval decisions in a fleet. Each cluster has its own key, derived from the fleet's decision key:
/// <c>HMAC-SHA256(fleet key, "chatopspull decision key for cluster " + cluster)</c>. A bot given the fleet key
/// (Fleet:DecisionKey, the chat replicas) can sign for every cluster; a cluster bot given only its own key
/// (Fleet:ClusterDecisionKey) can sign for its own cluster and check what was signed for it, and nothing else — so a
/// compromised cluster bot cannot make a decision another cluster's bot accepts. Outside fleet mode there are no keys.
/// </summary>
public sealed class DecisionKeys(IOptions<FleetOptions> fleet, IOptions<BotOptions> bot)
{
    private const string Label = "chatopspull decision key for cluster ";

    /// <summary>True when this bot holds a key at all: it signs what it can, and (a cluster bot) runs only what verifies.</summary>
    public bool InUse => fleet.Value.Enabled && (HasFleetKey || fleet.Value.ClusterDecisionKey is not null);

    /// <summary>True when this cluster bot checks the decision of every fix before it runs it.</summary>
    public bool Verifies => InUse && fleet.Value.Role == FleetRole.Cluster;

    private bool HasFleetKey => !string.IsNullOrWhiteSpace(fleet.Value.DecisionKey);

    /// <summary>The key that signs decisions for <paramref name="cluster"/>, or null when this bot holds none for it.</summary>
    public byte[]? For(string cluster)
    {
        if (!fleet.Value.Enabled)
        {
            return null;
        }

        if (HasFleetKey)
        {
            return Derive(fleet.Value.DecisionKey!.Trim(), cluster);
        }

        return fleet.Value.ClusterDecisionKey is { } own && fleet.Value.Role == FleetRole.Cluster && string.Equals(cluster, bot.Value.Cluster, StringComparison.Ordinal)
            ? Convert.FromHexString(own.Trim())
            : null;
    }

    /// <summary>The key of <paramref name="cluster"/> derived from the fleet key (what Fleet:ClusterDecisionKey holds, as hex).</summary>
    public static byte[] Derive(string fleetKey, string cluster) =>
        HMACSHA256.HashData(Encoding.UTF8.GetBytes(fleetKey), Encoding.UTF8.GetBytes(Label + cluster));

    /// <summary>True when <paramref name="text"/> reads as a cluster key: 64 hex digits.</summary>
    public static bool IsClusterKey(string text)
    {
        var trimmed = text.Trim();
        return trimmed.Length == 64 && trimmed.All(Uri.IsHexDigit);
    }
}
