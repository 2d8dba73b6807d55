using System.Text.Json.Serialization;

namespace ChatOpsPull.Detection.Webhooks;

/// <summary>
/// The body Alertmanager's <c>webhook_configs</c> receiver POSTs (notify/webhook/webhook.go: <c>Message</c>, which embeds
/// template.Data), payload version "4". Every member is nullable so a missing one is reported with its path.
/// </summary>
public sealed class AlertmanagerMessage
{
    public string? Version { get; set; }

    public string? GroupKey { get; set; }

    /// <summary>Alerts left out because of the receiver's <c>max_alerts</c>.</summary>
    public long TruncatedAlerts { get; set; }

    public string? Receiver { get; set; }

    /// <summary>"firing" while any alert of the group fires, else "resolved".</summary>
    public string? Status { get; set; }

    public List<AlertmanagerAlert?>? Alerts { get; set; }

    public Dictionary<string, string>? GroupLabels { get; set; }

    public Dictionary<string, string>? CommonLabels { get; set; }

    public Dictionary<string, string>? CommonAnnotations { get; set; }

    [JsonPropertyName("externalURL")]
    public string? ExternalUrl { get; set; }
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

    [JsonPropertyName("generatorURL")]
    public string? GeneratorUrl { get; set; }

    /// <summary>Hash of the label set (since Alertmanager 0.19).</summary>
    public string? Fingerprint { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(AlertmanagerMessage))]
public sealed partial class AlertmanagerJsonContext : JsonSerializerContext;
