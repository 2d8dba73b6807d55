using Hangfire.Common;
using Hangfire.States;
using Hangfire.Storage;

namespace ChatOpsPull.Observability;

/// <summary>
/// A Hangfire state filter that counts every job of this host by kind and state as <c>chatopspull_jobs</c>:
/// "started" (Processing), "succeeded", "failed" (out of retries) and "retried" (scheduled again after a failed attempt).
/// It sees every job type, present and future, without the jobs knowing about metrics.
/// </summary>
public sealed class JobStateMetrics(BotMetrics metrics) : IApplyStateFilter
{
    public void OnStateApplied(ApplyStateContext context, IWriteOnlyTransaction transaction)
    {
        ArgumentNullException.ThrowIfNull(context);
        // Hangfire's state names (ProcessingState.StateName …) are static fields, not constants.
        var state = context.NewState?.Name switch
        {
            "Processing" => "started",
            "Succeeded" => "succeeded",
            "Failed" => "failed",
            "Scheduled" when context.OldStateName == "Processing" => "retried",
            _ => null,
        };
        if (state is not null)
        {
            metrics.Job(KindOf(context.BackgroundJob?.Job), state);
        }
    }

    public void OnStateUnapplied(ApplyStateContext context, IWriteOnlyTransaction transaction)
    {
    }

    /// <summary>"diagnose", "sweep", "remediate", "digest" or "other", from the job's class name.</summary>
    public static string KindOf(Job? job) => job?.Type.Name switch
    {
        null => "other",
        "DiagnoseIncidentJob" => "diagnose",
        "DiagnosisSweepJob" => "sweep",
        var name when name.Contains("Remediat", StringComparison.Ordinal) || name.Contains("Rollout", StringComparison.Ordinal) => "remediate",
        var name when name.Contains("Digest", StringComparison.Ordinal) => "digest",
        _ => "other",
    };
}
