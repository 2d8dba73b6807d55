using System.ComponentModel.DataAnnotations;
using ChatOpsPull.Configuration;
using ChatOpsPull.Core.Digest;
using Cronos;

namespace ChatOpsPull.Digest;

/// <summary>
/// Section "Digest": one schedule per channel, and the thresholds of the insights. Validated at start: a bad cron
/// expression, an unknown time zone, a bad period or two schedules for one channel stop the bot with a sentence.
/// </summary>
public sealed class DigestOptions : IValidatableObject
{
    public const string Section = "Digest";

    public List<DigestSchedule> Schedules { get; set; } = [];

    /// <summary>A caching hint needs more than this many pulls of one image in the period…</summary>
    [Range(1, 1_000_000, ErrorMessage = "Digest:CachingHintMinPulls must be between 1 and 1,000,000.")]
    public int CachingHintMinPulls { get; set; } = 10;

    /// <summary>…of an image larger than this many bytes (kubelet's reported size; 500 MB).</summary>
    [Range(1L, long.MaxValue, ErrorMessage = "Digest:CachingHintMinBytes must be a positive number of bytes.")]
    public long CachingHintMinBytes { get; set; } = 500_000_000;

    /// <summary>Credentials that expire within this time (or already did) are listed.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "90.00:00:00", ErrorMessage = "Digest:CredentialExpiryWarning must be between 0 and 90 days.")]
    public TimeSpan CredentialExpiryWarning { get; set; } = TimeSpan.FromDays(3);

    /// <summary>How many images, registries, workloads a list shows before "…and N more".</summary>
    [Range(1, 50, ErrorMessage = "Digest:Top must be between 1 and 50.")]
    public int Top { get; set; } = 5;

    /// <summary>At most this many registry checks of pull secrets per digest (each check is a few requests to the registry).</summary>
    [Range(0, 500, ErrorMessage = "Digest:MaxRegistryChecks must be between 0 and 500 (0: no registry checks).")]
    public int MaxRegistryChecks { get; set; } = 20;

    /// <summary>Limit for reading the cluster (pods, secrets) and checking registries while building one digest.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00", ErrorMessage = "Digest:ClusterScanTimeout must be between 1 second and 10 minutes.")]
    public TimeSpan ClusterScanTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Chart PNGs older than this are deleted from the data directory.</summary>
    [Range(typeof(TimeSpan), "01:00:00", "365.00:00:00", ErrorMessage = "Digest:ChartRetention must be between 1 hour and 365 days.")]
    public TimeSpan ChartRetention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// The bot's public https base URL ("https://chatopspull.example.com/"). Only needed for Teams when a chart is too
    /// large to ride inside the card as a data URI: Teams then loads it from /digest/charts/{random}.png.
    /// </summary>
    public Uri? PublicBaseUrl { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Schedules.Count; i++)
        {
            var schedule = Schedules[i];
            var where = $"Digest:Schedules:{i}";
            if (schedule.Platform is not (ChatPlatform.Slack or ChatPlatform.Teams))
            {
                yield return new ValidationResult($"{where}:Platform must be Slack or Teams.");
            }

            if (string.IsNullOrWhiteSpace(schedule.Channel))
            {
                yield return new ValidationResult($"{where}:Channel must be the channel id to post to (Slack \"C0123456789\", Teams \"19:…@thread.tacv2\").");
            }
            else if (!seen.Add(DigestSchedule.IdFor(schedule.Platform, schedule.Channel)))
            {
                yield return new ValidationResult($"{where}: channel {schedule.Channel} already has a digest schedule; give each channel one schedule.");
            }

            if (!DigestSchedule.TryParseCron(schedule.Cron, out _, out var cronError))
            {
                yield return new ValidationResult($"{where}:Cron {cronError}");
            }

            if (!DigestSchedule.TryFindTimeZone(schedule.TimeZone, out _))
            {
                yield return new ValidationResult($"{where}:TimeZone \"{schedule.TimeZone}\" is not a time zone this machine knows; use an IANA name such as \"Europe/Berlin\" or \"UTC\".");
            }

            if (!DigestPeriod.TryParse(schedule.Period, out _, out var periodError))
            {
                yield return new ValidationResult($"{where}:Period {periodError}");
            }
        }

        if (PublicBaseUrl is { } url && (!url.IsAbsoluteUri || url.Scheme != Uri.UriSchemeHttps))
        {
            yield return new ValidationResult("Digest:PublicBaseUrl must be an absolute https URL (Teams loads images only over https).");
        }
    }
}

