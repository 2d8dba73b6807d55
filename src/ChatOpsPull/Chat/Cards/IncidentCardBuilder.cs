using System.Globalization;
using ChatOpsPull.Approvals;
using ChatOpsPull.Core.Approvals;
using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Core.Remediation;

namespace ChatOpsPull.Chat.Cards;

/// <summary>Everything an incident card shows, gathered by the caller.</summary>
/// <param name="RolledUp">Incidents rolled up under this one (same image and cause, other workloads).</param>
/// <param name="FixCommands">
/// Null: fixes are buttons (remediate profile). Otherwise the bot only observes, and this holds each plan's kubectl
/// commands by plan key (<see cref="FixOffer"/> decides which).
/// </param>
/// <param name="ManagedWorkloads">
/// Approvals:ManagedWorkloads: how a pod-template fix on a workload another tool owns is offered — a "… anyway" button
/// behind a confirmation (Confirm), not at all (Refuse), or as usual (Allow). The server applies it again on every request.
/// </param>
public sealed record IncidentCardInput(
    Incident Incident,
    IReadOnlyList<ApprovalRequest> Approvals,
    IReadOnlyList<RemediationRun> Runs,
    IReadOnlyList<Incident> RolledUp,
    DateTimeOffset Now,
    IReadOnlyDictionary<string, IReadOnlyList<string>>? FixCommands = null,
    ManagedWorkloadPolicy ManagedWorkloads = ManagedWorkloadPolicy.Confirm);

/// <summary>
/// Builds the one card an incident has in every channel: header facts, cause and summary, evidence, pods,
/// raw message, approvals and runs, and the buttons that fit its state — or, when the bot only observes, each fix as the
/// commands to run by hand instead of its button. Channel-neutral; renderers enforce platform limits.
/// </summary>
public static class IncidentCardBuilder
{
    public const int MaxPodsListed = 10;
    public const int MaxRawMessageChars = 1500;
    public const int MaxRemediationButtons = 3;

