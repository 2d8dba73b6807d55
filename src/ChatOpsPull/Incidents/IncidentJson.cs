using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using ChatOpsPull.Core.Diagnoses;

namespace ChatOpsPull.Incidents;

/// <summary>
/// How a diagnosis is kept in the incident row: JSON with snake_case enum names. A diagnosed incident's row is read and
/// written again by every round of reports that joins it (a storm's usual round), with the diagnosis unchanged, so the
/// text is not parsed and written again each time: a <see cref="Core.Diagnoses.Diagnosis"/> is immutable, so each object's JSON is
/// written once (and a diagnosis read back keeps the text it was read from), and the latest texts read map to the
/// diagnosis they hold. The metadata is source-generated (<see cref="DiagnosisJsonContext"/>): no reflection-emitted
/// accessors are built and compiled when a freshly started bot stores its first diagnosis, which is in a storm; the
/// text is the same as the reflection serializer's (rows already in databases read back), and a type the context does
/// not know fails instead of falling back to reflection.
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
        TypeInfoResolver = DiagnosisJsonContext.Default,
    };

    private static JsonTypeInfo<Core.Diagnoses.Diagnosis> DiagnosisType { get; } = (JsonTypeInfo<Core.Diagnoses.Diagnosis>)Options.GetTypeInfo(typeof(Core.Diagnoses.Diagnosis));

    public static string Serialize(Core.Diagnoses.Diagnosis diagnosis) =>
        Written.GetValue(diagnosis, static d => JsonSerializer.Serialize(d, DiagnosisType));

    /// <summary>
    /// Writes a diagnosis and reads it back, keeping neither (the start-up warm-up): the enum converters and property
    /// metadata are built and compiled before a storm's first diagnosis is stored, not by it.
    /// </summary>
    internal static void Rehearse(Core.Diagnoses.Diagnosis diagnosis) =>
        _ = JsonSerializer.Deserialize(JsonSerializer.Serialize(diagnosis, DiagnosisType), DiagnosisType);

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

        var diagnosis = JsonSerializer.Deserialize(json, DiagnosisType);
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

/// <summary>The incident row's diagnosis JSON metadata, generated at build time (options and enum names come from <see cref="IncidentJson.Options"/>).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(Core.Diagnoses.Diagnosis))]
internal sealed partial class DiagnosisJsonContext : JsonSerializerContext;
