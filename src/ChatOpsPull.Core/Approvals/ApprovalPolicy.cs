using ChatOpsPull.Core.Remediation;

namespace ChatOpsPull.Core.Approvals;

/// <summary>
/// The server-side decision on every click. Pure: given the request as stored, who clicked and the time,
/// it says what changes. Nothing on the card is trusted.
/// </summary>
public sealed class ApprovalPolicy(IReadOnlyList<ApprovalRule> rules, TimeSpan requestLifetime, IReadOnlySet<RemediationKind> autoRun)
{
    public TimeSpan RequestLifetime { get; } = requestLifetime;

    /// <summary>The first rule whose cluster and namespace patterns match, or null: then nobody may approve.</summary>
    public ApprovalRule? RuleFor(string cluster, string @namespace) =>
        rules.FirstOrDefault(r => Glob.IsMatch(r.Cluster, cluster) && Glob.IsMatch(r.Namespace, @namespace));

    /// <summary>Whether a plan of this kind may run without approval (off unless configured).</summary>
    public bool MayAutoRun(RemediationKind kind) => autoRun.Contains(kind);

    /// <summary>Whether this person may approve in this namespace (used to show buttons only to approvers).</summary>
    public bool IsApprover(string cluster, string @namespace, Actor actor) =>
        RuleFor(cluster, @namespace)?.IsApprover(actor) ?? false;

    /// <summary>
    /// Someone asks to run a plan. Anyone who can see the card may ask; asking is not approving.
    /// When the asker is an approver and self-approval is allowed, the request counts their approval at once.
    /// </summary>
    public ApprovalDecision Request(string id, string incidentId, string cluster, RemediationPlan plan, Actor by, DateTimeOffset now)
    {
        var rule = RuleFor(cluster, plan.Namespace);
        if (rule is null)
        {
            return new ApprovalDecision(
                ApprovalOutcome.Refused,
                $"No approval rule covers namespace {plan.Namespace} in cluster {cluster}, so nobody can approve this. Ask an admin to add one under Approvals:Rules.",
                null);
        }

        var request = new ApprovalRequest(id, incidentId, plan, by, now, now + RequestLifetime, ApprovalStatus.Pending, Math.Max(1, rule.Required), [], 0);
        if (rule.AllowSelfApproval && rule.IsApprover(by))
        {
            return Vote(request, by, approve: true, now) with { Outcome = ApprovalOutcome.Requested };
        }

        return new ApprovalDecision(
            ApprovalOutcome.Requested,
            $"{by.Name} asked to run \"{plan.Title}\". It needs {request.Required} approval{(request.Required == 1 ? string.Empty : "s")} before {request.ExpiresAt:HH:mm} UTC.",
            request);
    }

    /// <summary>An approve or deny click on a stored request.</summary>
    public ApprovalDecision Decide(ApprovalRequest request, string cluster, Actor by, bool approve, DateTimeOffset now)
    {
        switch (request.Status)
        {
            case ApprovalStatus.Approved:
                return Refuse(request, "This request was already approved; the job is running or has run. Nothing changed.");
            case ApprovalStatus.Denied:
                return Refuse(request, "This request was already denied. Nothing changed.");
            case ApprovalStatus.Expired:
                return Refuse(request, "This request has expired. Ask again from the incident card.");
            case ApprovalStatus.Pending:
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(request), request.Status, "unknown approval status");
        }

        if (request.IsExpiredAt(now))
        {
            return Refuse(request, $"This request expired at {request.ExpiresAt:yyyy-MM-dd HH:mm} UTC. Ask again from the incident card.");
        }

        var rule = RuleFor(cluster, request.Plan.Namespace);
        if (rule is null || !rule.IsApprover(by))
        {
            return Refuse(request, $"You are not an approver for namespace {request.Plan.Namespace} in cluster {cluster}. Nothing changed.");
        }

        if (approve && !rule.AllowSelfApproval && by.SamePerson(request.RequestedBy))
        {
            return Refuse(request, "You asked for this change, and approving your own request is not allowed here. Another approver must approve it.");
        }

        if (request.Votes.Any(v => v.By.SamePerson(by)))
        {
            return Refuse(request, "You have already voted on this request. Nothing changed.");
        }

        return Vote(request, by, approve, now);
    }

    /// <summary>Marks a pending request expired once its time is up (a sweep, or when a click finds it so).</summary>
    public static ApprovalRequest? Expire(ApprovalRequest request, DateTimeOffset now) =>
        request.IsExpiredAt(now) ? request with { Status = ApprovalStatus.Expired, Version = request.Version + 1 } : null;

    private static ApprovalDecision Vote(ApprovalRequest request, Actor by, bool approve, DateTimeOffset now)
    {
        var votes = request.Votes.Append(new ApprovalVote(by, approve, now)).ToArray();
        if (!approve)
        {
            var denied = request with { Votes = votes, Status = ApprovalStatus.Denied, Version = request.Version + 1 };
            return new ApprovalDecision(ApprovalOutcome.Denied, $"{by.Name} denied \"{request.Plan.Title}\".", denied);
        }

        var updated = request with { Votes = votes, Version = request.Version + 1 };
        if (updated.ApprovalCount >= request.Required)
        {
            updated = updated with { Status = ApprovalStatus.Approved };
            return new ApprovalDecision(ApprovalOutcome.Approved, $"{by.Name} approved \"{request.Plan.Title}\". Running it now.", updated);
        }

        var missing = request.Required - updated.ApprovalCount;
        return new ApprovalDecision(
            ApprovalOutcome.VoteRecorded,
            $"{by.Name} approved \"{request.Plan.Title}\". {missing} more approval{(missing == 1 ? " is" : "s are")} needed.",
            updated);
    }

    private static ApprovalDecision Refuse(ApprovalRequest request, string message) =>
        new(ApprovalOutcome.Refused, message, request);
}
