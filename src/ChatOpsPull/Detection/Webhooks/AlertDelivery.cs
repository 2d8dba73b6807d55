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
        foreach (var alert in batch.Alerts)
        {
            if (alert.DeduplicationKey is { } key && seen is not null && seen.Contains(key))
            {
                duplicates++;
                continue;
            }

            var failure = alert.Failure;
            switch (alert.Status)
            {
                case AlertStatus.Firing:
                    await sink.ReportAsync(failure, cancellationToken).ConfigureAwait(false);
                    counts.CountReported();
                    reported++;
                    break;
                case AlertStatus.Resolved:
                    if (firing is not null && IsStillFiring(firing, failure.PodKey))
                    {
                        superseded++;
                        continue;
                    }

                    var container = failure.Container.Length == 0 ? null : failure.Container;
                    await sink.ResolveAsync(failure.Cluster, failure.Namespace, failure.Pod, container, PodResolution.AlertResolved, cancellationToken).ConfigureAwait(false);
                    counts.CountResolved();
                    resolved++;
                    break;
                default:
                    throw new InvalidOperationException($"unknown alert status {alert.Status}");
            }

            if (alert.DeduplicationKey is { } delivered)
            {
                seen?.Add(delivered);
            }
        }

        return new WebhookReceipt(batch.AlertCount, reported, resolved, batch.Ignored + superseded, duplicates);
    }

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
