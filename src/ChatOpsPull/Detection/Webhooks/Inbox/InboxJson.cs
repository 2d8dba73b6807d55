using System.Text.Json.Serialization;

namespace ChatOpsPull.Detection.Webhooks.Inbox;

/// <summary>How an inbox row's alerts are written: the checked alerts, exactly as the webhook read them.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UseStringEnumConverter = true, IgnoreReadOnlyProperties = true)]
[JsonSerializable(typeof(List<PullAlert>))]
internal sealed partial class InboxJson : JsonSerializerContext;
