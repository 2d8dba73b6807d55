using System.Globalization;
using System.Text.Json.Nodes;
using ChatOpsPull.Core.Remediation;
using k8s.Models;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Remediation;

/// <summary>Where a rollout stands when it is read.</summary>
/// <param name="Done">The fix worked: the controller reports the rollout complete and the pods are Ready (or the Jobs ran).</param>
/// <param name="Stuck">Waiting longer will not help (progress deadline exceeded, paused, a Job failed).</param>
/// <param name="Waiting">What is being waited for, one line.</param>
/// <param name="Counted">What <paramref name="Ready"/> counts ("pods Ready").</param>
public sealed record RolloutProgress(bool Done, bool Stuck, int Ready, int Desired, string Waiting, string Counted = "pods Ready");

/// <summary>
/// Follows what an action changed (its <see cref="RolloutTarget"/>) until it worked or the deadline passes.
/// <see cref="RolloutWait.Rollout"/> decides as <c>kubectl rollout status</c> does (kubectl's rollout_status.go: a
/// Deployment by observedGeneration, updated, old and available replicas and the progress deadline; a StatefulSet by
/// observedGeneration, readyReplicas ≥ replicas and, with a rolling update, updatedReplicas ≥ replicas − partition; a
/// DaemonSet by updatedNumberScheduled and numberAvailable against desiredNumberScheduled), and the workload's current
/// pods must all be Ready too. kubectl has no rollout status for OnDelete, so those are judged by their pods
/// (<see cref="RolloutWait.Pods"/>), as are deleted stuck pods; a CronJob's run and the Jobs of deleted stuck pods by
/// those Jobs (<see cref="RolloutWait.Jobs"/>).
/// </summary>
public sealed class RolloutWatcher(ClusterAccess cluster, IOptionsMonitor<RemediationOptions> options, TimeProvider time)
{
    /// <param name="keepAlive">Called between reads (lease renewal); returning false stops the wait (the run was taken over).</param>
    public async Task<(RunStatus Status, string Detail)> WaitAsync(
        RolloutTarget target,
        DateTimeOffset appliedAt,
        Func<CancellationToken, Task<bool>> keepAlive,
        CancellationToken cancellationToken)
    {
        var settings = options.CurrentValue;
        var deadline = appliedAt + settings.RolloutDeadline;
        if (target is { Wait: RolloutWait.Jobs, Jobs.Count: 0 })
        {
            return (RunStatus.Succeeded, "no Job had pods stuck, so there is nothing to wait for");
        }

        while (true)
        {
            var progress = await ReadProgressAsync(target, cancellationToken).ConfigureAwait(false);
            var now = time.GetUtcNow();
            var took = Describe(now - appliedAt);
            if (progress.Done)
            {
                return (RunStatus.Succeeded, $"{progress.Ready}/{progress.Desired} {progress.Counted} in {took}");
            }

            if (progress.Stuck)
            {
                return (RunStatus.RolloutTimedOut, $"{progress.Ready}/{progress.Desired} {progress.Counted} after {took}; {progress.Waiting}");
            }

            if (now >= deadline)
            {
                return (RunStatus.RolloutTimedOut, $"{progress.Ready}/{progress.Desired} {progress.Counted} when the {Describe(settings.RolloutDeadline)} deadline passed; {progress.Waiting}");
            }

            if (!await keepAlive(cancellationToken).ConfigureAwait(false))
            {
                throw new OperationCanceledException("The run was taken over by another worker.");
            }

            var pause = TimeSpan.FromTicks(Math.Min(settings.RolloutPollInterval.Ticks, Math.Max(TimeSpan.FromMilliseconds(10).Ticks, (deadline - now).Ticks)));
            await Task.Delay(pause, time, cancellationToken).ConfigureAwait(false);
        }
    }

    public Task<RolloutProgress> ReadProgressAsync(RolloutTarget target, CancellationToken cancellationToken) => target.Wait switch
    {
        RolloutWait.Rollout => RolloutAsync(target, cancellationToken),
        RolloutWait.Pods => PodsAsync(target, cancellationToken),
        RolloutWait.Jobs => JobsAsync(target, cancellationToken),
        _ => throw new ArgumentOutOfRangeException(nameof(target), target.Wait, "unknown rollout wait"),
    };

