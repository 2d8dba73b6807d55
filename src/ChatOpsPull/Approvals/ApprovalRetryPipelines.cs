using ChatOpsPull.Incidents;
using Polly;

namespace ChatOpsPull.Approvals;

/// <summary>The named resilience pipeline of approval decisions (Polly, registered with <c>AddResiliencePipeline</c>), built from <see cref="ApprovalOptions"/>.</summary>
public static class ApprovalRetryPipelines
{
    /// <summary>
    /// A click whose compare-and-set lost to another writer is decided again at once from the request as it now stands
    /// (no wait: the winner has already written), up to Approvals:DecisionAttempts tries.
    /// </summary>
    public const string Decision = "approvals.decision";

    public static IServiceCollection AddApprovalRetryPipelines(this IServiceCollection services)
    {
        services.AddResiliencePipeline(Decision, (pipeline, context) =>
        {
            var options = context.GetOptions<ApprovalOptions>();
            pipeline.AddRetry(RaceRetry.Options(options.DecisionAttempts, TimeSpan.Zero, o => o.Result is DecisionTry { LostRace: true }));
            context.EnableReloads<ApprovalOptions>();
        });
        return services.LogRetriesAtDebug("approvals.");
    }
}

/// <summary>One try at deciding a click: its result, or — <see cref="LostRace"/> — another writer decided first and it is tried again.</summary>
/// <param name="Result">What the click led to; for a lost race, the answer given when no try is left.</param>
internal sealed record DecisionTry(ApprovalWorkflow.DecisionResult Result, bool LostRace);
