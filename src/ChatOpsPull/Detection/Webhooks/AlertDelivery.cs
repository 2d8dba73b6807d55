using ChatOpsPull.Core.Failures;
using ChatOpsPull.Incidents;

namespace ChatOpsPull.Detection.Webhooks;

/// <summary>Hands a checked batch to the incident engine, in payload order, skipping re-sends.</summary>
public static class AlertDelivery
{
    /// <summary>
    /// Delivers every alert of the batch. A resolved alert is not delivered when the same payload also has a firing alert
    /// for that container (kube-state-metrics keeps one series per waiting reason, so a container flipping between
    /// ErrImagePull and ImagePullBackOff resolves one alert while another fires). A failure of the sink propagates; alerts
    /// delivered before it are remembered, so the sender's retry does not deliver them twice.
    /// </summary>
    public static async Task<WebhookReceipt> DeliverAsync(
        PullAlertBatch batch, IPullFailureSink sink, SeenAlerts? seen, AlertEndpointCounts counts, CancellationToken cancellationToken)
    {
        HashSet<string>? firing = null;
        foreach (var alert in batch.Alerts)
        {
            if (alert.Status == AlertStatus.Firing)
            {
                firing ??= new HashSet<string>(StringComparer.Ordinal);
                var podWide = PodWide(alert.Failure.PodKey);
                firing.Add(alert.Failure.PodKey);
                firing.Add(podWide);
                if (alert.Failure.Container.Length == 0)
                {
                    firing.Add(podWide + "*");
                }
            }
        }

        int reported = 0, resolved = 0, duplicates = 0, superseded = 0;
        var firingRun = new List<PullAlert>();
        var runKeys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var alert in batch.Alerts)
        {
            if (alert.DeduplicationKey is { } key && seen is not null && (seen.Contains(key) || runKeys.Contains(key)))
            {
                duplicates++;
                continue;
            }

            if (alert.Status == AlertStatus.Firing)
            {
                firingRun.Add(alert);
                if (alert.DeduplicationKey is { } firingKey)
                {
                    runKeys.Add(firingKey);
                }

                continue;
            }

            reported += await ReportAllAsync(firingRun, sink, seen, counts, cancellationToken).ConfigureAwait(false);
            firingRun.Clear();
            runKeys.Clear();
            if (alert.Status != AlertStatus.Resolved)
            {
                throw new InvalidOperationException($"unknown alert status {alert.Status}");
            }

            var failure = alert.Failure;
            if (firing is not null && IsStillFiring(firing, failure.PodKey))
            {
                superseded++;
                continue;
            }

            var container = failure.Container.Length == 0 ? null : failure.Container;
            await sink.ResolveAsync(failure.Cluster, failure.Namespace, failure.Pod, container, PodResolution.AlertResolved, cancellationToken).ConfigureAwait(false);
            counts.CountResolved();
            resolved++;
            if (alert.DeduplicationKey is { } delivered)
            {
                seen?.Add(delivered);
            }
        }

        reported += await ReportAllAsync(firingRun, sink, seen, counts, cancellationToken).ConfigureAwait(false);
        return new WebhookReceipt(batch.AlertCount, reported, resolved, batch.Ignored + superseded, duplicates);
    }

    /// <summary>
    /// Reports consecutive firing alerts together: each is handed over in payload order, and the engine stores the ones of
    /// one workload in one transaction (group commit) instead of one transaction each. The ones stored are remembered even
    /// when another fails; the first failure then propagates.
    /// </summary>
    private static async Task<int> ReportAllAsync(List<PullAlert> alerts, IPullFailureSink sink, SeenAlerts? seen, AlertEndpointCounts counts, CancellationToken cancellationToken)
    {
        if (alerts.Count == 0)
        {
            return 0;
        }

        var reports = new Task[alerts.Count];
        for (var i = 0; i < alerts.Count; i++)
        {
            reports[i] = ReportOneAsync(sink, alerts[i].Failure, cancellationToken);
        }

        try
        {
            await Task.WhenAll(reports).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // the stored ones are remembered below; the first failure is thrown after that
        catch (Exception)
#pragma warning restore CA1031
        {
        }

        Exception? failed = null;
        var stored = 0;
        for (var i = 0; i < alerts.Count; i++)
        {
            if (reports[i].IsCompletedSuccessfully)
            {
                counts.CountReported();
                stored++;
                if (alerts[i].DeduplicationKey is { } delivered)
                {
                    seen?.Add(delivered);
                }
            }
            else
            {
                failed ??= reports[i].Exception?.InnerException ?? new OperationCanceledException(cancellationToken);
            }
        }

        if (failed is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failed);
        }

        return stored;
    }

    private static async Task ReportOneAsync(IPullFailureSink sink, PullFailure failure, CancellationToken cancellationToken) =>
        await sink.ReportAsync(failure, cancellationToken).ConfigureAwait(false);

    /// <summary>"cluster/namespace/pod/": the key of a pod-wide (container-less) alert, and the mark that some container of the pod fires.</summary>
    private static string PodWide(string podKey) => podKey[..(podKey.LastIndexOf('/') + 1)];

    private static bool IsStillFiring(HashSet<string> firing, string podKey)
    {
        var podWide = PodWide(podKey);
        if (podKey.Length == podWide.Length)
        {
            // The resolve covers the whole pod: any firing container of the pod keeps it open.
            return firing.Contains(podWide);
        }

        // One container: a firing alert for it, or a firing pod-wide alert ("…/pod/*"), keeps it open.
        return firing.Contains(podKey) || firing.Contains(podWide + "*");
    }
}
