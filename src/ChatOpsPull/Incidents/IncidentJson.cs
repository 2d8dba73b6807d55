using System.Text.Json;
using System.Text.Json.Serialization;
using ChatOpsPull.Core.Diagnoses;

namespace ChatOpsPull.Incidents;

/// <summary>How a diagnosis is kept in the incident row: JSON with snake_case enum names.</summary>
public static class IncidentJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public static string Serialize(Core.Diagnoses.Diagnosis diagnosis) => JsonSerializer.Serialize(diagnosis, Options);

    public static Core.Diagnoses.Diagnosis? Deserialize(string? json) =>
        string.IsNullOrEmpty(json) ? null : JsonSerializer.Deserialize<Core.Diagnoses.Diagnosis>(json, Options);
}