    public static Card Build(IncidentCardInput input)
    {
        var incident = input.Incident;
        var diagnosis = incident.Diagnosis;
        var cause = diagnosis?.Cause ?? incident.Key.Cause;
        var subject = incident.Workload?.ToString() ?? incident.Key.Subject;
        var inferred = IncidentGrouping.InferredWorkloadOf(incident);
        // No state icon here: each renderer marks the heading from the card's tone.
        var title = $"{cause.Describe()}: {incident.Key.Namespace}/{subject}";

        var facts = new List<CardFact>
        {
            new("Cluster", incident.Key.Cluster),
            new("Namespace", incident.Key.Namespace),
            new("Workload", inferred is null ? subject : $"{subject} (inferred from the pod name {inferred.Pod}; the alert named no owner)"),
            new("Image", incident.Image.Length > 0 ? incident.Image : "(unknown)"),
            new("Cause", diagnosis is null ? $"{cause.ToSnakeCase()} (from the message; diagnosing…)" : $"{cause.ToSnakeCase()} ({diagnosis.ConfidenceLabel} confidence)"),
            new("State", StateText(incident, input.Now)),
            new("Pods", PodsText(incident)),
            new("Opened", Time(incident.OpenedAt)),
        };

        var sections = new List<CardSection>
        {
            CardSection.Markdown(null, diagnosis?.Summary ?? "Diagnosing: checking the registry, pull secrets and network…"),
        };

        if (diagnosis is { Evidence.Count: > 0 })
        {
            sections.Add(CardSection.List("Evidence", diagnosis.Evidence.Select(EvidenceLine).ToArray()));
        }

        var pods = incident.Pods.OrderBy(p => p.ResolvedAt is not null).ThenBy(p => p.Pod, StringComparer.Ordinal).ToArray();
        sections.Add(CardSection.List(
            "Affected pods",
            pods.Take(MaxPodsListed).Select(PodLine).ToArray(),
            Math.Max(0, pods.Length - MaxPodsListed)));

        var raw = diagnosis?.RawMessage is { Length: > 0 } r ? r : pods.Select(p => p.Message).FirstOrDefault(m => m.Length > 0);
        if (!string.IsNullOrEmpty(raw))
        {
            sections.Add(CardSection.Code("Runtime message", Truncate(raw, MaxRawMessageChars)));
        }

        if (diagnosis?.Owner is { } owner && !incident.IsClosed)
        {
            sections.Add(CardSection.Markdown("Owned by", OwnerText(subject, owner, input.ManagedWorkloads)));
        }

        var notOffered = NotOffered(input);
        if (notOffered.Count > 0 && !incident.IsClosed)
        {
            sections.Add(CardSection.List("Not offered", notOffered));
        }

        if (input.RolledUp.Count > 0)
        {
            sections.Add(CardSection.List(
                "Same image and cause elsewhere",
                input.RolledUp.Take(MaxPodsListed).Select(i => new CardLine($"{i.Key.Namespace}/{i.Workload?.ToString() ?? i.Key.Subject} · {i.ActivePodCount} pod(s)", LineMark.Failed)).ToArray(),
                Math.Max(0, input.RolledUp.Count - MaxPodsListed)));
        }

        if (input.FixCommands is { } commands && diagnosis is not null && !incident.IsClosed)
        {
            foreach (var plan in Offered(input).Where(p => commands.ContainsKey(p.Key)).Take(MaxRemediationButtons))
            {
                sections.Add(CardSection.Code($"Fix by hand: {plan.Title}", string.Join('\n', commands[plan.Key])));
            }

            if (diagnosis.Remediations.Count > 0)
            {
                sections.Add(CardSection.Markdown(null, FixOffer.ObserveSentence(incident.Key.Cluster)));
            }
        }

        var requestLines = input.Approvals.Select(a => ApprovalLine(a, input.Now)).ToList();
        requestLines.AddRange(input.Runs.Select(RunLine));
        if (requestLines.Count > 0)
        {
            sections.Add(CardSection.List("Remediation", requestLines));
        }

        var tone = incident.State switch
        {
            IncidentState.Resolved => CardTone.Good,
            IncidentState.Remediating => CardTone.Warning,
            IncidentState.Open or IncidentState.Diagnosed or IncidentState.AwaitingApproval or IncidentState.Failed => CardTone.Bad,
            _ => throw new ArgumentOutOfRangeException(nameof(input), incident.State, "unknown incident state"),
        };

        var fallback = $"{cause.Describe()} in {incident.Key.Cluster}/{incident.Key.Namespace}/{subject} ({incident.ActivePodCount} pod(s)): {diagnosis?.Summary ?? "diagnosing"}";
        return new Card($"incident:{incident.Id}", title, tone, fallback, facts, sections, Actions(input))
        {
            Footer = $"{incident.Id} · updated {Time(input.Now)} · network checks run from the bot's own network",
        };
    }

    private static List<CardAction> Actions(IncidentCardInput input)
    {
        var incident = input.Incident;
        var actions = new List<CardAction>();
        if (incident.IsClosed)
        {
            return actions;
        }

        // Observe: no button asks for, approves or denies a fix (the bot changes nothing; the commands are on the card).
        var pending = input.FixCommands is null ? input.Approvals.Where(a => a.Status == ApprovalStatus.Pending && !a.IsExpiredAt(input.Now)).ToArray() : [];
        foreach (var request in pending)
        {
            actions.Add(new CardAction(
                $"Approve: {request.Plan.Title}",
                new CardActionPayload(CardVerb.Approve, request.Id),
                ActionStyle.Primary,
                request.Plan.Risk == RemediationRisk.Low ? null : Confirm(request.Plan)));
            actions.Add(new CardAction("Deny", new CardActionPayload(CardVerb.Deny, request.Id), ActionStyle.Danger));
        }

        var busy = input.Runs.Any(r => !r.IsFinished) || incident.State == IncidentState.Remediating;
        if (!busy && input.FixCommands is null && incident.Diagnosis is { } diagnosis)
        {
            var requested = pending.Select(p => p.Plan.Key).ToHashSet(StringComparer.Ordinal);
            foreach (var plan in Offered(input).Where(p => !requested.Contains(p.Key)).Take(MaxRemediationButtons))
            {
                var style = actions.Count == 0 ? ActionStyle.Primary : ActionStyle.Default;
                actions.Add(plan.ManagedBy is { } owner && input.ManagedWorkloads == ManagedWorkloadPolicy.Confirm
                    ? new CardAction(
                        ApprovalWorkflow.AnywayLabel(plan),
                        new CardActionPayload(CardVerb.RequestAnyway, incident.Id, plan.Key),
                        style,
                        new CardConfirm($"Change a workload {owner.ToolName} manages?", $"{owner.Describe()} manages {plan.WorkloadKind.ToLowerInvariant()}/{plan.WorkloadName}: {owner.WhatAPatchDoes()} {plan.Description}", "Change it anyway", "Cancel"))
                    : new CardAction(
                        plan.Title,
                        new CardActionPayload(CardVerb.Request, incident.Id, plan.Key),
                        style,
                        plan.Risk == RemediationRisk.High || plan.ManagedBy is not null ? Confirm(plan) : null));
            }
        }

        actions.Add(new CardAction("Re-diagnose", new CardActionPayload(CardVerb.Rediagnose, incident.Id)));
        actions.Add(new CardAction("Snooze 1h", new CardActionPayload(CardVerb.Snooze, incident.Id, "1h")));
        if (incident.Image.Length > 0)
        {
            actions.Add(new CardAction(
                "Mute image",
                new CardActionPayload(CardVerb.MuteImage, incident.Id),
                ActionStyle.Default,
                new CardConfirm("Mute this image?", $"No cards for {incident.Image} until someone unmutes it. Failures are still recorded.", "Mute", "Cancel")));
        }

        return actions;
    }

