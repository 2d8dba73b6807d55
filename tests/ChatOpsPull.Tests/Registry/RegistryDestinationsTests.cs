using System.Net;
using ChatOpsPull.Registry;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Tests.Registry;

/// <summary>The destination rules on their own: what each address is, what is refused, what a configured registry may use.</summary>
public sealed class RegistryDestinationsTests
{
    private static RegistryDestinations Destinations(ClusterApiServer? apiServer = null, params string[] configured) =>
        new(
            Options.Create(new RegistryOptions { Hosts = configured.Select(h => new RegistryHostOptions { Host = h, PlainHttp = true }).ToList() }),
            new TestNetwork(),
            apiServer ?? ClusterApiServer.None);

    [Theory]
    [InlineData("8.8.8.8", NetworkReach.Public)]
    [InlineData("203.0.113.10", NetworkReach.Public)]
    [InlineData("2001:db8::1", NetworkReach.Public)]
    [InlineData("10.1.2.3", NetworkReach.Private)]
    [InlineData("172.20.0.1", NetworkReach.Private)]
    [InlineData("172.32.0.1", NetworkReach.Public)]
    [InlineData("192.168.1.1", NetworkReach.Private)]
    [InlineData("100.64.0.1", NetworkReach.Private)]
    [InlineData("fd12:3456::1", NetworkReach.Private)]
    [InlineData("::ffff:10.0.0.1", NetworkReach.Private)]
    [InlineData("64:ff9b::a00:1", NetworkReach.Private)]
    [InlineData("127.0.0.2", NetworkReach.Loopback)]
    [InlineData("::1", NetworkReach.Loopback)]
    [InlineData("::ffff:127.0.0.1", NetworkReach.Loopback)]
    public void Each_address_has_its_reach(string address, NetworkReach reach) =>
        Assert.Equal(reach, RegistryDestinations.ReachOf(IPAddress.Parse(address)));

    [Theory]
    [InlineData("169.254.169.254", "a cloud metadata service address")]
    [InlineData("::ffff:169.254.169.254", "a cloud metadata service address")]
    [InlineData("64:ff9b::a9fe:a9fe", "a cloud metadata service address")]
    [InlineData("fd00:ec2::254", "a cloud metadata service address")]
    [InlineData("fd20:ce::254", "a cloud metadata service address")]
    [InlineData("100.100.100.200", "a cloud metadata service address")]
    [InlineData("168.63.129.16", "a cloud metadata service address")]
    [InlineData("169.254.1.1", "a link-local address")]
    [InlineData("fe80::1", "a link-local address")]
    [InlineData("0.0.0.0", "not an address a registry can have")]
    [InlineData("::", "not an address a registry can have")]
    [InlineData("224.0.0.1", "not an address a registry can have")]
    [InlineData("255.255.255.255", "not an address a registry can have")]
    public async Task Metadata_link_local_and_unroutable_addresses_are_refused_whatever_the_reach(string address, string why)
    {
        var refused = await Destinations().RefuseAddressAsync("registry.example.com", IPAddress.Parse(address), 443, NetworkReach.Loopback, CancellationToken.None);

        Assert.NotNull(refused);
        Assert.StartsWith(why, refused.Why, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_configured_registry_may_use_a_refused_address_on_its_own_port_only()
    {
        var destinations = Destinations(null, "169.254.10.10:5000");
        var address = IPAddress.Parse("169.254.10.10");

        Assert.Null(await destinations.RefuseAddressAsync("169.254.10.10", address, 5000, NetworkReach.Loopback, CancellationToken.None));
        Assert.NotNull(await destinations.RefuseAddressAsync("169.254.10.10", address, 5001, NetworkReach.Loopback, CancellationToken.None));
        Assert.NotNull(await destinations.RefuseAddressAsync("other.example.com", address, 5000, NetworkReach.Loopback, CancellationToken.None));
    }

    [Fact]
    public async Task The_api_server_is_refused_on_its_port_and_by_its_names()
    {
        var destinations = Destinations(ClusterApiServer.From("10.96.0.1", "443", new Uri("https://api.cluster.example:6443")));

        Assert.Contains("API server", (await destinations.RefuseAddressAsync("10.96.0.1", IPAddress.Parse("10.96.0.1"), 443, NetworkReach.Loopback, CancellationToken.None))?.Why, StringComparison.Ordinal);
        Assert.Null(await destinations.RefuseAddressAsync("10.96.0.1", IPAddress.Parse("10.96.0.1"), 80, NetworkReach.Loopback, CancellationToken.None));
        Assert.NotNull(destinations.RefuseName("api.cluster.example", 6443));
        Assert.Null(destinations.RefuseName("api.cluster.example", 443));
        foreach (var name in new[] { "kubernetes", "kubernetes.default", "Kubernetes.Default.Svc.", "kubernetes.default.svc.cluster.local" })
        {
            Assert.Contains("the cluster's own API server", destinations.RefuseName(name, 443)?.Why, StringComparison.Ordinal);
        }

        Assert.Null(destinations.RefuseName("kubernetes.io", 443));
    }

    [Theory]
    [InlineData("metadata.google.internal")]
    [InlineData("METADATA.google.internal.")]
    [InlineData("metadata.goog")]
    [InlineData("metadata")]
    [InlineData("instance-data.ec2.internal")]
    public void Metadata_names_are_refused_before_any_lookup(string name) =>
        Assert.Contains("cloud metadata", Destinations().RefuseName(name, 80)?.Why, StringComparison.Ordinal);

    [Theory]
    [InlineData("10.0.0.5", NetworkReach.Public, true)]
    [InlineData("10.0.0.5", NetworkReach.Private, false)]
    [InlineData("127.0.0.1", NetworkReach.Private, true)]
    [InlineData("127.0.0.1", NetworkReach.Loopback, false)]
    [InlineData("8.8.8.8", NetworkReach.Public, false)]
    public async Task Nothing_goes_further_in_than_the_limit(string address, NetworkReach limit, bool refused) =>
        Assert.Equal(refused, await Destinations().RefuseAddressAsync("x.example.com", IPAddress.Parse(address), 443, limit, CancellationToken.None) is not null);

    [Fact]
    public void Registry_text_is_one_bounded_printable_line_without_credentials()
    {
        Assert.Equal("a b c", RegistryText.Line("a\r\n\tb\u0000\u007f\u0085c"));
        Assert.Equal("deef", RegistryText.Line("\u202Ed\u2066e\u200Bef\uFEFF\u00AD"));
        Assert.Equal("see https://[credentials removed]@h.example/p?[query removed] now", RegistryText.Line("see https://u:p@h.example/p?sig=1#x now"));
        Assert.Equal("http://h.example:5000/v2/", RegistryText.Line("http://h.example:5000/v2/"));
        Assert.Equal(new string('x', 10) + "…", RegistryText.Line(new string('x', 50), 10));
        Assert.Equal(string.Empty, RegistryText.Line("\u202E\u0000"));
        Assert.Equal("MANIFEST_UNKNOWN", RegistryText.Code("MANIFEST_UNKNOWN\u202E\n<b>"[..19]));
        Assert.Equal(64, RegistryText.Code(new string('A', 100)).Length);
    }
}
