using System.ComponentModel.DataAnnotations;

namespace ChatOpsPull.Web;

/// <summary>Section "Web:Page": how the bot's own page at / shows incidents, the audit log and failed chat sends.</summary>
public sealed class WebPageOptions
{
    public const string Section = "Web:Page";

    /// <summary>How often the page fetches the incident cards again (without a full reload).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "Web:Page:RefreshInterval must be between 1 second and 1 hour (e.g. \"00:00:15\").")]
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Longest the rendered cards are served without reading the stores again. Changes this replica is told about (every
    /// incident, approval, run and finding change it makes, and the page's own clicks) show on the next request anyway;
    /// this bounds how late a change made by another replica, or to a snoozed or muted incident, shows. 0 reads on every
    /// request.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00", ErrorMessage = "Web:Page:CardsMaxAge must be between 0 and 1 minute (e.g. \"00:00:01\").")]
    public TimeSpan CardsMaxAge { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Most open incidents shown as cards (newest first).</summary>
    [Range(1, 500, ErrorMessage = "Web:Page:MaxIncidents must be between 1 and 500.")]
    public int MaxIncidents { get; set; } = 50;

    /// <summary>Audit lines per page.</summary>
    [Range(5, 500, ErrorMessage = "Web:Page:AuditPageSize must be between 5 and 500.")]
    public int AuditPageSize { get; set; } = 50;

    /// <summary>Most recent failed chat sends listed.</summary>
    [Range(1, 200, ErrorMessage = "Web:Page:FailedSendsShown must be between 1 and 200.")]
    public int FailedSendsShown { get; set; } = 20;
}
