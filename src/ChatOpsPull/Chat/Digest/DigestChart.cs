using System.Security.Cryptography;
using System.Text.RegularExpressions;
using ChatOpsPull.Configuration;
using ChatOpsPull.Core.Digest;
using Microsoft.Extensions.Options;
using ScottPlot;
using ChatOpsPull.Digest;

namespace ChatOpsPull.Chat.Digest;

/// <summary>
/// The digest's chart: pull time per registry over the period (p50 solid, p95 dashed, one point per hour or day), drawn
/// server-side with ScottPlot on SkiaSharp (no display needed) and saved as a PNG under
/// <c>Bot:DataDirectory/digest-charts/</c> with an unguessable name (128 random bits), so it can be served to Teams.
/// </summary>
public sealed partial class DigestChart(IOptions<BotOptions> bot)
{
    public const string DirectoryName = "digest-charts";

    /// <summary>Slack gets a larger picture (it is opened full size); Teams gets a smaller one that fits inside the card.</summary>
    public const int SlackWidth = 900;
    public const int SlackHeight = 420;
    public const int TeamsWidth = 560;
    public const int TeamsHeight = 260;

    /// <summary>At most this many registries are drawn (the busiest); more would be unreadable.</summary>
    public const int MaxRegistries = 6;

    public string ChartDirectory => Path.Combine(Path.GetFullPath(bot.Value.DataDirectory), DirectoryName);

    /// <summary>True when the period has at least two time buckets with timed pulls: one point is not a chart.</summary>
    public static bool HasChart(DigestReport report) =>
        report.Pulls.Buckets.Select(b => b.Start).Distinct().Skip(1).Any();

    /// <summary>A 32-hex-character file name ("3f…9a.png"); the only names the chart endpoint serves.</summary>
    public static bool IsChartFileName(string name) => ChartFileName().IsMatch(name);

    /// <summary>Renders and saves the chart; returns the file's full path, or null when there is nothing to draw.</summary>
    public async Task<string?> SaveAsync(DigestReport report, int width, int height, CancellationToken cancellationToken)
    {
        var png = RenderPng(report, width, height);
        if (png is null)
        {
            return null;
        }

        Directory.CreateDirectory(ChartDirectory);
        var path = Path.Combine(ChartDirectory, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)) + ".png");
        await File.WriteAllBytesAsync(path, png, cancellationToken).ConfigureAwait(false);
        return path;
    }

    /// <summary>The PNG bytes, or null when <see cref="HasChart"/> is false.</summary>
    public static byte[]? RenderPng(DigestReport report, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (!HasChart(report))
        {
            return null;
        }

        var busiest = report.Pulls.Registries.Where(r => r.TimedPulls > 0).Take(MaxRegistries).Select(r => r.Key).ToList();
        var half = report.Pulls.BucketWidth / 2;
        using var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var highest = 0.0;
        for (var i = 0; i < busiest.Count; i++)
        {
            var buckets = report.Pulls.Buckets.Where(b => b.Registry == busiest[i]).OrderBy(b => b.Start).ToList();
            var xs = buckets.Select(b => TimeZoneInfo.ConvertTime(b.Start + half, report.Zone).DateTime.ToOADate()).ToArray();
            var p50 = buckets.Select(b => b.P50Ms / 1000.0).ToArray();
            var p95 = buckets.Select(b => b.P95Ms / 1000.0).ToArray();
            highest = Math.Max(highest, p95.Max());
            var color = palette.GetColor(i);

            var median = plot.Add.Scatter(xs, p50);
            median.Color = color;
            median.LineWidth = 2;
            median.MarkerSize = 5;
            median.LegendText = busiest[i] + " p50";

            var tail = plot.Add.Scatter(xs, p95);
            tail.Color = color;
            tail.LineWidth = 1.5f;
            tail.LinePattern = LinePattern.Dashed;
            tail.MarkerSize = 0;
            tail.LegendText = busiest[i] + " p95";
        }

        plot.Axes.DateTimeTicksBottom();
        plot.Axes.SetLimitsY(0, Math.Max(1, highest * 1.15));
        plot.Title($"Image pull time per registry, per {(report.Pulls.BucketWidth >= TimeSpan.FromDays(1) ? "day" : "hour")} ({report.Zone.Id})");
        plot.YLabel("seconds");
        plot.ShowLegend(Alignment.UpperLeft);
        return plot.GetImageBytes(width, height, ImageFormat.Png);
    }

    [GeneratedRegex("^[0-9a-f]{32}\\.png$", RegexOptions.CultureInvariant)]
    private static partial Regex ChartFileName();
}
