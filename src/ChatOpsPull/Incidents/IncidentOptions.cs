using System.ComponentModel.DataAnnotations;

namespace ChatOpsPull.Incidents;

/// <summary>Section "Incidents": grouping, storms and quiet windows.</summary>
public sealed class IncidentOptions
{
    public const string Section = "Incidents";

    /// <summary>
    /// An incident resolved and failing again within this time is reopened (same id, same card) instead of opened anew;
    /// and it says "reopened" at most once per window.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "7.00:00:00", ErrorMessage = "Incidents:QuietWindow must be between 0 and 7 days (e.g. \"00:10:00\").")]
    public TimeSpan QuietWindow { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>This many workloads failing on the same image for the same cause within <see cref="RollupWindow"/> roll up into one card.</summary>
    [Range(2, 1000, ErrorMessage = "Incidents:RollupThreshold must be between 2 and 1000 workloads.")]
    public int RollupThreshold { get; set; } = 3;

    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00", ErrorMessage = "Incidents:RollupWindow must be between 1 second and 1 day (e.g. \"00:10:00\").")]
    public TimeSpan RollupWindow { get; set; } = TimeSpan.FromMinutes(10);
}
