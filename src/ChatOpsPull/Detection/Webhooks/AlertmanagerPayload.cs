using System.Text.Json.Serialization;

namespace ChatOpsPull.Detection.Webhooks;

/// <summary>
/// The body Alertmanager's <c>webhook_configs</c> receiver POSTs (notify/webhook/webhook.go: <c>Message</c>, which embeds
/// template.Data), payload version "4". Every member is nullable so a missing one is reported with its path. Only the
/// members the bot reads are here: the rest (receiver, groupKey, groupLabels, commonLabels, commonAnnotations,
/// externalURL, an alert's generatorURL) is skipped unread, so a request does not allocate what nobody looks at.
/// </summary>
public sealed class AlertmanagerMessage
{
    public string? Version { get; set; }

    /// <summary>Alerts left out because of the receiver's <c>max_alerts</c>.</summary>
    public long TruncatedAlerts { get; set; }

    public List<AlertmanagerAlert?>? Alerts { get; set; }
}

/// <summary>One alert of a notification (template.Alert).</summary>
public sealed class AlertmanagerAlert
{
    /// <summary>"firing" or "resolved".</summary>
    public string? Status { get; set; }

    public Dictionary<string, string>? Labels { get; set; }

    public Dictionary<string, string>? Annotations { get; set; }

    public DateTimeOffset? StartsAt { get; set; }

    /// <summary>"0001-01-01T00:00:00Z" while firing without a known end.</summary>
    public DateTimeOffset? EndsAt { get; set; }

    /// <summary>Hash of the label set (since Alertmanager 0.19).</summary>
    public string? Fingerprint { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(AlertmanagerMessage))]
public sealed partial class AlertmanagerJsonContext : JsonSerializerContext;
