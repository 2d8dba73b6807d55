using System.ComponentModel;
using Hangfire;
using Hangfire.Storage;
using Microsoft.Extensions.Options;
using ChatOpsPull.Digest;

namespace ChatOpsPull.Chat.Digest;

/// <summary>
/// The scheduled digest of one channel, run by Hangfire at the schedule's cron occurrences in its time zone. The
/// period ends at the occurrence the job belongs to, so a retried or late run posts (updates) the same digest.
/// </summary>
public sealed partial class DigestJob(DigestPublisher publisher, IOptionsMonitor<DigestOptions> options, TimeProvider time, ILogger<DigestJob> log)
{
    [DisplayName("Digest {0}")]
    [AutomaticRetry(Attempts = 3)]
    [DisableConcurrentExecution(timeoutInSeconds: 300)]
    public async Task RunAsync(string scheduleId, CancellationToken cancellationToken)
    {
        var schedule = options.CurrentValue.Schedules.FirstOrDefault(s => s.Id == scheduleId);
        if (schedule is null)
        {
            LogScheduleGone(log, scheduleId);
            return;
        }

        var now = time.GetUtcNow();
        await publisher.PublishAsync(schedule, schedule.LastOccurrence(now) ?? now, cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Digest {ScheduleId} is no longer configured; nothing posted")]
    private static partial void LogScheduleGone(ILogger logger, string scheduleId);
}

/// <summary>
/// At start, makes Hangfire's recurring digest jobs match Digest:Schedules: one job per channel ("digest:slack:C0123"),
/// with the schedule's cron and time zone (<see cref="RecurringJobOptions.TimeZone"/>, so 09:00 stays 09:00 local across
/// daylight saving changes), and removes every "digest:" job whose schedule is gone from the configuration.
/// </summary>
public sealed partial class DigestRecurringJobs(IRecurringJobManager recurring, JobStorage storage, IOptionsMonitor<DigestOptions> options, ILogger<DigestRecurringJobs> log) : IHostedService
{
    public const string IdPrefix = "digest:";

    public Task StartAsync(CancellationToken cancellationToken)
    {
        Synchronize();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <returns>The ids removed.</returns>
    public IReadOnlyList<string> Synchronize()
    {
        var schedules = options.CurrentValue.Schedules;
        foreach (var schedule in schedules)
        {
            var id = schedule.Id;
            recurring.AddOrUpdate<DigestJob>(
                id,
                job => job.RunAsync(id, CancellationToken.None),
                schedule.Cron,
                new RecurringJobOptions { TimeZone = schedule.Zone });
            LogRegistered(log, id, schedule.Cron, schedule.Zone.Id);
        }

        var wanted = schedules.Select(s => s.Id).ToHashSet(StringComparer.Ordinal);
        List<string> stale;
        using (var connection = storage.GetConnection())
        {
            stale = connection.GetRecurringJobs()
                .Select(j => j.Id)
                .Where(id => id.StartsWith(IdPrefix, StringComparison.Ordinal) && !wanted.Contains(id))
                .ToList();
        }

        foreach (var id in stale)
        {
            recurring.RemoveIfExists(id);
            LogRemoved(log, id);
        }

        return stale;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Digest {Id} scheduled: cron \"{Cron}\" in {TimeZone}")]
    private static partial void LogRegistered(ILogger logger, string id, string cron, string timeZone);

    [LoggerMessage(Level = LogLevel.Information, Message = "Digest {Id} removed: its schedule is no longer configured")]
    private static partial void LogRemoved(ILogger logger, string id);
}
