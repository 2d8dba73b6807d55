using System.Text.Json;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Detection.Webhooks;
using ChatOpsPull.Detection.Webhooks.Inbox;

namespace ChatOpsPull.Tests.Alerts;

/// <summary>The inbox rows a request's alerts become: one per subject, in the JSON the drain reads.</summary>
public sealed class InboxRowsTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 7, 1, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Alerts_of_one_workload_become_one_row_that_reads_back_as_the_same_alerts()
    {
        List<PullAlert> alerts = [Firing("shop", "api-7d9c5b8f6-aaaaa"), Firing("shop", "api-7d9c5b8f6-bbbbb"), Resolved("shop", "api-7d9c5b8f6-ccccc")];

        var row = Assert.Single(AlertInbox.RowsOf(alerts));

        Assert.Equal(AlertInbox.SubjectKey(alerts[0]), row.Subject);
        Assert.Equal(JsonSerializer.Serialize(alerts, InboxJson.Default.ListPullAlert), row.Alerts);
        Assert.Equal(alerts, AlertInbox.ParseAlerts(row.Alerts));
    }

    [Fact]
    public void Alerts_of_several_workloads_become_a_row_each_in_the_order_first_seen_keeping_payload_order_inside()
    {
        List<PullAlert> alerts = [Firing("shop", "api-7d9c5b8f6-aaaaa"), Firing("cart", "web-5c4b3a291-bbbbb"), Firing("shop", "api-7d9c5b8f6-ccccc")];

        var rows = AlertInbox.RowsOf(alerts);

        Assert.Equal([AlertInbox.SubjectKey(alerts[0]), AlertInbox.SubjectKey(alerts[1])], rows.Select(r => r.Subject));
        Assert.Equal([alerts[0], alerts[2]], AlertInbox.ParseAlerts(rows[0].Alerts));
        Assert.Equal([alerts[1]], AlertInbox.ParseAlerts(rows[1].Alerts));
    }

    [Fact]
    public void No_alerts_make_no_row()
    {
        Assert.Empty(AlertInbox.RowsOf([]));
    }

    private static PullAlert Firing(string ns, string pod) =>
        new(AlertStatus.Firing, Failure(ns, pod), $"{pod}|1|f");

    private static PullAlert Resolved(string ns, string pod) =>
        new(AlertStatus.Resolved, Failure(ns, pod), $"{pod}|1|r");

    private static PullFailure Failure(string ns, string pod) =>
        new(FailureSource.Alertmanager, "prod-eu", ns, pod, "app", ContainerKind.Regular, string.Empty, "ImagePullBackOff", "pod \"x\" waiting ✓", At);
}
