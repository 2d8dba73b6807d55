namespace ChatOpsPull.Core.Remediation;

/// <summary>
/// The Job that <c>kubectl create job NAME --from=cronjob/CRON</c> creates, and the name the bot gives it. kubectl takes
/// the name from the command line; the bot makes one from the CronJob's name and a suffix that is fixed per run (so a
/// resumed run finds the Job it created), within the 63 characters a Job name may have (it becomes a pod label).
/// </summary>
public static class ManualJob
{
    /// <summary>The annotation kubectl puts on a Job it creates from a CronJob.</summary>
    public const string InstantiateAnnotation = "cronjob.kubernetes.io/instantiate";

    public const string InstantiateValue = "manual";

    public const int MaxNameLength = 63;

    /// <summary>"nightly-manual-4f2a9c1d": the CronJob's name (cut to fit) and <paramref name="suffix"/>.</summary>
    public static string Name(string cronJob, string suffix)
    {
        ArgumentNullException.ThrowIfNull(cronJob);
        ArgumentNullException.ThrowIfNull(suffix);
        var tail = "-manual-" + suffix.ToLowerInvariant();
        var head = cronJob.Length + tail.Length <= MaxNameLength ? cronJob : cronJob[..(MaxNameLength - tail.Length)].TrimEnd('-', '.');
        return head + tail;
    }
}
