using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace ChatOpsPull.Core.Images;

/// <summary>
/// A container image reference, parsed and normalized the way kubelet, containerd and CRI-O do it
/// (github.com/distribution/reference: <c>ParseNormalizedNamed</c>, then <c>TagNameOnly</c> for the implied tag).
/// </summary>
/// <remarks>
/// The grammar (reference.go):
/// <code>
/// reference        := name [ ":" tag ] [ "@" digest ]
/// name             := [domain '/'] path-component ['/' path-component]*
/// domain           := host [':' port-number]
/// host             := domain-name | '[' IPv6address ']'
/// domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
/// path-component   := alpha-numeric [separator alpha-numeric]*
/// alpha-numeric    := /[a-z0-9]+/
/// separator        := /[_.]|__|[-]+/
/// tag              := /[\w][\w.-]{0,127}/
/// digest           := algorithm ":" hex   (sha256: 64, sha384: 96, sha512: 128 lowercase hex characters)
/// </code>
/// Normalization (normalize.go): the first path component is a registry only when it contains '.' or ':', is
/// "localhost", or has an uppercase letter; otherwise the image is on Docker Hub ("docker.io"), and a single
/// component there gets "library/" in front. "index.docker.io" is rewritten to "docker.io". A bare 64-hex string
/// is refused because it reads as an image ID. The path (after the registry) may be at most 255 characters.
/// One addition to the library: Docker Hub's API hosts "registry-1.docker.io" and "registry.hub.docker.com" also
/// normalize to "docker.io", with the path kept as written (no "library/"), since that is the path the runtime asks for.
/// The library itself keeps those hosts, and so does kubelet when it looks up credentials: <see cref="WrittenDomain"/>
/// remembers the host as written and <see cref="KubeletName"/> is the name kubelet's keyring sees.
/// Docker Hub's host names come from <see cref="DockerHub"/>.
/// </remarks>
/// <param name="Domain">Registry host with optional port, normalized ("docker.io" for Docker Hub).</param>
/// <param name="Path">Repository path ("library/nginx").</param>
/// <param name="Tag">Tag, null when only a digest was given; "latest" is filled in when neither was.</param>
/// <param name="Digest">"algorithm:hex" or null.</param>
public sealed record ImageReference(string Domain, string Path, string? Tag, string? Digest)
{
    public const string DockerHubDomain = DockerHub.Domain;

    /// <summary>The longest repository path (the part after the registry) the grammar accepts.</summary>
    public const int NameTotalLengthMax = 255;

    public const int TagLengthMax = 128;

    private const string OfficialRepositoryPrefix = "library/";

    /// <summary>True when <see cref="Tag"/> was not written in the input and "latest" was assumed.</summary>
    public bool TagImplied { get; init; }

    /// <summary>
    /// The registry host as the reference wrote it, when the parser kept it but the bot normalized it to
    /// <see cref="Domain"/>: one of Docker Hub's API hosts (<see cref="DockerHub.IsApiHost"/>). Null otherwise.
    /// </summary>
    public string? WrittenDomain { get; init; }

    /// <summary>Registry host plus repository path: "docker.io/library/nginx".</summary>
    public string Name => Domain + "/" + Path;

    /// <summary>
    /// The name kubelet looks credentials up with: distribution/reference's <c>ParseNormalizedNamed(image).Name()</c>,
    /// which rewrites only "index.docker.io" and keeps Docker Hub's API hosts as written ("registry-1.docker.io/nginx").
    /// Equal to <see cref="Name"/> for every other image.
    /// </summary>
    public string KubeletName => (WrittenDomain ?? Domain) + "/" + Path;

    /// <summary>
    /// True for Docker Hub. Short names, "index.docker.io", and Docker Hub's API hosts "registry-1.docker.io" and
    /// "registry.hub.docker.com" all normalize to <see cref="DockerHubDomain"/>.
    /// </summary>
    public bool IsDockerHub => Domain == DockerHubDomain;

