using System.Data.Common;
using ChatOpsPull.Core.Approvals;
using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Fleet;
using ChatOpsPull.Incidents;
using ChatOpsPull.Jobs;
using ChatOpsPull.Observability;
using ChatOpsPull.Remediation;
using ChatOpsPull.Storage;
using Microsoft.Extensions.Options;
using Polly.Registry;

namespace ChatOpsPull.Approvals;

/// <summary>
/// Requests, votes and expiry of remediation approvals. The policy (<see cref="ApprovalPolicy"/>) decides every click on
/// the server from the request as stored; the decision is written with a compare-and-set on the request's version, and
/// a writer that lost (another replica, a double click) reads again and decides again — so a second approval of an
/// approved request is "already approved", never a second job. An approval writes the run row in the same transaction,
/// then enqueues the job. Every request, vote, denial, expiry and refusal is in the audit log; the incident moves
/// (AwaitingApproval, Remediating, back to Diagnosed) through the incident engine and its card is told.
/// </summary>
public sealed partial class ApprovalWorkflow(
    ApprovalStore store,
    RemediationRunStore runs,
    IncidentStore incidents,
    IncidentEngine engine,
    AuditLog audit,
    RemediationActions actions,
    IRemediationScheduler scheduler,
    IOptionsMonitor<ApprovalOptions> options,
    IOptions<BotOptions> bot,
    ClusterQueues clusters,
    ClusterJobs jobs,
    FleetRegistry fleet,
    DecisionKeys keys,
    TimeProvider time,
    ResiliencePipelineProvider<string> pipelines,
    BotMetrics metrics,
    ILogger<ApprovalWorkflow> logger) : IApprovalQueries
{
    /// <summary>What a request or an approval gets when the bot only observes (Bot:Profile=Observe).</summary>
    public const string ObserveOnly =
        "This bot only observes (install profile Observe): it changes nothing in the cluster, so it runs no fix. The card shows the commands to run yourself.";

    /// <summary>How a request's dry run reads while it waits for a bot of its cluster (in a fleet, asked from elsewhere).</summary>
    public const string DryRunWaitingPrefix = "waiting for cluster ";

    private string OwnCluster => bot.Value.Cluster;

    /// <summary>The dry run text of a request whose cluster's bot has not run it yet.</summary>
    public static string DryRunWaiting(string cluster) =>
        $"{DryRunWaitingPrefix}{cluster}: its bot makes the dry run and the card shows it (the fix checks again before it acts)";

    /// <summary>True when the request's dry run still waits for its cluster's bot.</summary>
    public static bool DryRunIsWaiting(ApprovalRequest request) => request.DryRun?.StartsWith(DryRunWaitingPrefix, StringComparison.Ordinal) == true;

    /// <summary>
    /// Why nothing may be asked for or approved on <paramref name="cluster"/>, or null when it may. One bot: the bot must
    /// remediate. A fleet: any cluster that joined, whose bot remediates (a click is decided wherever it lands and runs on
    /// its cluster).
    /// </summary>
    private async Task<string?> ClusterRefusalAsync(string cluster, string nothing, CancellationToken cancellationToken)
    {
        if (!clusters.FleetMode)
        {
            return bot.Value.Remediates ? null : $"{ObserveOnly} {nothing}";
        }

        var known = await fleet.FindAsync(cluster, cancellationToken).ConfigureAwait(false);
        if (known is null)
        {
            return $"No bot of cluster {cluster} has joined this fleet, so nothing can run there. {nothing}";
        }

        return known.Profile == InstallProfile.Observe
            ? $"The bot of cluster {cluster} only observes (install profile Observe): it changes nothing in its cluster, so it runs no fix. The card shows the commands to run yourself. {nothing}"
            : null;
    }

    /// <summary>
    /// Why this bot may not record an approval for <paramref name="cluster"/>, or null when it may: in a fleet that signs its
    /// decisions, only a bot holding the cluster's key can (the chat replicas, with the fleet's key, and the cluster's own bot);
    /// an approval recorded without it would never run there.
    /// </summary>
    private string? UnsignableRefusal(string cluster, string nothing) =>
        keys.InUse && keys.For(cluster) is null
            ? $"This bot holds no decision key for cluster {cluster}: in this fleet only the chat replicas and cluster {cluster}'s own bot may approve its fixes, and an approval recorded here would not run there. Approve it where Slack or Teams reaches a chat replica. {nothing}"
            : null;

    // ---- asking ----

    /// <summary>
    /// Asks to run <paramref name="plan"/> for the incident <paramref name="incidentId"/> (or stand-alone when null) as
    /// <paramref name="actor"/>; an unknown incident is refused. For an incident, its own cluster is the one that counts.
    /// </summary>
    public Task<RequestResult> RequestAsync(Actor actor, string? incidentId, string cluster, RemediationPlan plan, CancellationToken cancellationToken) =>
        RequestAsync(actor, incidentId, cluster, plan, ownerConfirmed: false, cancellationToken);

    /// <param name="ownerConfirmed">
    /// The person asking confirmed that the workload belongs to another tool (the card's "… anyway" button, <c>retry … anyway</c>):
    /// under Approvals:ManagedWorkloads=Confirm a pod-template change on such a workload is asked for only then.
    /// </param>
    public async Task<RequestResult> RequestAsync(Actor actor, string? incidentId, string cluster, RemediationPlan plan, bool ownerConfirmed, CancellationToken cancellationToken)
    {
        Incident? incident = null;
        if (!string.IsNullOrEmpty(incidentId))
        {
            incident = await incidents.GetAsync(incidentId, cancellationToken).ConfigureAwait(false);
            if (incident is null)
            {
                return await RefuseRequestAsync(actor, incidentId, null, $"There is no incident {incidentId}. Nothing was requested.", cancellationToken).ConfigureAwait(false);
            }

            cluster = incident.Key.Cluster;
        }

        return await RequestAsync(actor, incident, cluster, plan, ownerConfirmed, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What asking led to, with the request as it now stands (the existing one when it was already asked).</summary>
    public sealed record RequestResult(ApprovalOutcome Outcome, string Message, ApprovalRequest? Request);

    /// <summary>
    /// What a click on Approve or Deny led to: the message for the person who clicked, the request as it now stands
    /// (when there is one) and the incident it belongs to (when it has one). <see cref="ChangedNothing"/> when refused.
    /// </summary>
    public sealed record DecisionResult(ApprovalOutcome Outcome, string Message, ApprovalRequest? Request, string? IncidentId)
    {
        public bool ChangedNothing => Outcome == ApprovalOutcome.Refused;
    }

    /// <summary>
    /// Asks to run <paramref name="plan"/> for <paramref name="incident"/> (or stand-alone when null) as <paramref name="actor"/>:
    /// checks the cluster and the incident, returns the pending request when there already is one, decides with the
    /// policy (or runs at once when Approvals:AutoRun allows it and the registry confirms the image is pullable), makes
    /// the server-side dry run, and stores the request (and its run when it is approved at once).
    /// </summary>
    public Task<RequestResult> RequestAsync(Actor actor, Incident? incident, string cluster, RemediationPlan plan, CancellationToken cancellationToken) =>
        RequestAsync(actor, incident, cluster, plan, ownerConfirmed: false, cancellationToken);

    /// <summary>
    /// As <see cref="RequestAsync(Actor, Incident?, string, RemediationPlan, CancellationToken)"/>; a pod-template change on
    /// a workload another tool owns (read from the live object at the dry run) is refused under
    /// Approvals:ManagedWorkloads=Refuse, and under Confirm unless <paramref name="ownerConfirmed"/>.
    /// </summary>
    public async Task<RequestResult> RequestAsync(Actor actor, Incident? incident, string cluster, RemediationPlan plan, bool ownerConfirmed, CancellationToken cancellationToken)
    {
        var incidentId = incident?.Id;
        if (await ClusterRefusalAsync(cluster, "Nothing was requested.", cancellationToken).ConfigureAwait(false) is { } refusal)
        {
            return await RefuseRequestAsync(actor, incidentId, null, refusal, cancellationToken).ConfigureAwait(false);
        }

        if (!clusters.FleetMode && !string.Equals(cluster, OwnCluster, StringComparison.Ordinal))
        {
            return await RefuseRequestAsync(actor, incidentId, null, $"This is about cluster {cluster}, and this bot acts on cluster {OwnCluster}. Nothing was requested.", cancellationToken).ConfigureAwait(false);
        }

        if (incident is { IsClosed: true })
        {
            return await RefuseRequestAsync(actor, incidentId, null, $"Incident {incident.Id} is {IncidentTransitions.Describe(incident.State)}; there is nothing to fix. Nothing was requested.", cancellationToken).ConfigureAwait(false);
        }

        if (await store.FindPendingAsync(incidentId, cluster, plan, cancellationToken).ConfigureAwait(false) is { } pending)
        {
            return AlreadyAsked(pending);
        }

        var now = time.GetUtcNow();
        var current = options.CurrentValue;
        var policy = current.ToPolicy();
        var id = NewId();
        ApprovalDecision decision;
        if (policy.MayAutoRun(plan.Kind) && RegistryConfirmsPullable(incident?.Diagnosis))
        {
            var approved = new ApprovalRequest(id, incidentId ?? string.Empty, plan, actor, now, now + policy.RequestLifetime, ApprovalStatus.Approved, 0, [], 1);
            decision = new ApprovalDecision(
                ApprovalOutcome.Approved,
                $"\"{plan.Title}\" runs without approval: Approvals:AutoRun allows {RemediationPlan.KindName(plan.Kind)} and the registry confirms `{incident!.Image}` can be pulled now.",
                approved);
        }
        else
        {
            decision = policy.Request(id, incidentId ?? string.Empty, cluster, plan, actor, now);
            if (decision.Request is null || decision.Outcome == ApprovalOutcome.Refused)
            {
                return await RefuseRequestAsync(actor, incidentId, null, decision.Message, cancellationToken).ConfigureAwait(false);
            }
        }

        if (decision.Request?.Status == ApprovalStatus.Approved && UnsignableRefusal(cluster, "Nothing was requested.") is { } unsignable)
        {
            return await RefuseRequestAsync(actor, incidentId, null, unsignable, cancellationToken).ConfigureAwait(false);
        }

        // In a fleet, a bot without the cluster's credentials cannot dry-run: the cluster's bot does, on its queue (DryRunJob).
        var dryRunElsewhere = !clusters.RunsHere(cluster);
        var dryRun = dryRunElsewhere
            ? new DryRunOutcome(true, DryRunWaiting(cluster))
            : await actions.DryRunAsync(plan, incident?.Image, cancellationToken).ConfigureAwait(false);
        if (!dryRun.Possible)
        {
            return await RefuseRequestAsync(actor, incidentId, null, $"The dry run shows \"{plan.Title}\" cannot work: {dryRun.Text}. Nothing was requested.", cancellationToken).ConfigureAwait(false);
        }

        var dryRunText = dryRun.Text;
        string? ownerNote = null;

        // The owner as the live object says it; when another cluster's bot makes the dry run, as the diagnosis read it
        // (the cluster's bot reads it again and notes it on the request, ApplyDryRunAsync).
        if ((dryRun.ManagedBy ?? (dryRunElsewhere ? plan.ManagedBy : null)) is { } owner)
        {
            var target = $"{plan.WorkloadKind.ToLowerInvariant()}/{plan.WorkloadName}";
            var about = $"{target} is {(owner.Certain ? string.Empty : "maybe ")}managed by {owner.Describe()} ({owner.Evidence}): {owner.WhatAPatchDoes()}";
            switch (current.ManagedWorkloads)
            {
                case ManagedWorkloadPolicy.Refuse:
                    return await RefuseRequestAsync(actor, incidentId, null, $"{about} Approvals:ManagedWorkloads is Refuse, so the bot does not change it. Nothing was requested.", cancellationToken).ConfigureAwait(false);
                case ManagedWorkloadPolicy.Confirm when !ownerConfirmed:
                    return await RefuseRequestAsync(actor, incidentId, null, $"{about} To ask for \"{plan.Title}\" all the same, confirm it: \"{AnywayLabel(plan)}\" on the card{(incident is null ? $" or `retry {plan.Namespace}/{target} anyway`" : string.Empty)}. Nothing was requested.", cancellationToken).ConfigureAwait(false);
                case ManagedWorkloadPolicy.Confirm or ManagedWorkloadPolicy.Allow:
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(plan), current.ManagedWorkloads, "unknown managed-workload policy");
            }

            ownerNote = ownerConfirmed ? $"confirmed by {actor.Name} although {about}" : $"allowed by Approvals:ManagedWorkloads although {about}";
            dryRunText = WithOwnerNote(dryRun.Text, owner);
        }

        var request = decision.Request! with { DryRun = dryRunText, Cluster = cluster };
        var auditActor = actor.ToAuditActor();
        var outcome = request.Status == ApprovalStatus.Approved ? ApprovalOutcome.Approved : decision.Outcome;
        OwedAnnouncement? news = null;
        try
        {
            await store.Database.InTransactionAsync(
                async (connection, transaction) =>
                {
                    await ApprovalStore.InsertAsync(connection, transaction, request).ConfigureAwait(false);
                    await audit.AppendAsync(connection, transaction, new AuditRecord(
                        auditActor, ApprovalAuditActions.Requested, incidentId, id, $"{plan.Title} ({plan.Key}); dry run: {dryRun.Text}{(ownerNote is null ? string.Empty : "; " + ownerNote)}")).ConfigureAwait(false);
                    if (request.Votes.Count > 0)
                    {
                        await audit.AppendAsync(connection, transaction, new AuditRecord(auditActor, ApprovalAuditActions.Voted, incidentId, id, "approved (own request, self-approval allowed)")).ConfigureAwait(false);
                    }

                    if (request.Status == ApprovalStatus.Approved)
                    {
                        await ApproveAsync(connection, transaction, request, incident, request.Votes.Count > 0 ? "self-approved" : "by Approvals:AutoRun", now).ConfigureAwait(false);
                    }

                    news = await OweIncidentNewsAsync(connection, transaction, request, outcome, actor, decision.Message, now).ConfigureAwait(false);
                    return true;
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (DbException e) when (store.Database.Dialect.IsUniqueViolation(e))
        {
            // Another replica (or a double click) asked for the same plan a moment earlier: that request stands.
            if (await store.FindPendingAsync(incidentId, cluster, plan, cancellationToken).ConfigureAwait(false) is { } winner)
            {
                return AlreadyAsked(winner);
            }

            throw;
        }

        LogRequested(logger, id, plan.Key, outcome);
        if (dryRunElsewhere)
        {
            jobs.Enqueue<DryRunJob>(cluster, job => job.RunAsync(id, CancellationToken.None));
        }

        await AfterDecisionStoredAsync(request, news, cancellationToken).ConfigureAwait(false);
        var waiting = dryRunElsewhere ? await WaitingLineAsync(request, cancellationToken).ConfigureAwait(false) : string.Empty;
        return new RequestResult(outcome, $"{decision.Message}\nDry run: {dryRunText}{waiting}", request);
    }

    /// <summary>A dry run's text with the note of who owns the workload and what a patch meets, as the card shows it.</summary>
    private static string WithOwnerNote(string dryRun, WorkloadOwner owner) => $"{dryRun} (managed by {owner.Describe()}: {owner.WhatAPatchDoes()})";

    /// <summary>The label of the button that asks for a pod-template change on a workload another tool owns, confirming it.</summary>
    public static string AnywayLabel(RemediationPlan plan) => $"{plan.Title} anyway";

    /// <summary>Runs an auto-runnable plan of a freshly diagnosed incident, at most once per incident and plan.</summary>
    public async Task<RequestResult?> AutoRunAsync(Incident incident, RemediationPlan plan, CancellationToken cancellationToken)
    {
        if (!options.CurrentValue.ToPolicy().MayAutoRun(plan.Kind) || !RegistryConfirmsPullable(incident.Diagnosis)
            || await store.CountForPlanAsync(incident.Id, plan.Key, cancellationToken).ConfigureAwait(false) > 0)
        {
            return null;
        }

        return await RequestAsync(Actor.System, incident, incident.Key.Cluster, plan, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// True when the diagnosis' registry evidence says the image can be pulled now: a manifest check passed (the registry
    /// served the image to the pod's credentials).
    /// </summary>
    public static bool RegistryConfirmsPullable(Core.Diagnoses.Diagnosis? diagnosis) =>
        diagnosis is not null
        && diagnosis.Evidence.Any(e => e.Check.StartsWith("manifest ", StringComparison.Ordinal) && e.Outcome == EvidenceOutcome.Passed);

    // ---- deciding ----

    /// <summary>
    /// An Approve or Deny click. The policy decides from the request as stored; a try that lost the compare-and-set to
    /// another writer is tried again from the request as it then stands (pipeline <see cref="ApprovalRetryPipelines.Decision"/>).
    /// </summary>
    public async Task<DecisionResult> DecideAsync(Actor actor, string approvalId, bool approve, CancellationToken cancellationToken)
    {
        var attempts = options.CurrentValue.DecisionAttempts;
        var tries = 0;
        var decided = await pipelines.GetPipeline(ApprovalRetryPipelines.Decision).ExecuteAsync(
            async token =>
            {
                tries++;
                return await DecideOnceAsync(actor, approvalId, approve, tries, lastTry: tries >= attempts, token).ConfigureAwait(false);
            },
            cancellationToken).ConfigureAwait(false);
        return decided.Result;
    }

    private async Task<DecisionTry> DecideOnceAsync(Actor actor, string approvalId, bool approve, int race, bool lastTry, CancellationToken cancellationToken)
    {
        var auditActor = actor.ToAuditActor();
        var request = await store.GetAsync(approvalId, cancellationToken).ConfigureAwait(false);
        if (request is null)
        {
            return Decided(await RefuseDecisionAsync(actor, null, approvalId, $"There is no approval request {approvalId}; the card may come from another bot. Nothing changed.", cancellationToken).ConfigureAwait(false));
        }

        var incidentId = string.IsNullOrEmpty(request.IncidentId) ? null : request.IncidentId;
        if (!clusters.FleetMode && !string.Equals(request.Cluster, OwnCluster, StringComparison.Ordinal))
        {
            return Decided(await RefuseDecisionAsync(actor, incidentId, approvalId, $"This request is for cluster {request.Cluster}, and this bot acts on cluster {OwnCluster}. Nothing changed.", cancellationToken).ConfigureAwait(false));
        }

        if (approve && await ClusterRefusalAsync(request.Cluster, "Nothing changed.", cancellationToken).ConfigureAwait(false) is { } refusal)
        {
            return Decided(await RefuseDecisionAsync(actor, incidentId, approvalId, refusal, cancellationToken).ConfigureAwait(false));
        }

        if (approve && UnsignableRefusal(request.Cluster, "Nothing changed.") is { } unsignable)
        {
            return Decided(await RefuseDecisionAsync(actor, incidentId, approvalId, unsignable, cancellationToken).ConfigureAwait(false));
        }

        var incident = incidentId is null ? null : await incidents.GetAsync(incidentId, cancellationToken).ConfigureAwait(false);
        if (request.Status == ApprovalStatus.Pending && incident is { IsClosed: true })
        {
            return Decided(await RefuseDecisionAsync(actor, incidentId, approvalId, $"Incident {incident.Id} is {IncidentTransitions.Describe(incident.State)}, so this request no longer applies. Nothing changed.", cancellationToken).ConfigureAwait(false));
        }

        var now = time.GetUtcNow();
        var policy = options.CurrentValue.ToPolicy();
        if (ApprovalPolicy.Expire(request, now) is { } expired)
        {
            if (!await TryExpireAsync(request, expired, cancellationToken).ConfigureAwait(false) && !lastTry)
            {
                return new DecisionTry(TooManyDeciders(request, incidentId), LostRace: true);
            }

            var why = policy.Decide(expired, request.Cluster, actor, approve, now).Message;
            return Decided(await RefuseDecisionAsync(actor, incidentId, approvalId, why, cancellationToken).ConfigureAwait(false));
        }

        var decision = policy.Decide(request, request.Cluster, actor, approve, now);
        if (!decision.Changed)
        {
            return Decided(await RefuseDecisionAsync(actor, incidentId, approvalId, decision.Message, cancellationToken).ConfigureAwait(false));
        }

        var updated = decision.Request!;
        OwedAnnouncement? news = null;
        var won = await store.Database.InTransactionAsync(
            async (connection, transaction) =>
            {
                if (!await ApprovalStore.TryUpdateAsync(connection, transaction, request.Version, updated).ConfigureAwait(false))
                {
                    return false;
                }

                var (action, detail) = decision.Outcome switch
                {
                    ApprovalOutcome.Denied => (ApprovalAuditActions.Denied, $"{updated.Plan.Title}: denied"),
                    ApprovalOutcome.VoteRecorded => (ApprovalAuditActions.Voted, $"{updated.Plan.Title}: approved ({updated.ApprovalCount}/{updated.Required})"),
                    ApprovalOutcome.Approved => (ApprovalAuditActions.Voted, $"{updated.Plan.Title}: approved ({updated.ApprovalCount}/{updated.Required})"),
                    ApprovalOutcome.Requested or ApprovalOutcome.Refused => throw new InvalidOperationException("not a decision that changes a request"),
                    _ => throw new ArgumentOutOfRangeException(nameof(approve), decision.Outcome, "unknown outcome"),
                };
                await audit.AppendAsync(connection, transaction, new AuditRecord(auditActor, action, incidentId, approvalId, detail)).ConfigureAwait(false);
                if (decision.Outcome == ApprovalOutcome.Approved)
                {
                    await ApproveAsync(connection, transaction, updated, incident, $"{updated.ApprovalCount} approval(s)", now).ConfigureAwait(false);
                }

                news = await OweIncidentNewsAsync(connection, transaction, updated, decision.Outcome, actor, decision.Message, now).ConfigureAwait(false);
                return true;
            },
            cancellationToken).ConfigureAwait(false);
        if (!won)
        {
            if (!lastTry)
            {
                LogLostRace(logger, approvalId, race);
            }

            return new DecisionTry(TooManyDeciders(request, incidentId), LostRace: true);
        }

        LogDecided(logger, approvalId, decision.Outcome, actor);
        if (decision.Outcome is ApprovalOutcome.Approved or ApprovalOutcome.Denied)
        {
            metrics.ApprovalDecided(now - updated.RequestedAt);
        }

        await AfterDecisionStoredAsync(updated, news, cancellationToken).ConfigureAwait(false);
        var text = decision.Outcome == ApprovalOutcome.Approved && !string.IsNullOrEmpty(updated.DryRun) && !DryRunIsWaiting(updated)
            ? $"{decision.Message}\nIt will change: {updated.DryRun}"
            : decision.Message;
        if (decision.Outcome == ApprovalOutcome.Approved)
        {
            text += await WaitingLineAsync(updated, cancellationToken).ConfigureAwait(false);
        }

        return Decided(new DecisionResult(decision.Outcome, text, updated, incidentId));
    }

    private static DecisionTry Decided(DecisionResult result) => new(result, LostRace: false);

    private static DecisionResult TooManyDeciders(ApprovalRequest request, string? incidentId) =>
        new(ApprovalOutcome.Refused, "Too many people decided this request at the same moment; look at the card and try again if it still waits.", request, incidentId);

    /// <summary>
    /// The dry run a request asked for elsewhere in the fleet, made here by its cluster's bot (<see cref="DryRunJob"/>): the
    /// text replaces the "waiting" note and the card shows it. When it shows the plan cannot work and nobody approved it
    /// yet, the request is denied by the bot (nothing would run anyway). Done once: a request whose dry run is in is left alone.
    /// </summary>
    public async Task ApplyDryRunAsync(string approvalId, CancellationToken cancellationToken)
    {
        var attempts = options.CurrentValue.DecisionAttempts;
        for (var race = 1; race <= attempts; race++)
        {
            var request = await store.GetAsync(approvalId, cancellationToken).ConfigureAwait(false);
            if (request is null || !DryRunIsWaiting(request) || !clusters.RunsHere(request.Cluster))
            {
                return;
            }

            var incidentId = string.IsNullOrEmpty(request.IncidentId) ? null : request.IncidentId;
            var image = incidentId is null ? null : (await incidents.GetAsync(incidentId, cancellationToken).ConfigureAwait(false))?.Image;
            var dryRun = await actions.DryRunAsync(request.Plan, image, cancellationToken).ConfigureAwait(false);
            var refuse = !dryRun.Possible && request.Status == ApprovalStatus.Pending;
            var now = time.GetUtcNow();
            var text = dryRun.ManagedBy is { } owner && !refuse ? WithOwnerNote(dryRun.Text, owner) : dryRun.Text;
            var updated = request with
            {
                DryRun = refuse ? $"cannot work: {dryRun.Text}" : text,
                Status = refuse ? ApprovalStatus.Denied : request.Status,
                Votes = refuse ? [.. request.Votes, new ApprovalVote(Actor.System, false, now)] : request.Votes,
                Version = request.Version + 1,
            };
            OwedAnnouncement? news = null;
            var won = await store.Database.InTransactionAsync(
                async (connection, transaction) =>
                {
                    if (!await ApprovalStore.TryUpdateAsync(connection, transaction, request.Version, updated).ConfigureAwait(false))
                    {
                        return false;
                    }

                    await audit.AppendAsync(connection, transaction, new AuditRecord(
                        AuditActor.Bot,
                        refuse ? ApprovalAuditActions.Denied : ApprovalAuditActions.Requested,
                        incidentId,
                        approvalId,
                        refuse ? $"{request.Plan.Title}: the dry run on cluster {request.Cluster} shows it cannot work: {dryRun.Text}" : $"{request.Plan.Title}: dry run on cluster {request.Cluster}: {text}",
                        refuse ? AuditOutcome.Refused : AuditOutcome.Done)).ConfigureAwait(false);
                    news = refuse
                        ? await OweIncidentNewsAsync(connection, transaction, updated, ApprovalOutcome.Denied, Actor.System, $"The dry run of \"{request.Plan.Title}\" on cluster {request.Cluster} shows it cannot work: {dryRun.Text}", now).ConfigureAwait(false)
                        : await OweIncidentNewsAsync(connection, transaction, updated, ApprovalOutcome.VoteRecorded, Actor.System, line: null, now, moves: false).ConfigureAwait(false); // the card shows the dry run; no line, no move
                    return true;
                },
                cancellationToken).ConfigureAwait(false);
            if (!won)
            {
                LogLostRace(logger, approvalId, race);
                continue;
            }

            LogDryRunApplied(logger, approvalId, request.Cluster, dryRun.Possible);
            await AfterDecisionStoredAsync(updated, news, cancellationToken).ConfigureAwait(false);
            return;
        }
    }

    /// <summary>
    /// In a fleet, a sentence for whoever asked or approved when the request's cluster has no live bot: the work waits for it
    /// until the request expires. Empty otherwise.
    /// </summary>
    private async Task<string> WaitingLineAsync(ApprovalRequest request, CancellationToken cancellationToken) =>
        clusters.FleetMode && !await fleet.IsLiveAsync(request.Cluster, cancellationToken).ConfigureAwait(false)
            ? $"\nWaiting for cluster {request.Cluster}: no bot of it is running now. The work runs when one is back, or expires with the request at {request.ExpiresAt.UtcDateTime:yyyy-MM-dd HH:mm} UTC."
            : string.Empty;

    /// <summary>Marks every pending request whose time is up as expired (the sweep; reads do it too). Returns how many.</summary>
    public async Task<int> ExpireDueAsync(CancellationToken cancellationToken)
    {
        var due = await store.ListExpiredPendingAsync(time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        var count = 0;
        foreach (var request in due)
        {
            if (ApprovalPolicy.Expire(request, time.GetUtcNow()) is { } expired && await TryExpireAsync(request, expired, cancellationToken).ConfigureAwait(false))
            {
                count++;
            }
        }

        return count;
    }

    // ---- queries ----

    public async Task<IReadOnlyList<ApprovalRequest>> ListPendingAsync(string? @namespace, CancellationToken cancellationToken)
    {
        await ExpireDueAsync(cancellationToken).ConfigureAwait(false);
        return await store.ListPendingAsync(@namespace, cancellationToken).ConfigureAwait(false);
    }

    public Task<IReadOnlyList<ApprovalRequest>> ListForIncidentAsync(string incidentId, CancellationToken cancellationToken) =>
        store.ListForIncidentAsync(incidentId, cancellationToken);

    public Task<IReadOnlyList<RemediationRun>> ListRunsForIncidentAsync(string incidentId, CancellationToken cancellationToken) =>
        runs.ListForIncidentsAsync([incidentId], cancellationToken);

    public Task<IReadOnlyList<ApprovalRequest>> ListRequestedAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken) =>
        store.ListRequestedAsync(from, to, cancellationToken);

    // ---- inside ----

    /// <summary>Inside the approving transaction: the run row (queued), the decision's signature (in a fleet with keys) and the "approved" line.</summary>
    private async Task ApproveAsync(DbConnection connection, DbTransaction transaction, ApprovalRequest request, Incident? incident, string how, DateTimeOffset now)
    {
        var run = new RemediationRun(request.Id, request.IncidentId, request.Plan, RunStatus.Queued, string.Empty, now, null);
        // In a fleet the run waits for its cluster's bot only until the request would have expired; then it is given up.
        DateTimeOffset? startBy = clusters.FleetMode ? request.ExpiresAt : null;
        await RemediationRunStore.InsertQueuedAsync(connection, transaction, run, request.Cluster, incident?.Image, startBy).ConfigureAwait(false);

        // In a fleet that signs its decisions, the cluster's bot runs the fix only if this signature verifies with its key.
        if (keys.For(request.Cluster) is { } key)
        {
            await ApprovalStore.SetSignatureAsync(connection, transaction, request.Id, DecisionSignature.Sign(key, request)).ConfigureAwait(false);
        }

        await audit.AppendAsync(connection, transaction, new AuditRecord(
            AuditActor.Bot, ApprovalAuditActions.Approved, string.IsNullOrEmpty(request.IncidentId) ? null : request.IncidentId, request.Id, $"{request.Plan.Title}: approved ({how}); job queued")).ConfigureAwait(false);
    }

    private async Task<bool> TryExpireAsync(ApprovalRequest request, ApprovalRequest expired, CancellationToken cancellationToken)
    {
        var incidentId = string.IsNullOrEmpty(request.IncidentId) ? null : request.IncidentId;
        OwedAnnouncement? news = null;
        var won = await store.Database.InTransactionAsync(
            async (connection, transaction) =>
            {
                if (!await ApprovalStore.TryUpdateAsync(connection, transaction, request.Version, expired).ConfigureAwait(false))
                {
                    return false;
                }

                await audit.AppendAsync(connection, transaction, new AuditRecord(
                    AuditActor.Bot, ApprovalAuditActions.Expired, incidentId, request.Id, $"{request.Plan.Title}: nobody decided before {request.ExpiresAt:u}")).ConfigureAwait(false);
                news = await OweIncidentNewsAsync(connection, transaction, expired, ApprovalOutcome.Refused, Actor.System, $"The request to run \"{request.Plan.Title}\" expired.", time.GetUtcNow()).ConfigureAwait(false);
                return true;
            },
            cancellationToken).ConfigureAwait(false);
        if (won)
        {
            LogExpired(logger, request.Id);
            await AfterDecisionStoredAsync(expired, news, cancellationToken).ConfigureAwait(false);
        }

        return won;
    }

    /// <summary>
    /// Inside the transaction that stores a request or a decision: owes what the incident's card must be told about it
    /// (<see cref="OwedAnnouncements"/>) — the line, and where it moves the incident: AwaitingApproval when asked,
    /// Remediating when approved, back to Diagnosed when denied or expired and nothing else waits — so that a host that
    /// stops after the commit and before telling it leaves it to another host. Null for a request without an incident.
    /// </summary>
    /// <param name="moves">False for news that only updates the card (a dry run made elsewhere came in).</param>
    private static async Task<OwedAnnouncement?> OweIncidentNewsAsync(DbConnection connection, DbTransaction transaction, ApprovalRequest request, ApprovalOutcome outcome, Actor actor, string? line, DateTimeOffset now, bool moves = true)
    {
        if (string.IsNullOrEmpty(request.IncidentId))
        {
            return null;
        }

        var (change, moveTo) = !moves ? (IncidentChange.ApprovalDecided, (IncidentState?)null) : request.Status switch
        {
            ApprovalStatus.Pending when outcome == ApprovalOutcome.Requested => (IncidentChange.ApprovalRequested, IncidentState.AwaitingApproval),
            ApprovalStatus.Pending => (IncidentChange.ApprovalDecided, (IncidentState?)null),
            ApprovalStatus.Approved => (IncidentChange.ApprovalDecided, IncidentState.Remediating),
            ApprovalStatus.Denied or ApprovalStatus.Expired => (IncidentChange.ApprovalDecided,
                await ApprovalStore.HasPendingAsync(connection, transaction, request.IncidentId).ConfigureAwait(false) ? null : IncidentState.Diagnosed),
            _ => throw new ArgumentOutOfRangeException(nameof(request), request.Status, "unknown approval status"),
        };
        var news = new OwedAnnouncement(AnnouncementKey(request), request.IncidentId, change, line, moveTo, actor.ToAuditActor(), now);
        await OwedAnnouncements.OweAsync(connection, transaction, news).ConfigureAwait(false);
        return news;
    }

    /// <summary>One piece of news per stored version of a request.</summary>
    internal static string AnnouncementKey(ApprovalRequest request) => $"approval:{request.Id}:v{request.Version}";

    /// <summary>After a request or decision is stored: enqueue the job if approved, then tell the incident the news owed with it.</summary>
    private async Task AfterDecisionStoredAsync(ApprovalRequest request, OwedAnnouncement? news, CancellationToken cancellationToken)
    {
        if (request.Status == ApprovalStatus.Approved)
        {
            scheduler.Enqueue(request.Id, request.Cluster);
        }

        if (news is not null)
        {
            await engine.TellAsync(news, cancellationToken).ConfigureAwait(false);
        }
    }

    private static RequestResult AlreadyAsked(ApprovalRequest pending)
    {
        var waiting = pending.Required - pending.ApprovalCount;
        return new RequestResult(
            ApprovalOutcome.Refused,
            $"{pending.RequestedBy.Name} already asked to run \"{pending.Plan.Title}\" at {pending.RequestedAt:HH:mm} UTC; it waits for {waiting} more approval{(waiting == 1 ? string.Empty : "s")} until {pending.ExpiresAt:HH:mm} UTC. Nothing new was requested.",
            pending);
    }

    private async Task<RequestResult> RefuseRequestAsync(Actor actor, string? incidentId, string? approvalId, string message, CancellationToken cancellationToken)
    {
        await audit.AppendAsync(new AuditRecord(actor.ToAuditActor(), ApprovalAuditActions.Refused, incidentId, approvalId, message, AuditOutcome.Refused), cancellationToken).ConfigureAwait(false);
        return new RequestResult(ApprovalOutcome.Refused, message, null);
    }

    private async Task<DecisionResult> RefuseDecisionAsync(Actor actor, string? incidentId, string? approvalId, string message, CancellationToken cancellationToken)
    {
        await RefuseRequestAsync(actor, incidentId, approvalId, message, cancellationToken).ConfigureAwait(false);
        var request = approvalId is null ? null : await store.GetAsync(approvalId, cancellationToken).ConfigureAwait(false);
        var incident = incidentId ?? (string.IsNullOrEmpty(request?.IncidentId) ? null : request.IncidentId);
        return new DecisionResult(ApprovalOutcome.Refused, message, request, incident);
    }

    private static string NewId() => "apr-" + IncidentIds.RandomChars(8);

    [LoggerMessage(Level = LogLevel.Information, Message = "Approval {ApprovalId} requested for {PlanKey}: {Outcome}")]
    private static partial void LogRequested(ILogger logger, string approvalId, string planKey, ApprovalOutcome outcome);

    [LoggerMessage(Level = LogLevel.Information, Message = "Approval {ApprovalId}: {Outcome} by {Actor}")]
    private static partial void LogDecided(ILogger logger, string approvalId, ApprovalOutcome outcome, Actor actor);

    [LoggerMessage(Level = LogLevel.Information, Message = "Approval {ApprovalId}: dry run made on cluster {Cluster} (possible: {Possible})")]
    private static partial void LogDryRunApplied(ILogger logger, string approvalId, string cluster, bool possible);

    [LoggerMessage(Level = LogLevel.Information, Message = "Approval {ApprovalId} expired")]
    private static partial void LogExpired(ILogger logger, string approvalId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Approval {ApprovalId}: another writer decided first (race {Race}); reading again")]
    private static partial void LogLostRace(ILogger logger, string approvalId, int race);
}
