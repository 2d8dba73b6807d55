namespace ChatOpsPull.Detection.Webhooks;

/// <summary>
/// What the bot reads of one alert of the body Alertmanager's <c>webhook_configs</c> receiver POSTs
/// (notify/webhook/webhook.go: <c>Message</c>, which embeds template.Data; one <c>template.Alert</c>), payload version "4",
/// filled by <see cref="AlertmanagerPayloadReader"/> straight from the bytes. Only the labels and annotations the bot uses
/// become strings; the rest of the message (receiver, groupKey, groupLabels, commonLabels, commonAnnotations, externalURL,
/// an alert's generatorURL, other labels and annotations) is checked for its JSON type and skipped. One instance is
/// reused for every alert of a message.
/// </summary>
internal sealed class AlertmanagerAlertFields
{
    /// <summary>The label names whose values are read: the reason label, alertname, namespace, pod, container, the cluster
    /// and image labels, and kube-state-metrics' owner_kind/owner_name (indexes: the <c>*Label</c> constants).</summary>
    public const int ReasonLabel = 0, AlertNameLabel = 1, NamespaceLabel = 2, PodLabel = 3, ContainerLabel = 4, ClusterLabel = 5, ImageLabel = 6, OwnerKindLabel = 7, OwnerNameLabel = 8;

    /// <summary>The annotations read for the alert's own words, in the order they are preferred.</summary>
    public static readonly string[] MessageAnnotations = ["description", "message", "summary"];

    /// <summary>"firing" or "resolved" (anything else is reported).</summary>
    public string? Status { get; set; }

    /// <summary>Whether the alert has a label object (a missing or null one is reported).</summary>
    public bool HasLabels { get; set; }

    /// <summary>The values of the labels read (null: absent or null); a repeated name keeps its last value.</summary>
    public string?[] Labels { get; } = new string?[9];

    /// <summary>Where the label object lies in the body (read again, in full, only for an alert without a fingerprint).</summary>
    public Range LabelsJson { get; set; }

    /// <summary>The values of <see cref="MessageAnnotations"/>.</summary>
    public string?[] Annotations { get; } = new string?[3];

    public DateTimeOffset? StartsAt { get; set; }

    /// <summary>"0001-01-01T00:00:00Z" while firing without a known end.</summary>
    public DateTimeOffset? EndsAt { get; set; }

    /// <summary>Hash of the label set (since Alertmanager 0.19).</summary>
    public string? Fingerprint { get; set; }

    public void Clear()
    {
        Status = null;
        HasLabels = false;
        Array.Clear(Labels);
        LabelsJson = default;
        Array.Clear(Annotations);
        StartsAt = null;
        EndsAt = null;
        Fingerprint = null;
    }
}