    /// <summary>The host an HTTP client must talk to (Docker Hub's API lives at registry-1.docker.io).</summary>
    public string ApiHost => IsDockerHub ? DockerHub.RegistryApiHost : Domain;

    /// <summary>Tag or digest as the registry's manifest endpoint wants it (digest wins when both are given).</summary>
    public string ManifestReference => Digest ?? Tag ?? "latest";

    /// <summary>The short form people write: "nginx:1.25", "ghcr.io/org/app@sha256:…".</summary>
    public string FamiliarString
    {
        get
        {
            var name = Name;
            if (Domain == DockerHubDomain)
            {
                name = Path.StartsWith(OfficialRepositoryPrefix, StringComparison.Ordinal)
                    && Path.IndexOf('/', OfficialRepositoryPrefix.Length) < 0
                        ? Path[OfficialRepositoryPrefix.Length..]
                        : Path;
            }

            return name + (Tag is null ? string.Empty : ":" + Tag) + (Digest is null ? string.Empty : "@" + Digest);
        }
    }

    public override string ToString() =>
        Name + (Tag is null ? string.Empty : ":" + Tag) + (Digest is null ? string.Empty : "@" + Digest);

    public static ImageReference Parse(string reference) =>
        TryParse(reference, out var result, out var error) ? result : throw new FormatException(error);

    /// <summary>Parses and normalizes; on failure <paramref name="error"/> says what is wrong and where.</summary>
    public static bool TryParse(
        string? reference,
        [NotNullWhen(true)] out ImageReference? result,
        [NotNullWhen(false)] out string? error)
    {
        result = null;
        error = Validate(reference, out var domain, out var path, out var tag, out var digest, out var writtenDomain);
        if (error is not null)
        {
            error = "invalid reference format: " + error;
            return false;
        }

        var implied = tag is null && digest is null;
        result = new ImageReference(domain!, path!, implied ? "latest" : tag, digest) { TagImplied = implied, WrittenDomain = writtenDomain };
        return true;
    }

