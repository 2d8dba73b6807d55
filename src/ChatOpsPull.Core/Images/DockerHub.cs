namespace ChatOpsPull.Core.Images;

/// <summary>
/// The one table of Docker Hub's host names. Image references, registry settings, the credential keyring and the
/// message classifier all ask here instead of spelling the hosts themselves.
/// <list type="bullet">
/// <item><see cref="Domain"/> "docker.io": what every Docker Hub image name normalizes to (distribution/reference
/// normalize.go <c>defaultDomain</c>), and what cards show.</item>
/// <item><see cref="LegacyDomain"/> "index.docker.io": rewritten to docker.io by the reference parser
/// (<c>legacyDefaultDomain</c>); the key <c>docker login</c> writes ("https://index.docker.io/v1/") and kubelet's
/// default keyring key.</item>
/// <item><see cref="RegistryApiHost"/> "registry-1.docker.io" and <see cref="HubApiHost"/> "registry.hub.docker.com":
/// the hosts that serve the registry API. The reference parser keeps them as written (so kubelet looks credentials up
/// under them); the bot treats them as Docker Hub for display and registry calls.</item>
/// <item><see cref="TokenServiceHost"/> "auth.docker.io": Docker Hub's token service; in a runtime message it stands
/// for Docker Hub, but it is never an image's registry.</item>
/// </list>
/// Host names compare as written (ordinal), as the reference parser compares them.
/// </summary>
public static class DockerHub
{
    public const string Domain = "docker.io";

    public const string LegacyDomain = "index.docker.io";

    public const string RegistryApiHost = "registry-1.docker.io";

    public const string HubApiHost = "registry.hub.docker.com";

    public const string TokenServiceHost = "auth.docker.io";

    /// <summary>Every host an image reference may name Docker Hub by.</summary>
    public static IReadOnlyList<string> RegistryHosts { get; } = [Domain, LegacyDomain, RegistryApiHost, HubApiHost];

    /// <summary>True for docker.io, index.docker.io, registry-1.docker.io and registry.hub.docker.com.</summary>
    public static bool IsRegistryHost(ReadOnlySpan<char> host) =>
        host.SequenceEqual(Domain) || host.SequenceEqual(LegacyDomain) || IsApiHost(host);

    /// <summary>True for the two hosts that serve the registry API: registry-1.docker.io and registry.hub.docker.com.</summary>
    public static bool IsApiHost(ReadOnlySpan<char> host) =>
        host.SequenceEqual(RegistryApiHost) || host.SequenceEqual(HubApiHost);

    /// <summary>True for any Docker Hub host a runtime message may name, the token service included.</summary>
    public static bool IsServiceHost(ReadOnlySpan<char> host) =>
        IsRegistryHost(host) || host.SequenceEqual(TokenServiceHost);

    /// <summary>"docker.io" for any of <see cref="RegistryHosts"/>; any other host unchanged.</summary>
    public static string Normalize(string host) => IsRegistryHost(host) ? Domain : host;
}
