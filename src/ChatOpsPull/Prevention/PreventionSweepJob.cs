using System.ComponentModel;
using Hangfire;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Prevention;

/// <summary>
/// The sweep as a Hangfire recurring job, one per cluster ("prevention-sweep:CLUSTER", Sweep:Cron in UTC). The cluster is
/// the job's argument: a replica of another cluster that shares the database and picks the job up does nothing.
/// </summary>
public sealed partial class PreventionSweepJob(PreventionSweep sweep, IOptions<BotOptions> bot, ILogger<PreventionSweepJob> log)
{
    public const string IdPrefix = "prevention-sweep:";

    [DisplayName("Sweep running workloads' images ({0})")]
    [AutomaticRetry(Attempts = 0)]
    [DisableConcurrentExecution(timeoutInSeconds: 60)]
    public async Task RunAsync(string cluster, CancellationToken cancellationToken)
    {
        if (!string.Equals(cluster, bot.Value.Cluster, StringComparison.Ordinal))
        {
            LogOtherCluster(log, cluster, bot.Value.Cluster);
            return;
        }

        var result = await sweep.RunAsync(cancellationToken).ConfigureAwait(false);
        foreach (var note in result.Notes)
        {
            LogNote(log, note);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sweep of cluster {Cluster} skipped: this bot sweeps cluster {Own}")]
    private static partial void LogOtherCluster(ILogger logger, string cluster, string own);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sweep: {Note}")]
    private static partial void LogNote(ILogger logger, string note);
}

/// <summary>
/// At start, makes the recurring sweep match Sweep:Enabled and Sweep:Cron for this bot's cluster, and removes the sweep
/// of this cluster when it is turned off.
/// </summary>
internal sealed partial class PreventionSweepRegistration(
    IGlobalConfiguration configured,
    IRecurringJobManager recurring,
    IOptions<SweepOptions> options,
    IOptions<BotOptions> bot,
    ILogger<PreventionSweepRegistration> log) : IHostedService
{
    private readonly IGlobalConfiguration _configured = configured;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var cluster = bot.Value.Cluster;
        var id = PreventionSweepJob.IdPrefix + cluster;
        if (options.Value.Enabled)
        {
            recurring.AddOrUpdate<PreventionSweepJob>(id, job => job.RunAsync(cluster, CancellationToken.None), options.Value.Cron);
            LogScheduled(log, id, options.Value.Cron);
        }
        else
        {
            recurring.RemoveIfExists(id);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Sweep {Id} scheduled: cron \"{Cron}\" (UTC)")]
    private static partial void LogScheduled(ILogger logger, string id, string cron);
}
