using System.Text.Json;
using ChatOpsPull.Core.Approvals;
using ChatOpsPull.Fleet;
using ChatOpsPull.Remediation;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Approvals;

/// <summary>
/// What a remediation job checks, on the bot that would act, before it changes anything: the approval request it executes
/// exists and is approved; it is for this bot's cluster; the run's plan and incident are the request's; this bot's install
/// profile runs fixes; in a fleet the request has not expired before the run started; and when this cluster bot holds a
/// decision key (<see cref="DecisionKeys"/>), the decision carries a signature made with its cluster's key. A run row (or a
/// request row) written by anyone without that key does not pass, whatever it says.
/// </summary>
public sealed class ApprovedRunCheck(
    ApprovalStore store,
    DecisionKeys keys,
    ClusterQueues clusters,
    IOptions<BotOptions> bot,
    TimeProvider time) : IRunAuthority
{
    public async Task<string?> RefusalAsync(RunRecord run, CancellationToken cancellationToken)
    {
        var approvalId = run.Run.ApprovalId;
        if (!bot.Value.Remediates)
        {
            return $"this bot (cluster {bot.Value.Cluster}) only observes (install profile Observe): it runs no fix";
        }

        if (await store.GetSignedAsync(approvalId, cancellationToken).ConfigureAwait(false) is not var (request, signature))
        {
            return $"there is no approval request {approvalId} behind it";
        }

        if (!string.Equals(request.Cluster, run.Cluster, StringComparison.Ordinal) || !clusters.RunsHere(request.Cluster))
        {
            return $"its approval request is for cluster {request.Cluster}, the run for cluster {run.Cluster}, and this bot acts on cluster {bot.Value.Cluster}";
        }

        if (request.Status != ApprovalStatus.Approved)
        {
            return $"its approval request is {ApprovalStore.StatusName(request.Status)}, not approved";
        }

        if (keys.Verifies)
        {
            if (signature is null)
            {
                return $"its approval carries no decision signature, and cluster {request.Cluster} runs only signed decisions (a bot without the cluster's decision key recorded it)";
            }

            if (keys.For(request.Cluster) is not { } key || !DecisionSignature.Verifies(key, request, signature))
            {
                return $"its approval's decision signature does not verify with cluster {request.Cluster}'s key: the approval was not recorded by a bot holding that key, or was changed since";
            }
        }

        if (!string.Equals(Json(request.Plan), Json(run.Run.Plan), StringComparison.Ordinal)
            || !string.Equals(request.IncidentId, run.Run.IncidentId, StringComparison.Ordinal))
        {
            return $"the run's plan is not the one approved in {approvalId} (\"{request.Plan.Title}\" for {(string.IsNullOrEmpty(request.IncidentId) ? "no incident" : request.IncidentId)})";
        }

        if (clusters.FleetMode && run.StartedAt is null && time.GetUtcNow() >= request.ExpiresAt)
        {
            return $"its approval expired at {request.ExpiresAt.UtcDateTime:yyyy-MM-dd HH:mm} UTC before a bot of cluster {request.Cluster} took it";
        }

        return null;
    }

    private static string Json(Core.Remediation.RemediationPlan plan) => JsonSerializer.Serialize(plan, RemediationJson.Options);
}
