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
}
