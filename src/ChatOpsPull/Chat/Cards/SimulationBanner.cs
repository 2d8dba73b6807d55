using ChatOpsPull.Configuration;

namespace ChatOpsPull.Chat.Cards;

/// <summary>
/// The one place that says a card comes from the simulated cluster of <c>chatopspull demo --simulate</c>: a card whose
/// Cluster fact names <see cref="BotOptions.SimulatedCluster"/> (a name only the simulation may use, see
/// <see cref="BotOptions.Simulation"/>) carries <see cref="Text"/> at its top in every renderer (web page, Block Kit,
/// Adaptive Card) and <see cref="Prefix"/> in its notification text, so a simulated card cannot pass for a real one.
/// </summary>
public static class SimulationBanner
{
    public const string Text = "Simulated cluster — nothing real: these pods, workloads and the registry live inside the bot's process (chatopspull demo --simulate).";

    /// <summary>In front of the notification (fallback) text.</summary>
    public const string Prefix = "[SIMULATED] ";

    public static bool IsSimulated(string? cluster) => string.Equals(cluster, BotOptions.SimulatedCluster, StringComparison.OrdinalIgnoreCase);

    /// <summary>True when the card shows the simulated cluster.</summary>
    public static bool Applies(Card card)
    {
        ArgumentNullException.ThrowIfNull(card);
        return card.Facts.Any(f => f.Label == "Cluster" && IsSimulated(f.Value));
    }

    /// <summary>The notification text, marked when the card is simulated.</summary>
    public static string Fallback(Card card, string text) =>
        Applies(card) && !text.StartsWith(Prefix, StringComparison.Ordinal) ? Prefix + text : text;
}
