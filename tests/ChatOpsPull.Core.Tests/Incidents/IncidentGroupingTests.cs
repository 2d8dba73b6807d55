using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;

namespace ChatOpsPull.Core.Tests.Incidents;

public sealed class IncidentGroupingTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Quiet = TimeSpan.FromMinutes(10);

    internal static PullFailure Failure(string pod, string message, string workload = "api", string reason = "ErrImagePull", string image = "registry.example.com/shop/api:1.4.3", DateTimeOffset? at = null) =>
        new(FailureSource.KubernetesWatch, "prod", "shop", pod, "app", ContainerKind.Regular, image, reason, message, at ?? Now)
        {
            Workload = workload.Length == 0 ? null : new WorkloadRef("Deployment", workload),
        };

    internal static Incident IncidentFor(IncidentKey key, params AffectedPod[] pods) =>
        new("inc-" + Math.Abs(key.GetHashCode() % 100000).ToString("00000", System.Globalization.CultureInfo.InvariantCulture) + "abc", key, "registry.example.com/shop/api:1.4.3", IncidentState.Open, Now.AddMinutes(-5), Now.AddMinutes(-5), pods, 1);

    private static AffectedPod Pod(string name, string message = "Back-off pulling image") =>
        new(name, "app", "ImagePullBackOff", message, Now.AddMinutes(-5), Now.AddMinutes(-5));

    [Fact]
    public void Subject_is_the_workload_or_the_image_when_the_owner_is_unknown()
    {
        Assert.Equal("deployment/api", IncidentGrouping.SubjectOf(Failure("api-1", "x")));
        Assert.Equal("nginx:1.25", IncidentGrouping.SubjectOf(Failure("p", "x", workload: "", image: "docker.io/library/nginx:1.25")));
        Assert.Equal("Not A Ref", IncidentGrouping.SubjectOf(Failure("p", "x", workload: "", image: " Not A Ref ")));
    }

    [Fact]
    public void First_failure_of_a_subject_opens_an_incident_keyed_by_its_cause()
    {
        var decision = IncidentGrouping.Decide(Failure("api-1", "manifest unknown"), PullCause.ImageNotFound, [], [], Now, Quiet);
        var open = Assert.IsType<GroupingDecision.Open>(decision);
        Assert.Equal(new IncidentKey("prod", "shop", "deployment/api", PullCause.ImageNotFound), open.Key);
    }

    [Fact]
    public void Pods_of_one_workload_with_the_same_cause_join_one_incident()
    {
        var incident = IncidentFor(new IncidentKey("prod", "shop", "deployment/api", PullCause.ImageNotFound));
        for (var i = 0; i < 10; i++)
        {
            var failure = Failure($"api-{i}", "manifest unknown");
            var join = Assert.IsType<GroupingDecision.Join>(IncidentGrouping.Decide(failure, PullCause.ImageNotFound, [incident], [], Now, Quiet));
            Assert.Null(join.UpgradeTo);
            (incident, var change) = IncidentGrouping.ApplyPod(join.Incident, failure, PullCause.ImageNotFound);
            Assert.Equal(PodChange.Joined, change);
        }

        Assert.Equal(10, incident.ActivePodCount);
    }

    [Fact]
    public void A_different_specific_cause_opens_a_separate_incident()
    {
        var notFound = IncidentFor(new IncidentKey("prod", "shop", "deployment/api", PullCause.ImageNotFound));
        var decision = IncidentGrouping.Decide(Failure("api-2", "401 unauthorized"), PullCause.AuthFailed, [notFound], [], Now, Quiet);
        Assert.Equal(PullCause.AuthFailed, Assert.IsType<GroupingDecision.Open>(decision).Key.Cause);
    }

    [Fact]
    public void Backoff_only_joins_the_open_incident_of_its_subject_whatever_the_cause()
    {
        var notFound = IncidentFor(new IncidentKey("prod", "shop", "deployment/api", PullCause.ImageNotFound));
        var other = IncidentFor(new IncidentKey("prod", "shop", "deployment/web", PullCause.AuthFailed));
        var join = Assert.IsType<GroupingDecision.Join>(
            IncidentGrouping.Decide(Failure("api-3", "Back-off pulling image", reason: "ImagePullBackOff"), PullCause.BackoffOnly, [notFound, other], [], Now, Quiet));
        Assert.Same(notFound, join.Incident);
        Assert.Null(join.UpgradeTo);
    }

    [Fact]
    public void Backoff_only_prefers_the_incident_that_already_has_the_pod()
    {
        var notFound = IncidentFor(new IncidentKey("prod", "shop", "deployment/api", PullCause.ImageNotFound)) with { UpdatedAt = Now };
        var auth = IncidentFor(new IncidentKey("prod", "shop", "deployment/api", PullCause.AuthFailed), Pod("api-7", "401 unauthorized"));
        var join = Assert.IsType<GroupingDecision.Join>(
            IncidentGrouping.Decide(Failure("api-7", "Back-off pulling image"), PullCause.BackoffOnly, [notFound, auth], [], Now, Quiet));
        Assert.Same(auth, join.Incident);
    }

    [Fact]
    public void A_specific_message_upgrades_a_backoff_only_incident()
    {
        var backoff = IncidentFor(new IncidentKey("prod", "shop", "deployment/api", PullCause.BackoffOnly), Pod("api-1"));
        var join = Assert.IsType<GroupingDecision.Join>(
            IncidentGrouping.Decide(Failure("api-1", "manifest unknown"), PullCause.ImageNotFound, [backoff], [], Now, Quiet));
        Assert.Same(backoff, join.Incident);
        Assert.Equal(PullCause.ImageNotFound, join.UpgradeTo);
    }

    [Fact]
    public void An_unknown_message_upgrades_backoff_only_but_never_a_specific_cause()
    {
        var backoff = IncidentFor(new IncidentKey("prod", "shop", "deployment/api", PullCause.BackoffOnly));
        var up = Assert.IsType<GroupingDecision.Join>(IncidentGrouping.Decide(Failure("api-1", "weird"), PullCause.Unknown, [backoff], [], Now, Quiet));
        Assert.Equal(PullCause.Unknown, up.UpgradeTo);

        var specific = IncidentFor(new IncidentKey("prod", "shop", "deployment/api", PullCause.AuthFailed));
        var stay = Assert.IsType<GroupingDecision.Join>(IncidentGrouping.Decide(Failure("api-1", "weird"), PullCause.Unknown, [specific], [], Now, Quiet));
        Assert.Null(stay.UpgradeTo);
    }

    [Fact]
    public void A_relapse_inside_the_quiet_window_reopens_and_outside_opens_anew()
    {
        var closed = IncidentFor(new IncidentKey("prod", "shop", "deployment/api", PullCause.ImageNotFound)) with
        {
            State = IncidentState.Resolved,
            ResolvedAt = Now.AddMinutes(-9),
        };
        var reopen = Assert.IsType<GroupingDecision.Reopen>(
            IncidentGrouping.Decide(Failure("api-1", "manifest unknown"), PullCause.ImageNotFound, [], [closed], Now, Quiet));
        Assert.Same(closed, reopen.Incident);

        var old = closed with { ResolvedAt = Now.AddMinutes(-11) };
        Assert.IsType<GroupingDecision.Open>(
            IncidentGrouping.Decide(Failure("api-1", "manifest unknown"), PullCause.ImageNotFound, [], [old], Now, Quiet));
    }

    [Fact]
    public void Backoff_only_relapse_reopens_the_recent_incident_of_the_subject()
    {
        var closed = IncidentFor(new IncidentKey("prod", "shop", "deployment/api", PullCause.AuthFailed)) with
        {
            State = IncidentState.Resolved,
            ResolvedAt = Now.AddMinutes(-1),
        };
        var reopen = Assert.IsType<GroupingDecision.Reopen>(
            IncidentGrouping.Decide(Failure("api-1", "Back-off pulling image"), PullCause.BackoffOnly, [], [closed], Now, Quiet));
        Assert.Null(reopen.UpgradeTo);
    }

    [Fact]
    public void The_same_report_twice_changes_nothing()
    {
        var incident = IncidentFor(new IncidentKey("prod", "shop", "deployment/api", PullCause.ImageNotFound));
        var failure = Failure("api-1", "manifest unknown");
        var (once, first) = IncidentGrouping.ApplyPod(incident, failure, PullCause.ImageNotFound);
        var (twice, second) = IncidentGrouping.ApplyPod(once, failure, PullCause.ImageNotFound);
        Assert.Equal(PodChange.Joined, first);
        Assert.Equal(PodChange.None, second);
        Assert.Same(once, twice);
    }

    [Fact]
    public void A_backoff_report_keeps_the_specific_message_already_known_for_the_pod()
    {
        var incident = IncidentFor(new IncidentKey("prod", "shop", "deployment/api", PullCause.ImageNotFound));
        var (withPod, _) = IncidentGrouping.ApplyPod(incident, Failure("api-1", "manifest unknown"), PullCause.ImageNotFound);
        var (after, change) = IncidentGrouping.ApplyPod(withPod, Failure("api-1", "Back-off pulling image", reason: "ImagePullBackOff"), PullCause.BackoffOnly);
        Assert.Equal(PodChange.None, change);
        Assert.Equal("manifest unknown", Assert.Single(after.Pods).Message);
    }

    [Fact]
    public void Last_seen_is_only_written_once_a_minute()
    {
        var incident = IncidentFor(new IncidentKey("prod", "shop", "deployment/api", PullCause.ImageNotFound));
        var (withPod, _) = IncidentGrouping.ApplyPod(incident, Failure("api-1", "manifest unknown"), PullCause.ImageNotFound);
        Assert.Equal(PodChange.None, IncidentGrouping.ApplyPod(withPod, Failure("api-1", "manifest unknown", at: Now.AddSeconds(30)), PullCause.ImageNotFound).Change);
        var (seen, change) = IncidentGrouping.ApplyPod(withPod, Failure("api-1", "manifest unknown", at: Now.AddMinutes(2)), PullCause.ImageNotFound);
        Assert.Equal(PodChange.Seen, change);
        Assert.Equal(Now.AddMinutes(2), Assert.Single(seen.Pods).LastSeen);
    }

    [Fact]
    public void A_recovered_pod_failing_again_rejoins()
    {
        var incident = IncidentFor(new IncidentKey("prod", "shop", "deployment/api", PullCause.ImageNotFound));
        var (withPod, _) = IncidentGrouping.ApplyPod(incident, Failure("api-1", "manifest unknown"), PullCause.ImageNotFound);
        var (resolved, count) = IncidentGrouping.ResolvePods(withPod, "api-1", null, Now.AddMinutes(1));
        Assert.Equal(1, count);
        Assert.Equal(0, resolved.ActivePodCount);
        var (again, change) = IncidentGrouping.ApplyPod(resolved, Failure("api-1", "manifest unknown", at: Now.AddMinutes(2)), PullCause.ImageNotFound);
        Assert.Equal(PodChange.Rejoined, change);
        Assert.Equal(1, again.ActivePodCount);
    }

    [Fact]
    public void Resolving_an_unknown_pod_changes_nothing()
    {
        var incident = IncidentFor(new IncidentKey("prod", "shop", "deployment/api", PullCause.ImageNotFound), Pod("api-1"));
        var (same, count) = IncidentGrouping.ResolvePods(incident, "api-9", null, Now);
        Assert.Equal(0, count);
        Assert.Same(incident, same);
    }
}
