using System.Text.Json.Nodes;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Detection.KubernetesWatch;
using ChatOpsPull.Incidents;
using k8s;
using k8s.Models;

namespace ChatOpsPull.Tests.Kubernetes;

public sealed class KubeletMessageTests
{
    [Theory]
    [InlineData("Successfully pulled image \"ghcr.io/example/api:2.7.0\" in 3.412s (3.412s including waiting). Image size: 48213567 bytes.", "ghcr.io/example/api:2.7.0", 3412.0, 48213567L)]
    [InlineData("Successfully pulled image \"nginx:1.25\" in 1.011s (1.011s including waiting)", "nginx:1.25", 1011.0, null)]
    [InlineData("Successfully pulled image \"nginx:1.25\" in 3.474467754s", "nginx:1.25", 3474.4678, null)]
    [InlineData("Successfully pulled image \"nginx:1.25\" in 1m2.5s", "nginx:1.25", 62500.0, null)]
    [InlineData("Successfully pulled image \"busybox\" in 850ms (2.1s including waiting). Image size: 2155000 bytes.", "busybox", 850.0, 2155000L)]
    [InlineData("Successfully pulled image \"busybox@sha256:9ae97d36d26566ff84e8893c64a6dc4fe8ca6d1144bf5b87b2b85a32def253c7\"", "busybox@sha256:9ae97d36d26566ff84e8893c64a6dc4fe8ca6d1144bf5b87b2b85a32def253c7", null, null)]
    public void Pulled_messages_parse_in_every_kubelet_wording(string message, string image, double? milliseconds, long? size)
    {
        Assert.True(PulledMessage.TryParse(message, out var pulled));
        Assert.Equal(image, pulled.Image);
        Assert.Equal(milliseconds, pulled.Duration?.TotalMilliseconds);
        Assert.Equal(size, pulled.SizeBytes);
    }

    [Theory]
    [InlineData("Container image \"busybox:1.36\" already present on machine")]
    [InlineData("Pulling image \"nginx:1.25\"")]
    [InlineData("Successfully pulled image \"nginx\" in soon")]
    [InlineData("")]
    public void Other_messages_are_not_pulls(string message) => Assert.False(PulledMessage.TryParse(message, out _));

    [Theory]
    [InlineData("Failed", "Failed to pull image \"x\": rpc error: code = Unknown desc = failed to pull and unpack image", true)]
    [InlineData("Failed", "Error: ErrImagePull", false)]
    [InlineData("Failed", "Error: failed to create containerd task: OCI runtime create failed", false)]
    [InlineData("BackOff", "Back-off pulling image \"x\"", true)]
    [InlineData("BackOff", "Back-off restarting failed container web in pod web-1", false)]
    [InlineData("InspectFailed", "Failed to apply default image tag \"X\": couldn't parse image name", true)]
    [InlineData("ErrImageNeverPull", "Container image \"x\" is not present with pull policy of Never", true)]
    [InlineData("Unhealthy", "Readiness probe failed", false)]
    public void Only_pull_warnings_that_can_carry_the_runtime_message_are_taken_from_events(string reason, string message, bool pull) =>
        Assert.Equal(pull, PodPullState.IsPullWarning(reason, message));

    [Theory]
    [InlineData("spec.containers{web}", ContainerKind.Regular, "web")]
    [InlineData("spec.initContainers{migrate}", ContainerKind.Init, "migrate")]
    [InlineData("spec.ephemeralContainers{debugger-5xk2p}", ContainerKind.Ephemeral, "debugger-5xk2p")]
    public void Event_field_paths_name_the_container(string fieldPath, ContainerKind kind, string container)
    {
        Assert.True(PodPullState.TryParseFieldPath(fieldPath, out var parsedKind, out var parsed));
        Assert.Equal((kind, container), (parsedKind, parsed));
    }

    [Fact]
    public void The_tracker_keeps_the_newest_runtime_message_and_ignores_one_about_another_image()
    {
        var pod = KubernetesJson.Deserialize<V1Pod>(KubeFixtures.Load("pod-web-errimagepull.json").ToJsonString());
        var tracker = new PullFailureTracker();
        var first = Assert.IsType<FailureChange>(Assert.Single(tracker.ObservePod(pod)));
        Assert.StartsWith("rpc error: code = NotFound", first.Message, StringComparison.Ordinal);

        var failed = KubernetesJson.Deserialize<Corev1Event>(KubeFixtures.FailedEventFor(KubeFixtures.Load("pod-web-errimagepull.json"), at: DateTimeOffset.Parse("2026-11-25T20:02:00Z", System.Globalization.CultureInfo.InvariantCulture)).ToJsonString());
        var updated = Assert.IsType<FailureChange>(Assert.Single(tracker.ObserveWarning(failed)));
        Assert.StartsWith("Failed to pull image \"registry.example.com/shop/web:1.4.3-typo\"", updated.Message, StringComparison.Ordinal);

        var older = KubernetesJson.Deserialize<Corev1Event>(KubeFixtures.FailedEventFor(KubeFixtures.Load("pod-web-errimagepull.json"), "Failed to pull image \"registry.example.com/shop/web:1.4.3-typo\": older", DateTimeOffset.Parse("2026-11-25T19:00:00Z", System.Globalization.CultureInfo.InvariantCulture)).ToJsonString());
        Assert.Empty(tracker.ObserveWarning(older));
        var otherImage = KubernetesJson.Deserialize<Corev1Event>(KubeFixtures.FailedEventFor(KubeFixtures.Load("pod-web-errimagepull.json"), "Failed to pull image \"registry.example.com/shop/web:0.9\": gone", DateTimeOffset.Parse("2026-11-25T20:03:00Z", System.Globalization.CultureInfo.InvariantCulture)).ToJsonString());
        Assert.Empty(tracker.ObserveWarning(otherImage));
        Assert.Empty(tracker.ObservePod(pod));
        Assert.Equal(1, tracker.TrackedPodCount);
    }

