using System.Net;
using System.Text.Json.Nodes;
using ChatOpsPull.Chat.Slack;
using ChatOpsPull.Tests.Kubernetes;
using ChatOpsPull.Simulation.KubernetesApi;
using ChatOpsPull.Tests.Slack;
using ChatOpsPull.Tests.Slack.FakeSlack;

namespace ChatOpsPull.Tests.Commands;

/// <summary><c>diagnose ns/pod</c> through Slack against the in-process Kubernetes API: acknowledged at once, answered through response_url.</summary>
public sealed class DiagnoseCommandTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("chatopspull-diagnose-cmd-").FullName;
    private FakeKubernetesApi _api = null!;
    private FakeSlackServer _slack = null!;
    private SlackTestHost _host = null!;

    public async Task InitializeAsync()
    {
        _api = await FakeKubernetesApi.StartAsync();
        KubeFixtures.SeedWebWorkload(_api);
        var pod = _api.Seed(KubeFixtures.WebPod("web-6b9f7c5d8-x7kq2"));
        _api.SetContainerWaiting("shop", "web-6b9f7c5d8-x7kq2", "web", "ImagePullBackOff", "Back-off pulling image \"registry.example.com/shop/web:1.4.3-typo\"");
        _api.Seed(KubeFixtures.FailedEventFor(pod));
        _api.Seed(KubeFixtures.WebPod("web-6b9f7c5d8-fine1"));
        _api.MarkPodsReady("shop", "app=web,pod-template-hash=6b9f7c5d8");
        _api.SetContainerWaiting("shop", "web-6b9f7c5d8-x7kq2", "web", "ImagePullBackOff", "Back-off pulling image \"registry.example.com/shop/web:1.4.3-typo\"");
        _slack = await FakeSlackServer.StartAsync();
        _host = SlackTestHost.Start(_slack, new Dictionary<string, string?>
        {
            // No inline answer: every command is acknowledged with "Working on it…" and answered through response_url.
            ["Slack:InlineReplyBudget"] = "00:00:00",
            ["Bot:Cluster"] = CommandTestKit.Cluster,
            ["Kubernetes:KubeconfigPath"] = _api.WriteKubeconfig(_directory, contextNamespace: "shop"),
            ["Kubernetes:WatchEnabled"] = "false",
        });

        // Warm the running bot (first-request JIT of the signed-command path) so the 3-second check below measures the
        // acknowledgement of a running bot, not the cold start of the test host on a shared machine.
        var before = _slack.CallsTo("response_url").Count;
        using var warmUp = await _host.PostCommandAsync(SlackCommandEndpointTests.Form("help", _slack.NewResponseUrl()));
        Assert.Equal(HttpStatusCode.OK, warmUp.StatusCode);
        await _slack.WaitUntilAsync(calls => calls.Count(c => c.Method == "response_url") > before, TimeSpan.FromSeconds(30), "the warm-up help");
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _slack.DisposeAsync();
        await _api.DisposeAsync();
        SlackTestHost.DeleteDirectory(_host.DataDirectory);
        SlackTestHost.DeleteDirectory(_directory);
    }

    private async Task<JsonObject> AskAsync(string text)
    {
        var before = _slack.CallsTo("response_url").Count;
        var started = DateTime.UtcNow;
        using var response = await _host.PostCommandAsync(SlackCommandEndpointTests.Form(text, _slack.NewResponseUrl()));
        var acknowledged = DateTime.UtcNow - started;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(acknowledged < TimeSpan.FromSeconds(3), $"acknowledged after {acknowledged}: Slack waits 3 seconds");
        Assert.Equal(SlackInbound.WorkingOnIt, JsonNode.Parse(await response.Content.ReadAsStringAsync())!["text"]!.GetValue<string>());
        await _slack.WaitUntilAsync(calls => calls.Count(c => c.Method == "response_url") > before, TimeSpan.FromSeconds(30), "the diagnosis follow-up");
        var followUp = _slack.CallsTo("response_url")[before];
        Assert.True(followUp.Ok, followUp.Error);
        Assert.Equal("ephemeral", followUp.Body["response_type"]!.GetValue<string>());
        return followUp.Body;
    }

    [Fact]
    public async Task Failing_pod_is_diagnosed_now_with_cluster_evidence_as_an_ephemeral_card()
    {
        var answer = await AskAsync("diagnose shop/web-6b9f7c5d8-x7kq2");

        Assert.Empty(BlockKitRules.Check(answer));
        var texts = CommandTestKit.BlockTexts(answer);
        Assert.Contains("Image or tag not found: shop/web-6b9f7c5d8-x7kq2", texts, StringComparison.Ordinal);
        Assert.Contains("deployment/web", texts, StringComparison.Ordinal);
        Assert.Contains("image_not_found", texts, StringComparison.Ordinal);
        Assert.Contains("secret regcred does not exist in namespace shop", texts, StringComparison.Ordinal);
        Assert.Contains("DiskPressure is True", texts, StringComparison.Ordinal);
        Assert.Contains("registry.example.com/shop/web:1.4.3-typo: not found", texts, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Healthy_and_missing_pods_get_a_plain_answer()
    {
        var healthy = await AskAsync("diagnose shop/web-6b9f7c5d8-fine1");
        var missing = await AskAsync("diagnose shop/web-gone-12345");

        Assert.StartsWith("Pod shop/web-6b9f7c5d8-fine1 is not failing to pull an image (phase ", healthy["text"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("I cannot diagnose shop/web-gone-12345: pod shop/web-gone-12345 does not exist (any more).", missing["text"]!.GetValue<string>());
    }
}