    private async Task<RolloutProgress> RolloutAsync(RolloutTarget target, CancellationToken cancellationToken)
    {
        if (!WorkloadShape.IsTemplateKind(target.Kind) || target.Kind == "CronJob")
        {
            return await PodsAsync(target, cancellationToken).ConfigureAwait(false);
        }

        var workload = await cluster.ReadWorkloadAsync(target.Kind, target.Namespace, target.Name, cancellationToken).ConfigureAwait(false);
        var status = target.Kind switch
        {
            "Deployment" => RolloutStatus.Deployment(workload),
            "StatefulSet" => RolloutStatus.StatefulSet(workload),
            _ => RolloutStatus.DaemonSet(workload),
        };
        if (status.NotSupported)
        {
            return await PodsAsync(target, cancellationToken).ConfigureAwait(false); // OnDelete by now: judged by the pods
        }

        var pods = await cluster.PodsOfAsync(target.Kind, target.Namespace, target.Name, cancellationToken).ConfigureAwait(false);
        var ready = pods.Count(PodStates.IsReady);
        var notReady = pods.FirstOrDefault(p => !PodStates.IsReady(p));
        var podsDone = ready >= status.Desired && ready == pods.Count;
        var waiting = !status.Done ? status.Message : notReady is null ? "waiting for pods to appear" : "waiting for " + PodStates.Describe(notReady);
        return new RolloutProgress(status.Done && podsDone, status.Stuck, ready, status.Desired, waiting);
    }

    /// <summary>The workload's pods all Ready, and as many as it wants (replicas; a DaemonSet's desiredNumberScheduled; else at least one).</summary>
    private async Task<RolloutProgress> PodsAsync(RolloutTarget target, CancellationToken cancellationToken)
    {
        var ns = target.Namespace;
        var pods = await cluster.PodsOfAsync(target.Kind, ns, target.Name, cancellationToken).ConfigureAwait(false);
        var desired = Math.Max(1, pods.Count);
        if (target.Kind is "Deployment" or "StatefulSet" or "DaemonSet")
        {
            var workload = await cluster.ReadWorkloadAsync(target.Kind, ns, target.Name, cancellationToken).ConfigureAwait(false);
            desired = (target.Kind == "DaemonSet" ? RolloutStatus.Number(workload["status"]?["desiredNumberScheduled"]) : RolloutStatus.Number(workload["spec"]?["replicas"]) ?? 1) ?? desired;
        }

        var ready = pods.Count(PodStates.IsReady);
        var notReady = pods.FirstOrDefault(p => !PodStates.IsReady(p));
        var waiting = notReady is null ? $"waiting for {desired - ready} more pod(s) to appear" : "waiting for " + PodStates.Describe(notReady);
        return new RolloutProgress(pods.Count > 0 && ready == pods.Count && ready >= desired, false, ready, desired, waiting);
    }

    /// <summary>Each Job complete, or its pods Ready or Succeeded (the image pulled and the pod ran); a failed Job is stuck.</summary>
    private async Task<RolloutProgress> JobsAsync(RolloutTarget target, CancellationToken cancellationToken)
    {
        var ns = target.Namespace;
        int ready = 0, desired = 0;
        var allDone = true;
        string? waiting = null;
        foreach (var name in target.Jobs)
        {
            var job = await cluster.ReadJobAsync(ns, name, cancellationToken).ConfigureAwait(false);
            if (job is null)
            {
                return new RolloutProgress(false, true, ready, Math.Max(desired, 1), $"job {name} no longer exists", "pods Ready or Succeeded");
            }

            if (Condition(job, "Failed") is { } failed)
            {
                return new RolloutProgress(false, true, ready, Math.Max(desired, 1), $"job {name} failed: {failed.Reason}{(string.IsNullOrEmpty(failed.Message) ? string.Empty : $" ({failed.Message})")}", "pods Ready or Succeeded");
            }

            var pods = await cluster.PodsOfAsync("Job", ns, name, cancellationToken).ConfigureAwait(false);
            var up = pods.Count(p => PodStates.IsReady(p) || PodStates.IsSucceeded(p));
            var complete = Condition(job, "Complete") is not null;
            ready += complete ? Math.Max(up, 1) : up;
            desired += Math.Max(1, complete ? Math.Max(up, 1) : pods.Count);
            if (!complete && (pods.Count == 0 || up < pods.Count))
            {
                allDone = false;
                var notUp = pods.FirstOrDefault(p => !PodStates.IsReady(p) && !PodStates.IsSucceeded(p));
                waiting ??= notUp is null ? $"waiting for job {name} to start a pod" : $"waiting for job {name}: {PodStates.Describe(notUp)}";
            }
        }

        return new RolloutProgress(allDone, false, ready, desired, waiting ?? string.Empty, "pods Ready or Succeeded");
    }

    private static V1JobCondition? Condition(V1Job job, string type) =>
        job.Status?.Conditions?.FirstOrDefault(c => c.Type == type && c.Status == "True");

    public static string Describe(TimeSpan span) => span.TotalSeconds < 90
        ? string.Create(CultureInfo.InvariantCulture, $"{Math.Max(0, span.TotalSeconds):0} s")
        : string.Create(CultureInfo.InvariantCulture, $"{span.TotalMinutes:0.#} min");
}

/// <summary>What <c>kubectl rollout status</c> says about a workload object (kubectl/pkg/polymorphichelpers/rollout_status.go).</summary>
/// <param name="NotSupported">kubectl has no rollout status for it (an OnDelete StatefulSet or DaemonSet).</param>
/// <param name="Stuck">The Deployment exceeded its progress deadline, or is paused (it rolls on only when resumed).</param>
public sealed record RolloutStatusLook(bool Done, bool Stuck, bool NotSupported, int Desired, string Message);