    [Fact]
    public void The_earlier_pull_error_of_the_same_pod_and_image_is_kept_through_the_back_off()
    {
        // ErrImagePull with the runtime's words in the status, no Failed event seen (the watch started late).
        var pod = KubeFixtures.Load("pod-web-errimagepull.json");
        var tracker = new PullFailureTracker();
        var first = Assert.IsType<FailureChange>(Assert.Single(tracker.ObservePod(Pod(pod))));
        Assert.Contains("not found", first.Message, StringComparison.Ordinal);

        // Kubelet backs off: the status says only "Back-off pulling image" (before 1.32), and so does the BackOff event.
        var backOff = Waiting(pod, "ImagePullBackOff", "Back-off pulling image \"registry.example.com/shop/web:1.4.3-typo\"");
        var during = tracker.ObservePod(Pod(backOff));
        var change = Assert.IsType<FailureChange>(Assert.Single(during));
        Assert.Equal("ImagePullBackOff", change.State.Reason);
        Assert.Equal(first.Message, change.Message);
        var backOffEvent = KubernetesJson.Deserialize<Corev1Event>(KubeFixtures.FailedEventFor(pod, "Back-off pulling image \"registry.example.com/shop/web:1.4.3-typo\"", DateTimeOffset.Parse("2026-11-25T20:05:00Z", System.Globalization.CultureInfo.InvariantCulture)).ToJsonString());
        Assert.Empty(tracker.ObserveWarning(backOffEvent));

        // The same container now pulls another image: the old image's error is not its error.
        var retagged = Waiting(JsonNode.Parse(backOff.ToJsonString()!.Replace("registry.example.com/shop/web:1.4.3-typo", "registry.example.com/shop/web:1.5.0", StringComparison.Ordinal))!.AsObject(), "ImagePullBackOff", "Back-off pulling image \"registry.example.com/shop/web:1.5.0\"");
        var other = Assert.IsType<FailureChange>(Assert.Single(tracker.ObservePod(Pod(retagged))));
        Assert.StartsWith("Back-off pulling image", other.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_back_off_with_the_pull_error_appended_carries_the_runtime_message()
    {
        Assert.False(PodPullState.IsRuntimeMessage("Back-off pulling image \"nginx:1\""));
        Assert.True(PodPullState.IsRuntimeMessage("Back-off pulling image \"nginx:1\": ErrImagePull: rpc error: code = NotFound desc = nginx:1: not found"));

        var pod = KubeFixtures.Load("pod-web-errimagepull.json");
        var tracker = new PullFailureTracker();
        tracker.ObservePod(Pod(Waiting(pod, "ImagePullBackOff", "Back-off pulling image \"registry.example.com/shop/web:1.4.3-typo\"")));
        var appended = "Back-off pulling image \"registry.example.com/shop/web:1.4.3-typo\": ErrImagePull: failed to resolve reference: 401 Unauthorized";
        var backOff = KubernetesJson.Deserialize<Corev1Event>(KubeFixtures.FailedEventFor(pod, appended, DateTimeOffset.Parse("2026-11-25T20:05:00Z", System.Globalization.CultureInfo.InvariantCulture)).ToJsonString());
        Assert.Equal(appended, Assert.IsType<FailureChange>(Assert.Single(tracker.ObserveWarning(backOff))).Message);
    }

    [Fact]
    public void A_pod_that_no_longer_fails_leaves_nothing_in_the_tracker()
    {
        var json = KubeFixtures.Load("pod-web-errimagepull.json");
        var pod = WatchedPod.From(Pod(json));
        var tracker = new PullFailureTracker();
        Assert.IsType<FailureChange>(Assert.Single(tracker.ObservePod(pod)));
        var at = DateTimeOffset.Parse("2026-11-25T20:02:00Z", System.Globalization.CultureInfo.InvariantCulture);
        tracker.ObserveWarning(KubernetesJson.Deserialize<Corev1Event>(KubeFixtures.FailedEventFor(json, at: at).ToJsonString()));
        // An event about another image of the pod (an earlier rollout's) is kept beside it.
        tracker.ObserveWarning(KubernetesJson.Deserialize<Corev1Event>(KubeFixtures.FailedEventFor(json, "Failed to pull image \"registry.example.com/shop/web:0.9\": gone", at).ToJsonString()));
        Assert.Equal((1, 1), (tracker.TrackedPodCount, tracker.PodsWithEventMessages));

        var resolved = Assert.IsType<ResolvedChange>(Assert.Single(tracker.ObservePod(pod with { Failing = [] })));

        Assert.Equal(PodResolution.Ready, resolved.Resolution);
        Assert.Equal((0, 0), (tracker.TrackedPodCount, tracker.PodsWithEventMessages));
    }

    private static V1Pod Pod(JsonObject pod) => KubernetesJson.Deserialize<V1Pod>(pod.ToJsonString());

    private static JsonObject Waiting(JsonObject pod, string reason, string message)
    {
        var copy = pod.DeepClone().AsObject();
        var waiting = copy["status"]!["containerStatuses"]![0]!["state"]!["waiting"]!;
        waiting["reason"] = reason;
        waiting["message"] = message;
        return copy;
    }
}
