using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Incidents;
using ChatOpsPull.Incidents.Engine;

namespace ChatOpsPull.Tests.Incidents;

/// <summary>How a mailbox's pile of notices is told: consecutive "pods changed" become one, nothing else moves.</summary>
public sealed class NoticeCollapsingTests
{
    private static readonly Incident Api = new(
        "inc-collapse", new IncidentKey("prod", "shop", "deployment/api", PullCause.ImageNotFound), "registry.example.com/shop/api:1.4.3",
        IncidentState.Open, Failures.Start, Failures.Start, [], 1);

    private static IncidentNotice Pods(int version, string detail, bool reload = false) =>
        new(Api with { Version = version }, IncidentChange.PodsChanged, detail, EvenIfSnoozed: false, OwnCard: false) { Reload = reload };

    private static IncidentNotice Other(int version, IncidentChange change, string detail) =>
        new(Api with { Version = version }, change, detail, EvenIfSnoozed: false, OwnCard: false);

    [Fact]
    public void Consecutive_pod_changes_become_one_carrying_the_newest_incident_and_the_latest_line()
    {
        var told = NoticeCollapsing.Collapse([Pods(2, "api-2 joined"), Pods(3, "api-3 joined"), Pods(4, "api-4 joined")]);

        var one = Assert.Single(told);
        Assert.Equal(4, one.Incident.Version);
        Assert.Equal(3, one.Merged);
        Assert.Equal("3 changes; latest: api-4 joined", one.Detail);
    }

    [Fact]
    public void Any_other_change_keeps_its_place_and_pod_changes_are_never_merged_across_it()
    {
        var told = NoticeCollapsing.Collapse([
            Pods(2, "api-2 joined"),
            Pods(3, "api-3 joined"),
            Other(4, IncidentChange.Diagnosed, "tag not found"),
            Pods(5, "api-5 joined"),
            Other(6, IncidentChange.ApprovalRequested, "alice asked"),
            Other(7, IncidentChange.ApprovalDecided, "bob approved"),
            Pods(8, "api-8 joined"),
            Pods(9, "api-9 joined"),
        ]);

        Assert.Equal(
            [
                (IncidentChange.PodsChanged, 3, "2 changes; latest: api-3 joined"),
                (IncidentChange.Diagnosed, 4, "tag not found"),
                (IncidentChange.PodsChanged, 5, "api-5 joined"),
                (IncidentChange.ApprovalRequested, 6, "alice asked"),
                (IncidentChange.ApprovalDecided, 7, "bob approved"),
                (IncidentChange.PodsChanged, 9, "2 changes; latest: api-9 joined"),
            ],
            told.Select(n => (n.Change, n.Incident.Version, n.Detail)));
    }

    [Fact]
    public void News_for_the_incidents_own_card_during_a_storm_is_never_merged()
    {
        var rolledUp = new IncidentNotice(Api with { Version = 3 }, IncidentChange.PodsChanged, "rolled up under inc-parent", EvenIfSnoozed: false, OwnCard: true);

        var told = NoticeCollapsing.Collapse([Pods(2, "api-2 joined"), rolledUp, Pods(4, "api-4 joined")]);

        Assert.Equal(["api-2 joined", "rolled up under inc-parent", "api-4 joined"], told.Select(n => n.Detail));
        Assert.True(told[1].OwnCard);
    }

    [Fact]
    public void A_late_older_copy_does_not_replace_the_newer_incident_and_a_reload_is_kept()
    {
        var told = NoticeCollapsing.Collapse([Pods(5, "api-5 joined", reload: true), Pods(4, "api-4 (new message)")]);

        var one = Assert.Single(told);
        Assert.Equal(5, one.Incident.Version);
        Assert.True(one.Reload);
        Assert.Equal("2 changes; latest: api-4 (new message)", one.Detail);
    }
}
