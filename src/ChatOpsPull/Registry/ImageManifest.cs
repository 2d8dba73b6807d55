using System.Text.Json;
using ChatOpsPull.Core.Images;

namespace ChatOpsPull.Registry;

/// <summary>One entry of an image index / manifest list.</summary>
public sealed record IndexEntry(string Digest, string? MediaType, Platform? Platform);

/// <summary>
/// The parts of a manifest body a check needs: an index's platforms, or a manifest's config blob (OCI image-spec
/// image-index.md "manifests[].platform", manifest.md "config.digest"; Docker manifest list v2.2 alike).
/// </summary>
public sealed record ManifestContent(string? MediaType, IReadOnlyList<IndexEntry> Entries, string? ConfigDigest)
{
    public bool IsIndex => Entries.Count > 0 || ManifestMediaTypes.IsIndex(MediaType);

    /// <summary>
    /// The platforms an index offers, each once, in index order, leaving out "unknown/unknown" entries (the attestation
    /// manifests BuildKit adds to an index).
    /// </summary>
    public IReadOnlyList<Platform> OfferedPlatforms =>
        Entries
            .Select(e => e.Platform)
            .OfType<Platform>()
            .Where(p => p.Os != "unknown" && p.Architecture != "unknown")
            .Distinct()
            .ToList();

    public static ManifestContent? Parse(byte[] body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            var mediaType = root.TryGetProperty("mediaType", out var mt) && mt.ValueKind == JsonValueKind.String ? mt.GetString() : null;
            var entries = new List<IndexEntry>();
            if (root.TryGetProperty("manifests", out var manifests) && manifests.ValueKind == JsonValueKind.Array)
            {
                foreach (var m in manifests.EnumerateArray().Where(m => m.ValueKind == JsonValueKind.Object))
                {
                    var platform = m.TryGetProperty("platform", out var p) ? ImageConfig.ReadPlatform(p) : null;
                    entries.Add(new IndexEntry(
                        m.TryGetProperty("digest", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString()! : string.Empty,
                        m.TryGetProperty("mediaType", out var emt) && emt.ValueKind == JsonValueKind.String ? emt.GetString() : null,
                        platform));
                }
            }

            string? config = null;
            if (root.TryGetProperty("config", out var c) && c.ValueKind == JsonValueKind.Object && c.TryGetProperty("digest", out var cd) && cd.ValueKind == JsonValueKind.String)
            {
                config = cd.GetString();
            }

            return new ManifestContent(mediaType, entries, config);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>The image configuration blob (OCI image-spec config.md): what a single-platform image says it runs on.</summary>
public static class ImageConfig
{
    /// <summary>The config's "os", "architecture" and "variant"; null when the blob is not a config that names them.</summary>
    public static Platform? PlatformOf(byte[] body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            return ReadPlatform(doc.RootElement);
        }
        catch (JsonException)
        {
            // not a config we can read
            return null;
        }
    }

    /// <summary>An object with string "os" and "architecture" (and optionally "variant"), as index entries and configs write them.</summary>
    internal static Platform? ReadPlatform(JsonElement element)
    {
        if (element.ValueKind == JsonValueKind.Object
            && element.TryGetProperty("os", out var os) && os.ValueKind == JsonValueKind.String
            && element.TryGetProperty("architecture", out var arch) && arch.ValueKind == JsonValueKind.String)
        {
            var variant = element.TryGetProperty("variant", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            return new Platform(os.GetString()!, arch.GetString()!, variant);
        }

        return null;
    }
}
