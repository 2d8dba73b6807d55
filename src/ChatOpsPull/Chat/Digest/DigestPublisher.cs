using ChatOpsPull.Chat;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Chat.Slack;
using ChatOpsPull.Chat.Teams.Cards;
using Microsoft.Extensions.Options;
using ChatOpsPull.Digest;

namespace ChatOpsPull.Chat.Digest;

/// <summary>What publishing one digest did.</summary>
/// <param name="ChartFile">Full path of the chart PNG attached, or null.</param>
public sealed record DigestPublication(DigestReport Report, Card Card, string? ChartFile);

/// <summary>
/// Builds a channel's digest and posts it: the card through the channel's <see cref="IChatSurface"/> (one message per
/// schedule and period end; posting the same period again updates it), and the chart —
/// Slack: uploaded into the card's thread (files.getUploadURLExternal → upload → files.completeUploadExternal);
/// Teams: inside the Adaptive Card as a data URI when card and picture fit Teams' 28 KB message limit, else from
/// <c>Digest:PublicBaseUrl</c> + <c>/digest/charts/{random}.png</c>, else left out with a note.
/// The scheduled job and the <c>digest</c> command both come here.
/// </summary>
public sealed partial class DigestPublisher(
    DigestBuilder builder,
    DigestChart charts,
    DigestRuns runs,
    IEnumerable<IChatSurface> surfaces,
    IServiceProvider services,
    IOptionsMonitor<DigestOptions> options,
    TimeProvider time,
    ILogger<DigestPublisher> log) : IDigestPublisher
{
    /// <summary>Room left in a Teams card for everything but the picture.</summary>
    private const int TeamsCardBudget = AdaptiveCardRenderer.MaxCardUtf16Bytes - 512;

    public DigestSchedule? FindSchedule(ChatPlatform platform, string channelId) =>
        options.CurrentValue.Schedules.FirstOrDefault(s => s.Id == DigestSchedule.IdFor(platform, channelId));

    public async Task<ChatReply> PublishNowAsync(ChatPlatform platform, string channelId, CancellationToken cancellationToken)
    {
        var schedule = FindSchedule(platform, channelId);
        if (schedule is null)
        {
            return new ChatReply(
                "This channel has no digest schedule, so there is nothing to post. Add one under Digest:Schedules " +
                $"(Platform {platform}, Channel {channelId}, Cron, TimeZone, Period) and restart the bot.");
        }

        var publication = await PublishAsync(schedule, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        return new ChatReply(publication.Report.IsEmpty
            ? $"Digest posted: {DigestCardBuilder.NothingToReport(publication.Report)}"
            : $"Digest posted for {publication.Report.Scope}, last {publication.Report.Period.Describe()}.");
    }

    /// <summary>Builds the digest for the period ending at <paramref name="to"/> and posts it to the schedule's channel.</summary>
    public async Task<DigestPublication> PublishAsync(DigestSchedule schedule, DateTimeOffset to, CancellationToken cancellationToken)
    {
        var surface = surfaces.FirstOrDefault(s => s.Platform == schedule.Platform)
            ?? throw new InvalidOperationException($"No {schedule.Platform} surface is registered; the digest for {schedule.Channel} cannot be posted.");
        var settings = options.CurrentValue;
        var report = await builder.BuildAsync(schedule, to, cancellationToken).ConfigureAwait(false);
        var plain = DigestCardBuilder.Build(report, settings.Top);
        var earlier = await runs.FindAsync(schedule.Platform, schedule.Channel, plain.Key, cancellationToken).ConfigureAwait(false);

        string? chartFile = null;
        if (!report.IsEmpty && DigestChart.HasChart(report))
        {
            chartFile = earlier?.ChartFile is { } known && File.Exists(Path.Combine(charts.ChartDirectory, known))
                ? Path.Combine(charts.ChartDirectory, known)
                : await charts.SaveAsync(
                    report,
                    schedule.Platform == ChatPlatform.Teams ? DigestChart.TeamsWidth : DigestChart.SlackWidth,
                    schedule.Platform == ChatPlatform.Teams ? DigestChart.TeamsHeight : DigestChart.SlackHeight,
                    cancellationToken).ConfigureAwait(false);
        }

        var image = chartFile is null ? null : new CardImage(ChartTitle(report), chartFile, ChartAltText(report));
        var card = schedule.Platform switch
        {
            ChatPlatform.Slack => image is null ? plain : plain with { Footer = plain.Footer + " · chart in the thread" },
            ChatPlatform.Teams => image is null ? plain : await WithTeamsImageAsync(plain, image, settings, cancellationToken).ConfigureAwait(false),
            _ => plain,
        };

        await surface.PublishAsync(schedule.Channel, card, cancellationToken).ConfigureAwait(false);
        var chartSent = earlier?.ChartSent == true && earlier.ChartFile == (chartFile is null ? null : Path.GetFileName(chartFile));
        if (schedule.Platform == ChatPlatform.Slack && image is not null && !chartSent)
        {
            var upload = services.GetService<SlackFileUpload>();
            if (upload is not null)
            {
                await upload.EnqueueAsync(schedule.Channel, card.Key, image.FilePath, image.Title, image.AltText, cancellationToken).ConfigureAwait(false);
            }
        }

        await runs.SaveAsync(
            new DigestRun(
                schedule.Platform,
                schedule.Channel,
                card.Key,
                schedule.Id,
                report.From,
                report.To,
                chartFile is null ? null : Path.GetFileName(chartFile),
                image is not null,
                report.IsEmpty,
                time.GetUtcNow()),
            cancellationToken).ConfigureAwait(false);
        await DeleteOldChartsAsync(settings, cancellationToken).ConfigureAwait(false);
        LogPublished(log, schedule.Id, card.Key, report.IsEmpty, chartFile is not null);
        return new DigestPublication(report, card, chartFile);
    }

    /// <summary>"Image pull time per registry, Mon 23 Mar 09:00 – Tue 24 Mar 09:00".</summary>
    public static string ChartTitle(DigestReport report) =>
        $"Image pull time per registry, {DigestText.LocalTime(report.From, report.Zone)} – {DigestText.LocalTime(report.To, report.Zone)}";

    /// <summary>What the chart shows, in words (screen readers, clients that show no images).</summary>
    public static string ChartAltText(DigestReport report) =>
        "Line chart of image pull time per registry over the period (p50 solid, p95 dashed). " +
        string.Join("; ", report.Pulls.Registries.Where(r => r.TimedPulls > 0).Take(DigestChart.MaxRegistries)
            .Select(r => $"{r.Key}: p50 {DigestText.Millis(r.P50Ms!.Value)}, p95 {DigestText.Millis(r.P95Ms!.Value)} over {r.TimedPulls} pulls")) + ".";

    /// <summary>The card with the picture as a data URI when both fit Teams' limit; else by URL from Digest:PublicBaseUrl; else without it.</summary>
    private static async Task<Card> WithTeamsImageAsync(Card card, CardImage image, DigestOptions settings, CancellationToken cancellationToken)
    {
        var bytes = await File.ReadAllBytesAsync(image.FilePath, cancellationToken).ConfigureAwait(false);
        var dataUri = "data:image/png;base64," + Convert.ToBase64String(bytes);
        var inline = card with { Image = image with { Url = dataUri } };
        if (AdaptiveCardRenderer.Utf16Bytes(AdaptiveCardRenderer.Render(card with { Image = null }, CardView.Everyone)) + (dataUri.Length * 2) <= TeamsCardBudget)
        {
            return inline;
        }

        if (settings.PublicBaseUrl is { } baseUrl)
        {
            var url = new Uri(baseUrl, DigestEndpoints.ChartPath(Path.GetFileName(image.FilePath))).ToString();
            return card with { Image = image with { Url = url } };
        }

        return card with { Footer = card.Footer + " · the chart is too large for a Teams card; set Digest:PublicBaseUrl to show it" };
    }

    private async Task DeleteOldChartsAsync(DigestOptions settings, CancellationToken cancellationToken)
    {
        var old = await runs.ChartsPostedBeforeAsync(time.GetUtcNow() - settings.ChartRetention, cancellationToken).ConfigureAwait(false);
        var deleted = new List<string>();
        foreach (var name in old.Where(DigestChart.IsChartFileName))
        {
            try
            {
                File.Delete(Path.Combine(charts.ChartDirectory, name));
                deleted.Add(name);
            }
            catch (IOException e)
            {
                LogDeleteFailed(log, name, e.Message);
            }
        }

        await runs.ForgetChartsAsync(deleted, cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Digest {ScheduleId} posted as {CardKey} (empty: {Empty}, chart: {Chart})")]
    private static partial void LogPublished(ILogger logger, string scheduleId, string cardKey, bool empty, bool chart);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Old digest chart {File} could not be deleted: {Reason}")]
    private static partial void LogDeleteFailed(ILogger logger, string file, string reason);
}
