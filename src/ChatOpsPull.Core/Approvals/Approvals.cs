using ChatOpsPull.Core.Remediation;

namespace ChatOpsPull.Core.Approvals;

/// <summary>Someone who asked, approved or denied, as their platform vouched for them.</summary>
/// <param name="Platform">"slack", "teams" or "web".</param>
/// <param name="Id">Slack user id, Teams AAD object id, or local web user name.</param>
/// <param name="Groups">Slack user-group ids (or other groups) the person is in, where known.</param>
public sealed record Actor(string Platform, string Id, string Name, IReadOnlyList<string> Groups)
{
    public static Actor System { get; } = new("system", "chatopspull", "ChatOpsPull", []);

    public bool SamePerson(Actor other) =>
        string.Equals(Platform, other.Platform, StringComparison.Ordinal) && string.Equals(Id, other.Id, StringComparison.Ordinal);

    public override string ToString() => $"{Name} ({Platform}:{Id})";
}

public enum ApprovalStatus
{
    /// <summary>Waiting for approvals.</summary>
    Pending,

    /// <summary>Enough approvals: the job may run.</summary>
    Approved,

    /// <summary>An approver said no. One denial vetoes.</summary>
    Denied,

    /// <summary>Nobody decided before the request's lifetime ran out.</summary>
    Expired,
}

public sealed record ApprovalVote(Actor By, bool Approve, DateTimeOffset At);

/// <summary>A request to run one remediation plan for one incident, and the votes on it.</summary>
/// <param name="Id">"apr-" + short id; cards carry only this.</param>
/// <param name="Required">Approvals needed, fixed from the policy when the request was made.</param>
/// <param name="Version">For optimistic concurrency: two replicas deciding at once, one wins, the other re-reads.</param>
public sealed record ApprovalRequest(
    string Id,
    string IncidentId,
    RemediationPlan Plan,
    Actor RequestedBy,
    DateTimeOffset RequestedAt,
    DateTimeOffset ExpiresAt,
    ApprovalStatus Status,
    int Required,
    IReadOnlyList<ApprovalVote> Votes,
    int Version)
{
    public int ApprovalCount => Votes.Count(v => v.Approve);

    /// <summary>
    /// What the server-side dry run said the plan would change, as short human lines
    /// ("spec.template.spec.containers[api].image: …:1.4.3 → …:1.4.2"), or null when no dry run was made.
    /// </summary>
    public string? DryRun { get; init; }

    /// <summary>The cluster the plan acts on (the incident's); empty for requests stored before it was recorded.</summary>
    public string Cluster { get; init; } = string.Empty;

    public bool IsExpiredAt(DateTimeOffset now) => Status == ApprovalStatus.Pending && now >= ExpiresAt;
}

/// <summary>
/// Who may approve in a cluster/namespace. Rules are tried in order; the first whose patterns match applies.
/// </summary>
public sealed record ApprovalRule(
    string Cluster,
    string Namespace,
    IReadOnlySet<string> Users,
    IReadOnlySet<string> Groups,
    int Required,
    bool AllowSelfApproval)
{
    /// <summary>Approver entries are "platform:id" ("slack:U012AB3CD", "teams:&lt;aad object id&gt;", "web:alice"); groups likewise ("slack:S0123").</summary>
    public bool IsApprover(Actor actor) =>
        Users.Contains(actor.Platform + ":" + actor.Id)
        || actor.Groups.Any(g => Groups.Contains(actor.Platform + ":" + g));
}

public enum ApprovalOutcome
{
    /// <summary>A request was created (or the same pending one returned).</summary>
    Requested,

    /// <summary>The vote counted; more approvals are needed.</summary>
    VoteRecorded,

    /// <summary>The vote reached the required count: run the plan.</summary>
    Approved,

    /// <summary>The vote denied the request.</summary>
    Denied,

    /// <summary>Nothing changed; the message says why.</summary>
    Refused,
}

/// <summary>What a click led to. When <see cref="Outcome"/> is Refused, <see cref="Request"/> is unchanged.</summary>
public sealed record ApprovalDecision(ApprovalOutcome Outcome, string Message, ApprovalRequest? Request)
{
    public bool Changed => Outcome is not ApprovalOutcome.Refused;
}