/// <summary>One channel's digest: where, when (cron in a time zone), about what (cluster/namespace globs) and how far back.</summary>
public sealed class DigestSchedule
{
    public ChatPlatform Platform { get; set; } = ChatPlatform.Slack;

    /// <summary>Slack channel id or Teams conversation id.</summary>
    public string Channel { get; set; } = string.Empty;

    /// <summary>Five-field cron ("0 9 * * 1-5": 09:00 on weekdays) in <see cref="TimeZone"/>.</summary>
    public string Cron { get; set; } = "0 9 * * *";

    /// <summary>IANA time zone the cron is read in ("Europe/Berlin"); daylight saving changes are followed.</summary>
    public string TimeZone { get; set; } = "UTC";

    /// <summary>Glob over cluster names ("prod-*"); "*" for every cluster the bot knows.</summary>
    public string Cluster { get; set; } = "*";

    /// <summary>Glob over namespaces ("shop", "team-*").</summary>
    public string Namespace { get; set; } = "*";

    /// <summary>How far back the digest looks: "24h", "7d".</summary>
    public string Period { get; set; } = "24h";

    /// <summary>The recurring job id: "digest:slack:C0123456789".</summary>
    public string Id => IdFor(Platform, Channel);

    public static string IdFor(ChatPlatform platform, string channel) =>
        $"digest:{platform.ToString().ToLowerInvariant()}:{channel.Trim()}";

    public static bool TryParseCron(string? cron, out CronExpression? expression, out string? error)
    {
        expression = null;
        error = null;
        if (string.IsNullOrWhiteSpace(cron))
        {
            error = "must be a cron expression such as \"0 9 * * 1-5\" (minute hour day-of-month month day-of-week).";
            return false;
        }

        if (cron.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries).Length != 5 && !cron.TrimStart().StartsWith('@'))
        {
            error = $"\"{cron}\" must have five fields: minute hour day-of-month month day-of-week, such as \"0 9 * * 1-5\".";
            return false;
        }

        try
        {
            expression = CronExpression.Parse(cron, CronFormat.Standard);
            return true;
        }
        catch (CronFormatException e)
        {
            error = $"\"{cron}\" is not a valid cron expression ({e.Message.TrimEnd('.')}).";
            return false;
        }
    }

    public static bool TryFindTimeZone(string? id, out TimeZoneInfo zone)
    {
        zone = TimeZoneInfo.Utc;
        if (string.IsNullOrWhiteSpace(id))
        {
            return false;
        }

        try
        {
            zone = TimeZoneInfo.FindSystemTimeZoneById(id.Trim());
            return true;
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            return false;
        }
    }

    public CronExpression CronExpression => TryParseCron(Cron, out var expression, out _) ? expression! : throw new InvalidOperationException($"{Id}: invalid cron");

    public TimeZoneInfo Zone => TryFindTimeZone(TimeZone, out var zone) ? zone : throw new InvalidOperationException($"{Id}: unknown time zone");

    public DigestPeriod ParsedPeriod => DigestPeriod.TryParse(Period, out var period, out _) ? period : DigestPeriod.Day;

    /// <summary>"prod-eu", "prod-* clusters", or "all clusters", plus the namespace filter when there is one.</summary>
    public string Scope
    {
        get
        {
            var cluster = Cluster == "*" ? "all clusters" : Cluster.Contains('*', StringComparison.Ordinal) || Cluster.Contains('?', StringComparison.Ordinal) ? Cluster + " clusters" : Cluster;
            return Namespace == "*" ? cluster : $"{cluster}, namespace {Namespace}";
        }
    }

    /// <summary>The occurrence the cron last fired at or before <paramref name="now"/> (the end of a scheduled digest's period).</summary>
    public DateTimeOffset? LastOccurrence(DateTimeOffset now)
    {
        var expression = CronExpression;
        var zone = Zone;
        var candidate = default(DateTime);
        foreach (var window in new[] { TimeSpan.FromHours(2), TimeSpan.FromDays(2), TimeSpan.FromDays(35), TimeSpan.FromDays(400) })
        {
            candidate = expression.GetOccurrences(now.UtcDateTime - window, now.UtcDateTime, zone, fromInclusive: true, toInclusive: true).LastOrDefault();
            if (candidate != default)
            {
                break;
            }
        }

        return candidate == default ? null : new DateTimeOffset(candidate, TimeSpan.Zero);
    }
}
