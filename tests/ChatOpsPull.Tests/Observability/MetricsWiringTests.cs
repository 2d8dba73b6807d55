using System.Net;
using System.Net.Http.Headers;
using System.Text;
using ChatOpsPull.Chat;
using ChatOpsPull.Chat.Slack;
using ChatOpsPull.Incidents;
using ChatOpsPull.Tests.Incidents;
using ChatOpsPull.Tests.Slack;
using ChatOpsPull.Tests.Slack.FakeSlack;
using ChatOpsPull.Tests.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace ChatOpsPull.Tests.Observability;

/// <summary>
/// Each event the bot counts shows up at <c>/metrics</c> after it happens in the real host: a failure through the generic
/// webhook, the incident engine and the diagnose job on Hangfire; refusals at each endpoint; chat sends and a 429 from the
/// fake Slack. Meters of every host in this test process feed one Prometheus registry, so each test compares the counter
/// before and after (counters only grow, and only when the counting code runs).
/// </summary>
public sealed class MetricsWiringTests : IAsyncLifetime
{
    private const string WebhookToken = "metrics-test-webhook-token-0123456789";
    private FakeSlackServer _slack = null!;
    private TestStorage _storage = null!;
    private BotTestHost _host = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _slack = await FakeSlackServer.StartAsync();
        _storage = TestStorage.Sqlite();
        _host = new BotTestHost(_storage, new()
        {
            ["Alerts:Generic:BearerToken"] = WebhookToken,
            ["Slack:SigningSecret"] = SlackTestHost.SigningSecret,
            ["Slack:BotToken"] = FakeSlackServer.BotToken,
            ["Slack:ApiBaseUrl"] = _slack.ApiUrl.ToString(),
            ["Outbox:MessageInterval"] = "00:00:00.050",
            ["Outbox:PollInterval"] = "00:00:00.100",
            ["Jobs:SqlitePollInterval"] = "00:00:00.100",
        });
        _client = _host.CreateClient();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _host.DisposeAsync();
        _storage.Dispose();
        await _slack.DisposeAsync();
    }

    [Fact]
    public async Task A_failure_is_counted_from_report_through_diagnosis_to_resolve()
    {
        var before = await PrometheusScrape.TakeAsync(_client);
        using (var firing = await PostAlertAsync("""{"status":"firing","namespace":"shop","pod":"api-7d9c-abcde","container":"api","reason":"ErrImagePull","image":"registry.example.com/shop/api:1.4.3","workload":{"kind":"Deployment","name":"api"},"message":"Failed to pull image \"registry.example.com/shop/api:1.4.3\": rpc error: code = NotFound desc = failed to pull and unpack image \"registry.example.com/shop/api:1.4.3\": failed to resolve reference \"registry.example.com/shop/api:1.4.3\": registry.example.com/shop/api:1.4.3: not found"}"""))
        {
            Assert.Equal(HttpStatusCode.OK, firing.StatusCode);
        }

        var store = _host.Services.GetRequiredService<IncidentStore>();
        await Eventually.ValueAsync(() => store.ListOpenAsync(), open => open.Count == 1 && open[0].Diagnosis is not null, "the incident to be diagnosed");
        var diagnosed = await EventuallyGrownAsync(before, s => s.Value("chatopspull_jobs", ("kind", "diagnose"), ("state", "succeeded")), "the diagnose job to count as succeeded");

        Assert.True(Grew(before, diagnosed, "chatopspull_pull_failures_seen", ("source", "webhook")), "failures seen from the webhook");
        Assert.True(Grew(before, diagnosed, "chatopspull_incidents", ("event", "opened")), "incidents opened");
        Assert.True(Grew(before, diagnosed, "chatopspull_diagnoses", ("cause", "image_not_found")), "diagnoses by cause");
        Assert.True(Grew(before, diagnosed, "chatopspull_jobs", ("kind", "diagnose"), ("state", "started")), "diagnose jobs started");

        // The incident write ran through a registered Polly pipeline (telemetry on): its per-execution durations are not
        // published (PublishedInstruments), so recording them cost the write nothing.
        Assert.DoesNotContain("resilience_polly_pipeline_duration", diagnosed.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("resilience_polly_strategy_attempt_duration", diagnosed.Text, StringComparison.Ordinal);

        using (var resolved = await PostAlertAsync("""{"status":"resolved","namespace":"shop","pod":"api-7d9c-abcde","container":"api"}"""))
        {
            Assert.Equal(HttpStatusCode.OK, resolved.StatusCode);
        }

        await EventuallyGrownAsync(diagnosed, s => s.Value("chatopspull_incidents", ("event", "resolved")), "the incident to count as resolved");
    }

    [Fact]
    public async Task Refused_requests_are_counted_by_endpoint_and_reason()
    {
        var before = await PrometheusScrape.TakeAsync(_client);

        using var wrongToken = new HttpRequestMessage(HttpMethod.Post, new Uri("/alerts", UriKind.Relative)) { Content = Json("{}") };
        wrongToken.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "not-the-token-not-the-token");
        using (var response = await _client.SendAsync(wrongToken))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        using (var response = await _client.PostAsync(new Uri("/slack/commands", UriKind.Relative), new StringContent("command=%2Fpullbot", Encoding.UTF8, "application/x-www-form-urlencoded")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        using (var response = await _client.PostAsync(new Uri("/api/messages", UriKind.Relative), Json("{}")))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode); // Teams is not configured in this host
        }

        using (var response = await _client.GetAsync(new Uri("/no/such/page", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        var after = await PrometheusScrape.TakeAsync(_client);
        Assert.True(Grew(before, after, "chatopspull_rejected_requests", ("endpoint", "webhook"), ("reason", "unauthorized")), "webhook/unauthorized:\n" + after);
        Assert.True(Grew(before, after, "chatopspull_rejected_requests", ("endpoint", "slack"), ("reason", "unauthorized")), "slack/unauthorized");
        Assert.True(Grew(before, after, "chatopspull_rejected_requests", ("endpoint", "teams"), ("reason", "unavailable")), "teams/unavailable");
        Assert.True(Grew(before, after, "chatopspull_rejected_requests", ("endpoint", "other"), ("reason", "not_found")), "other/not_found");
    }

    [Fact]
    public async Task Chat_sends_and_rate_limits_from_the_platform_are_counted()
    {
        const string channel = "C0METRICS1";
        var before = await PrometheusScrape.TakeAsync(_client);
        _slack.RateLimitNext(channel, 1);

        var surface = _host.Services.GetServices<IChatSurface>().Single(s => s.Platform == ChatPlatform.Slack);
        await surface.PublishAsync(channel, SampleCards.Incident("inc-metrics-1"), CancellationToken.None);
        await _slack.WaitUntilAsync(calls => calls.Any(c => c.Channel == channel && c.Ok), TimeSpan.FromSeconds(30), "the card posted after the 429");

        var after = await EventuallyGrownAsync(before, s => s.Value("chatopspull_chat_sends", ("platform", "slack"), ("outcome", "delivered")), "a delivered Slack send");
        Assert.True(Grew(before, after, "chatopspull_chat_throttled", ("platform", "slack")), "Slack 429s");
        Assert.True(Grew(before, after, "chatopspull_chat_sends", ("platform", "slack"), ("outcome", "retry")), "Slack sends to retry");
    }

    private static bool Grew(PrometheusScrape before, PrometheusScrape after, string metric, params (string, string)[] labels) =>
        after.Value(metric, labels) > before.Value(metric, labels);

    private async Task<PrometheusScrape> EventuallyGrownAsync(PrometheusScrape before, Func<PrometheusScrape, double> read, string what)
    {
        var start = read(before);
        return await Eventually.ValueAsync(() => PrometheusScrape.TakeAsync(_client), s => read(s) > start, what);
    }

    private async Task<HttpResponseMessage> PostAlertAsync(string json)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/alerts", UriKind.Relative)) { Content = Json(json) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", WebhookToken);
        return await _client.SendAsync(request);
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}
