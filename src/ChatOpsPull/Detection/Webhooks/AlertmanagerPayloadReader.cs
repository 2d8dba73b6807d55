using System.Globalization;
using System.Text;
using System.Text.Json;
using ChatOpsPull.Core.Failures;

namespace ChatOpsPull.Detection.Webhooks;

/// <summary>
/// Reads an Alertmanager webhook message (version 4) into pull alerts. An alert is about an image pull when its
/// <c>alertname</c> matches <see cref="AlertmanagerWebhookOptions.AlertNames"/> and its reason label (kube-state-metrics'
/// <c>reason</c>, as on kube-prometheus' KubeContainerWaiting) is a pull reason; such an alert must then carry
/// <c>namespace</c> and <c>pod</c> labels, and may carry <c>container</c>, <c>image</c>, <c>cluster</c> and
/// kube-state-metrics' <c>owner_kind</c>/<c>owner_name</c>. Any other alert is acknowledged and ignored.
/// The whole message is checked before anything is delivered: one bad alert rejects the message.
/// </summary>
public sealed class AlertmanagerPayloadReader
{
    public const string SupportedVersion = "4";
    private const int MaxErrors = 50;

    private readonly AlertmanagerWebhookOptions _options;
    private readonly IReadOnlySet<string> _pullReasons;
    private readonly string _defaultCluster;
    private readonly TimeProvider _time;

    public AlertmanagerPayloadReader(AlertmanagerWebhookOptions options, IReadOnlySet<string> pullReasons, string defaultCluster, TimeProvider time)
    {
        _options = options;
        _pullReasons = pullReasons;
        _defaultCluster = defaultCluster;
        _time = time;
    }

    /// <param name="truncatedAlerts">How many alerts Alertmanager left out of the message (its <c>max_alerts</c>).</param>
    public PayloadReading Read(ReadOnlySpan<byte> body, out long truncatedAlerts)
    {
        truncatedAlerts = 0;
        AlertmanagerMessage? message;
        try
        {
            message = JsonSerializer.Deserialize(body, AlertmanagerJsonContext.Default.AlertmanagerMessage);
        }
        catch (JsonException e)
        {
            return PayloadReading.Invalid([JsonProblems.Describe(e)]);
        }

        if (message is null)
        {
            return PayloadReading.Invalid("$", "expected a JSON object: the Alertmanager webhook message");
        }

        var errors = new List<PayloadError>();
        if (message.Version is null)
        {
            errors.Add(new("$.version", $"missing; Alertmanager's webhook sends \"{SupportedVersion}\""));
        }
        else if (!string.Equals(message.Version, SupportedVersion, StringComparison.Ordinal))
        {
            errors.Add(new("$.version", $"this endpoint reads webhook payload version \"{SupportedVersion}\", not {JsonProblems.Quote(message.Version)}"));
        }

        if (message.TruncatedAlerts < 0)
        {
            errors.Add(new("$.truncatedAlerts", "must not be negative"));
        }

        if (message.Alerts is null)
        {
            errors.Add(new("$.alerts", "missing; expected the array of alerts"));
            return PayloadReading.Invalid(errors);
        }

        var alerts = new List<PullAlert>(message.Alerts.Count);
        var ignored = 0;
        for (var i = 0; i < message.Alerts.Count && errors.Count < MaxErrors; i++)
        {
            var alert = ReadAlert(message.Alerts[i], i, errors);
            if (alert is null)
            {
                ignored++;
            }
            else
            {
                alerts.Add(alert);
            }
        }

        if (errors.Count > 0)
        {
            return PayloadReading.Invalid(errors);
        }

        // Without errors, every alert ReadAlert left out is one that is not about pulls.
        truncatedAlerts = message.TruncatedAlerts;
        return new PayloadReading(new PullAlertBatch(alerts, message.Alerts.Count, ignored), []);
    }

    /// <returns>The pull alert; null when the alert is not about pulls (or is invalid, then with errors added).</returns>
    private PullAlert? ReadAlert(AlertmanagerAlert? alert, int index, List<PayloadError> errors)
    {
        // Paths are written only for an error (a valid storm allocates none).
        var path = new AlertPath(index);
        if (alert is null)
        {
            errors.Add(new(path.ToString(), "expected an alert object"));
            return null;
        }

        AlertStatus status;
        switch (alert.Status)
        {
            case "firing":
                status = AlertStatus.Firing;
                break;
            case "resolved":
                status = AlertStatus.Resolved;
                break;
            case null:
                errors.Add(new($"{path}.status", "missing; expected \"firing\" or \"resolved\""));
                return null;
            default:
                errors.Add(new($"{path}.status", $"expected \"firing\" or \"resolved\", not {JsonProblems.Quote(alert.Status)}"));
                return null;
        }

        if (alert.Labels is not { } labels)
        {
            errors.Add(new($"{path}.labels", "missing; expected the alert's label set"));
            return null;
        }

        if (!IsPullAlert(labels, out var reason))
        {
            return null;
        }

        var errorCount = errors.Count;
        var labelsPath = path.Labels;
        var ns = RequiredLabel(labels, "namespace", labelsPath, KubernetesNames.IsLabel, "a namespace name (RFC 1123 label)", errors);
        var pod = RequiredLabel(labels, "pod", labelsPath, KubernetesNames.IsSubdomain, "a pod name (RFC 1123 subdomain)", errors);
        var container = OptionalLabel(labels, "container", labelsPath, KubernetesNames.IsLabel, "a container name (RFC 1123 label)", errors) ?? string.Empty;
        var cluster = OptionalLabel(labels, _options.ClusterLabel, labelsPath, KubernetesNames.IsClusterName, "a cluster name (letters, digits, '.', '_' or '-', at most 63)", errors) ?? _defaultCluster;
        var image = OptionalLabel(labels, _options.ImageLabel, labelsPath, static v => v.Length <= 1024 && !v.Any(char.IsControl), "an image reference (at most 1024 printable characters)", errors) ?? string.Empty;
        var workload = Workload(labels, labelsPath, errors);
        if (errors.Count > errorCount)
        {
            return null;
        }

        var observedAt = status switch
        {
            AlertStatus.Firing => alert.StartsAt is { } start && start != DateTimeOffset.MinValue ? start : _time.GetUtcNow(),
            AlertStatus.Resolved => alert.EndsAt is { } end && end != DateTimeOffset.MinValue ? end : _time.GetUtcNow(),
            _ => throw new InvalidOperationException($"unknown alert status {status}"),
        };
        var failure = new PullFailure(FailureSource.Alertmanager, cluster, ns!, pod!, container, ContainerKind.Regular, image, reason, Message(alert.Annotations), observedAt)
        {
            Workload = workload,
        };
        return new PullAlert(status, failure, DeduplicationKey(alert, labels, status));
    }

