using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Incidents;

namespace ChatOpsPull.Detection.Webhooks;

/// <summary>What a checked batch comes to: the alerts to apply, in payload order, and the receipt the sender is answered with.</summary>
/// <param name="ToApply">Firing alerts and the resolved alerts not superseded, re-sends left out.</param>
public sealed record AlertPlan(IReadOnlyList<PullAlert> ToApply, WebhookReceipt Receipt);

/// <summary>
/// Decides what of a checked batch the incident engine must hear (<see cref="Plan"/>, when a request is accepted), and
/// tells it (<see cref="ApplyAsync"/>, when the alert inbox is drained).
/// </summary>
public static class AlertDelivery
{
    /// <summary>
    /// The alerts of the batch to apply, skipping re-sends. A resolved alert is left out when the same payload also has a
    /// firing alert for that container (kube-state-metrics keeps one series per waiting reason, so a container flipping
    /// between ErrImagePull and ImagePullBackOff resolves one alert while another fires).
    /// </summary>
    public static AlertPlan Plan(PullAlertBatch batch, SeenAlerts? seen)
    {
        // Which containers fire matters only to a resolved alert: a batch of firing alerts alone (a storm) builds no set.
        HashSet<string>? firing = null;
        foreach (var alert in batch.Alerts.Any(a => a.Status == AlertStatus.Resolved) ? batch.Alerts : [])
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
        var toApply = new List<PullAlert>(batch.Alerts.Count);
        HashSet<string>? keys = seen is null ? null : new(batch.Alerts.Count, StringComparer.Ordinal);
        var delivered = seen?.ContainsEach(batch.Alerts);
        for (var i = 0; i < batch.Alerts.Count; i++)
        {
            var alert = batch.Alerts[i];
            if (alert.DeduplicationKey is { } key && keys is not null && (delivered?[i] == true || !keys.Add(key)))
            {
                duplicates++;
                continue;
            }

            switch (alert.Status)
            {
                case AlertStatus.Firing:
                    reported++;
                    toApply.Add(alert);
                    break;
                case AlertStatus.Resolved when firing is not null && IsStillFiring(firing, alert.Failure.PodKey):
                    superseded++;
                    break;
                case AlertStatus.Resolved:
                    resolved++;
                    toApply.Add(alert);
                    break;
                default:
                    throw new InvalidOperationException($"unknown alert status {alert.Status}");
            }
        }

        return new AlertPlan(toApply, new WebhookReceipt(batch.AlertCount, reported, resolved, batch.Ignored + superseded, duplicates));
    }

    /// <summary>
    /// Tells the engine every alert, in order: consecutive firing alerts are handed over together, subject by subject (the engine stores the
    /// ones of one subject in one transaction, group commit), a resolved alert after every alert before it. The first
    /// failure propagates once the alerts handed over with it are done; the engine is idempotent, so applying the same
    /// alerts again after a failure changes nothing twice.
    /// </summary>
    public static async Task ApplyAsync(IReadOnlyList<PullAlert> alerts, IPullFailureSink sink, CancellationToken cancellationToken)
    {
        var firingRun = new List<PullFailure>();
        foreach (var alert in alerts)
        {
            if (alert.Status == AlertStatus.Firing)
            {
                firingRun.Add(alert.Failure);
                continue;
            }

            await ReportAllAsync(firingRun, sink, cancellationToken).ConfigureAwait(false);
            firingRun.Clear();
            var failure = alert.Failure;
            var container = failure.Container.Length == 0 ? null : failure.Container;
            await sink.ResolveAsync(failure.Cluster, failure.Namespace, failure.Pod, container, PodResolution.AlertResolved, cancellationToken).ConfigureAwait(false);
        }

        await ReportAllAsync(firingRun, sink, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// One subject (cluster, namespace, workload) after another, its reports handed over together: the engine stores each
    /// subject's in one transaction, and the transactions do not queue up for the store's write lock all at once (SQLite
    /// has one writer; the webhooks' inbox appends wait for it between them, not behind dozens).
    /// </summary>
    private static async Task ReportAllAsync(List<PullFailure> failures, IPullFailureSink sink, CancellationToken cancellationToken)
    {
        foreach (var subject in failures.GroupBy(f => (f.Cluster, f.Namespace, IncidentGrouping.SubjectOf(f))))
        {
            await Task.WhenAll(subject.Select(f => sink.ReportAsync(f, cancellationToken))).ConfigureAwait(false);
        }
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
