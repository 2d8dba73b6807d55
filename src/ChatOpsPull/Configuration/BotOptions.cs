using System.ComponentModel.DataAnnotations;

namespace ChatOpsPull.Configuration;

/// <summary>Top-level settings (section "Bot").</summary>
public sealed class BotOptions : IValidatableObject
{
    public const string Section = "Bot";

    /// <summary>
    /// The name the simulated cluster of <c>chatopspull demo --simulate</c> goes by, reserved for it: a bot with this
    /// <see cref="Cluster"/> runs the simulation, and every card naming it says so.
    /// </summary>
    public const string SimulatedCluster = "simulated";

    /// <summary>Name of the cluster this bot watches, shown on every card.</summary>
    [Required(ErrorMessage = "Bot:Cluster must name the cluster this bot watches (e.g. \"prod-eu\").")]
    [RegularExpression("^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$", ErrorMessage = "Bot:Cluster must be letters, digits, '.', '_' or '-' (at most 63).")]
    public string Cluster { get; set; } = "default";

    /// <summary>
    /// Where the embedded SQLite database and other files live; created on first run. Empty: the user's data directory
    /// (<see cref="BotDirectories.UserDataDirectory"/>). A relative path is taken from the directory of the executable
    /// (where appsettings.json is), never from the current directory. After start it holds the resolved, absolute path.
    /// </summary>
    public string DataDirectory { get; set; } = string.Empty;

    /// <summary>
    /// The install profile the manifests gave the bot: Remediate (fixes as buttons, run as approved jobs) or Observe (the
    /// bot changes nothing; cards show each fix as kubectl commands). Set by manifests/profiles/*.
    /// </summary>
    [EnumDataType(typeof(InstallProfile), ErrorMessage = "Bot:Profile must be Observe or Remediate (the install profile the manifests grant; see docs/install-profiles.md).")]
    public InstallProfile Profile { get; set; } = InstallProfile.Remediate;

    /// <summary>True when the bot may change the cluster (the remediate profiles).</summary>
    public bool Remediates => Profile == InstallProfile.Remediate;

    /// <summary>
    /// Set by <c>chatopspull demo --simulate</c> only: the cluster is the in-process simulation (named
    /// <see cref="SimulatedCluster"/>), and the bot refuses real Kubernetes credentials and fleet mode.
    /// </summary>
    public bool Simulation { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var named = string.Equals(Cluster, SimulatedCluster, StringComparison.OrdinalIgnoreCase);
        if (Simulation && !named)
        {
            yield return new ValidationResult($"Bot:Simulation runs the simulated cluster, whose name is \"{SimulatedCluster}\"; Bot:Cluster \"{Cluster}\" would make it look real.", [nameof(Cluster)]);
        }
        else if (named && !Simulation)
        {
            yield return new ValidationResult($"Bot:Cluster \"{SimulatedCluster}\" is reserved for the simulation of 'chatopspull demo --simulate' (its cards say \"Simulated cluster\"); name the real cluster otherwise.", [nameof(Cluster)]);
        }
    }
}