    private bool IsPullAlert(Dictionary<string, string> labels, out string reason)
    {
        reason = labels.GetValueOrDefault(_options.ReasonLabel) ?? string.Empty;
        if (!_pullReasons.Contains(reason))
        {
            return false;
        }

        if (_options.AlertNames.Count == 0)
        {
            return true;
        }

        var alertName = labels.GetValueOrDefault("alertname") ?? string.Empty;
        foreach (var pattern in _options.AlertNames)
        {
            if (Glob.IsMatch(pattern, alertName))
            {
                return true;
            }
        }

        return false;
    }

    private static string? RequiredLabel(Dictionary<string, string> labels, string name, LabelsPath labelsPath, Func<string, bool> isValid, string what, List<PayloadError> errors)
    {
        var value = labels.GetValueOrDefault(name);
        if (string.IsNullOrEmpty(value))
        {
            errors.Add(new($"{labelsPath}.{name}", $"missing; an image-pull alert must name {what}"));
            return null;
        }

        if (!isValid(value))
        {
            errors.Add(new($"{labelsPath}.{name}", $"{JsonProblems.Quote(value)} is not {what}"));
            return null;
        }

        return value;
    }

    private static string? OptionalLabel(Dictionary<string, string> labels, string name, LabelsPath labelsPath, Func<string, bool> isValid, string what, List<PayloadError> errors)
    {
        var value = labels.GetValueOrDefault(name);
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        if (!isValid(value))
        {
            errors.Add(new($"{labelsPath}.{name}", $"{JsonProblems.Quote(value)} is not {what}"));
            return null;
        }

        return value;
    }

    /// <summary>kube-state-metrics' kube_pod_owner labels, where the alert rule kept them (KubePodNotReady joins on owner_kind).</summary>
    private static WorkloadRef? Workload(Dictionary<string, string> labels, LabelsPath labelsPath, List<PayloadError> errors)
    {
        var kind = labels.GetValueOrDefault("owner_kind");
        var name = labels.GetValueOrDefault("owner_name");
        if (string.IsNullOrEmpty(kind) || string.IsNullOrEmpty(name) || kind == "<none>" || name == "<none>")
        {
            return null;
        }

        if (!KubernetesNames.IsKind(kind))
        {
            errors.Add(new($"{labelsPath}.owner_kind", $"{JsonProblems.Quote(kind)} is not a Kubernetes kind"));
            return null;
        }

        if (!KubernetesNames.IsSubdomain(name))
        {
            errors.Add(new($"{labelsPath}.owner_name", $"{JsonProblems.Quote(name)} is not a Kubernetes object name"));
            return null;
        }

        return new WorkloadRef(kind, name);
    }

    /// <summary>The alert's own words: <c>description</c>, else <c>message</c> (older kube-prometheus), else <c>summary</c>.</summary>
    private static string Message(Dictionary<string, string>? annotations)
    {
        if (annotations is null)
        {
            return string.Empty;
        }

        foreach (var name in (ReadOnlySpan<string>)["description", "message", "summary"])
        {
            if (annotations.GetValueOrDefault(name) is { Length: > 0 } text)
            {
                return text;
            }
        }

        return string.Empty;
    }

    /// <summary>fingerprint + startsAt + status; the sorted label set stands in for a missing fingerprint.</summary>
    private static string DeduplicationKey(AlertmanagerAlert alert, Dictionary<string, string> labels, AlertStatus status)
    {
        var identity = alert.Fingerprint is { Length: > 0 } fingerprint ? fingerprint : LabelSetKey(labels);
        var startsAt = alert.StartsAt?.UtcTicks ?? 0;
        var state = status == AlertStatus.Firing ? 'f' : 'r';
        return string.Create(CultureInfo.InvariantCulture, $"{identity}|{startsAt}|{state}");
    }

    private static string LabelSetKey(Dictionary<string, string> labels)
    {
        var builder = new StringBuilder();
        foreach (var (name, value) in labels.OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            builder.Append(name).Append('\u0001').Append(value).Append('\u0002');
        }

        return builder.ToString();
    }

    /// <summary>"$.alerts[i]" of an alert, written out only when an error names it.</summary>
    private readonly record struct AlertPath(int Index)
    {
        public LabelsPath Labels => new(this);

        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"$.alerts[{Index}]");
    }

    /// <summary>"$.alerts[i].labels", written out only when an error names it.</summary>
    private readonly record struct LabelsPath(AlertPath Alert)
    {
        public override string ToString() => $"{Alert}.labels";
    }
}
