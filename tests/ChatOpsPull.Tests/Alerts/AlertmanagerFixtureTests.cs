using System.Net;

namespace ChatOpsPull.Tests.Alerts;

/// <summary>A bot whose webhooks take a bearer token (the generic one a signature as well); nothing else shares it.</summary>
public sealed class TokenBot : IAsyncLifetime
{
    public BotOnKestrel Bot { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Bot = await BotOnKestrel.StartAsync(new Dictionary<string, string>
        {
            ["Alerts:Alertmanager:BearerToken"] = AlertmanagerFixture.BearerToken,
            ["Alerts:Generic:BearerToken"] = AlertmanagerFixture.BearerToken,
            ["Alerts:Generic:HmacSecret"] = AlertmanagerFixture.HmacSecret,
        });

    public async Task DisposeAsync() => await Bot.DisposeAsync();
}

/// <summary>Real payloads from tests/fixtures/alertmanager (see its README for where each comes from).</summary>
public sealed class AlertmanagerFixtureTests : IClassFixture<TokenBot>
{
    private readonly BotOnKestrel _bot;

    public AlertmanagerFixtureTests(TokenBot fixture)
    {
        _bot = fixture.Bot;
    }

    [Theory]
    [InlineData("captured-kubecontainerwaiting-firing.json", "shop-firing", 1, 0, 0)]
    [InlineData("captured-kubecontainerwaiting-resolved.json", "shop-resolved", 0, 1, 0)]
    [InlineData("kube-prometheus-group-firing.json", "shop", 2, 0, 2)]
    [InlineData("kube-prometheus-watchdog.json", null, 0, 0, 1)]
    [InlineData("kubecontainerwaiting-reason-flip.json", "payments", 1, 0, 1)]
    public async Task Fixture_payload_is_taken_as_expected(string file, string? ns, int reported, int resolved, int ignored)
    {
        var body = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "fixtures", "alertmanager", file));
        using var client = _bot.CreateClient();

        using var response = await client.SendAsync(WebhookCalls.AlertmanagerRequest(body));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var receipt = await WebhookCalls.ReceiptAsync(response);
        Assert.Equal(reported, receipt.GetProperty("reported").GetInt32());
        Assert.Equal(resolved, receipt.GetProperty("resolved").GetInt32());
        Assert.Equal(ignored, receipt.GetProperty("ignored").GetInt32());
        if (ns is not null)
        {
            Assert.Equal(reported, _bot.Sink.Reports(ns).Count);
            Assert.Equal(resolved, _bot.Sink.Resolves(ns).Count);
        }
    }

    [Fact]
    public async Task Kube_prometheus_group_becomes_failures_with_cluster_reason_and_description()
    {
        var body = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "fixtures", "alertmanager", "kube-prometheus-group-firing.json"));
        body = body.Replace("\"namespace\": \"shop\"", "\"namespace\": \"shop-detail\"", StringComparison.Ordinal)
            .Replace("8e3a1f0c5d2b7e64", "8e3a1f0c5d2b7e65", StringComparison.Ordinal)
            .Replace("2c4e6a8b0d1f3579", "2c4e6a8b0d1f357a", StringComparison.Ordinal);
        using var client = _bot.CreateClient();

        using var response = await client.SendAsync(WebhookCalls.AlertmanagerRequest(body));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var failures = _bot.Sink.Reports("shop-detail").OrderBy(f => f.Pod, StringComparer.Ordinal).ToList();
        Assert.Equal(2, failures.Count);
        Assert.Equal(("api-7d9c5b8f6-x2x8q", "api", "ImagePullBackOff", "prod-eu"), (failures[0].Pod, failures[0].Container, failures[0].Reason, failures[0].Cluster));
        Assert.Equal(("worker-5f6b7c9d8-m4k2p", "worker", "ErrImagePull"), (failures[1].Pod, failures[1].Container, failures[1].Reason));
        Assert.StartsWith("pod/api-7d9c5b8f6-x2x8q in namespace shop", failures[0].Message, StringComparison.Ordinal);
        Assert.Equal(new DateTimeOffset(2026, 3, 2, 8, 14, 3, 512, TimeSpan.Zero), failures[0].ObservedAt);
        Assert.All(failures, f => Assert.Equal(string.Empty, f.Image));
        Assert.Empty(_bot.Sink.Resolves("shop-detail"));
    }
}
