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

    /// <summary>The values of <see cref="MessageAnnotations"/>, where they lie in the body (only the one used is decoded).</summary>
    public BodyText[] Annotations { get; } = new BodyText[3];

    public DateTimeOffset? StartsAt { get; set; }

    /// <summary>"0001-01-01T00:00:00Z" while firing without a known end.</summary>
    public DateTimeOffset? EndsAt { get; set; }

    /// <summary>Hash of the label set (since Alertmanager 0.19), where it lies in the body.</summary>
    public BodyText Fingerprint { get; set; }

    /// <summary>
    /// Per message, not cleared between its alerts: each read label's value as the previous alert spelled it, so an
    /// alert spelling it the same takes the same string.
    /// </summary>
    public BodyText[] PreviousLabels { get; } = new BodyText[9];

    public void Clear()
    {
        Status = null;
        HasLabels = false;
        Array.Clear(Labels);
        LabelsJson = default;
        Annotations.AsSpan().Fill(BodyText.Null);
        StartsAt = null;
        EndsAt = null;
        Fingerprint = BodyText.Null;
    }
}

/// <summary>
/// A string value of the body, checked (JSON string of valid UTF-8) but not necessarily decoded: <see cref="Text"/> when it
/// was (an escaped value, or a label value read), else where its UTF-8 lies. <see cref="Length"/> is -1 for absent or null.
/// </summary>
internal readonly record struct BodyText(string? Text, int Start, int Length)
{
    public static BodyText Null { get; } = new(null, 0, -1);

    public string Decode(ReadOnlySpan<byte> body) => Text ?? System.Text.Encoding.UTF8.GetString(body.Slice(Start, Length));
}
