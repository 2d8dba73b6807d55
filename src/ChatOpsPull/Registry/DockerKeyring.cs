using ChatOpsPull.Core.Images;

namespace ChatOpsPull.Registry;

/// <summary>
/// The matching rules of kubelet's credential keyring (kubernetes/kubernetes pkg/credentialprovider/keyring.go), reproduced:
/// an <c>auths</c> key loses its scheme and a leading /v1/ or /v2/; keys are sorted in reverse so longer paths come first;
/// a key matches an image when the ports are equal, the host has as many dot-separated labels and each label matches
/// as a glob (<c>*.azurecr.io</c>), and the key's path is a string prefix of the image's path. When nothing matches and the
/// image is on Docker Hub by the shape of its name, the key "index.docker.io" (from "https://index.docker.io/v1/") is used.
/// The image name matched is the one kubelet looks up (<see cref="ImageReference.KubeletName"/>), never the bot's
/// normalized one: "registry-1.docker.io/nginx" stays as written, so Docker Hub keys do not match it.
/// </summary>
internal static class DockerKeyring
{
    /// <summary>keyring.go <c>defaultRegistryHost</c>: the key "https://index.docker.io/v1/" becomes after <c>Add</c>.</summary>
    public const string DefaultRegistryHost = DockerHub.LegacyDomain;

    /// <summary>
    /// What kubelet's <c>BasicDockerKeyring.Add</c> (keyring.go) turns an auths key into: "https://" added when no scheme
    /// is given, Go's <c>url.Parse</c>, a leading "/v1/" or "/v2/" of the path dropped, key = host (+ path unless it is
    /// empty or "/"). Null when url.Parse would reject it (kubelet logs "Entry … in dockercfg invalid" and skips it).
    /// </summary>
    public static string? KeyringKey(string authsKey)
    {
        var value = authsKey.StartsWith("https://", StringComparison.Ordinal) || authsKey.StartsWith("http://", StringComparison.Ordinal)
            ? authsKey
            : "https://" + authsKey;
        if (ParseUrl(value) is not { } parsed)
        {
            return null;
        }

        var path = parsed.Path;
        if (path.StartsWith("/v2/", StringComparison.Ordinal) || path.StartsWith("/v1/", StringComparison.Ordinal))
        {
            path = path[3..];
        }

        return path.Length > 0 && path != "/" ? parsed.Host + path : parsed.Host;
    }

    /// <summary>
    /// kubelet's <c>URLsMatchStr(glob, target)</c> → <c>URLsMatch</c> (keyring.go): both parsed with
    /// <c>ParseSchemelessURL</c>, split by <c>SplitURL</c> (net.SplitHostPort, then labels on '.'); ports equal, label counts
    /// equal, the glob's path a string prefix of the target's, each label matched with filepath.Match.
    /// <paramref name="lookupName"/> is what kubelet passes to <c>Lookup</c>: <see cref="ImageReference.KubeletName"/>.
    /// <paramref name="whyNot"/> says why not in plain words.
    /// </summary>
    public static bool Matches(string keyringKey, string lookupName, out string whyNot)
    {
        if (ParseUrl("https://" + keyringKey) is not { } glob || ParseUrl("https://" + lookupName) is not { } target)
        {
            whyNot = "not a valid host";
            return false;
        }

        var (globLabels, globPort) = SplitHost(glob.Host);
        var (targetLabels, targetPort) = SplitHost(target.Host);
        if (!string.Equals(globPort, targetPort, StringComparison.Ordinal))
        {
            whyNot = $"port {(globPort.Length == 0 ? "(none)" : globPort)} is not the image's {(targetPort.Length == 0 ? "(none)" : targetPort)}";
            return false;
        }

        if (globLabels.Length != targetLabels.Length)
        {
            whyNot = "different host";
            return false;
        }

        if (!target.Path.StartsWith(glob.Path, StringComparison.Ordinal))
        {
            whyNot = $"path {glob.Path} is not a prefix of the image path {target.Path}";
            return false;
        }

        for (var i = 0; i < globLabels.Length; i++)
        {
            if (GoPathMatch(globLabels[i], targetLabels[i]) != true)
            {
                whyNot = "different host";
                return false;
            }
        }

        whyNot = string.Empty;
        return true;
    }

    /// <summary>
    /// kubelet's <c>isDefaultRegistryMatch</c> (keyring.go), used by <c>BasicDockerKeyring.Lookup</c> only when no key
    /// matched: an empty first component never; a single component always; a first component "docker.io" or
    /// "index.docker.io"; otherwise a first component with neither '.' nor ':'. Docker Hub's API hosts are not in the list:
    /// "registry-1.docker.io/nginx" gets no Docker Hub credentials.
    /// </summary>
    public static bool IsDefaultRegistryMatch(string lookupName)
    {
        var slash = lookupName.IndexOf('/', StringComparison.Ordinal);
        var first = slash < 0 ? lookupName : lookupName[..slash];
        if (first.Length == 0)
        {
            return false;
        }

        if (slash < 0 || first is DockerHub.Domain or DockerHub.LegacyDomain)
        {
            return true;
        }

        return first.IndexOfAny(['.', ':']) < 0;
    }

