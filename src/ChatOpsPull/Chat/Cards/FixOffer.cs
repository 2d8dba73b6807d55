using ChatOpsPull.Approvals;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Fleet;
using ChatOpsPull.Kubernetes;
using ChatOpsPull.Remediation;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Chat.Cards;

/// <summary>
/// The one rule for how every card (Slack, Teams, the web page, <c>diagnose</c>, <c>retry</c>) offers a fix, from the
/// install profile (Bot:Profile): under Remediate a fix is a button that asks for an approved job; under Observe the bot
/// changes nothing, so a fix is the kubectl commands a person can run (<see cref="KubectlCommands"/>). The approval
/// service refuses requests under Observe as well, so a forged click changes nothing either. In a fleet the profile that
/// counts is that of the incident's cluster, as its bot recorded it in the fleet registry, not the posting bot's: a card of
/// an observe-only cluster shows commands wherever it is drawn, and one of a remediating cluster shows buttons even when a
/// chat replica or an observing cluster's bot draws it.
/// </summary>
public sealed class FixOffer(
    IOptions<BotOptions> bot,
    IOptionsMonitor<RemediationOptions> remediation,
    IOptionsMonitor<ApprovalOptions> approvals,
    KubernetesConnection connection,
    ClusterQueues queues,
    FleetRegistry fleet,
    TimeProvider time)
{
    /// <summary>Approvals:ManagedWorkloads: how a pod-template fix on a workload another tool owns is offered.</summary>
    public ManagedWorkloadPolicy ManagedWorkloads => approvals.CurrentValue.ManagedWorkloads;

    /// <summary>
    /// What a card of <paramref name="cluster"/> says under its commands. It names the cluster whose bot observes, not the bot
    /// that draws the card: in a fleet a chat replica or another cluster's bot may draw it, and that bot may well remediate.
    /// </summary>
    public static string ObserveSentence(string cluster) =>
        $"The bot of cluster {cluster} only observes (install profile Observe): it runs no fix there. The commands above do what each fix would do; run them yourself.";

    /// <summary>True when this bot's own fixes are buttons (the remediate profiles).</summary>
    public bool AsButtons => bot.Value.Remediates;

    /// <summary>True in fleet mode, where each cluster's own profile decides (<see cref="AsButtonsForAsync"/>).</summary>
    public bool InFleet => queues.FleetMode;

    /// <summary>
    /// True when fixes for <paramref name="cluster"/> are buttons: this bot's profile alone; in a fleet, the profile the
    /// cluster's bot joined with (a cluster that never joined has no bot to run a fix, so it gets commands).
    /// </summary>
    public async Task<bool> AsButtonsForAsync(string cluster, CancellationToken cancellationToken)
    {
        if (!queues.FleetMode)
        {
            return AsButtons;
        }

        var known = await fleet.FindAsync(cluster, cancellationToken).ConfigureAwait(false);
        return known?.Profile == InstallProfile.Remediate;
    }

    /// <summary>Null when fixes for the incident's cluster are buttons; otherwise the commands of each of its plans, by plan key.</summary>
    public async Task<IReadOnlyDictionary<string, IReadOnlyList<string>>?> CommandsForAsync(Incident incident, CancellationToken cancellationToken) =>
        CommandsFor(incident, await AsButtonsForAsync(incident.Key.Cluster, cancellationToken).ConfigureAwait(false));

    /// <summary>Null when this bot's fixes are buttons; otherwise the commands of each of the incident's plans, by plan key.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? CommandsFor(Incident incident) => CommandsFor(incident, AsButtons);

    private Dictionary<string, IReadOnlyList<string>>? CommandsFor(Incident incident, bool asButtons)
    {
        if (asButtons || incident.Diagnosis is not { } diagnosis)
        {
            return asButtons ? null : new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        }

        var stuck = incident.Pods.Where(p => p.ResolvedAt is null).Select(p => p.Pod).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        return diagnosis.Remediations.ToDictionary(p => p.Key, p => Commands(p, stuck), StringComparer.Ordinal);
    }

    /// <summary>Null when fixes are buttons; otherwise the commands of each plan of a one-pod diagnosis.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? CommandsFor(IReadOnlyList<RemediationPlan> plans, string pod) =>
        AsButtons ? null : plans.ToDictionary(p => p.Key, p => Commands(p, [pod]), StringComparer.Ordinal);

    /// <summary>The commands that do what <paramref name="plan"/> does.</summary>
    public IReadOnlyList<string> Commands(RemediationPlan plan, IReadOnlyList<string> stuckPods)
    {
        CredentialSourceRef? source = null;
        if (plan.Parameters.TryGetValue("registry", out var registry) && remediation.CurrentValue.SourceFor(registry) is { } configured)
        {
            var ns = string.IsNullOrEmpty(configured.Namespace) ? connection.OwnNamespace ?? "chatopspull" : configured.Namespace;
            source = new CredentialSourceRef(ns, configured.Secret);
        }

        return KubectlCommands.For(plan, stuckPods, source, time.GetUtcNow());
    }
}
