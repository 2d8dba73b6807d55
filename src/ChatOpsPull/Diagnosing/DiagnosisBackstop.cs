using ChatOpsPull.Jobs;
using ChatOpsPull.Incidents;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Diagnosing;

/// <summary>
/// The durable backstop of the in-process diagnosis path, on every host of the same database: at start and then every
/// <see cref="Every"/> it reads the incidents whose diagnosis ticket is still not applied
/// <see cref="DiagnosisOptions.BackstopDelay"/> after they last changed (one indexed read, up to 500 rows) and queues
/// them here (<see cref="InProcessDiagnosisScheduler.TakeUpAsync"/>), unless this host already holds them. A request a
/// crashed or stopped host had taken is so carried out by whichever host is up; a request another live host is still
/// working on may run twice, and the ticket stores one result (<see cref="DiagnosisRun"/>). The ticket is written in the
/// incident's own transaction, so no request can be lost between the two. Idle when the engine does not ask the
/// in-process path (a fleet, whose requests are Hangfire jobs already, or a host that replaced the scheduler).
/// </summary>
internal sealed partial class DiagnosisBackstop(
    InProcessDiagnosisScheduler queue,
    IDiagnosisScheduler engineScheduler,
    IncidentStore store,
    IOptions<DiagnosisOptions> options,
    TimeProvider time,
    ILogger<DiagnosisBackstop> logger) : BackgroundService
{
    /// <summary>How often the backstop looks: the backstop delay, at least 1 s and at most 30 s.</summary>
    public static TimeSpan Every(TimeSpan backstopDelay) => PeriodicSweep.Every(backstopDelay);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!ReferenceEquals(engineScheduler, queue) || queue.FleetMode)
        {
            return;
        }

        await PeriodicSweep.RunAsync(Every(options.Value.BackstopDelay), time, SweepAsync, e => LogSweepFailed(logger, e), stoppingToken).ConfigureAwait(false);
    }

    /// <summary>One look: queues here every request not applied for the backstop delay that this host does not hold. Returns how many.</summary>
    internal async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var pending = await store.ListPendingDiagnosesAsync(time.GetUtcNow() - options.Value.BackstopDelay, cancellationToken).ConfigureAwait(false);
        queue.KeepHandedOver(pending);
        var taken = 0;
        foreach (var (id, version) in pending)
        {
            if (await queue.TakeUpAsync(id, version, cancellationToken).ConfigureAwait(false))
            {
                taken++;
            }
        }

        if (taken > 0)
        {
            LogTakenUp(logger, taken);
        }

        return taken;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Took up {Count} diagnoses asked for and not applied within the backstop delay (a host stopped before it finished them, or another host is still at them)")]
    private static partial void LogTakenUp(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The diagnosis backstop could not read the pending diagnoses; it looks again later")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
