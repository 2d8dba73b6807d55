using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.RegularExpressions;

namespace ChatOpsPull.Core.Images;

/// <summary>
/// A container image reference, parsed and normalized the way the Docker/OCI reference grammar does it
/// (github.com/distribution/reference: <c>ParseNormalizedNamed</c> then <c>TagNameOnly</c> for display).
/// </summary>
/// <param name="Domain">Registry host with optional port, normalized ("docker.io" for Docker Hub).</param>
/// <param name="Path">Repository path ("library/nginx").</param>
/// <param name="Tag">Tag, null when only a digest was given; "latest" is filled in when neither was.</param>
/// <param name="Digest">"algorithm:hex" or null.</param>
public sealed partial record ImageReference(string Domain, string Path, string? Tag, string? Digest)
{
    public const string DockerHubDomain = "docker.io";
    public const int NameTotalLengthMax = 255;

    /// <summary>True when <see cref="Tag"/> was not written in the input and "latest" was assumed.</summary>
    public bool TagImplied { get; init; }

    /// <summary>Registry host plus repository path: "docker.io/library/nginx".</summary>
    public string Name => Domain + "/" + Path;

    public bool IsDockerHub => Domain == DockerHubDomain;

    /// <summary>The host an HTTP client must talk to (Docker Hub's API lives at registry-1.docker.io).</summary>
    public string ApiHost => IsDockerHub ? "registry-1.docker.io" : Domain;

    /// <summary>Tag or digest as the registry's manifest endpoint wants it (digest wins when both are given).</summary>
    public string ManifestReference => Digest ?? Tag ?? "latest";

    /// <summary>The short form people write: "nginx:1.25", "ghcr.io/org/app@sha256:…".</summary>
    public string FamiliarString
    {
        get
        {
            var name = Name;
            if (IsDockerHub)
            {
                name = Path.StartsWith("library/", StringComparison.Ordinal) && Path.IndexOf('/', 8) < 0 ? Path[8..] : Path;
            }

            return name + (Tag is null ? string.Empty : ":" + Tag) + (Digest is null ? string.Empty : "@" + Digest);
        }
    }

    public override string ToString() =>
        Name + (Tag is null ? string.Empty : ":" + Tag) + (Digest is null ? string.Empty : "@" + Digest);

    public static ImageReference Parse(string reference) =>
        TryParse(reference, out var result, out var error) ? result : throw new FormatException(error);

    /// <summary>Parses and normalizes; on failure <paramref name="error"/> says what is wrong, in the grammar's terms.</summary>
    public static bool TryParse(
        string? reference,
        [NotNullWhen(true)] out ImageReference? result,
        [NotNullWhen(false)] out string? error)
    {
        result = null;
        if (string.IsNullOrEmpty(reference))
        {
            error = "invalid reference format: repository name must have at least one component";
            return false;
        }

        if (AnchoredIdentifier().IsMatch(reference))
        {
            error = $"invalid repository name ({reference}), cannot specify 64-byte hexadecimal strings";
            return false;
        }

        var match = ReferenceRegex().Match(reference);
        if (!match.Success)
        {
            error = ExplainFailure(reference);
            return false;
        }

        var name = match.Groups["name"].Value;
        if (name.Length > NameTotalLengthMax)
        {
            error = $"repository name must not be more than {NameTotalLengthMax} characters (it has {name.Length})";
            return false;
        }

        var (domain, path) = SplitDomain(name);
        if (!string.Equals(path, path.ToLowerInvariant(), StringComparison.Ordinal))
        {
            error = $"invalid reference format: repository name ({path}) must be lowercase";
            return false;
        }

        string? digest = null;
        if (match.Groups["digest"].Success)
        {
            digest = match.Groups["digest"].Value;
            if (!TryValidateDigest(digest, out error))
            {
                return false;
            }
        }

        var tag = match.Groups["tag"].Success ? match.Groups["tag"].Value : null;
        var implied = tag is null && digest is null;
        result = new ImageReference(domain, path, implied ? "latest" : tag, digest) { TagImplied = implied };
        error = null;
        return true;
    }

    /// <summary>Like <c>splitDockerDomain</c>: the first component is a registry only if it looks like a host.</summary>
    private static (string Domain, string Path) SplitDomain(string name)
    {
        string domain;
        string remainder;
        var slash = name.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            domain = DockerHubDomain;
            remainder = name;
        }
        else
        {
            var first = name[..slash];
            if (LooksLikeHost(first))
            {
                domain = first;
                remainder = name[(slash + 1)..];
            }
            else
            {
                domain = DockerHubDomain;
                remainder = name;
            }
        }

        if (domain is "index.docker.io" or "registry-1.docker.io" or "registry.hub.docker.com")
        {
            domain = DockerHubDomain;
        }

        if (domain == DockerHubDomain && !remainder.Contains('/', StringComparison.Ordinal))
        {
            remainder = "library/" + remainder;
        }

