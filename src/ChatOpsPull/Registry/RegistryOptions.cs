using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ChatOpsPull.Core.Images;

namespace ChatOpsPull.Registry;

/// <summary>Section "Registry": how the bot talks to image registries when it checks an image.</summary>
public sealed class RegistryOptions : IValidatableObject
{
    public const string Section = "Registry";

    /// <summary>Limit for each of DNS lookup, TCP connect and TLS handshake.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Limit for one HTTP request to a registry or its token service.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Limit for one whole check of one image; a check never runs longer.</summary>
    public TimeSpan CheckTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a finished check answers again for the same image and credentials (0: only share in-flight checks).</summary>
    public TimeSpan CacheWindow { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a registry's network probe (DNS, TCP, TLS) that passed is reused by checks of other images on the same
    /// registry (0: only a probe in flight is shared). The card says how old a reused probe is; the destination rules are
    /// still applied to every connection the checks make.
    /// </summary>
    public TimeSpan ProbeReuseWindow { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Page size asked for when listing tags (the n= parameter).</summary>
    public int TagPageSize { get; set; } = 1000;

    /// <summary>Stop listing tags after this many (follows Link pagination until then).</summary>
    public int MaxTagsListed { get; set; } = 10_000;

    /// <summary>Per-registry settings, like containerd's hosts.toml: plain HTTP, extra CA bundles, skip verification.</summary>
    public List<RegistryHostOptions> Hosts { get; set; } = [];

    public RegistryHostOptions? FindHost(string hostAndPort) =>
        Hosts.Find(h => string.Equals(h.Host, hostAndPort, StringComparison.OrdinalIgnoreCase));

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var (name, value, max) in new[]
                 {
                     (nameof(ConnectTimeout), ConnectTimeout, TimeSpan.FromMinutes(2)),
                     (nameof(RequestTimeout), RequestTimeout, TimeSpan.FromMinutes(5)),
                     (nameof(CheckTimeout), CheckTimeout, TimeSpan.FromMinutes(10)),
                 })
        {
            if (value <= TimeSpan.Zero || value > max)
            {
                yield return new ValidationResult($"Registry:{name} must be more than 0 and at most {max:c} (it is {value:c}).", [name]);
            }
        }

        if (CheckTimeout < RequestTimeout)
        {
            yield return new ValidationResult(
                $"Registry:CheckTimeout ({CheckTimeout:c}) must be at least Registry:RequestTimeout ({RequestTimeout:c}): a check makes several requests.",
                [nameof(CheckTimeout)]);
        }

        if (CacheWindow < TimeSpan.Zero || CacheWindow > TimeSpan.FromHours(1))
        {
            yield return new ValidationResult($"Registry:CacheWindow must be between 00:00:00 and 01:00:00 (it is {CacheWindow:c}).", [nameof(CacheWindow)]);
        }

        if (ProbeReuseWindow < TimeSpan.Zero || ProbeReuseWindow > TimeSpan.FromMinutes(5))
        {
            yield return new ValidationResult($"Registry:ProbeReuseWindow must be between 00:00:00 and 00:05:00 (it is {ProbeReuseWindow:c}).", [nameof(ProbeReuseWindow)]);
        }

        if (TagPageSize is < 1 or > 10_000)
        {
            yield return new ValidationResult($"Registry:TagPageSize must be between 1 and 10000 (it is {TagPageSize}).", [nameof(TagPageSize)]);
        }

        if (MaxTagsListed < TagPageSize)
        {
            yield return new ValidationResult($"Registry:MaxTagsListed ({MaxTagsListed}) must be at least Registry:TagPageSize ({TagPageSize}).", [nameof(MaxTagsListed)]);
        }

        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < Hosts.Count; i++)
        {
            foreach (var problem in Hosts[i].Problems($"Registry:Hosts:{i}"))
            {
                yield return new ValidationResult(problem, [nameof(Hosts)]);
            }

            if (!string.IsNullOrWhiteSpace(Hosts[i].Host) && !seen.Add(Hosts[i].Host))
            {
                yield return new ValidationResult($"Registry:Hosts lists \"{Hosts[i].Host}\" twice; keep one entry per host.", [nameof(Hosts)]);
            }
        }
    }
}

/// <summary>One registry's connection settings (containerd hosts.toml: <c>server = "http://…"</c>, <c>ca</c>, <c>skip_verify</c>).</summary>
public sealed class RegistryHostOptions
{
    /// <summary>Registry host with port when not the default, exactly as in image names: "registry.internal:5000", "docker.io".</summary>
    public string Host { get; set; } = string.Empty;

    /// <summary>Speak plain HTTP instead of HTTPS (an "insecure registry").</summary>
    public bool PlainHttp { get; set; }

    /// <summary>PEM files with extra CA certificates trusted for this registry, in addition to the system roots.</summary>
    public List<string> CaFiles { get; set; } = [];

    /// <summary>Accept any certificate (containerd's skip_verify). The check still reports what is wrong with it.</summary>
    public bool SkipVerify { get; set; }

    internal IEnumerable<string> Problems(string path)
    {
        if (string.IsNullOrWhiteSpace(Host))
        {
            yield return $"{path}:Host must name a registry host, e.g. \"registry.internal:5000\".";
            yield break;
        }

        if (Host.Contains('/', StringComparison.Ordinal) || !ImageReference.TryParse(Host + "/probe", out var parsed, out _) || !string.Equals(parsed.Domain, NormalizeHost(Host), StringComparison.Ordinal))
        {
            yield return $"{path}:Host \"{Host}\" must be a host with an optional port and no scheme or path, e.g. \"registry.internal:5000\".";
        }

        if (PlainHttp && (CaFiles.Count > 0 || SkipVerify))
        {
            yield return $"{path} ({Host}) sets PlainHttp together with CaFiles or SkipVerify; plain HTTP has no TLS, so keep one or the other.";
        }

        foreach (var file in CaFiles)
        {
            string? problem = null;
            try
            {
                var collection = new X509Certificate2Collection();
                collection.ImportFromPemFile(file);
                if (collection.Count == 0)
                {
                    problem = $"{path}:CaFiles \"{file}\" holds no PEM certificate.";
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
            {
                problem = $"{path}:CaFiles \"{file}\" cannot be read as PEM certificates: {e.Message}";
            }

            if (problem is not null)
            {
                yield return problem;
            }
        }
    }

    internal static string NormalizeHost(string host) => DockerHub.Normalize(host);
}
