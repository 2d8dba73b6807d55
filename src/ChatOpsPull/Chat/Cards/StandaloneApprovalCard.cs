using System.Globalization;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Core.Approvals;
using ChatOpsPull.Core.Remediation;

namespace ChatOpsPull.Chat.Cards;

/// <summary>
/// The card of a request that belongs to no incident (<c>retry shop/api</c> with nothing failing): what was asked, the
/// dry run, the votes or the run, and Approve/Deny while it is pending.
/// </summary>
public static class StandaloneApprovalCard
{
    public static Card Build(ApprovalRequest request, RemediationRun? run, DateTimeOffset now)
    {
        var plan = request.Plan;
        var state = request.Status switch
        {
            ApprovalStatus.Pending when request.IsExpiredAt(now) => "expired",
            ApprovalStatus.Pending => $"waiting for approval ({request.ApprovalCount}/{request.Required}, expires {Time(request.ExpiresAt)})",
            ApprovalStatus.Approved => run is null ? "approved" : $"approved; {RunText(run)}",
            ApprovalStatus.Denied => "denied",
            ApprovalStatus.Expired => "expired",
            _ => throw new ArgumentOutOfRangeException(nameof(request), request.Status, "unknown approval status"),
        };
        var tone = request.Status switch
        {
            ApprovalStatus.Approved when run?.Status == RunStatus.Succeeded => CardTone.Good,
            ApprovalStatus.Approved when run?.Status is RunStatus.Failed or RunStatus.RolloutTimedOut => CardTone.Bad,
            ApprovalStatus.Denied or ApprovalStatus.Expired => CardTone.Neutral,
            _ => CardTone.Warning,
        };
        var facts = new List<CardFact>
        {
            new("Cluster", request.Cluster),
            new("Namespace", plan.Namespace),
            new("Workload", $"{plan.WorkloadKind.ToLowerInvariant()}/{plan.WorkloadName}"),
            new("Asked by", request.RequestedBy.Name),
            new("State", state),
        };
        var sections = new List<CardSection> { CardSection.Markdown(null, plan.Description) };
        if (!string.IsNullOrEmpty(request.DryRun))
        {
            sections.Add(CardSection.Markdown("Dry run", request.DryRun));
        }

        if (request.Votes.Count > 0)
        {
            sections.Add(CardSection.List("Votes", request.Votes
                .Select(v => new CardLine($"{(v.Approve ? "approved" : "denied")} by {v.By.Name} at {Time(v.At)}", v.Approve ? LineMark.Passed : LineMark.Failed))
                .ToList()));
        }

        var actions = new List<CardAction>();
        if (request.Status == ApprovalStatus.Pending && !request.IsExpiredAt(now))
        {
            actions.Add(new CardAction(
                $"Approve: {plan.Title}",
                new CardActionPayload(CardVerb.Approve, request.Id),
                ActionStyle.Primary,
                plan.Risk == RemediationRisk.Low ? null : new CardConfirm($"{plan.Title}?", $"{plan.Description} Namespace {plan.Namespace}.")));
            actions.Add(new CardAction("Deny", new CardActionPayload(CardVerb.Deny, request.Id), ActionStyle.Danger));
        }

        return new Card(
            $"approval:{request.Id}",
            $"{plan.Title}: {plan.Namespace}/{plan.WorkloadName}",
            tone,
            $"{request.RequestedBy.Name} asked to run \"{plan.Title}\" on {plan.Namespace}/{plan.WorkloadName}: {state}",
            facts,
            sections,
            actions)
        {
            Footer = $"{request.Id} · updated {Time(now)}",
        };
    }

    private static string RunText(RemediationRun run) => run.Status switch
    {
        RunStatus.Queued => "queued",
        RunStatus.Running => "running",
        RunStatus.VerifyingRollout => "applied; waiting for pods to become Ready",
        RunStatus.Succeeded => "done: " + run.Detail,
        RunStatus.RolloutTimedOut => "pods not Ready by the deadline: " + run.Detail,
        RunStatus.Failed => "failed: " + run.Detail,
        _ => throw new ArgumentOutOfRangeException(nameof(run), run.Status, "unknown run status"),
    };

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
}