    private static CardConfirm Confirm(RemediationPlan plan) => plan.ManagedBy is { } owner
        ? new($"{plan.Title}?", $"{owner.Describe()} manages {plan.WorkloadKind.ToLowerInvariant()}/{plan.WorkloadName}: {owner.WhatAPatchDoes()} {plan.Description}")
        : new($"{plan.Title}?", $"{plan.Description} Namespace {plan.Namespace}, {plan.WorkloadKind.ToLowerInvariant()}/{plan.WorkloadName}.");

    /// <summary>The plans the card offers (a button, or commands under Observe): all but pod-template changes on a managed workload under Refuse.</summary>
    private static IEnumerable<RemediationPlan> Offered(IncidentCardInput input) =>
        (input.Incident.Diagnosis?.Remediations ?? []).Where(p => p.ManagedBy is null || input.ManagedWorkloads != ManagedWorkloadPolicy.Refuse);

    /// <summary>What the diagnosis did not offer for this workload, and why; and the managed-workload fixes Approvals:ManagedWorkloads refuses.</summary>
    private static List<CardLine> NotOffered(IncidentCardInput input)
    {
        var diagnosis = input.Incident.Diagnosis;
        if (diagnosis is null)
        {
            return [];
        }

        var lines = diagnosis.Withheld.Select(w => new CardLine($"*{w.Title}*: {w.Reason}", LineMark.Skipped)).ToList();
        if (input.ManagedWorkloads == ManagedWorkloadPolicy.Refuse)
        {
            lines.AddRange(diagnosis.Remediations.Where(p => p.ManagedBy is not null).Select(p =>
                new CardLine($"*{p.Title}*: {p.ManagedBy!.Describe()} manages the workload, and Approvals:ManagedWorkloads is Refuse.", LineMark.Skipped)));
        }

        return lines;
    }

    private static string OwnerText(string workload, WorkloadOwner owner, ManagedWorkloadPolicy policy)
    {
        var who = $"{workload} is {(owner.Certain ? string.Empty : "maybe ")}managed by *{owner.Describe()}* ({owner.Evidence}). A change the bot makes to its spec: {owner.WhatAPatchDoes()}";
        var offer = owner.ReconcilesTemplate ? " Fixes that change its pod template are not offered (its controller would undo them); retrying the stuck pods and refreshing a pull secret the bot manages are." : policy switch
        {
            ManagedWorkloadPolicy.Confirm => " Fixes that change its pod template ask for confirmation (\"… anyway\"); retrying the stuck pods and refreshing a pull secret the bot manages are not undone.",
            ManagedWorkloadPolicy.Refuse => " Fixes that change its pod template are not offered (Approvals:ManagedWorkloads is Refuse); retrying the stuck pods and refreshing a pull secret the bot manages are.",
            ManagedWorkloadPolicy.Allow => " Fixes that change its pod template are offered as usual (Approvals:ManagedWorkloads is Allow).",
            _ => throw new ArgumentOutOfRangeException(nameof(policy), policy, "unknown managed-workload policy"),
        };
        return who + offer;
    }

