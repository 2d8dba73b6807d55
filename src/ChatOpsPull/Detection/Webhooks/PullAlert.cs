using ChatOpsPull.Core.Failures;

namespace ChatOpsPull.Detection.Webhooks;

/// <summary>Whether an alert says a failure is going on or is over.</summary>
public enum AlertStatus
{
    Firing,
    Resolved,
}

/// <summary>
/// An alert about an image-pull failure, read from a webhook payload. For a resolved alert only the pod's coordinates
/// in <see cref="Failure"/> matter; an empty <see cref="PullFailure.Container"/> means the whole pod.
/// </summary>
/// <param name="DeduplicationKey">Identifies one delivery of this alert (Alertmanager: fingerprint, startsAt, status); null when the source has none.</param>
public sealed record PullAlert(AlertStatus Status, PullFailure Failure, string? DeduplicationKey);

/// <summary>A payload read and checked in full: what to deliver, and how many alerts were left aside.</summary>
/// <param name="AlertCount">Alerts in the payload.</param>
/// <param name="Ignored">Alerts that are not about image pulls.</param>
public sealed record PullAlertBatch(IReadOnlyList<PullAlert> Alerts, int AlertCount, int Ignored);

/// <summary>Either a batch, or every problem found in the payload (then nothing is delivered).</summary>
public sealed record PayloadReading(PullAlertBatch? Batch, IReadOnlyList<PayloadError> Errors)
{
    public static PayloadReading Invalid(IReadOnlyList<PayloadError> errors) => new(null, errors);

    public static PayloadReading Invalid(string path, string message) => new(null, [new PayloadError(path, message)]);
}
