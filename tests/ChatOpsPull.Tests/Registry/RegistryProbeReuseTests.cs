using System.Net;
using System.Net.Sockets;
using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Images;
using ChatOpsPull.Registry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace ChatOpsPull.Tests.Registry;

/// <summary>
/// A registry's network probe and its <c>/v2/</c> answer serve the checks of other images on it for
/// Registry:ProbeReuseWindow; connections are counted where they arrive (a local TCP listener, the registry's access log).
/// </summary>
[Collection(RegistryFixtureGroup.Name)]
public sealed class RegistryProbeReuseTests(RegistryFixture registry, ITestOutputHelper output)
{
    [Fact]
    public async Task A_second_probe_of_the_same_registry_within_the_window_opens_no_new_connection_and_says_it_is_at_most_the_window_old()
    {
        using var listener = Listen(out var endpoint);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var services = registry.Services(o => o.ProbeReuseWindow = TimeSpan.FromSeconds(10), clock);
        var probe = services.GetRequiredService<RegistryProbe>();

        var first = await probe.ProbeAsync(endpoint, CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(3));
        var second = await probe.ProbeAsync(endpoint, CancellationToken.None);

        Assert.Null(first.Summary);
        Assert.Null(second.Summary);
        Assert.Equal(NetworkReach.Loopback, second.Reach);
        Assert.Equal(1, AcceptAll(listener));
        Assert.DoesNotContain(first.Evidence, e => e.Detail.Contains("reused", StringComparison.Ordinal));
        var reused = second.Evidence[0];
        Assert.Equal(EvidenceOutcome.Info, reused.Outcome);
        Assert.Equal($"reused: {endpoint.Authority} was probed by an earlier check within the last 10 s; the steps below are from then", reused.Detail);
        Assert.Contains(second.Evidence, e => e.Check.StartsWith("TCP 127.0.0.1", StringComparison.Ordinal) && e.Outcome == EvidenceOutcome.Passed);
    }

