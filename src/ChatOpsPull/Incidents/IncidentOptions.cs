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

    /// <summary>
    /// Tries of one incident write (a report, a resolve, a command, a storm roll-up) that lost a race to another writer
    /// before it fails; see <see cref="IncidentRetryPipelines"/>.
    /// </summary>
    [Range(1, 100, ErrorMessage = "Incidents:WriteAttempts must be between 1 and 100.")]
    public int WriteAttempts { get; set; } = 10;

    /// <summary>Before try n+1 of an incident write, a random wait between a fifth of this and n times this.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10", ErrorMessage = "Incidents:WriteRetryDelay must be between 0 and 10 seconds (e.g. \"00:00:00.010\").")]
    public TimeSpan WriteRetryDelay { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Tries of a read-modify-write through <see cref="IncidentStore.UpdateAsync"/> that lost to a newer version.</summary>
    [Range(1, 100, ErrorMessage = "Incidents:StoreUpdateAttempts must be between 1 and 100.")]
    public int StoreUpdateAttempts { get; set; } = 8;

    /// <summary>Before try n+1 of a store update, a random wait between a fifth of this and n times this.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10", ErrorMessage = "Incidents:StoreUpdateRetryDelay must be between 0 and 10 seconds (e.g. \"00:00:00.020\").")]
    public TimeSpan StoreUpdateRetryDelay { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// News stored and not told this long after (the host that wrote it stopped before its card was queued) is told again
    /// from the stored incident, by whichever host looks first; see <c>NewsRetell</c>. Longer than a card takes to queue
    /// under a storm, so that a live host's news is not told twice.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "Incidents:NewsRetellGrace must be between 1 second and 1 hour (e.g. \"00:00:30\").")]
    public TimeSpan NewsRetellGrace { get; set; } = TimeSpan.FromSeconds(30);
}
