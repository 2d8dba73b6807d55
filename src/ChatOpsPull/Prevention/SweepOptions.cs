using System.ComponentModel.DataAnnotations;
using Cronos;

namespace ChatOpsPull.Prevention;

/// <summary>
/// Section "Sweep": the proactive sweep, a recurring job per cluster that checks the images of every running workload
/// and posts a "will fail" card for each one that the next pull would fail (tag deleted, credentials refused or about to
/// expire, platform missing for some of the cluster's nodes). docs/prevention.md describes it.
/// </summary>
public sealed class SweepOptions : IValidatableObject
{
    public const string Section = "Sweep";

    /// <summary>Run the sweep (it needs a cluster connection; without one it does nothing).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>When, as a five-field cron in UTC.</summary>
    public string Cron { get; set; } = "*/30 * * * *";

    /// <summary>At most this many registry checks per registry host in one run; the rest wait for the next run.</summary>
    [Range(1, 100_000, ErrorMessage = "Sweep:HostBudget must be between 1 and 100000.")]
    public int HostBudget { get; set; } = 200;

    /// <summary>At least this long between two checks of the same registry host.</summary>
    public TimeSpan HostInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Credentials whose readable expiry is within this are a finding (and expired ones too).</summary>
    public TimeSpan CredentialExpiryWarning { get; set; } = TimeSpan.FromDays(3);

    /// <summary>A run stops here; findings of workloads it did not reach are kept, not resolved.</summary>
    public TimeSpan RunTimeout { get; set; } = TimeSpan.FromMinutes(10);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!CronExpression.TryParse(Cron, CronFormat.Standard, out _))
        {
            yield return new ValidationResult($"Sweep:Cron \"{Cron}\" is not a five-field cron expression (e.g. \"*/30 * * * *\").", [nameof(Cron)]);
        }

        if (HostInterval < TimeSpan.Zero || HostInterval > TimeSpan.FromMinutes(1))
        {
            yield return new ValidationResult("Sweep:HostInterval must be between 0 and 1 minute.", [nameof(HostInterval)]);
        }

        if (CredentialExpiryWarning < TimeSpan.Zero || CredentialExpiryWarning > TimeSpan.FromDays(90))
        {
            yield return new ValidationResult("Sweep:CredentialExpiryWarning must be between 0 and 90 days.", [nameof(CredentialExpiryWarning)]);
        }

        if (RunTimeout < TimeSpan.FromSeconds(10) || RunTimeout > TimeSpan.FromHours(6))
        {
            yield return new ValidationResult("Sweep:RunTimeout must be between 10 seconds and 6 hours.", [nameof(RunTimeout)]);
        }
    }
}
