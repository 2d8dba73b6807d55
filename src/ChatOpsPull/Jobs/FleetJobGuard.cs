using Hangfire.States;

namespace ChatOpsPull.Jobs;

/// <summary>
/// In a fleet, the job tables are shared with every other cluster's bot, so a compromised bot could write a job row that
/// names any public method of any loaded type. Before a worker runs a job, this checks that it is one of the bot's own jobs
/// (a class of this assembly whose name ends in "Job", method RunAsync); anything else is deleted with the reason, before
/// any of its code runs. Outside fleet mode it is not installed.
/// </summary>
public sealed partial class FleetJobGuard(ILogger<FleetJobGuard> log) : IElectStateFilter
{
    public void OnStateElection(ElectStateContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.CandidateState is not ProcessingState)
        {
            return;
        }

        var job = context.BackgroundJob.Job;
        if (job is not null && IsOwnJob(job.Type, job.Method.Name))
        {
            return;
        }

        var what = job is null ? "a job whose type could not be loaded" : $"{job.Type.FullName}.{job.Method.Name}";
        LogRefused(log, context.BackgroundJob.Id, what);
        context.CandidateState = new DeletedState { Reason = $"Refused: {what} is not one of this bot's jobs (fleet mode runs only ChatOpsPull's *Job.RunAsync)." };
    }

    public static bool IsOwnJob(Type type, string method) =>
        type.Assembly == typeof(FleetJobGuard).Assembly
        && type.Name.EndsWith("Job", StringComparison.Ordinal)
        && method == "RunAsync";

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} refused: {What} is not one of this bot's jobs")]
    private static partial void LogRefused(ILogger logger, string jobId, string what);
}
