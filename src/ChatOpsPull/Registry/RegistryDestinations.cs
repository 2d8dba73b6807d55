using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Registry;

/// <summary>
/// How far inside the network an address lies. A registry may send the bot (a token realm, a redirect) at most as far
/// in as the registry itself: a public registry only to public addresses, a registry on a private network to public
/// and private ones, a registry on loopback anywhere but the refused places.
/// </summary>
public enum NetworkReach
{
    Public = 0,
    Private = 1,
    Loopback = 2,
}

/// <summary>Something the bot refused to contact for a registry check, and why: one evidence line.</summary>
/// <param name="Target">"169.254.169.254:80", "metadata.google.internal", "http://10.0.0.5:8080".</param>
public sealed record RefusedDestination(string Target, string Why)
{
    /// <summary>"169.254.169.254:80 is a cloud metadata service address (…)".</summary>
    public override string ToString() => $"{Target} is {Why}";
}

/// <summary>Thrown (inside an <see cref="HttpRequestException"/>) when a connection or redirect is refused by <see cref="RegistryDestinations"/>.</summary>
public sealed class RegistryDestinationRefusedException(RefusedDestination refusal) : IOException($"refused: {refusal}")
{
    public RefusedDestination Refusal { get; } = refusal;

    /// <summary>The refusal in <paramref name="exception"/> or any exception inside it.</summary>
    public static RefusedDestination? Find(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is RegistryDestinationRefusedException refused)
            {
                return refused.Refusal;
            }
        }

        return null;
    }
}

/// <summary>
/// Where probes and requests made for an image may go. The image (and so the registry host) comes from whoever can
/// create a pod or send an alert, and token realms and redirects come from the registry, so every connection is checked
/// on the address it is actually made to (after DNS, so a name that resolves somewhere else — DNS rebinding included —
/// is caught): never to link-local addresses (169.254.0.0/16, fe80::/10), cloud metadata services (by address and by
/// name) or the cluster's own API server, unless <c>Registry:Hosts</c> lists that host as a registry; and never further
/// inside the network than the registry the request was made for (<see cref="NetworkReach"/>).
/// </summary>
public sealed class RegistryDestinations(IOptions<RegistryOptions> options, RegistryNetwork network, ClusterApiServer apiServer)
{
    private const string Exemption = "the bot contacts it only when Registry:Hosts lists that host as a registry";

    /// <summary>Names that lead to a cloud provider's instance metadata (GCE, AWS).</summary>
    private static readonly string[] MetadataNames = ["metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal"];

    /// <summary>
    /// Instance metadata and host-agent addresses: AWS, Azure, GCP, OpenStack, DigitalOcean (169.254.169.254), AWS ECS task
    /// metadata (169.254.170.2), AWS and GCE over IPv6 (fd00:ec2::254, fd20:ce::254), Alibaba Cloud (100.100.100.200),
    /// Oracle Cloud's legacy address (192.0.0.192) and Azure's WireServer (168.63.129.16).
    /// </summary>
    private static readonly IPAddress[] MetadataAddresses =
    [
        IPAddress.Parse("169.254.169.254"),
        IPAddress.Parse("169.254.170.2"),
        IPAddress.Parse("fd00:ec2::254"),
        IPAddress.Parse("fd20:ce::254"),
        IPAddress.Parse("100.100.100.200"),
        IPAddress.Parse("192.0.0.192"),
        IPAddress.Parse("168.63.129.16"),
    ];

    private static readonly TimeSpan ApiServerLookupLifetime = TimeSpan.FromMinutes(1);
    private (long At, IReadOnlyList<(IPAddress Address, int Port)> Addresses)? _apiServerAddresses;

    public RegistryNetwork Network => network;

    /// <summary>"Registry.Example.com." → "registry.example.com"; "[::1]" → "::1".</summary>
    public static string NormalizeName(string host) => host.Trim().Trim('[', ']').TrimEnd('.').ToLowerInvariant();

