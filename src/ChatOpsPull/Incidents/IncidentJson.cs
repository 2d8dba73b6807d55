using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using ChatOpsPull.Core.Diagnoses;

namespace ChatOpsPull.Incidents;

/// <summary>
/// How a diagnosis is kept in the incident row: JSON with snake_case enum names. A diagnosed incident's row is read and
/// written again by every round of reports that joins it (a storm's usual round), with the diagnosis unchanged, so the
/// text is not parsed and written again each time: a <see cref="Core.Diagnoses.Diagnosis"/> is immutable, so each object's JSON is
/// written once (and a diagnosis read back keeps the text it was read from), and the latest texts read map to the
/// diagnosis they hold.
/// </summary>
public static class IncidentJson
{
    /// <summary>How many distinct diagnosis texts are kept parsed (a storm's open incidents); past it the map starts again.</summary>
    internal const int ReadLimit = 512;

    private static readonly ConditionalWeakTable<Core.Diagnoses.Diagnosis, string> Written = new();
    private static readonly ConcurrentDictionary<string, Core.Diagnoses.Diagnosis> Read = new(StringComparer.Ordinal);

    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public static string Serialize(Core.Diagnoses.Diagnosis diagnosis) =>
        Written.GetValue(diagnosis, static d => JsonSerializer.Serialize(d, Options));

    public static Core.Diagnoses.Diagnosis? Deserialize(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return null;
        }

        if (Read.TryGetValue(json, out var known))
        {
            return known;
        }

        var diagnosis = JsonSerializer.Deserialize<Core.Diagnoses.Diagnosis>(json, Options);
        if (diagnosis is null)
        {
            return null;
        }

        if (Read.Count >= ReadLimit)
        {
            Read.Clear();
        }

        Read.TryAdd(json, diagnosis);
        Written.AddOrUpdate(diagnosis, json);
        return diagnosis;
    }
}
