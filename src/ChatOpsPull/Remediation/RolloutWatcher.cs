using System.Globalization;
using System.Text.Json.Nodes;
using ChatOpsPull.Core.Remediation;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Remediation;

/// <summary>Where a rollout stands when it is read.</summary>
/// <param name="Done">The controller reports the rollout complete and every pod is Ready.</param>
/// <param name="Stuck">The controller gave up (Deployment progress deadline exceeded); waiting longer will not help.</param>
/// <param name="Waiting">What is being waited for, one line.</param>
public sealed record RolloutProgress(bool Done, bool Stuck, int Ready, int Desired, string Waiting);

/// <summary>
/// Follows a workload after a change until its pods are Ready or the deadline passes. A Deployment is complete the way
/// <c>kubectl rollout status</c> decides it (observedGeneration caught up, updatedReplicas = replicas, no old replicas
/// left, availableReplicas = updatedReplicas, no ProgressDeadlineExceeded); StatefulSets and DaemonSets by their status
/// counters; and in every case the workload's current pods must all be Ready.
/// </summary>
public sealed class RolloutWatcher(ClusterAccess cluster, IOptionsMonitor<RemediationOptions> options, TimeProvider time)
{
    /// <param name="keepAlive">Called between reads (lease renewal); returning false stops the wait (the run was taken over).</param>
    public async Task<(RunStatus Status, string Detail)> WaitAsync(
        RemediationPlan plan,
        DateTimeOffset appliedAt,
        Func<CancellationToken, Task<bool>> keepAlive,
        CancellationToken cancellationToken)
    {
        var settings = options.CurrentValue;
        var deadline = appliedAt + settings.RolloutDeadline;
        if (plan.WorkloadKind == "CronJob")
        {
            return (RunStatus.Succeeded, "the CronJob's next run uses the change (no pods to wait for now)");
        }

        while (true)
        {
            var progress = await ReadProgressAsync(plan, cancellationToken).ConfigureAwait(false);
            var now = time.GetUtcNow();
            var took = Describe(now - appliedAt);
            if (progress.Done)
            {
                return (RunStatus.Succeeded, $"{progress.Ready}/{progress.Desired} pods Ready in {took}");
            }

            if (progress.Stuck)
            {
                return (RunStatus.RolloutTimedOut, $"{progress.Ready}/{progress.Desired} pods Ready after {took}; {progress.Waiting}");
            }

            if (now >= deadline)
            {
                return (RunStatus.RolloutTimedOut, $"{progress.Ready}/{progress.Desired} pods Ready when the {Describe(settings.RolloutDeadline)} deadline passed; {progress.Waiting}");
            }

            if (!await keepAlive(cancellationToken).ConfigureAwait(false))
            {
                throw new OperationCanceledException("The run was taken over by another worker.");
            }

            var pause = TimeSpan.FromTicks(Math.Min(settings.RolloutPollInterval.Ticks, Math.Max(TimeSpan.FromMilliseconds(10).Ticks, (deadline - now).Ticks)));
            await Task.Delay(pause, time, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<RolloutProgress> ReadProgressAsync(RemediationPlan plan, CancellationToken cancellationToken)
    {
        var pods = await cluster.PodsOfAsync(plan.WorkloadKind, plan.Namespace, plan.WorkloadName, cancellationToken).ConfigureAwait(false);
        var ready = pods.Count(p => PodStates.IsReady(p) || (plan.WorkloadKind == "Job" && PodStates.IsSucceeded(p)));
        var notReady = pods.FirstOrDefault(p => !PodStates.IsReady(p) && !(plan.WorkloadKind == "Job" && PodStates.IsSucceeded(p)));
        var podWait = notReady is null ? "waiting for pods to appear" : "waiting for " + PodStates.Describe(notReady);

        if (!ClusterAccess.TemplateKinds.Contains(plan.WorkloadKind))
        {
            var desired = Math.Max(1, pods.Count);
            return new RolloutProgress(pods.Count > 0 && ready == pods.Count, false, ready, desired, podWait);
        }

        var workload = await cluster.ReadWorkloadAsync(plan.WorkloadKind, plan.Namespace, plan.WorkloadName, cancellationToken).ConfigureAwait(false);
        var (controllerDone, stuck, wanted, controllerWait) = plan.WorkloadKind switch
        {
            "Deployment" => Deployment(workload),
            "StatefulSet" => StatefulSet(workload),
            "DaemonSet" => DaemonSet(workload),
            _ => (true, false, pods.Count, string.Empty),
        };
        var podsDone = ready >= wanted && ready == pods.Count;
        var waiting = !controllerDone ? controllerWait : podWait;
        return new RolloutProgress(controllerDone && podsDone, stuck, ready, wanted, waiting);
    }

    private static (bool Done, bool Stuck, int Desired, string Waiting) Deployment(JsonObject d)
    {
        var name = d["metadata"]?["name"]?.GetValue<string>();
        var desired = Int(d["spec"]?["replicas"]) ?? 1;
        var status = d["status"];
        if ((Int(d["metadata"]?["generation"]) ?? 0) > (Int(status?["observedGeneration"]) ?? 0))
        {
            return (false, false, desired, "waiting for the deployment controller to see the change");
        }

        var progressing = (status?["conditions"] as JsonArray ?? []).FirstOrDefault(c => c?["type"]?.GetValue<string>() == "Progressing");
        if (progressing?["reason"]?.GetValue<string>() == "ProgressDeadlineExceeded")
        {
            return (false, true, desired, $"deployment {name} exceeded its progress deadline");
        }

        var updated = Int(status?["updatedReplicas"]) ?? 0;
        var replicas = Int(status?["replicas"]) ?? 0;
        var available = Int(status?["availableReplicas"]) ?? 0;
        if (updated < desired)
        {
            return (false, false, desired, $"{updated} of {desired} new replicas updated");
        }

        if (replicas > updated)
        {
            return (false, false, desired, $"{replicas - updated} old replicas pending termination");
        }

        if (available < updated)
        {
            return (false, false, desired, $"{available} of {updated} updated replicas available");
        }

        return (true, false, desired, string.Empty);
    }

    private static (bool Done, bool Stuck, int Desired, string Waiting) StatefulSet(JsonObject s)
    {
        var desired = Int(s["spec"]?["replicas"]) ?? 1;
        var status = s["status"];
        if ((Int(s["metadata"]?["generation"]) ?? 0) > (Int(status?["observedGeneration"]) ?? 0))
        {
            return (false, false, desired, "waiting for the statefulset controller to see the change");
        }

        var readyReplicas = Int(status?["readyReplicas"]) ?? 0;
        if (readyReplicas < desired)
        {
            return (false, false, desired, $"{readyReplicas} of {desired} replicas ready");
        }

        var update = status?["updateRevision"]?.GetValue<string>();
        var current = status?["currentRevision"]?.GetValue<string>();
        if (update is not null && current is not null && update != current)
        {
            return (false, false, desired, $"{Int(status?["updatedReplicas"]) ?? 0} of {desired} replicas updated to {update}");
        }

        return (true, false, desired, string.Empty);
    }

    private static (bool Done, bool Stuck, int Desired, string Waiting) DaemonSet(JsonObject d)
    {
        var status = d["status"];
        var desired = Int(status?["desiredNumberScheduled"]) ?? 0;
        if ((Int(d["metadata"]?["generation"]) ?? 0) > (Int(status?["observedGeneration"]) ?? 0))
        {
            return (false, false, desired, "waiting for the daemonset controller to see the change");
        }

        var updated = Int(status?["updatedNumberScheduled"]) ?? 0;
        var available = Int(status?["numberAvailable"]) ?? 0;
        if (updated < desired)
        {
            return (false, false, desired, $"{updated} of {desired} updated pods scheduled");
        }

        if (available < desired)
        {
            return (false, false, desired, $"{available} of {desired} updated pods available");
        }

        return (true, false, desired, string.Empty);
    }

    private static int? Int(JsonNode? node) => node is JsonValue v && v.TryGetValue<long>(out var l) ? (int)l : node is JsonValue w && w.TryGetValue<int>(out var i) ? i : null;

    public static string Describe(TimeSpan span) => span.TotalSeconds < 90
        ? string.Create(CultureInfo.InvariantCulture, $"{Math.Max(0, span.TotalSeconds):0} s")
        : string.Create(CultureInfo.InvariantCulture, $"{span.TotalMinutes:0.#} min");
}
