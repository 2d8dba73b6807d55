using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;

namespace ChatOpsPull.Core.Tests.Failures;

/// <summary>Pod names as kube-controller-manager generates them, read back to their workload.</summary>
public sealed class WorkloadInferenceTests
{
    [Theory]
    // Deployment → ReplicaSet {name}-{pod-template-hash} → pod {rs}-{5 random}
    [InlineData("web-7d9c5b6f4-x2x4p", "deployment/web")]
    [InlineData("web-7d9c5b6f4-abcde", "deployment/web")]
    [InlineData("coredns-5d78c9869d-8nx2k", "deployment/coredns")]
    [InlineData("shop-api-v2-66b6c48dd5-mwzjq", "deployment/shop-api-v2")]
    [InlineData("web-2456789-x2x4p", "deployment/web")]
    // CronJob → Job {name}-{minutes since 1970} → pod {job}-{5 random}
    [InlineData("report-29397600-k8x2q", "cronjob/report")]
    [InlineData("nightly-backup-28456320-bz7vw", "cronjob/nightly-backup")]
    // StatefulSet → {name}-{ordinal}
    [InlineData("db-0", "statefulset/db")]
    [InlineData("kafka-broker-12", "statefulset/kafka-broker")]
    // DaemonSet, Job or bare ReplicaSet → {name}-{5 random}: the name does not tell which
    [InlineData("node-exporter-x7k2p", "node-exporter (DaemonSet, Job or ReplicaSet)")]
    [InlineData("migrate-db-2c9gz", "migrate-db (DaemonSet, Job or ReplicaSet)")]
    public void A_generated_pod_name_points_to_its_workload(string pod, string subject)
    {
        var inferred = WorkloadInference.FromPodName(pod);

        Assert.NotNull(inferred);
        Assert.Equal(subject, inferred.Subject);
        Assert.Equal(pod, inferred.Pod);
    }

    [Theory]
    [InlineData("etcd-node1")] // a static pod: {name}-{node}, node1 has letters Kubernetes never draws
    [InlineData("kube-apiserver-control-plane")]
    [InlineData("web")]
    [InlineData("web-")]
    [InlineData("web-007")] // not an ordinal (leading zeros) nor a random part
    [InlineData("web-7d9c-abcde")] // a 4-letter "hash" and a random part with vowels: a hand-written name
    [InlineData("debug-shell")]
    public void A_name_no_controller_makes_infers_nothing(string pod) => Assert.Null(WorkloadInference.FromPodName(pod));

    [Fact]
    public void A_name_cut_to_58_characters_before_the_random_part_infers_nothing()
    {
        // A Deployment with a 52-character name: "{name}-{hash}-" is cut to 58 characters, through the hash.
        var deployment = new string('a', 52);
        var pod = (deployment + "-7d9c5b6f4-")[..58] + "x2x4p";

        Assert.Equal(63, pod.Length);
        Assert.Null(WorkloadInference.FromPodName(pod));
    }

    [Fact]
    public void An_alert_without_an_owner_groups_by_the_inferred_workload_and_the_incident_says_so()
    {
        var failure = new PullFailure(FailureSource.Alertmanager, "prod", "shop", "web-7d9c5b6f4-x2x4p", "web", ContainerKind.Regular, "nginx:1.99", "ImagePullBackOff", string.Empty, DateTimeOffset.UnixEpoch);
        var other = failure with { Pod = "web-7d9c5b6f4-q8z2m" };

        Assert.Equal("deployment/web", IncidentGrouping.SubjectOf(failure));
        Assert.Equal(IncidentGrouping.KeyOf(failure, PullCause.ImageNotFound), IncidentGrouping.KeyOf(other, PullCause.ImageNotFound));

        var incident = new Incident("inc-1", IncidentGrouping.KeyOf(failure, PullCause.ImageNotFound), failure.Image, IncidentState.Open, failure.ObservedAt, failure.ObservedAt,
            [new AffectedPod(failure.Pod, "web", "ImagePullBackOff", string.Empty, failure.ObservedAt, failure.ObservedAt)], 1);
        Assert.Equal("deployment/web", IncidentGrouping.InferredWorkloadOf(incident)?.Subject);
        Assert.Null(IncidentGrouping.InferredWorkloadOf(incident with { Workload = new WorkloadRef("Deployment", "web") }));
    }

    [Fact]
    public void A_known_owner_wins_and_a_name_without_shape_falls_back_to_the_image()
    {
        var failure = new PullFailure(FailureSource.Alertmanager, "prod", "shop", "web-7d9c5b6f4-x2x4p", "web", ContainerKind.Regular, "nginx:1.99", "ImagePullBackOff", string.Empty, DateTimeOffset.UnixEpoch);

        Assert.Equal("statefulset/web", IncidentGrouping.SubjectOf(failure with { Workload = new WorkloadRef("StatefulSet", "web") }));
        Assert.Equal("nginx:1.99", IncidentGrouping.SubjectOf(failure with { Pod = "debug-shell" }));
    }
}
