using ChatOpsPull.Core.Classification;
using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Detection.KubernetesWatch;
using k8s;
using k8s.Models;
using ChatOpsPull.Kubernetes;

namespace ChatOpsPull.Diagnosing;

/// <summary>One failing container found in the cluster, with the pod object it came from.</summary>
public sealed record FailingContainer(PullFailure Failure, V1Pod Pod);

/// <summary>
/// Turns a failure (and what the cluster says about its pod) into a <see cref="Diagnosis"/>. The Kubernetes-only
/// implementation is <see cref="InspectionDiagnoser"/>; the diagnosis service adds registry and network evidence by
/// registering its own implementation in place of it.
/// </summary>
public interface IPullFailureDiagnoser
{
    Task<Core.Diagnoses.Diagnosis> DiagnoseAsync(PullFailure failure, PodInspection? inspection, CancellationToken cancellationToken);
}

/// <summary>The message classification plus the cluster evidence (owners, pull secrets, node). No registry calls.</summary>
public sealed class InspectionDiagnoser : IPullFailureDiagnoser
{
    private readonly TimeProvider _time;

    public InspectionDiagnoser(TimeProvider time)
    {
        _time = time;
    }

    public Task<Core.Diagnoses.Diagnosis> DiagnoseAsync(PullFailure failure, PodInspection? inspection, CancellationToken cancellationToken)
    {
        var classification = MessageClassifier.Classify(failure.Message, failure.Reason);
        var evidence = new List<Evidence>
        {
            new("runtime message", EvidenceOutcome.Info, $"{failure.Reason}: {(failure.Message.Length == 0 ? "(no message)" : failure.Message)}"),
            new("message classification", EvidenceOutcome.Info, $"{classification.Cause.ToSnakeCase()} ({classification.Confidence:0.00}): {classification.Summary}"),
        };
        if (inspection is not null)
        {
            evidence.AddRange(inspection.Evidence);
        }

        var diagnosis = new Core.Diagnoses.Diagnosis(classification.Cause, classification.Confidence, classification.Summary, evidence, failure.Message, [])
        {
            DiagnosedAt = _time.GetUtcNow(),
        };
        return Task.FromResult(diagnosis);
    }
}

/// <summary>Finds the containers that cannot pull right now, with the runtime messages from the pods' Warning events.</summary>
public sealed class FailingPodFinder
{
    private readonly IKubernetes _client;
    private readonly TimeProvider _time;

    public FailingPodFinder(IKubernetes client, TimeProvider time)
    {
        _client = client;
        _time = time;
    }

    /// <param name="namespace">Null: all namespaces.</param>
    public async Task<IReadOnlyList<FailingContainer>> FindAsync(string cluster, string? @namespace, CancellationToken cancellationToken)
    {
        var tracker = new PullFailureTracker();
        var latest = new Dictionary<(string Uid, string Container), FailureChange>();
        var pods = new Dictionary<string, V1Pod>(StringComparer.Ordinal);
        string? next = null;
        do
        {
            var page = @namespace is null
                ? await _client.CoreV1.ListPodForAllNamespacesAsync(continueParameter: next, limit: 500, cancellationToken: cancellationToken).ConfigureAwait(false)
                : await _client.CoreV1.ListNamespacedPodAsync(@namespace, continueParameter: next, limit: 500, cancellationToken: cancellationToken).ConfigureAwait(false);
            foreach (var pod in page.Items ?? [])
            {
                Collect(tracker.ObservePod(pod), latest);
                if (PodPullState.FailingContainers(pod).Count > 0)
                {
                    pods[pod.Metadata.Uid] = pod;
                }
            }

            next = page.Metadata?.ContinueProperty;
        }
        while (!string.IsNullOrEmpty(next));

        foreach (var pod in pods.Values)
        {
            var events = await _client.CoreV1.ListNamespacedEventAsync(
                pod.Metadata.NamespaceProperty,
                fieldSelector: $"involvedObject.kind=Pod,involvedObject.name={pod.Metadata.Name},type=Warning",
                cancellationToken: cancellationToken).ConfigureAwait(false);
            foreach (var warning in (events.Items ?? []).Where(e => e.InvolvedObject?.Uid == pod.Metadata.Uid && PodPullState.IsPullWarning(e.Reason, e.Message)))
            {
                Collect(tracker.ObserveWarning(warning), latest);
            }
        }

        var now = _time.GetUtcNow();
        return latest.Values
            .Select(c => new FailingContainer(
                new PullFailure(FailureSource.Cli, cluster, c.Pod.Namespace, c.Pod.Name, c.State.Container, c.State.Kind, c.State.Image, c.State.Reason, c.Message, now)
                {
                    NodeName = c.Pod.NodeName,
                    PullPolicy = c.State.PullPolicy,
                },
                pods[c.Pod.Uid]))
            .OrderBy(c => c.Failure.Namespace, StringComparer.Ordinal)
            .ThenBy(c => c.Failure.Pod, StringComparer.Ordinal)
            .ThenBy(c => c.Failure.Container, StringComparer.Ordinal)
            .ToArray();
    }

    private static void Collect(IReadOnlyList<TrackerChange> changes, Dictionary<(string, string), FailureChange> latest)
    {
        foreach (var change in changes)
        {
            if (change is FailureChange failure)
            {
                latest[(failure.Pod.Uid, failure.State.Container)] = failure;
            }
        }
    }
}