/// <summary>kubectl's status viewers, on the object as <c>kubectl get -o json</c> prints it.</summary>
public static class RolloutStatus
{
    public static RolloutStatusLook Deployment(JsonObject d)
    {
        var name = d["metadata"]?["name"]?.GetValue<string>();
        var desired = Number(d["spec"]?["replicas"]) ?? 1;
        var status = d["status"];
        if ((Number(d["metadata"]?["generation"]) ?? 0) > (Number(status?["observedGeneration"]) ?? 0))
        {
            return new(false, false, false, desired, "waiting for the deployment controller to see the change");
        }

        var progressing = (status?["conditions"] as JsonArray ?? []).FirstOrDefault(c => c?["type"]?.GetValue<string>() == "Progressing");
        if (progressing?["reason"]?.GetValue<string>() == "ProgressDeadlineExceeded")
        {
            return new(false, true, false, desired, $"deployment {name} exceeded its progress deadline");
        }

        var updated = Number(status?["updatedReplicas"]) ?? 0;
        var replicas = Number(status?["replicas"]) ?? 0;
        var available = Number(status?["availableReplicas"]) ?? 0;
        var paused = d["spec"]?["paused"] is JsonValue p && p.TryGetValue<bool>(out var isPaused) && isPaused;
        string? waiting = updated < desired ? $"{updated} of {desired} new replicas updated"
            : replicas > updated ? $"{replicas - updated} old replicas pending termination"
            : available < updated ? $"{available} of {updated} updated replicas available"
            : null;
        if (waiting is not null && paused)
        {
            return new(false, true, false, desired, $"deployment {name} was paused before its rollout finished ({waiting}); it rolls on when someone resumes it");
        }

        return waiting is null ? new(true, false, false, desired, string.Empty) : new(false, false, false, desired, waiting);
    }

    public static RolloutStatusLook StatefulSet(JsonObject s)
    {
        var spec = s["spec"];
        var status = s["status"];
        var strategy = spec?["updateStrategy"]?["type"]?.GetValue<string>() ?? "RollingUpdate";
        var replicas = Number(spec?["replicas"]);
        var desired = replicas ?? 1;
        if (strategy != "RollingUpdate")
        {
            return new(true, false, true, desired, "rollout status is only available for RollingUpdate strategy type");
        }

        var observed = Number(status?["observedGeneration"]) ?? 0;
        if (observed == 0 || (Number(s["metadata"]?["generation"]) ?? 0) > observed)
        {
            return new(false, false, false, desired, "waiting for the statefulset controller to see the change");
        }

        var readyReplicas = Number(status?["readyReplicas"]) ?? 0;
        if (replicas is { } wanted && readyReplicas < wanted)
        {
            return new(false, false, false, desired, $"waiting for {wanted - readyReplicas} pods to be ready");
        }

        var updated = Number(status?["updatedReplicas"]) ?? 0;
        if (spec?["updateStrategy"]?["rollingUpdate"] is JsonObject rolling)
        {
            if (replicas is { } all && Number(rolling["partition"]) is { } partition && updated < all - partition)
            {
                return new(false, false, false, desired, $"partitioned roll out: {updated} of {all - partition} new pods updated");
            }

            return new(true, false, false, desired, string.Empty);
        }

        var update = status?["updateRevision"]?.GetValue<string>();
        if (update != status?["currentRevision"]?.GetValue<string>())
        {
            return new(false, false, false, desired, $"{updated} pods updated to revision {update}; waiting for the rolling update to complete");
        }

        return new(true, false, false, desired, string.Empty);
    }

    public static RolloutStatusLook DaemonSet(JsonObject d)
    {
        var status = d["status"];
        var desired = Number(status?["desiredNumberScheduled"]) ?? 0;
        if ((d["spec"]?["updateStrategy"]?["type"]?.GetValue<string>() ?? "RollingUpdate") != "RollingUpdate")
        {
            return new(true, false, true, desired, "rollout status is only available for RollingUpdate strategy type");
        }

        if ((Number(d["metadata"]?["generation"]) ?? 0) > (Number(status?["observedGeneration"]) ?? 0))
        {
            return new(false, false, false, desired, "waiting for the daemonset controller to see the change");
        }

        var updated = Number(status?["updatedNumberScheduled"]) ?? 0;
        var available = Number(status?["numberAvailable"]) ?? 0;
        if (updated < desired)
        {
            return new(false, false, false, desired, $"{updated} of {desired} new pods updated");
        }

        if (available < desired)
        {
            return new(false, false, false, desired, $"{available} of {desired} updated pods available");
        }

        return new(true, false, false, desired, string.Empty);
    }

    public static int? Number(JsonNode? node) => node is JsonValue v && v.TryGetValue<long>(out var l) ? (int)l : node is JsonValue w && w.TryGetValue<int>(out var i) ? i : null;
}