    /// <summary>One evidence line as every card shows it (incident, diagnose and check cards): check, detail, timing, mark.</summary>
    internal static CardLine EvidenceLine(Evidence evidence)
    {
        var timing = evidence.Duration is { } d ? string.Create(CultureInfo.InvariantCulture, $" ({d.TotalMilliseconds:0} ms)") : string.Empty;
        var mark = evidence.Outcome switch
        {
            EvidenceOutcome.Passed => LineMark.Passed,
            EvidenceOutcome.Failed => LineMark.Failed,
            EvidenceOutcome.Info => LineMark.Info,
            EvidenceOutcome.Skipped => LineMark.Skipped,
            _ => throw new ArgumentOutOfRangeException(nameof(evidence), evidence.Outcome, "unknown evidence outcome"),
        };
        return new CardLine($"*{evidence.Check}*: {evidence.Detail}{timing}", mark);
    }

    private static CardLine PodLine(AffectedPod pod) => pod.ResolvedAt is null
        ? new CardLine($"`{pod.Pod}` · {pod.Container} · {pod.Reason}", LineMark.Failed)
        : new CardLine($"`{pod.Pod}` · {pod.Container} · recovered {Time(pod.ResolvedAt.Value)}", LineMark.Passed);

    private static CardLine ApprovalLine(ApprovalRequest request, DateTimeOffset now)
    {
        var votes = string.Join(", ", request.Votes.Select(v => (v.Approve ? "approved by " : "denied by ") + v.By.Name));
        var status = request.Status switch
        {
            ApprovalStatus.Pending when request.IsExpiredAt(now) => ("expired", LineMark.Skipped),
            ApprovalStatus.Pending => ($"waiting for approval ({request.ApprovalCount}/{request.Required}, expires {Time(request.ExpiresAt)})", LineMark.Info),
            ApprovalStatus.Approved => ("approved", LineMark.Passed),
            ApprovalStatus.Denied => ("denied", LineMark.Failed),
            ApprovalStatus.Expired => ("expired", LineMark.Skipped),
            _ => throw new ArgumentOutOfRangeException(nameof(request), request.Status, "unknown approval status"),
        };
        var who = votes.Length > 0 ? $" — {votes}" : string.Empty;
        var dryRun = request.Status == ApprovalStatus.Pending && !string.IsNullOrEmpty(request.DryRun) ? $"\nDry run: {request.DryRun}" : string.Empty;
        return new CardLine($"*{request.Plan.Title}* asked by {request.RequestedBy.Name}: {status.Item1}{who}{dryRun}", status.Item2);
    }

    private static CardLine RunLine(RemediationRun run)
    {
        var (text, mark) = run.Status switch
        {
            RunStatus.Queued => ("queued", LineMark.Info),
            RunStatus.Running => ("running", LineMark.Info),
            RunStatus.VerifyingRollout => ("applied; waiting for pods to become Ready", LineMark.Info),
            RunStatus.Succeeded => ("done: pods are Ready", LineMark.Passed),
            RunStatus.RolloutTimedOut => ("applied, but pods were not Ready by the deadline", LineMark.Failed),
            RunStatus.Failed => ("failed", LineMark.Failed),
            _ => throw new ArgumentOutOfRangeException(nameof(run), run.Status, "unknown run status"),
        };
        var detail = run.Detail.Length > 0 ? $" — {run.Detail}" : string.Empty;
        return new CardLine($"*{run.Plan.Title}*: {text}{detail}", mark);
    }

    private static string StateText(Incident incident, DateTimeOffset now)
    {
        var text = incident.State switch
        {
            IncidentState.Open => "open",
            IncidentState.Diagnosed => "diagnosed",
            IncidentState.AwaitingApproval => "awaiting approval",
            IncidentState.Remediating => "remediating",
            IncidentState.Resolved => incident.ResolvedAt is { } at ? $"resolved {Time(at)}" : "resolved",
            IncidentState.Failed => "remediation failed",
            _ => throw new ArgumentOutOfRangeException(nameof(incident), incident.State, "unknown incident state"),
        };
        return incident.SnoozedUntil is { } until && until > now ? $"{text} (snoozed until {Time(until)})" : text;
    }

    private static string PodsText(Incident incident)
    {
        var active = incident.ActivePodCount;
        return active == incident.Pods.Count
            ? $"{active} failing"
            : $"{active} failing, {incident.Pods.Count - active} recovered";
    }

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

    private static string Truncate(string text, int max) =>
        text.Length <= max ? text : string.Concat(text.AsSpan(0, max), $"… (cut at {max} of {text.Length} characters)");
}
