using System.Text.Json.Nodes;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Incidents;

namespace ChatOpsPull.Tests.Alerts;

/// <summary>Alerts fired into the real Alertmanager reach the bot through its webhook_configs receiver.</summary>
[Collection(AlertmanagerTests.Name)]
public sealed class AlertmanagerDeliveryTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private readonly AlertmanagerFixture _fixture;

    public AlertmanagerDeliveryTests(AlertmanagerFixture fixture)
    {
        _fixture = fixture;
    }

    private RecordingPullFailureSink Sink => _fixture.Bot.Sink;

    [Fact]
    public async Task Firing_KubeContainerWaiting_with_ImagePullBackOff_arrives_as_a_pull_failure()
    {
        const string ns = "shop-firing";
        await _fixture.AmtoolAddAsync(
            ["alertname=KubeContainerWaiting", "reason=ImagePullBackOff", $"namespace={ns}", "pod=api-7d9c-abcde", "container=api", "cluster=prod-eu", "image=registry.example.com/shop/api:1.4.2", "severity=warning"],
            ["description=pod/api-7d9c-abcde in namespace shop-firing on container api has been in waiting state for longer than 1 hour. (reason: \"ImagePullBackOff\") on cluster prod-eu.", "summary=Pod container waiting longer than 1 hour"]);

        await Eventually.HoldsAsync(() => Sink.Reports(ns).Count > 0, Patience, () => _fixture.AlertmanagerOutput);
        var failure = Assert.Single(Sink.Reports(ns));
        Assert.Equal(FailureSource.Alertmanager, failure.Source);
        Assert.Equal("prod-eu", failure.Cluster);
        Assert.Equal("api-7d9c-abcde", failure.Pod);
        Assert.Equal("api", failure.Container);
        Assert.Equal("ImagePullBackOff", failure.Reason);
        Assert.Equal("registry.example.com/shop/api:1.4.2", failure.Image);
        Assert.StartsWith("pod/api-7d9c-abcde in namespace shop-firing", failure.Message, StringComparison.Ordinal);
        Assert.Empty(Sink.Resolves(ns));
    }

    [Fact]
    public async Task Alert_without_cluster_or_image_labels_gets_the_configured_cluster_and_an_empty_image()
    {
        const string ns = "shop-defaults";
        await _fixture.AmtoolAddAsync(["alertname=KubeContainerWaiting", "reason=ErrImagePull", $"namespace={ns}", "pod=web-0", "container=web"], ["summary=Pod container waiting longer than 1 hour"]);

        await Eventually.HoldsAsync(() => Sink.Reports(ns).Count > 0, Patience, () => _fixture.AlertmanagerOutput);
        var failure = Assert.Single(Sink.Reports(ns));
        Assert.Equal("test-cluster", failure.Cluster);
        Assert.Equal(string.Empty, failure.Image);
        Assert.Equal("ErrImagePull", failure.Reason);
        Assert.Equal("Pod container waiting longer than 1 hour", failure.Message);
    }

    [Fact]
    public async Task A_group_of_50_alerts_arrives_in_one_call_as_50_failures()
    {
        const string ns = "shop-group";
        var labelSets = Enumerable.Range(0, 50).Select(i => (IReadOnlyDictionary<string, string>)new Dictionary<string, string>
        {
            ["alertname"] = "KubeContainerWaiting",
            ["reason"] = "ImagePullBackOff",
            ["namespace"] = ns,
            ["pod"] = $"api-7d9c-{i:D5}",
            ["container"] = "api",
        });
        await _fixture.PostAlertsAsync(labelSets, "Back-off pulling image");

        await Eventually.HoldsAsync(() => Sink.Reports(ns).Count >= 50, Patience, () => $"{Sink.Reports(ns).Count} reported");
        Assert.Equal(50, Sink.Reports(ns).Select(f => f.Pod).Distinct().Count());
        var calls = CallsFor(ns);
        var call = Assert.Single(calls);
        Assert.Equal(50, call["alerts"]!.AsArray().Count);
    }

    [Fact]
    public async Task Resolved_alert_resolves_the_container()
    {
        const string ns = "shop-resolved";
        string[] labels = ["alertname=KubeContainerWaiting", "reason=ImagePullBackOff", $"namespace={ns}", "pod=worker-5f6b-xyz12", "container=worker"];
        var start = DateTimeOffset.UtcNow.AddMinutes(-5);
        await _fixture.AmtoolAddAsync(labels, start: start);
        await Eventually.HoldsAsync(() => Sink.Reports(ns).Count > 0, Patience, () => _fixture.AlertmanagerOutput);

        await _fixture.AmtoolAddAsync(labels, start: start, end: DateTimeOffset.UtcNow.AddSeconds(-2));

        await Eventually.HoldsAsync(() => Sink.Resolves(ns).Count > 0, Patience, () => _fixture.AlertmanagerOutput);
        var resolve = Assert.Single(Sink.Resolves(ns));
        Assert.Equal(new SinkResolve("test-cluster", ns, "worker-5f6b-xyz12", "worker", PodResolution.AlertResolved), resolve);
        Assert.Single(Sink.Reports(ns));
    }

    [Fact]
    public async Task Alerts_not_about_pulls_are_acknowledged_and_ignored()
    {
        const string ns = "shop-other";
        var ignoredBefore = _fixture.Bot.Counts.Alertmanager.Ignored;
        await _fixture.AmtoolAddAsync(["alertname=KubeContainerWaiting", "reason=CreateContainerConfigError", $"namespace={ns}", "pod=db-0", "container=db"]);
        await _fixture.AmtoolAddAsync(["alertname=KubePodCrashLooping", $"namespace={ns}", "pod=db-1", "container=db"]);

        await Eventually.HoldsAsync(() => _fixture.Bot.Counts.Alertmanager.Ignored >= ignoredBefore + 2, Patience, () => _fixture.AlertmanagerOutput);
        Assert.Empty(Sink.Reports(ns));
        Assert.Empty(Sink.Resolves(ns));
        Assert.DoesNotContain("notify retry canceled", _fixture.AlertmanagerOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Re_sent_group_is_not_reported_twice()
    {
        const string ns = "repeat-shop";
        var duplicatesBefore = _fixture.Bot.Counts.Alertmanager.Duplicates;
        await _fixture.AmtoolAddAsync(
            ["alertname=KubeContainerWaiting", "reason=ImagePullBackOff", $"namespace={ns}", "pod=cart-6c8d-k2j4h", "container=cart"],
            end: DateTimeOffset.UtcNow.AddMinutes(5));

        // repeat_interval for repeat-* is 2 s: Alertmanager sends the unchanged group again.
        await Eventually.HoldsAsync(() => CallsFor(ns).Count >= 2, TimeSpan.FromSeconds(30), () => $"{CallsFor(ns).Count} calls\n{_fixture.AlertmanagerOutput}");
        Assert.Single(Sink.Reports(ns));
        Assert.True(_fixture.Bot.Counts.Alertmanager.Duplicates > duplicatesBefore);
    }

    /// <summary>The webhook bodies Alertmanager sent for this test's group.</summary>
    private List<JsonNode> CallsFor(string ns) => _fixture.Bot.Calls
        .Where(c => c.Path == "/alerts/alertmanager" && c.HadAuthorization)
        .Select(c => ParseOrNull(c.Body))
        .Where(n => n?["groupLabels"]?["namespace"]?.GetValue<string>() == ns)
        .Select(n => n!)
        .ToList();

    /// <summary>Direct tests in this collection send malformed bodies on purpose.</summary>
    private static JsonNode? ParseOrNull(string body)
    {
        try
        {
            return JsonNode.Parse(body);
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }
}
