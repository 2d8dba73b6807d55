using System.ComponentModel.DataAnnotations;

namespace ChatOpsPull.Configuration;

/// <summary>Top-level settings (section "Bot").</summary>
public sealed class BotOptions
{
    public const string Section = "Bot";

    /// <summary>Name of the cluster this bot watches, shown on every card.</summary>
    [Required(ErrorMessage = "Bot:Cluster must name the cluster this bot watches (e.g. \"prod-eu\").")]
    [RegularExpression("^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$", ErrorMessage = "Bot:Cluster must be letters, digits, '.', '_' or '-' (at most 63).")]
    public string Cluster { get; set; } = "default";

    /// <summary>Where the embedded SQLite database and other files live. Created on first run.</summary>
    [Required(ErrorMessage = "Bot:DataDirectory must be set to a writable directory.")]
    public string DataDirectory { get; set; } = "data";

    /// <summary>
    /// The install profile the manifests gave the bot: Remediate (fixes as buttons, run as approved jobs) or Observe (the
    /// bot changes nothing; cards show each fix as kubectl commands). Set by manifests/profiles/*.
    /// </summary>
    [EnumDataType(typeof(InstallProfile), ErrorMessage = "Bot:Profile must be Observe or Remediate (the install profile the manifests grant; see docs/install-profiles.md).")]
    public InstallProfile Profile { get; set; } = InstallProfile.Remediate;

    /// <summary>True when the bot may change the cluster (the remediate profiles).</summary>
    public bool Remediates => Profile == InstallProfile.Remediate;
}