        return (domain, remainder);
    }

    /// <summary>The first path component is a registry when it has a '.' or ':', is "localhost", or has uppercase letters.</summary>
    private static bool LooksLikeHost(string first) =>
        first.Contains('.', StringComparison.Ordinal)
        || first.Contains(':', StringComparison.Ordinal)
        || first == "localhost"
        || !string.Equals(first, first.ToLowerInvariant(), StringComparison.Ordinal);

    private static bool TryValidateDigest(string digest, [NotNullWhen(false)] out string? error)
    {
        var colon = digest.IndexOf(':', StringComparison.Ordinal);
        var algorithm = digest[..colon];
        var hex = digest[(colon + 1)..];
        int? expected = algorithm switch
        {
            "sha256" => 64,
            "sha384" => 96,
            "sha512" => 128,
            _ => null,
        };
        if (expected is null)
        {
            error = $"unsupported digest algorithm \"{algorithm}\" (expected sha256, sha384 or sha512)";
            return false;
        }

        if (hex.Length != expected)
        {
            error = string.Create(
                CultureInfo.InvariantCulture,
                $"invalid checksum digest length: {algorithm} needs {expected} hex characters, got {hex.Length}");
            return false;
        }

        if (!LowerHex().IsMatch(hex))
        {
            error = "invalid checksum digest format: the hex part must be lowercase 0-9a-f";
            return false;
        }

        error = null;
        return true;
    }

    /// <summary>Finds the first thing that breaks the grammar and says it plainly.</summary>
    private static string ExplainFailure(string reference)
    {
        foreach (var ch in reference)
        {
            if (char.IsWhiteSpace(ch) || char.IsControl(ch))
            {
                return "invalid reference format: it contains whitespace or a control character";
            }
        }

        var at = reference.IndexOf('@', StringComparison.Ordinal);
        var namePart = at >= 0 ? reference[..at] : reference;
        if (at >= 0 && !DigestRegex().IsMatch(reference[(at + 1)..]))
        {
            return "invalid reference format: the digest after '@' must be algorithm:hex (e.g. sha256: and 64 hex characters)";
        }

        var lastSlash = namePart.LastIndexOf('/');
        var lastColon = namePart.LastIndexOf(':');
        string? tag = null;
        if (lastColon > lastSlash)
        {
            tag = namePart[(lastColon + 1)..];
            namePart = namePart[..lastColon];
        }

        if (tag is not null && !TagRegex().IsMatch(tag))
        {
            return tag.Length > 128
                ? "invalid reference format: tag must be at most 128 characters"
                : $"invalid reference format: tag \"{tag}\" must start with a letter, digit or '_' and contain only letters, digits, '_', '.' and '-'";
        }

        if (namePart.Length == 0 || namePart.EndsWith('/') || namePart.StartsWith('/') || namePart.Contains("//", StringComparison.Ordinal))
        {
            return "invalid reference format: a path component is empty";
        }

        var components = namePart.Split('/');
        var start = components.Length > 1 && LooksLikeHost(components[0]) ? 1 : 0;
        if (start == 1 && !DomainRegex().IsMatch(components[0]))
        {
            return $"invalid reference format: registry host \"{components[0]}\" is not a valid host[:port]";
        }

        for (var i = start; i < components.Length; i++)
        {
            var component = components[i];
            if (!string.Equals(component, component.ToLowerInvariant(), StringComparison.Ordinal))
            {
                return $"invalid reference format: repository name must be lowercase (\"{component}\")";
            }

            if (!PathComponentRegex().IsMatch(component))
            {
                return $"invalid reference format: path component \"{component}\" must be lowercase letters and digits separated by '.', '_', '__' or '-'";
            }
        }

        return "invalid reference format";
    }

    // The grammar of github.com/distribution/reference (regexp.go), anchored.
    private const string AlphaNumeric = "[a-z0-9]+";
    private const string Separator = "(?:[._]|__|[-]+)";
    private const string PathComponent = AlphaNumeric + "(?:" + Separator + AlphaNumeric + ")*";
    private const string DomainComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    private const string DomainName = DomainComponent + "(?:\\." + DomainComponent + ")*";
    private const string Ipv6 = "\\[(?:[a-fA-F0-9:]+)\\]";
    private const string Host = "(?:" + DomainName + "|" + Ipv6 + ")";
    private const string DomainPattern = Host + "(?::[0-9]+)?";
    private const string TagPattern = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}";
    private const string DigestPattern = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
    private const string NamePattern = "(?:" + DomainPattern + "/)?" + PathComponent + "(?:/" + PathComponent + ")*";

    [GeneratedRegex("^(?<name>" + NamePattern + ")(?::(?<tag>" + TagPattern + "))?(?:@(?<digest>" + DigestPattern + "))?$", RegexOptions.CultureInvariant)]
    private static partial Regex ReferenceRegex();

    [GeneratedRegex("^[a-f0-9]{64}$", RegexOptions.CultureInvariant)]
    private static partial Regex AnchoredIdentifier();

    [GeneratedRegex("^[a-f0-9]+$", RegexOptions.CultureInvariant)]
    private static partial Regex LowerHex();

    [GeneratedRegex("^" + TagPattern + "$", RegexOptions.CultureInvariant)]
    private static partial Regex TagRegex();

    [GeneratedRegex("^" + DigestPattern + "$", RegexOptions.CultureInvariant)]
    private static partial Regex DigestRegex();

    [GeneratedRegex("^" + DomainPattern + "$", RegexOptions.CultureInvariant)]
    private static partial Regex DomainRegex();

    [GeneratedRegex("^" + PathComponent + "$", RegexOptions.CultureInvariant)]
    private static partial Regex PathComponentRegex();
}
