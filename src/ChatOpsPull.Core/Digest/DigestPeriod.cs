using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace ChatOpsPull.Core.Digest;

/// <summary>
/// How far back a digest looks: a whole number of minutes, hours, days or weeks written as "90m", "24h", "7d", "2w".
/// </summary>
public sealed record DigestPeriod(TimeSpan Length, string Text)
{
    public static readonly TimeSpan Longest = TimeSpan.FromDays(92);

    public static DigestPeriod Day { get; } = new(TimeSpan.FromHours(24), "24h");

    /// <summary>"24 h", "7 days", "90 min", "2 weeks": how a card says it.</summary>
    public string Describe()
    {
        var number = Text[..^1];
        return Text[^1] switch
        {
            'm' => number + " min",
            'h' => number + " h",
            'd' => number == "1" ? "day" : number + " days",
            'w' => number == "1" ? "week" : number + " weeks",
            _ => Text,
        };
    }

    /// <summary>Parses "24h"-style text; <paramref name="error"/> is a plain sentence when it does not parse.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out DigestPeriod? period, [NotNullWhen(false)] out string? error)
    {
        period = null;
        var value = (text ?? string.Empty).Trim().ToLowerInvariant();
        if (value.Length < 2
            || !int.TryParse(value.AsSpan(0, value.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var count)
            || count <= 0)
        {
            error = $"\"{text}\" is not a period: write a whole number followed by m, h, d or w, such as 24h or 7d.";
            return false;
        }

        TimeSpan length;
        switch (value[^1])
        {
            case 'm':
                length = TimeSpan.FromMinutes(count);
                break;
            case 'h':
                length = TimeSpan.FromHours(count);
                break;
            case 'd':
                length = TimeSpan.FromDays(count);
                break;
            case 'w':
                length = TimeSpan.FromDays(7.0 * count);
                break;
            default:
                error = $"\"{text}\" is not a period: the unit must be m, h, d or w, such as 24h or 7d.";
                return false;
        }

        if (length < TimeSpan.FromMinutes(10) || length > Longest)
        {
            error = $"\"{text}\" is not a usable period: it must be between 10m and 92d.";
            return false;
        }

        period = new DigestPeriod(length, value);
        error = null;
        return true;
    }
}
