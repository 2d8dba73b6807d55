using System.Text;
using System.Text.Json.Nodes;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Detection.Webhooks;
using Microsoft.Extensions.Time.Testing;
using static ChatOpsPull.Tests.Alerts.WebhookCalls;

namespace ChatOpsPull.Tests.Alerts;

/// <summary>Which alerts count as pull failures, and how their labels become a PullFailure.</summary>
public sealed class AlertmanagerPayloadReaderTests
{
    private static readonly HashSet<string> KubeletReasons = new(PullFailure.PullReasons, StringComparer.Ordinal);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 2, 12, 0, 0, TimeSpan.Zero));

    private PullAlertBatch Read(JsonObject message, AlertmanagerWebhookOptions? options = null, IReadOnlySet<string>? reasons = null)
    {
        var reader = new AlertmanagerPayloadReader(options ?? new AlertmanagerWebhookOptions(), reasons ?? KubeletReasons, "home", _time);
        var reading = reader.Read(Encoding.UTF8.GetBytes(message.ToJsonString()), out _);
        Assert.Empty(reading.Errors);
        return reading.Batch!;
    }

    [Fact]
    public void Only_configured_alert_names_count()
    {
        var options = new AlertmanagerWebhookOptions { AlertNames = ["KubeContainer*"] };
        var other = PullLabels("ns", "p-2");
        other["alertname"] = "MyPullAlert";

        var batch = Read(Message(Alert("firing", PullLabels("ns", "p-1")), Alert("firing", other)), options);

        Assert.Equal(["p-1"], batch.Alerts.Select(a => a.Failure.Pod));
        Assert.Equal(1, batch.Ignored);
    }

    [Fact]
    public void Any_alert_name_counts_when_none_is_configured_and_the_reason_is_a_pull_reason()
    {
        var custom = PullLabels("ns", "p-1", reason: "InvalidImageName");
        custom["alertname"] = "ImagePullFailing";

        var batch = Read(Message(Alert("firing", custom)));

        Assert.Equal("InvalidImageName", Assert.Single(batch.Alerts).Failure.Reason);
    }

    [Fact]
    public void Reason_label_and_extra_reasons_are_configurable()
    {
        var labels = PullLabels("ns", "p-1");
        labels.Remove("reason");
        labels["waiting_reason"] = "RegistryUnavailable";
        var reasons = new HashSet<string>(KubeletReasons, StringComparer.Ordinal) { "RegistryUnavailable" };

        var batch = Read(Message(Alert("firing", labels)), new AlertmanagerWebhookOptions { ReasonLabel = "waiting_reason" }, reasons);

        Assert.Equal("RegistryUnavailable", Assert.Single(batch.Alerts).Failure.Reason);
    }

    [Fact]
    public void Pod_level_alert_without_container_covers_the_whole_pod_and_carries_the_owner()
    {
        var labels = PullLabels("ns", "api-7d9c5b8f6-x2x8q");
        labels.Remove("container");
        labels["owner_kind"] = "ReplicaSet";
        labels["owner_name"] = "api-7d9c5b8f6";

        var failure = Assert.Single(Read(Message(Alert("firing", labels))).Alerts).Failure;

        Assert.Equal(string.Empty, failure.Container);
        Assert.Equal(new WorkloadRef("ReplicaSet", "api-7d9c5b8f6"), failure.Workload);
        Assert.Equal("home", failure.Cluster);
    }

    [Fact]
    public void Message_prefers_description_then_message_then_summary()
    {
        var withMessage = Alert("firing", PullLabels("ns", "p-1"));
        withMessage["annotations"] = new JsonObject { ["message"] = "older kube-prometheus", ["summary"] = "short" };
        var withSummary = Alert("firing", PullLabels("ns", "p-2"));
        withSummary["annotations"] = new JsonObject { ["summary"] = "short" };

        var batch = Read(Message(withMessage, withSummary));

        Assert.Equal(["older kube-prometheus", "short"], batch.Alerts.Select(a => a.Failure.Message));
    }

    [Fact]
    public void Nanosecond_timestamps_from_go_are_read()
    {
        var alert = Alert("firing", PullLabels("ns", "p-1"));
        alert["startsAt"] = "2026-11-25T21:56:39.147249186+02:00";

        var failure = Assert.Single(Read(Message(alert)).Alerts).Failure;

        Assert.Equal(new DateTimeOffset(2026, 11, 25, 19, 56, 39, TimeSpan.Zero).AddTicks(1472491), failure.ObservedAt);
    }

    [Fact]
    public void Dedup_key_falls_back_to_the_label_set_without_a_fingerprint()
    {
        var first = Alert("firing", PullLabels("ns", "p-1"));
        first.Remove("fingerprint");
        var same = Alert("firing", PullLabels("ns", "p-1"), startsAt: DateTimeOffset.Parse(first["startsAt"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture));
        same.Remove("fingerprint");

        var keys = Read(Message(first, same)).Alerts.Select(a => a.DeduplicationKey).ToList();

        Assert.Equal(keys[0], keys[1]);
        Assert.NotNull(keys[0]);
    }

    [Fact]
    public void Truncated_alerts_are_told()
    {
        var message = Message(Alert("firing", PullLabels("ns", "p-1")));
        message["truncatedAlerts"] = 7;
        var reader = new AlertmanagerPayloadReader(new AlertmanagerWebhookOptions(), KubeletReasons, "home", _time);

        reader.Read(Encoding.UTF8.GetBytes(message.ToJsonString()), out var truncated);

        Assert.Equal(7, truncated);
    }
}