    /// <summary>Returns null when valid, else the reason (without the common prefix).</summary>
    private static string? Validate(string? reference, out string? domain, out string? path, out string? tag, out string? digest, out string? writtenDomain)
    {
        domain = path = tag = digest = writtenDomain = null;
        if (string.IsNullOrEmpty(reference))
        {
            return "the image reference is empty";
        }

        var s = reference.AsSpan();
        if (FindDisallowedCharacter(s) is { } bad)
        {
            return bad;
        }

        if (IsHexIdentifier(s))
        {
            return $"\"{reference}\" is a 64-character hexadecimal image ID, not a repository name (write a name, or name@sha256:{reference})";
        }

        // splitDockerDomain: decide what the first component is, on the raw string.
        ReadOnlySpan<char> domainSpan;
        ReadOnlySpan<char> remainder;
        var prefixLibrary = false;
        var slash = s.IndexOf('/');
        if (slash < 0)
        {
            domainSpan = DockerHubDomain;
            remainder = s;
            prefixLibrary = true;
        }
        else
        {
            var first = s[..slash];
            if (first.SequenceEqual("localhost") || first.ContainsAny('.', ':') || HasUpper(first))
            {
                remainder = s[(slash + 1)..];
                if (first.SequenceEqual(DockerHub.LegacyDomain))
                {
                    domainSpan = DockerHubDomain;
                    prefixLibrary = remainder.IndexOf('/') < 0;
                }
                else if (DockerHub.IsApiHost(first))
                {
                    // Docker Hub's API hosts: the same registry, but the runtimes do not add "library/" for them
                    // (they ask that host for "/v2/nginx/…"), so the path stays as written; kubelet keeps the host too.
                    domainSpan = DockerHubDomain;
                    writtenDomain = first.SequenceEqual(DockerHub.RegistryApiHost) ? DockerHub.RegistryApiHost : DockerHub.HubApiHost;
                }
                else
                {
                    domainSpan = first;
                    prefixLibrary = first.SequenceEqual(DockerHubDomain) && remainder.IndexOf('/') < 0;
                }
            }
            else
            {
                domainSpan = DockerHubDomain;
                remainder = s;
                prefixLibrary = remainder.IndexOf('/') < 0;
            }
        }

        // The digest starts at the first '@' and the tag at the first ':' before it: neither can appear in a path.
        var at = remainder.IndexOf('@');
        var beforeDigest = at < 0 ? remainder : remainder[..at];
        var colon = beforeDigest.IndexOf(':');
        var pathSpan = colon < 0 ? beforeDigest : beforeDigest[..colon];

        if (HasUpper(pathSpan))
        {
            return $"repository name ({(prefixLibrary ? OfficialRepositoryPrefix : string.Empty)}{pathSpan}) must be lowercase";
        }

        if (DescribeDomainProblem(domainSpan) is { } domainProblem && DescribeComponentProblem(domainSpan) is { } asPath)
        {
            return domainSpan.IndexOfAnyExcept(PathCharacters) < 0
                ? $"{domainProblem}; read as a repository name instead, {asPath}"
                : domainProblem;
        }

        if (slash < 0 && s[0] == '[')
        {
            return $"\"{reference}\" looks like a registry host without a repository; write host/name";
        }

        if (DescribePathProblem(pathSpan, slash < 0) is { } pathProblem)
        {
            return pathProblem;
        }

        var fullPathLength = pathSpan.Length + (prefixLibrary ? OfficialRepositoryPrefix.Length : 0);
        if (fullPathLength > NameTotalLengthMax)
        {
            return string.Create(
                CultureInfo.InvariantCulture,
                $"repository name must not be more than {NameTotalLengthMax} characters (it has {fullPathLength})");
        }

        if (colon >= 0 && DescribeTagProblem(beforeDigest[(colon + 1)..]) is { } tagProblem)
        {
            return tagProblem;
        }

        if (at >= 0 && DescribeDigestProblem(remainder[(at + 1)..]) is { } digestProblem)
        {
            return digestProblem;
        }

        domain = domainSpan.ToString();
        path = prefixLibrary ? string.Concat(OfficialRepositoryPrefix, pathSpan) : pathSpan.ToString();
        tag = colon >= 0 ? beforeDigest[(colon + 1)..].ToString() : null;
        digest = at >= 0 ? remainder[(at + 1)..].ToString() : null;
        return null;
    }

    private static string? FindDisallowedCharacter(ReadOnlySpan<char> s)
    {
        var scheme = s.IndexOf("://", StringComparison.Ordinal);
        if (scheme > 0 && s[..scheme].IndexOfAnyExcept(LowerLetters) < 0)
        {
            return $"remove \"{s[..(scheme + 3)]}\": an image reference has no URL scheme (write {s[(scheme + 3)..]})";
        }

        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '/' or ':' or '@' or '[' or ']')
            {
                continue;
            }

