using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using ChatOpsPull.Core.Images;
using ChatOpsPull.Registry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ChatOpsPull.Bench;

/// <summary>
/// A full registry check of one image against Debian's docker-registry (Distribution 2.8) on loopback, warm
/// (connections pooled, runtime jitted). GlobalSetup starts the registry on a free port with a temp storage dir and
/// pushes a tiny image through the distribution push API; GlobalCleanup stops it by PID.
/// <c>dotnet run -c Release --project bench/ChatOpsPull.Bench -- --filter '*RegistryCheck*'</c>
/// </summary>
[MemoryDiagnoser]
public class RegistryCheckBenchmarks
{
    private Process? _registry;
    private string _dir = string.Empty;
    private ServiceProvider? _uncached;
    private ServiceProvider? _cached;
    private RegistryChecker _checker = null!;
    private RegistryChecker _cachedChecker = null!;
    private ImageReference _existing = null!;
    private ImageReference _missingTag = null!;
    private ImageReference _index = null!;
    private Platform _arm64 = null!;

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "chatopspull-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(_dir, "storage"));
        var port = FreePort();
        var config = Path.Combine(_dir, "config.yml");
        File.WriteAllText(config, $"""
            version: 0.1
            log:
              level: error
              accesslog:
                disabled: true
            storage:
              filesystem:
                rootdirectory: {Path.Combine(_dir, "storage")}
            http:
              addr: 127.0.0.1:{port}
            """);
        _registry = Process.Start(new ProcessStartInfo("/usr/bin/docker-registry", ["serve", config]) { RedirectStandardOutput = true, RedirectStandardError = true })
                    ?? throw new InvalidOperationException("docker-registry did not start");
        _registry.OutputDataReceived += (_, _) => { };
        _registry.ErrorDataReceived += (_, _) => { };
        _registry.BeginOutputReadLine();
        _registry.BeginErrorReadLine();
        WaitForPort(port);

        var host = $"127.0.0.1:{port}";
        PushAsync(host).GetAwaiter().GetResult();
        _existing = ImageReference.Parse($"{host}/bench/app:1.4.2");
        _missingTag = ImageReference.Parse($"{host}/bench/app:1.4.3");
        _index = ImageReference.Parse($"{host}/bench/multi:1.0");
        _arm64 = Platform.Parse("linux/arm64");

        _uncached = Services(host, TimeSpan.Zero);
        _cached = Services(host, TimeSpan.FromSeconds(30));
        _checker = _uncached.GetRequiredService<RegistryChecker>();
        _cachedChecker = _cached.GetRequiredService<RegistryChecker>();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _uncached?.Dispose();
        _cached?.Dispose();
        if (_registry is { HasExited: false })
        {
            _registry.Kill(entireProcessTree: true);
            _registry.WaitForExit();
        }

        _registry?.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>DNS (IP literal), TCP connect, /v2/ ping, HEAD manifest.</summary>
    [Benchmark(Baseline = true)]
    public Task<RegistryCheck> Existing_tag() => _checker.CheckAsync(_existing, null, null, CancellationToken.None);

    /// <summary>… plus GET manifest and the config blob for the platform.</summary>
    [Benchmark]
    public Task<RegistryCheck> Existing_tag_with_platform() => _checker.CheckAsync(_existing, null, _arm64, CancellationToken.None);

    /// <summary>Index: GET manifest, platform list.</summary>
    [Benchmark]
    public Task<RegistryCheck> Index_with_platform() => _checker.CheckAsync(_index, null, _arm64, CancellationToken.None);

    /// <summary>Missing tag: ping, HEAD 404, tag list, suggestions.</summary>
    [Benchmark]
    public Task<RegistryCheck> Missing_tag_with_suggestions() => _checker.CheckAsync(_missingTag, null, null, CancellationToken.None);

    /// <summary>Within the cache window: no registry request.</summary>
    [Benchmark]
    public Task<RegistryCheck> Cached() => _cachedChecker.CheckAsync(_missingTag, null, null, CancellationToken.None);