    /// <summary>What an address is, for the reach rule (v4-mapped and NAT64 addresses as the IPv4 address inside).</summary>
    public static NetworkReach ReachOf(IPAddress address)
    {
        var a = Unwrap(address);
        if (IPAddress.IsLoopback(a))
        {
            return NetworkReach.Loopback;
        }

        if (a.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = a.GetAddressBytes();
            return b[0] == 10
                   || (b[0] == 172 && (b[1] & 0xF0) == 16)
                   || (b[0] == 192 && b[1] == 168)
                   || (b[0] == 100 && (b[1] & 0xC0) == 64) // 100.64.0.0/10, carrier-grade NAT (also used for cluster networks)
                   || (b[0] == 169 && b[1] == 254)
                   || (b[0] == 192 && b[1] == 0 && b[2] == 0) // 192.0.0.0/24, IETF protocol assignments
                   || (b[0] == 198 && (b[1] & 0xFE) == 18) // 198.18.0.0/15, benchmarking
                ? NetworkReach.Private
                : NetworkReach.Public;
        }

        var v6 = a.GetAddressBytes();
        return (v6[0] & 0xFE) == 0xFC // fc00::/7, unique local
               || a.IsIPv6LinkLocal
               || a.IsIPv6SiteLocal
            ? NetworkReach.Private
            : NetworkReach.Public;
    }

    /// <summary>A name refused before any lookup: cloud metadata names and the API server's names. Null when it may be looked up.</summary>
    public RefusedDestination? RefuseName(string host, int port)
    {
        var name = NormalizeName(host);
        if (IPAddress.TryParse(name, out _) || IsConfiguredRegistry(name, port))
        {
            return null;
        }

        if (MetadataNames.Contains(name, StringComparer.Ordinal))
        {
            return new RefusedDestination(name, $"the name of a cloud metadata service (instance credentials live there); {Exemption}");
        }

        return apiServer.Names(name, port)
            ? new RefusedDestination(Format(name, port), $"the cluster's own API server; {Exemption}")
            : null;
    }

    /// <summary>
    /// Whether the connection to <paramref name="address"/> for <paramref name="host"/>:<paramref name="port"/> is refused:
    /// link-local, cloud metadata, the API server or an unroutable address (unless the host is a configured registry),
    /// or further in than <paramref name="limit"/>.
    /// </summary>
    public async Task<RefusedDestination?> RefuseAddressAsync(string host, IPAddress address, int port, NetworkReach limit, CancellationToken cancellationToken)
    {
        var name = NormalizeName(host);
        var a = Unwrap(address);
        var target = Format(a.ToString(), port);
        if (!IsConfiguredRegistry(name, port))
        {
            if (MetadataAddresses.Any(m => m.Equals(a)))
            {
                return new RefusedDestination(target, $"a cloud metadata service address (instance credentials live there); {Exemption}");
            }

            if (IsLinkLocal(a))
            {
                return new RefusedDestination(target, $"a link-local address (169.254.0.0/16, fe80::/10: metadata and node-local services live there); {Exemption}");
            }

            if (IsUnroutable(a))
            {
                return new RefusedDestination(target, "not an address a registry can have (unspecified, multicast, broadcast or reserved)");
            }

            if ((await ApiServerAddressesAsync(cancellationToken).ConfigureAwait(false)).Any(e => e.Port == port && e.Address.Equals(a)))
            {
                return new RefusedDestination(target, $"the cluster's own API server; {Exemption}");
            }
        }

        var reach = ReachOf(a);
        if (reach > limit)
        {
            return new RefusedDestination(
                target,
                $"{(reach == NetworkReach.Loopback ? "on the loopback interface" : "on a private network")}, further inside the network than the registry that sent the bot there ({Describe(limit)}); a registry may point the bot only as far in as itself");
        }

        return null;
    }

