using System.Net;
using System.Net.Sockets;

namespace ChatOpsPull.Tests.Infrastructure;

public sealed class FreePortTests
{
    [Fact]
    public void Ports_handed_out_lie_below_the_kernels_ephemeral_range_and_are_bindable()
    {
        var low = int.Parse(File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split('\t', ' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        var ports = Enumerable.Range(0, 20).Select(_ => FreePort.Next()).ToList();

        Assert.All(ports, port => Assert.InRange(port, 10_000, low - 1));
        Assert.Equal(ports.Count, ports.Distinct().Count());
        using var listener = new TcpListener(IPAddress.Loopback, ports[0]);
        listener.Start();
    }

    [Fact]
    public void A_port_someone_listens_on_is_skipped()
    {
        var first = FreePort.Next();
        using var taken = new TcpListener(IPAddress.Loopback, first + 1);
        taken.Start();

        var next = FreePort.Next();

        Assert.NotEqual(first + 1, next);
    }
}