    [Fact]
    public async Task Checks_at_the_same_moment_share_one_probe_connection()
    {
        using var listener = Listen(out var endpoint);
        // One probe per reuse window is the promise: the longest window allowed, so the 20 checks fall in one on a loaded machine.
        await using var services = registry.Services(o => o.ProbeReuseWindow = TimeSpan.FromMinutes(5));
        var probe = services.GetRequiredService<RegistryProbe>();

        var reports = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(() => probe.ProbeAsync(endpoint, CancellationToken.None))));

        Assert.All(reports, r => Assert.Null(r.Summary));
        Assert.Equal(1, AcceptAll(listener));
        Assert.Equal(1, probe.Started);
    }

    [Fact]
    public async Task After_the_window_the_registry_is_probed_again()
    {
        using var listener = Listen(out var endpoint);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var services = registry.Services(o => o.ProbeReuseWindow = TimeSpan.FromSeconds(10), clock);
        var probe = services.GetRequiredService<RegistryProbe>();

        await probe.ProbeAsync(endpoint, CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(11));
        var again = await probe.ProbeAsync(endpoint, CancellationToken.None);

        Assert.Equal(2, AcceptAll(listener));
        Assert.DoesNotContain(again.Evidence, e => e.Detail.Contains("reused", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_failed_probe_is_not_reused()
    {
        int port;
        using (var gone = new TcpListener(IPAddress.Loopback, 0))
        {
            gone.Start();
            port = ((IPEndPoint)gone.LocalEndpoint).Port;
        }

        var endpoint = new RegistryEndpoint($"127.0.0.1:{port}", "127.0.0.1", port, PlainHttp: true);
        await using var services = registry.Services();
        var probe = services.GetRequiredService<RegistryProbe>();

        var first = await probe.ProbeAsync(endpoint, CancellationToken.None);
        var second = await probe.ProbeAsync(endpoint, CancellationToken.None);

        Assert.Equal(PullCause.Network, first.Cause);
        Assert.Equal(PullCause.Network, second.Cause);
        Assert.Equal(2, probe.Started);
    }

    [Fact]
    public async Task A_refused_destination_is_refused_on_every_check_and_never_contacted()
    {
        // The listener plays the cluster's API server: a place the bot does not go.
        using var listener = Listen(out var endpoint);
        await using var services = registry.Services(apiServer: new ClusterApiServer([("127.0.0.1", endpoint.Port)]));
        var probe = services.GetRequiredService<RegistryProbe>();
        var checker = services.GetRequiredService<RegistryChecker>();

        var first = await probe.ProbeAsync(endpoint, CancellationToken.None);
        var second = await probe.ProbeAsync(endpoint, CancellationToken.None);
        var check = await checker.CheckAsync(ImageReference.Parse($"127.0.0.1:{endpoint.Port}/team/app:1.0"), null, null, CancellationToken.None);

        Assert.NotNull(first.Refused);
        Assert.NotNull(second.Refused);
        Assert.Equal(PullCause.Unknown, check.Cause);
        Assert.Contains("did not contact", check.Summary, StringComparison.Ordinal);
        Assert.Equal(0, AcceptAll(listener));
    }

    [Fact]
    public async Task Checks_of_three_images_on_one_registry_send_it_one_api_root_request_and_one_tag_list_and_the_cards_say_what_was_reused()
    {
        await using var services = registry.Services();
        var checker = services.GetRequiredService<RegistryChecker>();
        var before = await registry.AnonymousRequestCountAsync();

        var first = await checker.CheckAsync(ImageReference.Parse($"{registry.Anonymous}/storm/app:1.0"), null, null, CancellationToken.None);
        var second = await checker.CheckAsync(ImageReference.Parse($"{registry.Anonymous}/storm/app:2.0"), null, null, CancellationToken.None);
        var third = await checker.CheckAsync(ImageReference.Parse($"{registry.Anonymous}/storm/app:2.0-nope"), null, null, CancellationToken.None);

        var requests = await registry.AnonymousRequestsSinceAsync(before);
        foreach (var line in requests)
        {
            output.WriteLine(line);
        }

        Assert.True(first.Pullable, first.Summary);
        Assert.Equal(PullCause.ImageNotFound, second.Cause);
        Assert.Equal(PullCause.ImageNotFound, third.Cause);
        Assert.Single(requests, line => line.Contains("\"GET /v2/ ", StringComparison.Ordinal));
        Assert.Single(requests, line => line.Contains("/tags/list", StringComparison.Ordinal));
        Assert.Equal(3, requests.Count(line => line.Contains("/manifests/", StringComparison.Ordinal)));
        Assert.Contains(second.Evidence, e => e.Check == RegistryCheckReport.ApiRootCheck && e.Detail.Contains("reused: answered to an earlier check within the last 10 s", StringComparison.Ordinal));
        Assert.Contains(second.Evidence, e => e.Check == "network probe" && e.Detail.Contains("reused", StringComparison.Ordinal));
        Assert.DoesNotContain(second.Evidence, e => e.Check.StartsWith("tags of", StringComparison.Ordinal) && e.Detail.Contains("reused", StringComparison.Ordinal));
        Assert.Contains(third.Evidence, e => e.Check == "tags of storm/app" && e.Detail.Contains("reused: listed for an earlier check of storm/app within the last 10 s", StringComparison.Ordinal));
        Assert.DoesNotContain(first.Evidence, e => e.Detail.Contains("reused", StringComparison.Ordinal));
    }

    private static TcpListener Listen(out RegistryEndpoint endpoint)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        endpoint = new RegistryEndpoint($"127.0.0.1:{port}", "127.0.0.1", port, PlainHttp: true);
        return listener;
    }

    /// <summary>Connections that reached the listener (completed handshakes wait in its backlog until accepted, even when closed since).</summary>
    private static int AcceptAll(TcpListener listener)
    {
        var count = 0;
        while (listener.Pending())
        {
            listener.AcceptTcpClient().Dispose();
            count++;
        }

        return count;
    }
}