    /// <summary>
    /// Resolves <paramref name="host"/>, checks each address and connects to the first allowed one that answers: the
    /// address checked is the address connected to. Throws <see cref="RegistryDestinationRefusedException"/> when every
    /// address was refused, <see cref="SocketException"/> when none could be connected.
    /// </summary>
    public async Task<(Socket Socket, NetworkReach Reach)> ConnectAsync(string host, int port, NetworkReach limit, CancellationToken cancellationToken)
    {
        if (RefuseName(host, port) is { } refusedName)
        {
            throw new RegistryDestinationRefusedException(refusedName);
        }

        var name = NormalizeName(host);
        var addresses = IPAddress.TryParse(name, out var literal) ? [literal] : await network.ResolveAsync(name, cancellationToken).ConfigureAwait(false);
        RefusedDestination? refused = null;
        SocketException? failed = null;
        foreach (var address in addresses)
        {
            if (await RefuseAddressAsync(name, address, port, limit, cancellationToken).ConfigureAwait(false) is { } refusal)
            {
                refused ??= refusal;
                continue;
            }

            try
            {
                var socket = await network.ConnectAsync(new IPEndPoint(address, port), cancellationToken).ConfigureAwait(false);
                return (socket, ReachOf(address));
            }
            catch (SocketException e)
            {
                failed ??= e;
            }
        }

        if (failed is not null)
        {
            throw failed;
        }

        throw refused is not null ? new RegistryDestinationRefusedException(refused) : new SocketException((int)SocketError.HostNotFound);
    }

    /// <summary>"public", "on a private network", "on the loopback interface".</summary>
    public static string Describe(NetworkReach reach) => reach switch
    {
        NetworkReach.Public => "public",
        NetworkReach.Private => "on a private network",
        NetworkReach.Loopback => "on the loopback interface",
        _ => throw new ArgumentOutOfRangeException(nameof(reach), reach, "unknown reach"),
    };

    /// <summary>Whether Registry:Hosts lists <paramref name="host"/> (with this port, or without a port).</summary>
    public bool IsConfiguredRegistry(string host, int port)
    {
        var name = NormalizeName(host);
        foreach (var configured in options.Value.Hosts)
        {
            if (string.IsNullOrWhiteSpace(configured.Host))
            {
                continue;
            }

            var (configuredHost, configuredPort) = RegistryEndpoints.SplitHostPort(configured.Host.Trim());
            if (NormalizeName(configuredHost) == name && (configuredPort is null || configuredPort == port))
            {
                return true;
            }
        }

        return false;
    }

    private async Task<IReadOnlyList<(IPAddress Address, int Port)>> ApiServerAddressesAsync(CancellationToken cancellationToken)
    {
        if (_apiServerAddresses is { } known && Environment.TickCount64 - known.At < (long)ApiServerLookupLifetime.TotalMilliseconds)
        {
            return known.Addresses;
        }

        var addresses = new List<(IPAddress, int)>();
        foreach (var (host, port) in apiServer.Endpoints)
        {
            if (IPAddress.TryParse(host, out var literal))
            {
                addresses.Add((Unwrap(literal), port));
                continue;
            }

            try
            {
                addresses.AddRange((await network.ResolveAsync(host, cancellationToken).ConfigureAwait(false)).Select(a => (Unwrap(a), port)));
            }
            catch (SocketException)
            {
                // an API server name that does not resolve here cannot be reached by that name either
            }
        }

        _apiServerAddresses = (Environment.TickCount64, addresses);
        return addresses;
    }

    /// <summary>The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d) or NAT64 (64:ff9b::a.b.c.d) address; others as they are.</summary>
    private static IPAddress Unwrap(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var b = address.GetAddressBytes();
            if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B && b.AsSpan(4, 8).IndexOfAnyExcept((byte)0) < 0)
            {
                return new IPAddress(b.AsSpan(12, 4));
            }
        }

        return address;
    }

    private static bool IsLinkLocal(IPAddress a) =>
        a.AddressFamily == AddressFamily.InterNetwork
            ? a.GetAddressBytes() is [169, 254, _, _]
            : a.IsIPv6LinkLocal;

    private static bool IsUnroutable(IPAddress a)
    {
        if (a.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = a.GetAddressBytes();
            return b[0] == 0 || b[0] >= 224; // 0.0.0.0/8 "this network", multicast, reserved and broadcast
        }

        return a.Equals(IPAddress.IPv6Any) || a.IsIPv6Multicast;
    }

    private static string Format(string host, int port) =>
        host.Contains(':', StringComparison.Ordinal) ? $"[{host}]:{port.ToString(CultureInfo.InvariantCulture)}" : $"{host}:{port.ToString(CultureInfo.InvariantCulture)}";
}