    public static bool HasWildcard(string keyringKey) => keyringKey.IndexOfAny(['*', '?', '[']) >= 0;

    private static (string[] Labels, string Port) SplitHost(string host)
    {
        // net.SplitHostPort: "[::1]:5000", "host:5000"; anything else keeps the whole host and no port.
        if (host.StartsWith('['))
        {
            var close = host.IndexOf("]:", StringComparison.Ordinal);
            if (close > 0 && host.IndexOf(':', close + 2) < 0)
            {
                return (host[1..close].Split('.'), host[(close + 2)..]);
            }

            return (host.Split('.'), string.Empty);
        }

        var colon = host.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0 && host.IndexOf(':', colon + 1) < 0)
        {
            return (host[..colon].Split('.'), host[(colon + 1)..]);
        }

        return (host.Split('.'), string.Empty);
    }

    /// <summary>The host and path Go's url.Parse finds in "scheme://authority/path?query#fragment"; null for bad characters.</summary>
    private static (string Host, string Path)? ParseUrl(string url)
    {
        var start = url.IndexOf("://", StringComparison.Ordinal);
        if (start < 0)
        {
            return null;
        }

        var rest = url[(start + 3)..];
        var end = rest.IndexOfAny(['/', '?', '#']);
        var authority = end < 0 ? rest : rest[..end];
        var at = authority.LastIndexOf('@');
        var host = at >= 0 ? authority[(at + 1)..] : authority;
        if (host.Any(c => char.IsControl(c) || c == ' ' || c == '%' && !host.StartsWith('[')))
        {
            return null;
        }

        var path = string.Empty;
        if (end >= 0 && rest[end] == '/')
        {
            var tail = rest[end..];
            var cut = tail.IndexOfAny(['?', '#']);
            path = cut < 0 ? tail : tail[..cut];
        }

        return (host, path);
    }

    /// <summary>True when the key names Docker Hub the way its default entries do ("docker.io", "index.docker.io", with or without a path).</summary>
    public static bool IsDockerHubKey(string keyringKey)
    {
        var slash = keyringKey.IndexOf('/', StringComparison.Ordinal);
        var host = slash < 0 ? keyringKey : keyringKey[..slash];
        return host is DockerHub.Domain or DockerHub.LegacyDomain;
    }

    /// <summary>Go's path/filepath.Match for one host label ('*', '?', '[…]' classes, '\' escapes); null for a malformed pattern.</summary>
    internal static bool? GoPathMatch(string pattern, string name) => MatchFrom(pattern, 0, name, 0);

    private static bool? MatchFrom(string p, int pi, string s, int si)
    {
        while (pi < p.Length)
        {
            switch (p[pi])
            {
                case '*':
                    while (pi < p.Length && p[pi] == '*')
                    {
                        pi++;
                    }

                    for (var k = si; k <= s.Length; k++)
                    {
                        if (k > si && s[k - 1] == '/')
                        {
                            break;
                        }

                        var m = MatchFrom(p, pi, s, k);
                        if (m is null)
                        {
                            return null;
                        }

                        if (m == true)
                        {
                            return true;
                        }
                    }

                    return false;
                case '?':
                    if (si >= s.Length || s[si] == '/')
                    {
                        return false;
                    }

                    pi++;
                    si++;
                    break;
                case '[':
                    if (MatchClass(p, ref pi, si < s.Length ? s[si] : (char?)null) is not { } classMatch)
                    {
                        return null;
                    }

                    if (!classMatch || si >= s.Length)
                    {
                        return false;
                    }

                    si++;
                    break;
                case '\\':
                    if (pi + 1 >= p.Length)
                    {
                        return null;
                    }

                    if (si >= s.Length || s[si] != p[pi + 1])
                    {
                        return false;
                    }

                    pi += 2;
                    si++;
                    break;
                default:
                    if (si >= s.Length || s[si] != p[pi])
                    {
                        return false;
                    }

                    pi++;
                    si++;
                    break;
            }
        }

        return si == s.Length;
    }

    private static bool? MatchClass(string p, ref int pi, char? c)
    {
        pi++;
        var negated = pi < p.Length && p[pi] == '^';
        if (negated)
        {
            pi++;
        }

        var matched = false;
        var count = 0;
        while (true)
        {
            if (pi >= p.Length)
            {
                return null;
            }

            if (p[pi] == ']' && count > 0)
            {
                pi++;
                break;
            }

            if (ClassChar(p, ref pi) is not { } lo)
            {
                return null;
            }

            var hi = lo;
            if (pi < p.Length && p[pi] == '-')
            {
                pi++;
                if (ClassChar(p, ref pi) is not { } upper)
                {
                    return null;
                }

                hi = upper;
            }

            if (c is { } ch && lo <= ch && ch <= hi)
            {
                matched = true;
            }

            count++;
        }

        return c is not null && matched != negated;
    }

    private static char? ClassChar(string p, ref int pi)
    {
        if (pi >= p.Length || p[pi] is '-' or ']')
        {
            return null;
        }

        if (p[pi] == '\\')
        {
            pi++;
            if (pi >= p.Length)
            {
                return null;
            }
        }

        return p[pi++];
    }
}
