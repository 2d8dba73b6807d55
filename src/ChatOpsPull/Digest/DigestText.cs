using System.Globalization;

namespace ChatOpsPull.Digest;

/// <summary>How a digest writes numbers, sizes, durations and times: short, invariant, the same on every platform.</summary>
public static class DigestText
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>"45 s", "14 min", "3 h 2 min", "2 d 4 h".</summary>
    public static string Duration(TimeSpan span)
    {
        span = span.Duration();
        if (span < TimeSpan.FromMinutes(1))
        {
            return string.Create(Invariant, $"{(int)span.TotalSeconds} s");
        }

        if (span < TimeSpan.FromHours(1))
        {
            return string.Create(Invariant, $"{(int)span.TotalMinutes} min");
        }

        if (span < TimeSpan.FromHours(48))
        {
            return span.Minutes == 0
                ? string.Create(Invariant, $"{(int)span.TotalHours} h")
                : string.Create(Invariant, $"{(int)span.TotalHours} h {span.Minutes} min");
        }

        return span.Hours == 0
            ? string.Create(Invariant, $"{(int)span.TotalDays} d")
            : string.Create(Invariant, $"{(int)span.TotalDays} d {span.Hours} h");
    }

    /// <summary>"850 ms", "3.2 s", "2 min 5 s".</summary>
    public static string Millis(long ms)
    {
        if (ms < 1000)
        {
            return string.Create(Invariant, $"{ms} ms");
        }

        if (ms < 60_000)
        {
            return string.Create(Invariant, $"{ms / 1000.0:0.#} s");
        }

        var span = TimeSpan.FromMilliseconds(ms);
        return string.Create(Invariant, $"{(int)span.TotalMinutes} min {span.Seconds} s");
    }

    /// <summary>Decimal units, as registries and kubelet count: "540 MB", "1.2 GB".</summary>
    public static string Bytes(long bytes)
    {
        string[] units = ["B", "kB", "MB", "GB", "TB", "PB"];
        double value = bytes;
        var unit = 0;
        while (value >= 1000 && unit < units.Length - 1)
        {
            value /= 1000;
            unit++;
        }

        return unit == 0 ? string.Create(Invariant, $"{bytes} B") : string.Create(Invariant, $"{value:0.#} {units[unit]}");
    }

    public static string Count(int count, string one, string many) =>
        string.Create(Invariant, $"{count:N0} {(count == 1 ? one : many)}");

    /// <summary>"Tue 24 Mar 09:00" in the schedule's time zone.</summary>
    public static string LocalTime(DateTimeOffset at, TimeZoneInfo zone) =>
        TimeZoneInfo.ConvertTime(at, zone).ToString("ddd d MMM HH:mm", Invariant);

    /// <summary>"Mon 23 Mar 09:00 – Tue 24 Mar 09:00 (Europe/Berlin)".</summary>
    public static string Range(DateTimeOffset from, DateTimeOffset to, TimeZoneInfo zone) =>
        $"{LocalTime(from, zone)} – {LocalTime(to, zone)} ({zone.Id})";
}
