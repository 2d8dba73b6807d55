using System.Globalization;
using ChatOpsPull.Simulation.KubernetesApi;

namespace ChatOpsPull.Tests.Kubernetes.Kubectl;

/// <summary>`kubectl get -w` through a storm of pod status changes: it prints every one, in order, and keeps watching.</summary>
[Collection(KubectlConformance.Name)]
public sealed class KubectlWatchStormTests(KubectlStandIn kubectl)
{
    [Fact]
    public async Task Kubectl_get_watch_prints_every_change_of_a_storm_in_order()
    {
        var ns = kubectl.Namespace("storm");
        const int podCount = 20;
        const int changes = 1000;
        for (var i = 0; i < podCount; i++)
        {
            var pod = KubeFixtures.WebPod($"storm-{i}");
            pod["metadata"]!["namespace"] = ns;
            pod["metadata"]!.AsObject().Remove("ownerReferences");
            kubectl.Api.Seed(pod);
        }

        await using var watch = kubectl.Start("get", "pods", "-n", ns, "--watch-only", "-o", "jsonpath={.metadata.resourceVersion}{\"\\n\"}");
        await Eventually.HoldsAsync(() => kubectl.Api.Requests.Any(r => r.Contains($"/namespaces/{ns}/pods?", StringComparison.Ordinal) && r.Contains("watch=true", StringComparison.Ordinal)), "kubectl's watch request", seen: () => $"kubectl printed:\n{watch.Output}", giveUpWhen: () => watch.HasExited);
        var written = new List<string>();
        for (var n = 0; n < changes; n++)
        {
            var stored = kubectl.Api.SetContainerWaiting(ns, $"storm-{n % podCount}", "web", (n / podCount) % 2 == 0 ? "ErrImagePull" : "ImagePullBackOff", $"change {n}");
            written.Add(ObjectStore.Version(stored));
        }

        await Eventually.HoldsAsync(() => Printed(watch).Count >= changes, $"{changes} printed changes", seen: () => $"kubectl printed:\n{watch.Output}", giveUpWhen: () => watch.HasExited);

        Assert.Equal(written, Printed(watch));
        Assert.False(watch.HasExited);
    }

    private static List<string> Printed(Infrastructure.ExternalProcess process) =>
        process.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => long.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            .ToList();
}