    private static ServiceProvider Services(string host, TimeSpan cacheWindow)
    {
        var services = new ServiceCollection();
        services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));
        services.AddRegistry(new ConfigurationBuilder().Build());
        services.Configure<RegistryOptions>(o =>
        {
            o.CacheWindow = cacheWindow;
            o.Hosts.Add(new RegistryHostOptions { Host = host, PlainHttp = true });
        });
        return services.BuildServiceProvider();
    }

    /// <summary>Pushes bench/app (four tags) and bench/multi:1.0 (amd64 + arm64 index) with POST/PUT uploads.</summary>
    internal static async Task PushAsync(string host)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://{host}/") };
        async Task<(string Digest, int Size)> Blob(string repo, byte[] bytes)
        {
            var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));
            using var start = await http.PostAsync($"v2/{repo}/blobs/uploads/", null);
            start.EnsureSuccessStatusCode();
            var location = start.Headers.Location!;
            var upload = location.IsAbsoluteUri ? location : new Uri(http.BaseAddress!, location);
            var putUri = new Uri(upload + (upload.Query.Length > 0 ? "&" : "?") + "digest=" + Uri.EscapeDataString(digest));
            using var content = new ByteArrayContent(bytes);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            using var done = await http.PutAsync(putUri, content);
            done.EnsureSuccessStatusCode();
            return (digest, bytes.Length);
        }

        async Task<(string Digest, int Size)> Manifest(string repo, string tag, string mediaType, string json)
        {
            using var content = new StringContent(json, Encoding.UTF8);
            content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
            using var response = await http.PutAsync($"v2/{repo}/manifests/{tag}", content);
            response.EnsureSuccessStatusCode();
            return ("sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(json))), Encoding.UTF8.GetByteCount(json));
        }

        async Task<(string Digest, int Size)> Image(string repo, string tag, string arch)
        {
            var layer = await Blob(repo, Encoding.UTF8.GetBytes("not really a tar " + arch));
            var config = await Blob(repo, Encoding.UTF8.GetBytes(new JsonObject { ["architecture"] = arch, ["os"] = "linux", ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = new JsonArray() } }.ToJsonString()));
            var manifest = new JsonObject
            {
                ["schemaVersion"] = 2,
                ["mediaType"] = ManifestMediaTypes.OciManifest,
                ["config"] = Descriptor("application/vnd.oci.image.config.v1+json", config),
                ["layers"] = new JsonArray(Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", layer)),
            };
            return await Manifest(repo, tag, ManifestMediaTypes.OciManifest, manifest.ToJsonString());
        }

        static JsonObject Descriptor(string mediaType, (string Digest, int Size) blob, string? arch = null)
        {
            var descriptor = new JsonObject { ["mediaType"] = mediaType, ["digest"] = blob.Digest, ["size"] = blob.Size };
            if (arch is not null)
            {
                descriptor["platform"] = new JsonObject { ["architecture"] = arch, ["os"] = "linux" };
            }

            return descriptor;
        }

        foreach (var tag in new[] { "1.4.0", "1.4.2", "1.5.0", "latest" })
        {
            await Image("bench/app", tag, "amd64");
        }

        var amd64 = await Image("bench/multi", "amd64", "amd64");
        var arm64 = await Image("bench/multi", "arm64", "arm64");
        var index = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = ManifestMediaTypes.OciIndex,
            ["manifests"] = new JsonArray(Descriptor(ManifestMediaTypes.OciManifest, amd64, "amd64"), Descriptor(ManifestMediaTypes.OciManifest, arm64, "arm64")),
        };
        await Manifest("bench/multi", "1.0", ManifestMediaTypes.OciIndex, index.ToJsonString());
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void WaitForPort(int port)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                Thread.Sleep(50);
            }
        }

        throw new TimeoutException($"docker-registry did not listen on {port}");
    }
}
