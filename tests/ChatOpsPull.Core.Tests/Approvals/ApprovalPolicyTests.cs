using ChatOpsPull.Core.Approvals;
using ChatOpsPull.Core.Remediation;

namespace ChatOpsPull.Core.Tests.Approvals;

public sealed class ApprovalPolicyTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
    private static readonly Actor Alice = new("slack", "UALICE", "alice", []);
    private static readonly Actor Bob = new("slack", "UBOB", "bob", []);
    private static readonly Actor Carol = new("teams", "c0ffee00-0000-4000-8000-000000000001", "carol", []);
    private static readonly Actor Mallory = new("slack", "UMALLORY", "mallory", []);
    private static readonly Actor OnCallMember = new("slack", "UDAVE", "dave", ["SONCALL"]);

    private static readonly ApprovalPolicy Policy = new(
        [
            new ApprovalRule("*", "prod-*", Set("slack:UALICE", "slack:UBOB", "teams:c0ffee00-0000-4000-8000-000000000001"), Set("slack:SONCALL"), 2, AllowSelfApproval: false),
            new ApprovalRule("*", "dev-*", Set("slack:UALICE"), Set(), 1, AllowSelfApproval: true),
        ],
        TimeSpan.FromHours(1),
        new HashSet<RemediationKind>());

    private static RemediationPlan Plan(string ns) => new(
        RemediationKind.RestartWorkload, ns, "Deployment", "api", "Restart deployment/api", "Sets restartedAt.", RemediationRisk.Low, new Dictionary<string, string>());

    private static HashSet<string> Set(params string[] items) => new HashSet<string>(items, StringComparer.Ordinal);

    private static ApprovalRequest Requested(string ns, Actor by) =>
        Policy.Request("apr-0001", "inc-0001", "prod-eu", Plan(ns), by, Now).Request!;

    [Fact]
    public void Namespace_without_a_rule_cannot_be_requested()
    {
        var decision = Policy.Request("apr-0001", "inc-0001", "prod-eu", Plan("kube-system"), Alice, Now);
        Assert.Equal(ApprovalOutcome.Refused, decision.Outcome);
        Assert.Null(decision.Request);
        Assert.Contains("No approval rule", decision.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Prod_needs_two_approvals_and_the_second_approves()
    {
        var request = Requested("prod-shop", Mallory);
        Assert.Equal(2, request.Required);
        Assert.Equal(Now.AddHours(1), request.ExpiresAt);

        var first = Policy.Decide(request, "prod-eu", Alice, approve: true, Now.AddMinutes(1));
        Assert.Equal(ApprovalOutcome.VoteRecorded, first.Outcome);
        Assert.Equal(ApprovalStatus.Pending, first.Request!.Status);

        var second = Policy.Decide(first.Request, "prod-eu", Carol, approve: true, Now.AddMinutes(2));
        Assert.Equal(ApprovalOutcome.Approved, second.Outcome);
        Assert.Equal(ApprovalStatus.Approved, second.Request!.Status);
        Assert.Equal(2, second.Request.Version);
    }

    [Fact]
    public void Click_by_non_approver_changes_nothing()
    {
        var request = Requested("prod-shop", Alice);
        var decision = Policy.Decide(request, "prod-eu", Mallory, approve: true, Now);
        Assert.Equal(ApprovalOutcome.Refused, decision.Outcome);
        Assert.Same(request, decision.Request);
        Assert.Contains("not an approver", decision.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Group_membership_makes_an_approver()
    {
        var request = Requested("prod-shop", Alice);
        Assert.Equal(ApprovalOutcome.VoteRecorded, Policy.Decide(request, "prod-eu", OnCallMember, approve: true, Now).Outcome);
    }

    [Fact]
    public void Self_approval_is_refused_where_the_rule_forbids_it()
    {
        var request = Requested("prod-shop", Alice);
        var decision = Policy.Decide(request, "prod-eu", Alice, approve: true, Now);
        Assert.Equal(ApprovalOutcome.Refused, decision.Outcome);
        Assert.Contains("your own request", decision.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Self_approval_counts_at_request_time_where_allowed()
    {
        var decision = Policy.Request("apr-0002", "inc-0001", "prod-eu", Plan("dev-alice"), Alice, Now);
        Assert.Equal(ApprovalStatus.Approved, decision.Request!.Status);
    }

    [Fact]
    public void Double_click_counts_once()
    {
        var first = Policy.Decide(Requested("prod-shop", Mallory), "prod-eu", Alice, approve: true, Now).Request!;
        var again = Policy.Decide(first, "prod-eu", Alice, approve: true, Now);
        Assert.Equal(ApprovalOutcome.Refused, again.Outcome);
        Assert.Equal(1, again.Request!.ApprovalCount);
    }

    [Fact]
    public void Expired_request_refuses_every_click()
    {
        var request = Requested("prod-shop", Mallory);
        var decision = Policy.Decide(request, "prod-eu", Alice, approve: true, Now.AddHours(1));
        Assert.Equal(ApprovalOutcome.Refused, decision.Outcome);
        Assert.Contains("expired", decision.Message, StringComparison.Ordinal);
        Assert.NotNull(ApprovalPolicy.Expire(request, Now.AddHours(2)));
        Assert.Null(ApprovalPolicy.Expire(request, Now.AddMinutes(59)));
    }

    [Fact]
    public void One_denial_vetoes_and_later_clicks_change_nothing()
    {
        var denied = Policy.Decide(Requested("prod-shop", Mallory), "prod-eu", Bob, approve: false, Now);
        Assert.Equal(ApprovalOutcome.Denied, denied.Outcome);
        var late = Policy.Decide(denied.Request!, "prod-eu", Alice, approve: true, Now);
        Assert.Equal(ApprovalOutcome.Refused, late.Outcome);
        Assert.Equal(ApprovalStatus.Denied, late.Request!.Status);
    }

    [Fact]
    public void Same_id_on_another_platform_is_not_the_same_approver()
    {
        var request = Requested("prod-shop", Mallory);
        var impostor = new Actor("web", "UALICE", "alice", []);
        Assert.Equal(ApprovalOutcome.Refused, Policy.Decide(request, "prod-eu", impostor, approve: true, Now).Outcome);
    }
}
