using ChatOpsPull.Core.Classification;
using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Incidents;

namespace ChatOpsPull.Diagnosing;

/// <summary>
/// The diagnosis the runtime message alone supports: the classifier's cause, confidence and summary, one line of
/// evidence saying only the message was read, and no remediations. The default until the evidence gatherer is registered.
/// </summary>
public sealed class MessageOnlyDiagnoser(TimeProvider time) : IIncidentDiagnoser
{
    public Task<Core.Diagnoses.Diagnosis> DiagnoseAsync(Incident incident, CancellationToken cancellationToken)
    {
        // The most specific message among the pods still failing (a back-off line says less than the error behind it).
        var messages = incident.Pods
            .Where(p => p.ResolvedAt is null)
            .DefaultIfEmpty(incident.Pods.Count > 0 ? incident.Pods[^1] : null)
            .Where(p => p is not null)
            .Select(p => (Pod: p!, Result: MessageClassifier.Classify(p!.Message, p.Reason)))
            .OrderByDescending(m => IncidentGrouping.Specificity(m.Result.Cause))
            .ThenByDescending(m => m.Result.Confidence)
            .ToList();
        var (pod, classification) = messages.Count > 0
            ? messages[0]
            : (null, MessageClassifier.Classify(string.Empty, null));
        var evidence = new Evidence(
            "runtime message",
            EvidenceOutcome.Info,
            pod is null
                ? "No runtime message was available; nothing else was checked."
                : $"Only the kubelet/runtime message of {pod.Pod}/{pod.Container} was read; the registry, secrets and network were not checked.");
        var diagnosis = new Core.Diagnoses.Diagnosis(
            classification.Cause,
            classification.Confidence,
            classification.Summary,
            [evidence],
            pod?.Message ?? string.Empty,
            [])
        {
            DiagnosedAt = time.GetUtcNow(),
        };
        return Task.FromResult(diagnosis);
    }
}
