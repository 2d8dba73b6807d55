using System.Globalization;
using System.Text.RegularExpressions;

namespace ChatOpsPull.Detection.KubernetesWatch;

/// <summary>
/// A kubelet <c>Pulled</c> event message, in any of the wordings kubelet has used:
/// <list type="bullet">
/// <item>before 1.21: <c>Successfully pulled image "nginx:1.25"</c></item>
/// <item>1.21–1.27: <c>Successfully pulled image "nginx:1.25" in 3.474467754s</c></item>
/// <item>1.28: <c>Successfully pulled image "nginx:1.25" in 1.011s (1.011s including waiting)</c></item>
/// <item>1.30+: <c>… (1.2s including waiting). Image size: 123456 bytes.</c></item>
/// </list>
/// <c>Container image "x" already present on machine</c> (also reason Pulled) is not a pull and does not parse.
/// </summary>
public sealed partial record PulledMessage(string Image, TimeSpan? Duration, long? SizeBytes)
{
    public static bool TryParse(string? message, out PulledMessage result)
    {
        result = null!;
        if (string.IsNullOrEmpty(message))
        {
            return false;
        }

        var match = PulledRegex().Match(message);
        if (!match.Success)
        {
            return false;
        }

        TimeSpan? duration = null;
        if (match.Groups["duration"].Success)
        {
            if (!GoDuration.TryParse(match.Groups["duration"].Value, out var parsed))
            {
                return false;
            }

            duration = parsed;
        }

        long? size = null;
        if (match.Groups["size"].Success && long.TryParse(match.Groups["size"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes))
        {
            size = bytes;
        }

        result = new PulledMessage(match.Groups["image"].Value, duration, size);
        return true;
    }

    [GeneratedRegex(
        "^Successfully pulled image \"(?<image>[^\"]+)\"(?: in (?<duration>[0-9.]+[a-zµμ]+(?:[0-9.]+[a-zµμ]+)*)(?: \\((?<waiting>[^)]*) including waiting\\))?)?(?:\\. Image size: (?<size>[0-9]+) bytes)?\\.?$",
        RegexOptions.CultureInvariant)]
    private static partial Regex PulledRegex();
}

/// <summary>Go's time.Duration.String() format: "1m2.5s", "850ms", "1.5µs", "2h0m0s".</summary>
public static partial class GoDuration
{
    public static bool TryParse(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        var position = 0;
        double ticks = 0;
        foreach (Match part in PartRegex().Matches(text))
        {
            if (part.Index != position)
            {
                return false;
            }

            position += part.Length;
            var value = double.Parse(part.Groups[1].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
            ticks += part.Groups[2].Value switch
            {
                "h" => value * TimeSpan.TicksPerHour,
                "m" => value * TimeSpan.TicksPerMinute,
                "s" => value * TimeSpan.TicksPerSecond,
                "ms" => value * TimeSpan.TicksPerMillisecond,
                "us" or "µs" or "μs" => value * 10,
                "ns" => value / 100,
                _ => double.NaN,
            };
        }

        if (position != text.Length || double.IsNaN(ticks))
        {
            return false;
        }

        duration = TimeSpan.FromTicks((long)Math.Round(ticks));
        return true;
    }

    [GeneratedRegex("([0-9]+(?:\\.[0-9]*)?)(h|ms|m|s|us|µs|μs|ns)", RegexOptions.CultureInvariant)]
    private static partial Regex PartRegex();
}
