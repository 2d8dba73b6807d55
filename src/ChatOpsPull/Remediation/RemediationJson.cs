using System.Text.Json;
using System.Text.Json.Serialization;

namespace ChatOpsPull.Remediation;

/// <summary>How plans, actors and votes are stored as JSON (web defaults, enums in snake_case).</summary>
public static class RemediationJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };
}
