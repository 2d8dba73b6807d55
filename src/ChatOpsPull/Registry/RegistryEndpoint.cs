using ChatOpsPull.Core.Images;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Registry;

/// <summary>Where and how to reach a registry's API: "https://registry-1.docker.io" for docker.io, plain HTTP when configured.</summary>
/// <param name="Domain">The registry as image names write it ("docker.io", "registry.internal:5000").</param>
/// <param name="Host">The host to connect to, without port ("registry-1.docker.io").</param>
/// <param name="Port">The TCP port (443/80 unless the name gives one).</param>
public sealed record RegistryEndpoint(string Domain, string Host, int Port, bool PlainHttp)
{
    public string Scheme => PlainHttp ? "http" : "https";

    /// <summary>"registry-1.docker.io" or "host:5000": host plus the port when it is not the scheme's default.</summary>
    public string Authority => Port == (PlainHttp ? 80 : 443) ? FormatHost(Host) : $"{FormatHost(Host)}:{Port}";

    public Uri BaseUri => new($"{Scheme}://{Authority}/");

    /// <summary>One key per registry as the bot reaches it (name, scheme, host and port): what answers alike for every image on it are shared under.</summary>
    public string SharingKey => $"{Domain}|{Scheme}://{Host}:{Port}";

    public Uri Resolve(string relative) => new(BaseUri, relative);

    /// <summary>
    /// Where the probe found the registry (the address it connected to); requests made for this registry may go no
    /// further in (<see cref="RegistryDestinations"/>). Null before the probe: only the refused places are refused.
    /// </summary>
    public NetworkReach? Reach { get; init; }

    /// <summary>Whether <paramref name="uri"/> is this registry itself: the same host and port.</summary>
    public bool IsSelf(Uri? uri) =>
        uri is not null
        && string.Equals(RegistryDestinations.NormalizeName(uri.IdnHost), RegistryDestinations.NormalizeName(Host), StringComparison.Ordinal)
        && uri.Port == Port;

    private static string FormatHost(string host) => host.Contains(':', StringComparison.Ordinal) ? "[" + host + "]" : host;
}

/// <summary>Finds the endpoint for an image from its domain and the configured per-registry settings.</summary>
public sealed class RegistryEndpoints(IOptions<RegistryOptions> options)
{
    public RegistryEndpoint For(ImageReference image)
    {
        var hostOptions = options.Value.FindHost(image.Domain);
        var plain = hostOptions?.PlainHttp ?? false;
        var (host, port) = SplitHostPort(image.ApiHost);
        return new RegistryEndpoint(image.Domain, host, port ?? (plain ? 80 : 443), plain);
    }

    internal static (string Host, int? Port) SplitHostPort(string authority)
    {
        if (authority.StartsWith('['))
        {
            var close = authority.IndexOf(']', StringComparison.Ordinal);
            var host = authority[1..close];
            return close + 1 < authority.Length && authority[close + 1] == ':' ? (host, int.Parse(authority[(close + 2)..], System.Globalization.CultureInfo.InvariantCulture)) : (host, null);
        }

        var colon = authority.LastIndexOf(':');
        return colon > 0 ? (authority[..colon], int.Parse(authority[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture)) : (authority, null);
    }
}
