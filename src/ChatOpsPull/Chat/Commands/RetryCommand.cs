using ChatOpsPull.Approvals;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Fleet;
using ChatOpsPull.Incidents;
using ChatOpsPull.Kubernetes;
using k8s;
using k8s.Autorest;
using Microsoft.Extensions.Options;
using ChatOpsPull.Chat.Actions;
using ChatOpsPull.Chat.Cards;

namespace ChatOpsPull.Chat.Commands;

/// <summary>
/// <c>retry &lt;namespace&gt;/[kind/]&lt;workload&gt; [anyway]</c>: asks, through the approval workflow and its policy, to
/// restart the workload (a <see cref="RemediationKind.RestartWorkload"/> plan) — or, for a CronJob, which kubectl does not
/// restart, to run its job once now (<see cref="RemediationKind.RunCronJobNow"/>). The dry run refuses what kubectl
/// refuses (a paused Deployment) and what would replace no pod (OnDelete); "anyway" confirms changing a workload another
/// tool owns (Approvals:ManagedWorkloads). The request belongs to the newest open incident of that
/// workload in the bot's cluster when there is one (so it shows on that incident's card); otherwise it stands alone.
/// In a fleet the cluster may be written first (<c>retry prod-eu/shop/api</c>); when it is not, the one cluster with an open
/// incident of that workload is meant, or the only cluster of the fleet; otherwise the answer asks which.
/// The card carrying Approve/Deny is published in the channel the command came from (updated in place afterwards);
/// what the approval workflow tells the requester is the reply. When the bot only observes (<see cref="FixOffer"/>), the
/// reply is the command that restarts the workload, and nothing is requested.
/// </summary>
public sealed class RetryCommand(
    IncidentStore incidents,
    KubernetesConnection connection,
    IEnumerable<IChatSurface> surfaces,
    IServiceProvider services,
    FixOffer fixes,
    ClusterQueues queues,
    FleetRegistry fleet,
    IOptionsMonitor<BotOptions> bot)
{
    public const string NoApprovals = "Approvals are not set up on this bot, so `retry` cannot ask for a restart. Nothing was changed.";

    private static readonly string[] RestartableKinds = ["Deployment", "StatefulSet", "DaemonSet", "CronJob"];

    public async Task<ChatReply> AnswerAsync(ChatCommandRequest request, ChatCommand.Retry retry, CancellationToken cancellationToken)
    {
        var target = $"{retry.Namespace}/{retry.WorkloadKind.ToLowerInvariant()}/{retry.WorkloadName}";
        if (!RestartableKinds.Contains(retry.WorkloadKind, StringComparer.Ordinal))
        {
            return new ChatReply($"`retry` restarts a workload that rolls its pods (deployment, statefulset, daemonset) or runs a cronjob's job now. A {retry.WorkloadKind.ToLowerInvariant()} cannot be restarted that way; delete its failing pods instead. Nothing was changed.");
        }

        // In a fleet the profile of the workload's cluster counts; the approval workflow refuses an observe-only cluster's.
        if (!fixes.AsButtons && !fixes.InFleet)
        {
            var commands = string.Join('\n', fixes.Commands(Plan(retry), []));
            return new ChatReply($"This bot only observes (install profile Observe): it restarts nothing. To {(retry.WorkloadKind == "CronJob" ? "run" : "restart")} {target} yourself:\n```\n{commands}\n```");
        }

        var requests = services.GetService<IRemediationRequests>();
        if (requests is null)
        {
            return new ChatReply(NoApprovals);
        }

        var (cluster, problem) = await ClusterOfAsync(retry, cancellationToken).ConfigureAwait(false);
        if (cluster is null)
        {
            return new ChatReply(problem!);
        }

        // Only the cluster's own bot can look; elsewhere in a fleet the dry run on the cluster finds out.
        if (queues.RunsHere(cluster) && await ExistsAsync(retry, cancellationToken).ConfigureAwait(false) is false)
        {
            return new ChatReply($"There is no {retry.WorkloadKind.ToLowerInvariant()} `{retry.WorkloadName}` in namespace {retry.Namespace} of cluster {cluster}. Nothing was changed.");
        }

        var incident = (await incidents.ListOpenAsync(cluster, retry.Namespace, cancellationToken).ConfigureAwait(false))
            .Where(i => i.Workload is { } w
                        && string.Equals(w.Kind, retry.WorkloadKind, StringComparison.OrdinalIgnoreCase)
                        && string.Equals(w.Name, retry.WorkloadName, StringComparison.Ordinal))
            .OrderBy(i => i.RollupOf is null ? 0 : 1)
            .FirstOrDefault();

        var plan = Plan(retry);
        var reply = await requests.RequestAsync(request.User, incident?.Id, cluster, plan, retry.Anyway, cancellationToken).ConfigureAwait(false);
        var card = reply.Card ?? reply.UpdatedCard;
        if (card is null)
        {
            // Refused, or nothing new: only the requester needs to know.
            return reply;
        }

        var surface = surfaces.FirstOrDefault(s => s.Platform == request.User.Platform);
        if (surface is null)
        {
            return new ChatReply(reply.Text, Ephemeral: false) { Card = card };
        }

        await surface.PublishAsync(request.ChannelId, card, cancellationToken).ConfigureAwait(false);
        var about = incident is null ? $"a request for {target} on its own (no open incident)" : $"incident `{incident.Id}`";
        return new ChatReply($"{reply.Text}\nThe request is on the card for {about} in this channel; approvers decide there.", reply.Ephemeral);
    }

    /// <summary>The cluster the command means, or why it cannot tell (a sentence for the person who typed it).</summary>
    private async Task<(string? Cluster, string? Problem)> ClusterOfAsync(ChatCommand.Retry retry, CancellationToken cancellationToken)
    {
        var own = bot.CurrentValue.Cluster;
        if (!queues.FleetMode)
        {
            return retry.Cluster is null || string.Equals(retry.Cluster, own, StringComparison.Ordinal)
                ? (own, null)
                : (null, $"This bot acts on cluster {own}, not {retry.Cluster}. Nothing was changed.");
        }

        var clusters = await fleet.ListAsync(cancellationToken).ConfigureAwait(false);
        var names = string.Join(", ", clusters.Select(c => c.Name));
        if (retry.Cluster is { } written)
        {
            return clusters.Any(c => string.Equals(c.Name, written, StringComparison.Ordinal))
                ? (written, null)
                : (null, $"No cluster {written} has joined this fleet (clusters: {(names.Length == 0 ? "none yet" : names)}). Nothing was changed.");
        }

        var withIncident = (await incidents.ListOpenAsync(null, retry.Namespace, cancellationToken).ConfigureAwait(false))
            .Where(i => i.Workload is { } w
                        && string.Equals(w.Kind, retry.WorkloadKind, StringComparison.OrdinalIgnoreCase)
                        && string.Equals(w.Name, retry.WorkloadName, StringComparison.Ordinal))
            .Select(i => i.Key.Cluster)
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToList();
        var candidates = withIncident.Count > 0 ? withIncident : clusters.Select(c => c.Name).ToList();
        if (candidates.Count == 1)
        {
            return (candidates[0], null);
        }

        var target = $"{retry.Namespace}/{retry.WorkloadKind.ToLowerInvariant()}/{retry.WorkloadName}";
        var why = withIncident.Count > 0
            ? $"{target} has open incidents in clusters {string.Join(", ", withIncident)}"
            : candidates.Count == 0 ? "no cluster has joined this fleet yet" : $"the fleet has clusters {names} and none has an open incident for {target}";
        var examples = string.Join(" or ", candidates.Take(3).Select(c => $"`retry {c}/{target}`"));
        return (null, candidates.Count == 0
            ? $"Which cluster? {why}. Nothing was changed."
            : $"Which cluster? {why}: write it first, e.g. {examples}. Nothing was changed.");
    }

    public static RemediationPlan Plan(ChatCommand.Retry retry) => retry.WorkloadKind == "CronJob"
        ? new(
            RemediationKind.RunCronJobNow,
            retry.Namespace,
            retry.WorkloadKind,
            retry.WorkloadName,
            $"Run cronjob/{retry.WorkloadName} now",
            $"Creates a Job from cronjob/{retry.WorkloadName}'s job template now, as `kubectl create job --from=cronjob/{retry.WorkloadName}` does, and waits for its pods (kubectl does not restart CronJobs).",
            RemediationRisk.Medium,
            new Dictionary<string, string>(StringComparer.Ordinal))
        : new(
            RemediationKind.RestartWorkload,
            retry.Namespace,
            retry.WorkloadKind,
            retry.WorkloadName,
            $"Restart {retry.WorkloadKind.ToLowerInvariant()}/{retry.WorkloadName}",
            "Sets the pod template's kubectl.kubernetes.io/restartedAt annotation, rolling every pod.",
            RemediationRisk.Medium,
            new Dictionary<string, string>(StringComparer.Ordinal));

    /// <summary>False when the cluster says the workload does not exist; null when there is no cluster or it could not tell.</summary>
    private async Task<bool?> ExistsAsync(ChatCommand.Retry retry, CancellationToken cancellationToken)
    {
        if (connection.Client is not { } client)
        {
            return null;
        }

        try
        {
            _ = retry.WorkloadKind switch
            {
                "Deployment" => (object)await client.AppsV1.ReadNamespacedDeploymentAsync(retry.WorkloadName, retry.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false),
                "StatefulSet" => await client.AppsV1.ReadNamespacedStatefulSetAsync(retry.WorkloadName, retry.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false),
                "DaemonSet" => await client.AppsV1.ReadNamespacedDaemonSetAsync(retry.WorkloadName, retry.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false),
                "CronJob" => await client.BatchV1.ReadNamespacedCronJobAsync(retry.WorkloadName, retry.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false),
                _ => null,
            };
            return true;
        }
        catch (HttpOperationException e) when (ApiError.From(e).IsNotFound)
        {
            return false;
        }
        catch (HttpOperationException)
        {
            // No permission to read it, or the API failed: the approval and the job find out; the request may stand.
            return null;
        }
    }
}
