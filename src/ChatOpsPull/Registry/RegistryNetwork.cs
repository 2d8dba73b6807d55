using System.Net;
using System.Net.Sockets;

namespace ChatOpsPull.Registry;

/// <summary>
/// Name lookups and TCP connects, the two things every registry probe and request does to the network. The bot uses the
/// system's; <see cref="RegistryDestinations"/> checks every address this returns before it is connected to, so the
/// address checked is the address used. Tests replace it to give names addresses of their choosing and to route
/// addresses below the checks (a "public" address that leads to a loopback server).
/// </summary>
public class RegistryNetwork
{
    public virtual Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken) =>
        Dns.GetHostAddressesAsync(host, cancellationToken);

    /// <summary>A connected TCP socket to exactly <paramref name="endpoint"/>; throws <see cref="SocketException"/> when it cannot.</summary>
    public virtual async Task<Socket> ConnectAsync(IPEndPoint endpoint, CancellationToken cancellationToken)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endpoint, cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

/// <summary>
/// The cluster's own API server, which no probe or request made for an image may reach: the in-cluster names
/// (<c>kubernetes</c>, <c>kubernetes.default</c>, <c>kubernetes.default.svc</c> and longer forms), the service address
/// kubelet gives every pod (<c>KUBERNETES_SERVICE_HOST</c> and <c>KUBERNETES_SERVICE_PORT</c>), and the server the bot's
/// own cluster connection uses (its kubeconfig or in-cluster address).
/// </summary>
public sealed class ClusterApiServer
{
    private static readonly string[] InClusterNames = ["kubernetes", "kubernetes.default", "kubernetes.default.svc"];

    public ClusterApiServer(IEnumerable<(string Host, int Port)> endpoints)
    {
        Endpoints = endpoints
            .Where(e => !string.IsNullOrWhiteSpace(e.Host))
            .Select(e => (RegistryDestinations.NormalizeName(e.Host), e.Port))
            .Distinct()
            .ToList();
    }

    /// <summary>None known (a check run outside any cluster): only the in-cluster names are refused.</summary>
    public static ClusterApiServer None { get; } = new([]);

    /// <summary>Host and port of each known address of the API server.</summary>
    public IReadOnlyList<(string Host, int Port)> Endpoints { get; }

    /// <summary>From the pod's environment (KUBERNETES_SERVICE_HOST/PORT) and the URL the bot's cluster connection uses.</summary>
    public static ClusterApiServer FromEnvironment(Uri? connection = null) =>
        From(Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST"), Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_PORT"), connection);

    public static ClusterApiServer From(string? serviceHost, string? servicePort, Uri? connection)
    {
        var endpoints = new List<(string, int)>();
        if (!string.IsNullOrWhiteSpace(serviceHost))
        {
            endpoints.Add((serviceHost.Trim().Trim('[', ']'), int.TryParse(servicePort, System.Globalization.CultureInfo.InvariantCulture, out var port) ? port : 443));
        }

        if (connection is { IsAbsoluteUri: true } && connection.Host.Length > 0)
        {
            endpoints.Add((connection.Host.Trim('[', ']'), connection.Port));
        }

        return new ClusterApiServer(endpoints);
    }

    /// <summary>Whether <paramref name="host"/> (normalized) names the API server: the in-cluster names on any port, a configured name on its port.</summary>
    internal bool Names(string host, int port) =>
        InClusterNames.Contains(host, StringComparer.Ordinal)
        || host.StartsWith("kubernetes.default.svc.", StringComparison.Ordinal)
        || Endpoints.Any(e => e.Host == host && e.Port == port && !IPAddress.TryParse(e.Host, out _));
}
