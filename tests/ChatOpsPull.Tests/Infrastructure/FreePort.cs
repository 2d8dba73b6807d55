using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace ChatOpsPull.Tests.Infrastructure;

/// <summary>
/// Ports for servers that must be told their port before they start. They come from below the kernel's ephemeral
/// range (<c>ip_local_port_range</c>): a port the kernel handed out for "any port" could be handed out again — to another
/// test's listener or to an outgoing connection — between this probe and the server's bind (CI saw "address already in
/// use" that way). Below the range only an explicit bind takes a port, and each process walks its own random start.
/// </summary>
public static class FreePort
{
    private const int Lowest = 10_000;
    private static readonly int EphemeralLow = ReadEphemeralLow();
    private static int _next = Lowest + Random.Shared.Next(EphemeralLow - Lowest);

    /// <summary>A TCP port on 127.0.0.1 that nothing listens on right now, outside the range the kernel gives out.</summary>
    public static int Next()
    {
        for (var attempt = 0; attempt < EphemeralLow - Lowest; attempt++)
        {
            var port = Lowest + ((Interlocked.Increment(ref _next) - Lowest) % (EphemeralLow - Lowest));
            if (IsFree(port))
            {
                return port;
            }
        }

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int ReadEphemeralLow()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            var low = int.Parse(range[0], CultureInfo.InvariantCulture);
            return low > Lowest + 1_000 ? low : 32_768;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 32_768;
        }
    }
}
