using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ChatOpsPull.Tests.Registry;

/// <summary>
/// Writes an OCI image layout by hand (image-spec image-layout.md): <c>oci-layout</c>, <c>index.json</c> and
/// <c>blobs/sha256/…</c> with a tiny tar.gz layer, a config and a manifest per platform, and image indexes for
/// multi-platform tags. skopeo copies it into the registry under test.
/// </summary>
public sealed class OciImageLayout
{
    public const string ManifestType = "application/vnd.oci.image.manifest.v1+json";
    public const string IndexType = "application/vnd.oci.image.index.v1+json";
    private readonly string _root;
    private readonly JsonArray _refs = [];

    public OciImageLayout(string root)
    {
        _root = root;
        Directory.CreateDirectory(Path.Combine(root, "blobs", "sha256"));
        File.WriteAllText(Path.Combine(root, "oci-layout"), """{"imageLayoutVersion":"1.0.0"}""");
        Save();
    }

    public string Root => _root;

    /// <summary>Adds a single-platform image under <paramref name="tag"/>; returns its manifest digest.</summary>
    public string AddImage(string tag, string os = "linux", string architecture = "amd64", string? variant = null, string content = "hello")
    {
        var (digest, size) = WriteManifest(os, architecture, variant, content + " " + tag);
        AddRef(tag, ManifestType, digest, size);
        return digest;
    }

    /// <summary>Adds an image index under <paramref name="tag"/> with one manifest per platform ("linux/amd64", "linux/arm/v7").</summary>
    public string AddIndex(string tag, params string[] platforms)
    {
        var manifests = new JsonArray();
        foreach (var platform in platforms)
        {
            var parts = platform.Split('/');
            var (digest, size) = WriteManifest(parts[0], parts[1], parts.Length > 2 ? parts[2] : null, $"{tag} for {platform}");
            var platformJson = new JsonObject { ["architecture"] = parts[1], ["os"] = parts[0] };
            if (parts.Length > 2)
            {
                platformJson["variant"] = parts[2];
            }

            manifests.Add(new JsonObject { ["mediaType"] = ManifestType, ["digest"] = digest, ["size"] = size, ["platform"] = platformJson });
        }

        var index = new JsonObject { ["schemaVersion"] = 2, ["mediaType"] = IndexType, ["manifests"] = manifests };
        var (indexDigest, indexSize) = WriteBlob(Encoding.UTF8.GetBytes(index.ToJsonString()));
        AddRef(tag, IndexType, indexDigest, indexSize);
        return indexDigest;
    }

    private (string Digest, long Size) WriteManifest(string os, string architecture, string? variant, string content)
    {
        var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            var entry = new PaxTarEntry(TarEntryType.RegularFile, "hello.txt")
            {
                DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content + "\n")),
                ModificationTime = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero),
            };
            writer.WriteEntry(entry);
        }

        var tarBytes = tar.ToArray();
        var gz = new MemoryStream();
        using (var gzip = new GZipStream(gz, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(tarBytes);
        }

        var (layerDigest, layerSize) = WriteBlob(gz.ToArray());
        var config = new JsonObject
        {
            ["architecture"] = architecture,
            ["os"] = os,
            ["config"] = new JsonObject { ["Cmd"] = new JsonArray("/bin/true") },
            ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = new JsonArray(Digest(tarBytes)) },
        };
        if (variant is not null)
        {
            config["variant"] = variant;
        }

        var (configDigest, configSize) = WriteBlob(Encoding.UTF8.GetBytes(config.ToJsonString()));
        var manifest = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = ManifestType,
            ["config"] = new JsonObject { ["mediaType"] = "application/vnd.oci.image.config.v1+json", ["digest"] = configDigest, ["size"] = configSize },
            ["layers"] = new JsonArray(new JsonObject { ["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip", ["digest"] = layerDigest, ["size"] = layerSize }),
        };
        return WriteBlob(Encoding.UTF8.GetBytes(manifest.ToJsonString()));
    }

    private void AddRef(string tag, string mediaType, string digest, long size)
    {
        _refs.Add(new JsonObject
        {
            ["mediaType"] = mediaType,
            ["digest"] = digest,
            ["size"] = size,
            ["annotations"] = new JsonObject { ["org.opencontainers.image.ref.name"] = tag },
        });
        Save();
    }

    private void Save()
    {
        var index = new JsonObject { ["schemaVersion"] = 2, ["mediaType"] = IndexType, ["manifests"] = JsonNode.Parse(_refs.ToJsonString()) };
        File.WriteAllText(Path.Combine(_root, "index.json"), index.ToJsonString(new JsonSerializerOptions { WriteIndented = false }));
    }

    private (string Digest, long Size) WriteBlob(byte[] bytes)
    {
        var digest = Digest(bytes);
        File.WriteAllBytes(Path.Combine(_root, "blobs", "sha256", digest["sha256:".Length..]), bytes);
        return (digest, bytes.LongLength);
    }

    public static string Digest(byte[] bytes) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));
}
