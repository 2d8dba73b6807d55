using System.Globalization;
using System.Text.Json;
using ChatOpsPull.Core.Failures;

namespace ChatOpsPull.Detection.Webhooks;

/// <summary>Reads the generic webhook's body (one alert object, or an array of them) into pull alerts, checking all of it first.</summary>
public sealed class GenericAlertReader
{
    private const int MaxErrors = 50;

    private readonly GenericWebhookOptions _options;
    private readonly IReadOnlySet<string> _pullReasons;
    private readonly string _defaultCluster;
    private readonly TimeProvider _time;

    public GenericAlertReader(GenericWebhookOptions options, IReadOnlySet<string> pullReasons, string defaultCluster, TimeProvider time)
    {
        _options = options;
        _pullReasons = pullReasons;
        _defaultCluster = defaultCluster;
        _time = time;
    }

    public PayloadReading Read(ReadOnlySpan<byte> body)
    {
        List<GenericAlert?>? alerts;
        bool isBatch;
        try
        {
            isBatch = FirstToken(body) == JsonTokenType.StartArray;
            alerts = isBatch
                ? JsonSerializer.Deserialize(body, GenericAlertJsonContext.Default.ListGenericAlert)
                : [JsonSerializer.Deserialize(body, GenericAlertJsonContext.Default.GenericAlert)];
        }
        catch (JsonException e)
        {
            return PayloadReading.Invalid([JsonProblems.Describe(e)]);
        }

        if (alerts is null || (!isBatch && alerts[0] is null))
        {
            return PayloadReading.Invalid("$", "expected an alert object or an array of alert objects");
        }

        if (alerts.Count == 0)
        {
            return PayloadReading.Invalid("$", "the array has no alerts");
        }

        if (alerts.Count > _options.MaxBatchSize)
        {
            return PayloadReading.Invalid("$", $"at most {_options.MaxBatchSize} alerts per request; this one has {alerts.Count}");
        }

        var errors = new List<PayloadError>();
        var read = new List<PullAlert>(alerts.Count);
        var now = _time.GetUtcNow();
        for (var i = 0; i < alerts.Count && errors.Count < MaxErrors; i++)
        {
            var path = isBatch ? string.Create(CultureInfo.InvariantCulture, $"$[{i}]") : "$";
            if (ReadAlert(alerts[i], path, now, errors) is { } alert)
            {
                read.Add(alert);
            }
        }

        return errors.Count > 0
            ? PayloadReading.Invalid(errors)
            : new PayloadReading(new PullAlertBatch(read, alerts.Count, Ignored: 0), []);
    }

    private PullAlert? ReadAlert(GenericAlert? alert, string path, DateTimeOffset now, List<PayloadError> errors)
    {
        if (alert is null)
        {
            errors.Add(new(path, "expected an alert object"));
            return null;
        }

        var errorCount = errors.Count;
        AlertStatus? status = alert.Status switch
        {
            "firing" => AlertStatus.Firing,
            "resolved" => AlertStatus.Resolved,
            _ => null,
        };
        if (status is null)
        {
            errors.Add(new(Field(path, "status"), alert.Status is null
                ? "missing; expected \"firing\" or \"resolved\""
                : $"expected \"firing\" or \"resolved\", not {JsonProblems.Quote(alert.Status)}"));
        }

        var ns = Required(alert.Namespace, Field(path, "namespace"), KubernetesNames.IsLabel, "a namespace name (RFC 1123 label)", errors);
        var pod = Required(alert.Pod, Field(path, "pod"), KubernetesNames.IsSubdomain, "a pod name (RFC 1123 subdomain)", errors);
        var container = Optional(alert.Container, Field(path, "container"), KubernetesNames.IsLabel, "a container name (RFC 1123 label)", errors) ?? string.Empty;
        var cluster = Optional(alert.Cluster, Field(path, "cluster"), KubernetesNames.IsClusterName, "a cluster name (letters, digits, '.', '_' or '-', at most 63)", errors) ?? _defaultCluster;
        var image = Optional(alert.Image, Field(path, "image"), static v => v.Length <= 1024 && !v.Any(char.IsControl), "an image reference (at most 1024 printable characters)", errors) ?? string.Empty;
        var node = Optional(alert.Node, Field(path, "node"), KubernetesNames.IsSubdomain, "a node name (RFC 1123 subdomain)", errors);
        var kind = ContainerKindOf(alert.ContainerKind, Field(path, "containerKind"), errors);
        var workload = WorkloadOf(alert.Workload, Field(path, "workload"), errors);

        var reason = alert.Reason ?? string.Empty;
        if (status == AlertStatus.Firing && reason.Length == 0)
        {
            errors.Add(new(Field(path, "reason"), $"missing; a firing alert must give the waiting reason ({string.Join(", ", _pullReasons.Order(StringComparer.Ordinal))})"));
        }
        else if (reason.Length > 0 && !_pullReasons.Contains(reason))
        {
            errors.Add(new(Field(path, "reason"), $"{JsonProblems.Quote(reason)} is not an image-pull reason; expected one of {string.Join(", ", _pullReasons.Order(StringComparer.Ordinal))}"));
        }

        if (errors.Count > errorCount)
        {
            return null;
        }

        var failure = new PullFailure(FailureSource.Webhook, cluster, ns!, pod!, container, kind, image, reason, alert.Message ?? string.Empty, alert.ObservedAt ?? now)
        {
            Workload = workload,
            NodeName = node,
        };
        return new PullAlert(status!.Value, failure, DeduplicationKey: null);
    }

    private static string Field(string path, string name) => path + "." + name;

    private static string? Required(string? value, string path, Func<string, bool> isValid, string what, List<PayloadError> errors)
    {
        if (string.IsNullOrEmpty(value))
        {
            errors.Add(new(path, $"missing; expected {what}"));
            return null;
        }

        return Optional(value, path, isValid, what, errors);
    }

    private static string? Optional(string? value, string path, Func<string, bool> isValid, string what, List<PayloadError> errors)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        if (!isValid(value))
        {
            errors.Add(new(path, $"{JsonProblems.Quote(value)} is not {what}"));
            return null;
        }

        return value;
    }

    private static ContainerKind ContainerKindOf(string? value, string path, List<PayloadError> errors)
    {
        switch (value)
        {
            case null or "" or "regular":
                return ContainerKind.Regular;
            case "init":
                return ContainerKind.Init;
            case "ephemeral":
                return ContainerKind.Ephemeral;
            default:
                errors.Add(new(path, $"expected \"regular\", \"init\" or \"ephemeral\", not {JsonProblems.Quote(value)}"));
                return ContainerKind.Regular;
        }
    }

    private static WorkloadRef? WorkloadOf(GenericWorkload? workload, string path, List<PayloadError> errors)
    {
        if (workload is null)
        {
            return null;
        }

        var kind = Required(workload.Kind, Field(path, "kind"), KubernetesNames.IsKind, "a Kubernetes kind such as \"Deployment\"", errors);
        var name = Required(workload.Name, Field(path, "name"), KubernetesNames.IsSubdomain, "a Kubernetes object name", errors);
        return kind is null || name is null ? null : new WorkloadRef(kind, name);
    }

    private static JsonTokenType FirstToken(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body);
        return reader.Read() ? reader.TokenType : JsonTokenType.None;
    }
}