            var what = c switch
            {
                ' ' => "a space",
                '\t' => "a tab",
                '\r' or '\n' => "a line break",
                '%' => "'%' (an IPv6 zone identifier?)",
                _ when char.IsWhiteSpace(c) => string.Create(CultureInfo.InvariantCulture, $"whitespace U+{(int)c:X4}"),
                _ when char.IsControl(c) || char.GetUnicodeCategory(c) == UnicodeCategory.Format =>
                    string.Create(CultureInfo.InvariantCulture, $"an invisible character U+{(int)c:X4}"),
                _ => string.Create(CultureInfo.InvariantCulture, $"'{c}'"),
            };
            return string.Create(
                CultureInfo.InvariantCulture,
                $"{what} at position {i + 1} is not allowed (only letters, digits and . _ - / : @ may appear)");
        }

        return null;
    }

    private static bool IsHexIdentifier(ReadOnlySpan<char> s) =>
        s.Length == 64 && s.IndexOfAnyExcept(LowerHexDigits) < 0;

    private static bool HasUpper(ReadOnlySpan<char> s) => s.IndexOfAnyInRange('A', 'Z') >= 0;

    /// <summary>
    /// host[:port] as domainAndPort in regexp.go; null when valid. A first component the normalizer took for a
    /// registry but which is no valid host ("foo_bar.com") still makes a valid reference when it is a valid path
    /// component: the grammar reads it as one, and the runtimes then contact it as a host.
    /// </summary>
    private static string? DescribeDomainProblem(ReadOnlySpan<char> domain)
    {
        if (domain.IsEmpty)
        {
            return "the registry host is empty (the reference starts with '/')";
        }

        ReadOnlySpan<char> port;
        if (domain[0] == '[')
        {
            var close = domain.IndexOf(']');
            if (close < 0)
            {
                return $"registry host \"{domain}\" has no closing ']'";
            }

            var address = domain[1..close];
            if (address.IsEmpty || address.IndexOfAnyExcept(Ipv6Characters) >= 0)
            {
                return address.Contains('%')
                    ? $"registry host \"{domain}\": IPv6 zone identifiers ('%') are not allowed"
                    : $"registry host \"{domain}\": only hexadecimal IPv6 addresses in brackets are allowed (no embedded IPv4)";
            }

            port = domain[(close + 1)..];
            if (!port.IsEmpty && port[0] != ':')
            {
                return $"registry host \"{domain}\": only ':port' may follow ']'";
            }
        }
        else
        {
            var colon = domain.IndexOf(':');
            var host = colon < 0 ? domain : domain[..colon];
            port = colon < 0 ? ReadOnlySpan<char>.Empty : domain[colon..];
            if (port.Length > 1 && port[1..].Contains(':'))
            {
                return $"registry host \"{domain}\": an IPv6 address must be written in brackets, e.g. [fc00::1]:5000";
            }

            foreach (var range in host.Split('.'))
            {
                var label = host[range];
                if (label.IsEmpty)
                {
                    return $"registry host \"{domain}\" has an empty label (\"..\" or a leading/trailing '.')";
                }

                if (label.IndexOfAnyExcept(HostCharacters) >= 0)
                {
                    return $"registry host \"{domain}\": host names may contain only letters, digits, '-' and '.'";
                }

                if (label[0] == '-' || label[^1] == '-')
                {
                    return $"registry host \"{domain}\": a host label cannot start or end with '-'";
                }
            }
        }

        if (!port.IsEmpty && (port.Length == 1 || port[1..].IndexOfAnyExceptInRange('0', '9') >= 0))
        {
            return $"registry host \"{domain}\": the port after ':' must be digits";
        }

        return null;
    }

    private static string? DescribePathProblem(ReadOnlySpan<char> path, bool singleComponentInput)
    {
        if (path.IsEmpty)
        {
            return singleComponentInput
                ? "the repository name is empty (nothing before ':' or '@')"
                : "the repository path is empty (nothing after the registry host)";
        }

        foreach (var range in path.Split('/'))
        {
            var component = path[range];
            if (component.IsEmpty)
            {
                return $"repository path \"{path}\" has an empty component (a leading or trailing '/', or \"//\")";
            }

            if (DescribeComponentProblem(component) is { } problem)
            {
                return problem;
            }
        }

        return null;
    }

    /// <summary>alpha-numeric [separator alpha-numeric]* with separator = "." | "_" | "__" | "-"+.</summary>
    private static string? DescribeComponentProblem(ReadOnlySpan<char> component)
    {
        if (component.IsEmpty)
        {
            return "a path component is empty";
        }

        var bad = component.IndexOfAnyExcept(PathCharacters);
        if (bad >= 0)
        {
            return $"path component \"{component}\" contains '{component[bad]}': only lowercase letters, digits and the separators '.', '_', '__', '-' are allowed";
        }

        if (!IsAlphaNumeric(component[0]) || !IsAlphaNumeric(component[^1]))
        {
            return $"path component \"{component}\" must start and end with a lowercase letter or digit";
        }

        var i = 0;
        while (i < component.Length)
        {
            if (IsAlphaNumeric(component[i]))
            {
                i++;
                continue;
            }

            var start = i;
            while (!IsAlphaNumeric(component[i]))
            {
                i++;
            }

            var separator = component[start..i];
            var valid = separator is "." or "_" or "__" || separator.IndexOfAnyExcept('-') < 0;
            if (!valid)
            {
                return $"path component \"{component}\" has the separator \"{separator}\": use one '.', one or two '_', or dashes";
            }
        }

        return null;
    }

    private static bool IsAlphaNumeric(char c) => char.IsAsciiDigit(c) || char.IsAsciiLetterLower(c);

    /// <summary>[\w][\w.-]{0,127}.</summary>
    private static string? DescribeTagProblem(ReadOnlySpan<char> tag)
    {
        if (tag.IsEmpty)
        {
            return "the tag after ':' is empty";
        }

        if (tag.Length > TagLengthMax)
        {
            return string.Create(
                CultureInfo.InvariantCulture,
                $"tag must be at most {TagLengthMax} characters (it has {tag.Length})");
        }

        var bad = tag.IndexOfAnyExcept(TagCharacters);
        if (bad >= 0)
        {
            return tag[bad] is '/' or ':'
                ? $"tag \"{tag}\" contains '{tag[bad]}': a registry port or a second image name ended up after the ':'"
                : $"tag \"{tag}\" contains '{tag[bad]}': tags may contain only letters, digits, '_', '.' and '-'";
        }

        if (tag[0] is '.' or '-')
        {
            return $"tag \"{tag}\" must start with a letter, digit or '_'";
        }

        return null;
    }

    /// <summary>The reference grammar's digest, then go-digest's checks (registered algorithm, length, lowercase hex).</summary>
    private static string? DescribeDigestProblem(ReadOnlySpan<char> digest)
    {
        var colon = digest.IndexOf(':');
        if (colon <= 0 || colon == digest.Length - 1)
        {
            return $"digest \"{digest}\" must be algorithm:hex, e.g. sha256: followed by 64 hex characters";
        }

        var algorithm = digest[..colon];
        var hex = digest[(colon + 1)..];
        if (hex.IndexOfAnyExcept(HexDigits) >= 0)
        {
            return $"digest \"{digest}\": the part after ':' must be hexadecimal";
        }

        int expected;
        switch (algorithm)
        {
            case "sha256":
                expected = 64;
                break;
            case "sha384":
                expected = 96;
                break;
            case "sha512":
                expected = 128;
                break;
            default:
                return $"unsupported digest algorithm \"{algorithm}\" (sha256, sha384 or sha512)";
        }

        if (hex.Length != expected)
        {
            return string.Create(
                CultureInfo.InvariantCulture,
                $"invalid checksum digest length: {algorithm} needs {expected} hex characters, got {hex.Length}");
        }

        if (hex.IndexOfAnyExcept(LowerHexDigits) >= 0)
        {
            return "invalid checksum digest format: the hex part must be lowercase";
        }

        return null;
    }

    private static readonly SearchValues<char> LowerLetters =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyz");

    private static readonly SearchValues<char> LowerHexDigits =
        SearchValues.Create("0123456789abcdef");

    private static readonly SearchValues<char> HexDigits =
        SearchValues.Create("0123456789abcdefABCDEF");

    private static readonly SearchValues<char> Ipv6Characters =
        SearchValues.Create("0123456789abcdefABCDEF:");

    private static readonly SearchValues<char> HostCharacters =
        SearchValues.Create("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-");

    private static readonly SearchValues<char> PathCharacters =
        SearchValues.Create("0123456789abcdefghijklmnopqrstuvwxyz._-");

    private static readonly SearchValues<char> TagCharacters =
        SearchValues.Create("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_.-");
}
