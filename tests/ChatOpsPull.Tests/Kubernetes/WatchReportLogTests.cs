using ChatOpsPull.Core.Failures;
using ChatOpsPull.Detection.KubernetesWatch;
using ChatOpsPull.Incidents;
using ChatOpsPull.Tests.Hostile;
using k8s.Models;
using Microsoft.Extensions.Time.Testing;

namespace ChatOpsPull.Tests.Kubernetes;

/// <summary>
/// A storm logs a few lines per workload, not one per pod: the first failure of each workload at once at Information,
/// the rest counted and summed up per workload when the interval is over, every pod at Debug.
/// </summary>
public sealed class WatchReportLogTests
{
    [Fact]
    public void A_storm_logs_the_first_failure_of_each_workload_and_then_one_count_per_workload()
    {
        var (log, lines, time) = Start();
        for (var i = 0; i < 50; i++)
        {
            log.Reported(Failure("shop", "deployment/web", $"web-{i}", i < 40 ? "ErrImagePull" : "ImagePullBackOff"));
        }

        log.Reported(Failure("shop", "deployment/api", "api-0", "ErrImagePull"));
        var atOnce = Information(lines);
        time.Advance(TimeSpan.FromSeconds(10));
        log.Flush();
        var summed = Information(lines).Except(atOnce).ToList();

        Assert.Equal(2, atOnce.Count);
        Assert.Contains(atOnce, l => l.Contains("Pull failure: shop/web-0 container app: ErrImagePull.", StringComparison.Ordinal));
        Assert.Contains(atOnce, l => l.Contains("Pull failure: shop/api-0 container app: ErrImagePull.", StringComparison.Ordinal));
        var summary = Assert.Single(summed);
        Assert.Contains("Pull failures: 49 more in shop/deployment/web in the last 10 s (ErrImagePull 39, ImagePullBackOff 10); the last web-49.", summary, StringComparison.Ordinal);
        Assert.Equal(51, lines.Lines.Count(l => l.StartsWith("Debug", StringComparison.Ordinal) && l.Contains("Pull failure: shop/", StringComparison.Ordinal)));
    }

    [Fact]
    public void After_an_interval_the_next_failure_of_a_workload_is_logged_at_once_again_and_a_quiet_interval_logs_nothing()
    {
        var (log, lines, time) = Start();
        log.Reported(Failure("shop", "deployment/web", "web-0", "ErrImagePull"));
        time.Advance(TimeSpan.FromSeconds(10));
        log.Flush();
        var afterQuietFlush = Information(lines).Count;

        log.Reported(Failure("shop", "deployment/web", "web-1", "ErrImagePull"));

        Assert.Equal(1, afterQuietFlush);
        Assert.Equal(2, Information(lines).Count);
        Assert.Contains(Information(lines), l => l.Contains("shop/web-1", StringComparison.Ordinal));
    }

    [Fact]
    public void Resolves_are_counted_per_controller_the_same_way()
    {
        var (log, lines, time) = Start();
        var owner = new V1OwnerReference { Kind = "ReplicaSet", Name = "web-6b9f7c5d8", Controller = true };
        for (var i = 0; i < 30; i++)
        {
            log.Resolved(new TrackedPod($"uid-{i}", "shop", $"web-{i}", "worker-1", [owner]), null, PodResolution.Deleted);
        }

        time.Advance(TimeSpan.FromSeconds(10));
        log.Flush();

        var info = Information(lines);
        Assert.Equal(2, info.Count);
        Assert.Contains(info, l => l.Contains("Pull failure resolved: shop/web-0 container *: Deleted.", StringComparison.Ordinal));
        Assert.Contains(info, l => l.Contains("Pull failures resolved: 29 more in shop under replicaset/web-6b9f7c5d8 in the last 10 s (Deleted 29); the last web-29.", StringComparison.Ordinal));
    }

    private static (WatchReportLog Log, CapturingLoggerProvider Lines, FakeTimeProvider Time) Start()
    {
        var lines = new CapturingLoggerProvider();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 20, 0, 0, TimeSpan.Zero));
        return (new WatchReportLog(lines.CreateLogger("watcher"), time), lines, time);
    }

    private static List<string> Information(CapturingLoggerProvider lines) =>
        [.. lines.Lines.Where(l => l.StartsWith("Information", StringComparison.Ordinal))];

    private static PullFailure Failure(string ns, string workload, string pod, string reason)
    {
        var (kind, name) = (workload.Split('/')[0], workload.Split('/')[1]);
        return new PullFailure(FailureSource.KubernetesWatch, "prod", ns, pod, "app", ContainerKind.Regular, "registry.example.com/shop/web:1.4.3", reason, "not found", DateTimeOffset.UnixEpoch)
        {
            Workload = new WorkloadRef(kind == "deployment" ? "Deployment" : kind, name),
        };
    }
}
