using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
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

    /// <summary>The names of the labels read, at their <see cref="AlertmanagerAlertFields"/> index (text, and UTF-8 to compare).</summary>
    private readonly string[] _labelNamesText;
    private readonly byte[][] _labelNames;

    /// <summary>The pull reasons in UTF-8, beside the set's own string: a reason label is matched, not decoded.</summary>
    private readonly (byte[] Utf8, string Text)[] _pullReasonTexts;

    public AlertmanagerPayloadReader(AlertmanagerWebhookOptions options, IReadOnlySet<string> pullReasons, string defaultCluster, TimeProvider time)
    {
        _options = options;
        _pullReasons = pullReasons;
        _defaultCluster = defaultCluster;
        _time = time;
        _labelNamesText = [options.ReasonLabel, "alertname", "namespace", "pod", "container", options.ClusterLabel, options.ImageLabel, "owner_kind", "owner_name"];
        _labelNames = [.. _labelNamesText.Select(Encoding.UTF8.GetBytes)];
        _pullReasonTexts = [.. pullReasons.Order(StringComparer.Ordinal).Select(r => (Encoding.UTF8.GetBytes(r), r))];
    }

    /// <param name="truncatedAlerts">How many alerts Alertmanager left out of the message (its <c>max_alerts</c>).</param>
    public PayloadReading Read(ReadOnlySpan<byte> body, out long truncatedAlerts)
    {
        truncatedAlerts = 0;
        var reader = new Utf8JsonReader(body);
        var at = new Position();
        string? version = null;
        long truncated = 0;
        var hasAlerts = false;
        var alerts = new List<PullAlert>();
        var alertErrors = new List<PayloadError>();
        int count = 0, ignored = 0;
        try
        {
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                return PayloadReading.Invalid("$", "expected a JSON object: the Alertmanager webhook message");
            }

            var fields = new AlertmanagerAlertFields();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("version"u8))
                {
                    reader.Read();
                    version = StringOrNull(ref reader, new FieldPath("$.version"));
                }
                else if (reader.ValueTextEquals("truncatedAlerts"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out truncated))
                    {
                        throw new WrongType("$.truncatedAlerts", "a whole number");
                    }
                }
                else if (reader.ValueTextEquals("alerts"u8))
                {
                    reader.Read();
                    alerts.Clear();
                    alertErrors.Clear();
                    count = ignored = 0;
                    hasAlerts = reader.TokenType != JsonTokenType.Null;
                    if (!hasAlerts)
                    {
                        continue;
                    }

                    if (reader.TokenType != JsonTokenType.StartArray)
                    {
                        throw new WrongType("$.alerts", "the array of alerts");
                    }

                    at.InAlerts = true;
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        at.Alert = count;
                        if (alertErrors.Count >= MaxErrors)
                        {
                            reader.Skip();
                        }
                        else if (ReadAlertFields(ref reader, body, count, fields, ref at) is { } read)
                        {
                            if (ReadAlert(read, count, body, alertErrors) is { } alert)
                            {
                                alerts.Add(alert);
                            }
                            else
                            {
                                ignored++;
                            }
                        }
                        else
                        {
                            alertErrors.Add(new(new AlertPath(count).ToString(), "expected an alert object"));
                        }

                        count++;
                        at.Alert = -1;
                    }

                    at.InAlerts = false;
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            // Nothing may follow the message (a reader over the whole body throws on what does).
            reader.Read();
        }
        catch (WrongType e)
        {
            return PayloadReading.Invalid(e.Path, $"wrong JSON type or format for this field: expected {e.Expected}");
        }
        catch (JsonException e)
        {
            var described = JsonProblems.Describe(e);
            return PayloadReading.Invalid([described with { Path = at.ToString() }]);
        }

        var errors = new List<PayloadError>();
        if (version is null)
        {
            errors.Add(new("$.version", $"missing; Alertmanager's webhook sends \"{SupportedVersion}\""));
        }
        else if (!string.Equals(version, SupportedVersion, StringComparison.Ordinal))
        {
            errors.Add(new("$.version", $"this endpoint reads webhook payload version \"{SupportedVersion}\", not {JsonProblems.Quote(version)}"));
        }

        if (truncated < 0)
        {
            errors.Add(new("$.truncatedAlerts", "must not be negative"));
        }

        if (!hasAlerts)
        {
            errors.Add(new("$.alerts", "missing; expected the array of alerts"));
            return PayloadReading.Invalid(errors);
        }

        errors.AddRange(alertErrors.Take(MaxErrors - Math.Min(errors.Count, MaxErrors)));
        if (errors.Count > 0)
        {
            return PayloadReading.Invalid(errors);
        }

        // Without errors, every alert ReadAlert left out is one that is not about pulls.
        truncatedAlerts = truncated;
        return new PayloadReading(new PullAlertBatch(alerts, count, ignored), []);
    }

    /// <summary>
    /// Reads one element of the alerts array into <paramref name="fields"/>: the members the bot uses become values, the
    /// rest is checked for its JSON type and skipped.
    /// </summary>
    /// <returns>The fields; null when the element is JSON null.</returns>
    private AlertmanagerAlertFields? ReadAlertFields(ref Utf8JsonReader reader, ReadOnlySpan<byte> body, int index, AlertmanagerAlertFields fields, ref Position at)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        var path = new AlertPath(index);
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new WrongType(path.ToString(), "an alert object");
        }

        fields.Clear();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("status"u8))
            {
                reader.Read();
                fields.Status = reader.TokenType != JsonTokenType.String ? StringOrNull(ref reader, new FieldPath(path, "status"))
                    : reader.ValueTextEquals("firing"u8) ? "firing"
                    : reader.ValueTextEquals("resolved"u8) ? "resolved"
                    : StringOrNull(ref reader, new FieldPath(path, "status"));
            }
            else if (reader.ValueTextEquals("labels"u8))
            {
                reader.Read();
                fields.HasLabels = reader.TokenType != JsonTokenType.Null;
                if (fields.HasLabels)
                {
                    at.Section = "labels";
                    ReadLabels(ref reader, path, fields, body);
                    at.Section = null;
                }
            }
            else if (reader.ValueTextEquals("annotations"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.Null)
                {
                    at.Section = "annotations";
                    ReadAnnotations(ref reader, path, fields, body);
                    at.Section = null;
                }
            }
            else if (reader.ValueTextEquals("startsAt"u8))
            {
                reader.Read();
                fields.StartsAt = TimeOrNull(ref reader, new FieldPath(path, "startsAt"));
            }
            else if (reader.ValueTextEquals("endsAt"u8))
            {
                reader.Read();
                fields.EndsAt = TimeOrNull(ref reader, new FieldPath(path, "endsAt"));
            }
            else if (reader.ValueTextEquals("fingerprint"u8))
            {
                reader.Read();
                fields.Fingerprint = TextOf(ref reader, new FieldPath(path, "fingerprint"));
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return fields;
    }

    private void ReadLabels(ref Utf8JsonReader reader, AlertPath path, AlertmanagerAlertFields fields, ReadOnlySpan<byte> body)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new WrongType(path.Labels.ToString(), "the alert's label set (an object of strings)");
        }

        var start = (int)reader.TokenStartIndex;
        var labels = fields.Labels;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.ValueSpan;
            var slot = -1;
            for (var i = 0; i < _labelNames.Length; i++)
            {
                if (reader.ValueTextEquals(_labelNames[i]))
                {
                    slot = i;
                    break;
                }
            }

            if (slot < 0)
            {
                // Its name too must be text: an alert without a fingerprint is known by its whole label set.
                CheckText(ref reader, new FieldPath(path, "labels"));
                reader.Read();
                CheckText(ref reader, new FieldPath(path, "labels", name));
                continue;
            }

            reader.Read();
            var value = LabelValue(ref reader, new FieldPath(path, "labels", _labelNamesText[slot]), slot, fields, body);
            // A label name the options gave two roles (say, the cluster label is "namespace") fills both.
            for (var i = slot; i < _labelNames.Length; i++)
            {
                if (i == slot || string.Equals(_labelNamesText[i], _labelNamesText[slot], StringComparison.Ordinal))
                {
                    labels[i] = value;
                }
            }
        }

        fields.LabelsJson = new Range(start, (int)reader.BytesConsumed);
    }

    private static void ReadAnnotations(ref Utf8JsonReader reader, AlertPath path, AlertmanagerAlertFields fields, ReadOnlySpan<byte> body)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new WrongType($"{path}.annotations", "an object of strings");
        }

        var names = AlertmanagerAlertFields.MessageAnnotations;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var slot = -1;
            for (var i = 0; i < names.Length; i++)
            {
                if (reader.ValueTextEquals(names[i]))
                {
                    slot = i;
                    break;
                }
            }

            var name = reader.ValueSpan;
            reader.Read();
            if (slot >= 0)
            {
                // Only the one the alert's words come from is decoded (Message), the others only checked.
                fields.Annotations[slot] = TextOf(ref reader, new FieldPath(path, "annotations", names[slot]));
            }
            else
            {
                CheckText(ref reader, new FieldPath(path, "annotations", name));
            }
        }
    }

    private static string? StringOrNull(ref Utf8JsonReader reader, FieldPath path)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String or JsonTokenType.PropertyName:
                try
                {
                    return reader.GetString();
                }
                catch (InvalidOperationException)
                {
                    throw new WrongType(path.ToString(), "a string of valid UTF-8");
                }

            case JsonTokenType.Null:
                return null;
            default:
                throw new WrongType(path.ToString(), "a string");
        }
    }

    /// <summary>
    /// A label value the bot reads. A pull reason is the set's own string, and a value spelled as the previous alert of the
    /// message spelled it (its cluster, namespace, container, alertname) is that alert's string: a storm's message decodes
    /// each only once.
    /// </summary>
    private string? LabelValue(ref Utf8JsonReader reader, FieldPath path, int slot, AlertmanagerAlertFields fields, ReadOnlySpan<byte> body)
    {
        if (reader.TokenType != JsonTokenType.String || reader.HasValueSequence)
        {
            return StringOrNull(ref reader, path);
        }

        if (slot == AlertmanagerAlertFields.ReasonLabel)
        {
            foreach (var (utf8, text) in _pullReasonTexts)
            {
                if (reader.ValueTextEquals(utf8))
                {
                    return text;
                }
            }
        }

        // The same bytes between the quotes are the same text, escaped or not.
        var raw = reader.ValueSpan;
        var start = (int)reader.TokenStartIndex + 1;
        var previous = fields.PreviousLabels[slot];
        if (previous.Text is { } same && body.Slice(previous.Start, previous.Length).SequenceEqual(raw))
        {
            return same;
        }

        var value = StringOrNull(ref reader, path);
        fields.PreviousLabels[slot] = new BodyText(value, start, raw.Length);
        return value;
    }

    /// <summary>
    /// A string (or null) checked as <see cref="StringOrNull"/> checks it, but left in the body: where it is, decoded only
    /// when it was escaped.
    /// </summary>
    private static BodyText TextOf(ref Utf8JsonReader reader, FieldPath path)
    {
        if (reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            CheckText(ref reader, path);
            return new BodyText(null, (int)reader.TokenStartIndex + 1, reader.ValueSpan.Length);
        }

        return StringOrNull(ref reader, path) is { } text ? new BodyText(text, 0, Encoding.UTF8.GetByteCount(text)) : BodyText.Null;
    }

    /// <summary>Checks a value that is not read (a label or annotation the bot does not use): a string of valid UTF-8, or null.</summary>
    private static void CheckText(ref Utf8JsonReader reader, FieldPath path)
    {
        if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && !reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            if (!Utf8.IsValid(reader.ValueSpan))
            {
                throw new WrongType(path.ToString(), "a string of valid UTF-8");
            }

            return;
        }

        _ = StringOrNull(ref reader, path);
    }

    private static DateTimeOffset? TimeOrNull(ref Utf8JsonReader reader, FieldPath path)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        return reader.TokenType == JsonTokenType.String && reader.TryGetDateTimeOffset(out var value)
            ? value
            : throw new WrongType(path.ToString(), "a time in RFC 3339 form");
    }

    /// <returns>The pull alert; null when the alert is not about pulls (or is invalid, then with errors added).</returns>
    private PullAlert? ReadAlert(AlertmanagerAlertFields alert, int index, ReadOnlySpan<byte> body, List<PayloadError> errors)
    {
        // Paths are written only for an error (a valid storm allocates none).
        var path = new AlertPath(index);
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

        if (!alert.HasLabels)
        {
            errors.Add(new($"{path}.labels", "missing; expected the alert's label set"));
            return null;
        }

        var labels = alert.Labels;
        if (!IsPullAlert(labels, out var reason))
        {
            return null;
        }

        var errorCount = errors.Count;
        var labelsPath = path.Labels;
        var ns = RequiredLabel(labels[AlertmanagerAlertFields.NamespaceLabel], "namespace", labelsPath, KubernetesNames.IsLabel, "a namespace name (RFC 1123 label)", errors);
        var pod = RequiredLabel(labels[AlertmanagerAlertFields.PodLabel], "pod", labelsPath, KubernetesNames.IsSubdomain, "a pod name (RFC 1123 subdomain)", errors);
        var container = OptionalLabel(labels[AlertmanagerAlertFields.ContainerLabel], "container", labelsPath, KubernetesNames.IsLabel, "a container name (RFC 1123 label)", errors) ?? string.Empty;
        var cluster = OptionalLabel(labels[AlertmanagerAlertFields.ClusterLabel], _options.ClusterLabel, labelsPath, KubernetesNames.IsClusterName, "a cluster name (letters, digits, '.', '_' or '-', at most 63)", errors) ?? _defaultCluster;
        var image = OptionalLabel(labels[AlertmanagerAlertFields.ImageLabel], _options.ImageLabel, labelsPath, static v => v.Length <= 1024 && !HasControl(v), "an image reference (at most 1024 printable characters)", errors) ?? string.Empty;
        var workload = Workload(labels[AlertmanagerAlertFields.OwnerKindLabel], labels[AlertmanagerAlertFields.OwnerNameLabel], labelsPath, errors);
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
        var failure = new PullFailure(FailureSource.Alertmanager, cluster, ns!, pod!, container, ContainerKind.Regular, image, reason, Message(alert.Annotations, body), observedAt)
        {
            Workload = workload,
        };
        return new PullAlert(status, failure, DeduplicationKey(alert, body, status));
    }

    private bool IsPullAlert(string?[] labels, out string reason)
    {
        reason = labels[AlertmanagerAlertFields.ReasonLabel] ?? string.Empty;
        if (!_pullReasons.Contains(reason))
        {
            return false;
        }

        if (_options.AlertNames.Count == 0)
        {
            return true;
        }

        var alertName = labels[AlertmanagerAlertFields.AlertNameLabel] ?? string.Empty;
        foreach (var pattern in _options.AlertNames)
        {
            if (Glob.IsMatch(pattern, alertName))
            {
                return true;
            }
        }

        return false;
    }

    private static string? RequiredLabel(string? value, string name, LabelsPath labelsPath, Func<string, bool> isValid, string what, List<PayloadError> errors)
    {
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

    private static string? OptionalLabel(string? value, string name, LabelsPath labelsPath, Func<string, bool> isValid, string what, List<PayloadError> errors)
    {
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

    private static bool HasControl(string value)
    {
        foreach (var c in value)
        {
            if (char.IsControl(c))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>kube-state-metrics' kube_pod_owner labels, where the alert rule kept them (KubePodNotReady joins on owner_kind).</summary>
    private static WorkloadRef? Workload(string? kind, string? name, LabelsPath labelsPath, List<PayloadError> errors)
    {
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
    private static string Message(BodyText[] annotations, ReadOnlySpan<byte> body)
    {
        foreach (var text in annotations)
        {
            if (text.Length > 0)
            {
                return text.Decode(body);
            }
        }

        return string.Empty;
    }

    /// <summary>fingerprint + startsAt + status; the sorted label set stands in for a missing fingerprint.</summary>
    private static string DeduplicationKey(AlertmanagerAlertFields alert, ReadOnlySpan<byte> body, AlertStatus status)
    {
        var startsAt = alert.StartsAt?.UtcTicks ?? 0;
        var state = status == AlertStatus.Firing ? 'f' : 'r';
        var fingerprint = alert.Fingerprint;
        if (fingerprint.Length <= 0)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{LabelSetKey(body[alert.LabelsJson])}|{startsAt}|{state}");
        }

        if (fingerprint.Text is { } text || fingerprint.Length > 256)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{fingerprint.Text ?? fingerprint.Decode(body)}|{startsAt}|{state}");
        }

        // Alertmanager's fingerprint is 16 hex digits: written into the key straight from the body.
        Span<char> chars = stackalloc char[256];
        var written = Encoding.UTF8.GetChars(body.Slice(fingerprint.Start, fingerprint.Length), chars);
        return string.Create(CultureInfo.InvariantCulture, stackalloc char[320], $"{chars[..written]}|{startsAt}|{state}");
    }

    /// <summary>The label set, sorted by name, from its JSON (read again in full: only an alert without a fingerprint needs it).</summary>
    private static string LabelSetKey(ReadOnlySpan<byte> labelsJson)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        var reader = new Utf8JsonReader(labelsJson);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            reader.Read();
            labels[name] = reader.GetString() ?? string.Empty;
        }

        var builder = new StringBuilder();
        foreach (var (name, value) in labels.OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            builder.Append(name).Append('\u0001').Append(value).Append('\u0002');
        }

        return builder.ToString();
    }

    /// <summary>Where the reader is, for a malformed-JSON error: "$", "$.alerts", "$.alerts[i]" or "$.alerts[i].labels".</summary>
    private struct Position
    {
        public Position()
        {
        }

        public bool InAlerts { get; set; }

        public int Alert { get; set; } = -1;

        public string? Section { get; set; }

        public override readonly string ToString() =>
            !InAlerts ? "$"
            : Alert < 0 ? "$.alerts"
            : Section is null ? new AlertPath(Alert).ToString()
            : $"{new AlertPath(Alert)}.{Section}";
    }

    /// <summary>A member's path ("$.alerts[i].labels.pod"), written out only when an error names it.</summary>
    private readonly ref struct FieldPath
    {
        private readonly string? _fixed;
        private readonly AlertPath _alert;
        private readonly string? _member;
        private readonly string? _name;
        private readonly ReadOnlySpan<byte> _rawName;

        public FieldPath(string fixedPath) => _fixed = fixedPath;

        public FieldPath(AlertPath alert, string member, string? name = null)
        {
            _alert = alert;
            _member = member;
            _name = name;
        }

        /// <param name="rawName">The member's name as the body spells it (decoded only for the error).</param>
        public FieldPath(AlertPath alert, string member, ReadOnlySpan<byte> rawName)
        {
            _alert = alert;
            _member = member;
            _rawName = rawName;
        }

        public override string ToString()
        {
            if (_fixed is not null)
            {
                return _fixed;
            }

            var name = _name ?? (_rawName.IsEmpty ? null : Encoding.UTF8.GetString(_rawName));
            return name is null ? $"{_alert}.{_member}" : $"{_alert}.{_member}.{name}";
        }
    }

    /// <summary>A member of the wrong JSON type: the message is refused with its path (as the serializer refused it).</summary>
#pragma warning disable CA1064, CA1032 // never leaves the reader
    private sealed class WrongType(string path, string expected) : Exception($"{path}: expected {expected}")
#pragma warning restore CA1064, CA1032
    {
        public string Path { get; } = path;

        public string Expected { get; } = expected;
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
