using System.Net;
using System.Net.Http.Headers;
using System.Text;
using ChatOpsPull.Detection.Webhooks;
using ChatOpsPull.Detection.Webhooks.Inbox;
using ChatOpsPull.Incidents;
using static ChatOpsPull.Tests.Alerts.WebhookCalls;

namespace ChatOpsPull.Tests.Alerts;

/// <summary>POST /alerts/alertmanager sent to directly: hostile and edge-case input, each answered clearly and changing nothing.</summary>
[Collection(AlertmanagerTests.Name)]
public sealed class AlertmanagerEndpointTests
{
    private readonly AlertmanagerFixture _fixture;

    public AlertmanagerEndpointTests(AlertmanagerFixture fixture)
    {
        _fixture = fixture;
    }

    private RecordingPullFailureSink Sink => _fixture.Bot.Sink;

    [Fact]
    public async Task Valid_message_with_the_token_is_accepted_and_reported()
    {
        const string ns = "direct-valid";
        using var client = _fixture.Bot.CreateClient();
        var body = Message(Alert("firing", PullLabels(ns, "api-1")), Alert("firing", PullLabels(ns, "api-2", reason: "ErrImagePull"))).ToJsonString();

        using var response = await client.SendAsync(AlertmanagerRequest(body));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var receipt = await ReceiptAsync(response);
        Assert.Equal(2, receipt.GetProperty("alerts").GetInt32());
        Assert.Equal(2, receipt.GetProperty("reported").GetInt32());
        Assert.Equal(["api-1", "api-2"], Sink.Reports(ns).Select(f => f.Pod).Order());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-token-0123456789abcdef")]
    [InlineData("test-bearer-token-0123456789abcdeF")]
    [InlineData("")]
    public async Task Missing_or_wrong_token_is_401_and_nothing_is_delivered(string? token)
    {
        var ns = $"direct-token-{(token ?? "none").Length}";
        using var client = _fixture.Bot.CreateClient();
        var body = Message(Alert("firing", PullLabels(ns, "api-1"))).ToJsonString();
        using var request = AlertmanagerRequest(body, token: null);
        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", $"Bearer {token}");
        }

        var refusedBefore = _fixture.Bot.Counts.Alertmanager.Rejected(RejectionReason.Unauthorized);
        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(refusedBefore + 1, _fixture.Bot.Counts.Alertmanager.Rejected(RejectionReason.Unauthorized));
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
        var problem = await ProblemAsync(response);
        Assert.Equal(401, problem.GetProperty("status").GetInt32());
        Assert.DoesNotContain(AlertmanagerFixture.BearerToken, problem.ToString(), StringComparison.Ordinal);
        Assert.Empty(Sink.Reports(ns));
    }

    [Fact]
    public async Task Basic_credentials_are_401()
    {
        const string ns = "direct-basic";
        using var client = _fixture.Bot.CreateClient();
        using var request = AlertmanagerRequest(Message(Alert("firing", PullLabels(ns, "api-1"))).ToJsonString(), token: null);
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("alertmanager:" + AlertmanagerFixture.BearerToken)));

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("Bearer", (await ProblemAsync(response)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(Sink.Reports(ns));
    }

    [Fact]
    public async Task Malformed_json_is_400_saying_where()
    {
        using var client = _fixture.Bot.CreateClient();
        using var response = await client.SendAsync(AlertmanagerRequest("{\"version\":\"4\",\"alerts\":[{\"status\":\"firing\",\"labels\":{\"namespace\" \"x\"}}]}"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await ProblemAsync(response);
        var error = problem.GetProperty("errors")[0];
        Assert.Equal("$.alerts[0].labels", error.GetProperty("path").GetString());
        Assert.StartsWith("malformed JSON", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("line 1", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"3\"")]
    [InlineData("null")]
    public async Task Other_payload_version_is_400_naming_the_version_field(string version)
    {
        const string ns = "direct-version";
        using var client = _fixture.Bot.CreateClient();
        var message = Message(Alert("firing", PullLabels(ns, "api-1")));
        message["version"] = System.Text.Json.Nodes.JsonNode.Parse(version);

        using var response = await client.SendAsync(AlertmanagerRequest(message.ToJsonString()));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(["$.version"], ErrorPaths(await ProblemAsync(response)));
        Assert.Empty(Sink.Reports(ns));
    }

    [Fact]
    public async Task Pull_alert_without_namespace_label_is_400_and_no_alert_of_the_message_is_delivered()
    {
        const string ns = "direct-missing-label";
        using var client = _fixture.Bot.CreateClient();
        var noNamespace = PullLabels(ns, "api-2");
        noNamespace.Remove("namespace");
        var noPod = PullLabels(ns, "api-3");
        noPod.Remove("pod");
        var body = Message(Alert("firing", PullLabels(ns, "api-1")), Alert("firing", noNamespace), Alert("firing", noPod)).ToJsonString();

        using var response = await client.SendAsync(AlertmanagerRequest(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(["$.alerts[1].labels.namespace", "$.alerts[2].labels.pod"], ErrorPaths(await ProblemAsync(response)));
        Assert.Empty(Sink.Reports(ns));
    }

    [Fact]
    public async Task Alert_with_unknown_status_or_no_labels_is_400()
    {
        const string ns = "direct-status";
        using var client = _fixture.Bot.CreateClient();
        var message = Message(Alert("firing", PullLabels(ns, "api-1")), Alert("pending", PullLabels(ns, "api-2")), Alert("firing", PullLabels(ns, "api-3")));
        message["alerts"]![2]!.AsObject().Remove("labels");

        using var response = await client.SendAsync(AlertmanagerRequest(message.ToJsonString()));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(["$.alerts[1].status", "$.alerts[2].labels"], ErrorPaths(await ProblemAsync(response)));
        Assert.Empty(Sink.Reports(ns));
    }

    [Fact]
    public async Task Label_that_is_not_a_kubernetes_name_is_400()
    {
        const string ns = "direct-bad-name";
        using var client = _fixture.Bot.CreateClient();
        var labels = PullLabels(ns, "API_Pod/../x");
        using var response = await client.SendAsync(AlertmanagerRequest(Message(Alert("firing", labels)).ToJsonString()));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(["$.alerts[0].labels.pod"], ErrorPaths(await ProblemAsync(response)));
        Assert.Empty(Sink.Reports(ns));
    }

    [Fact]
    public async Task Label_value_of_the_wrong_json_type_is_400_with_its_path()
    {
        using var client = _fixture.Bot.CreateClient();
        var body = "{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[{\"status\":\"firing\",\"labels\":{\"namespace\":\"direct-type\",\"pod\":42}}]}";

        using var response = await client.SendAsync(AlertmanagerRequest(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await ProblemAsync(response)).GetProperty("errors")[0];
        Assert.Equal("$.alerts[0].labels.pod", error.GetProperty("path").GetString());
        Assert.DoesNotContain("System.", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("application/json; charset=utf-16")]
    public async Task Wrong_content_type_is_415_and_nothing_is_delivered(string contentType)
    {
        const string ns = "direct-content-type";
        using var client = _fixture.Bot.CreateClient();
        var body = Message(Alert("firing", PullLabels(ns, "api-1"))).ToJsonString();

        using var response = await client.SendAsync(AlertmanagerRequest(body, contentType: contentType));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal(415, (await ProblemAsync(response)).GetProperty("status").GetInt32());
        Assert.Empty(Sink.Reports(ns));
    }

    [Fact]
    public async Task Missing_content_type_is_415()
    {
        using var client = _fixture.Bot.CreateClient();
        using var request = AlertmanagerRequest("{}");
        request.Content!.Headers.ContentType = null;

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    [Fact]
    public async Task Body_declared_larger_than_the_limit_is_413_and_nothing_is_delivered()
    {
        const string ns = "direct-oversize";
        using var client = _fixture.Bot.CreateClient();
        var body = OversizeMessage(ns);

        using var response = await client.SendAsync(AlertmanagerRequest(body));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("1048576", (await ProblemAsync(response)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(Sink.Reports(ns));
    }

    [Fact]
    public async Task Chunked_body_that_grows_past_the_limit_is_413_and_nothing_is_delivered()
    {
        const string ns = "direct-oversize-chunked";
        using var client = _fixture.Bot.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "alerts/alertmanager")
        {
            Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(OversizeMessage(ns)))),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.TransferEncodingChunked = true;
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AlertmanagerFixture.BearerToken);

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Empty(Sink.Reports(ns));
    }

    [Fact]
    public async Task Same_message_sent_twice_is_reported_once()
    {
        const string ns = "direct-resend";
        using var client = _fixture.Bot.CreateClient();
        var body = Message(Alert("firing", PullLabels(ns, "api-1")), Alert("firing", PullLabels(ns, "api-2"))).ToJsonString();

        using var first = await client.SendAsync(AlertmanagerRequest(body));
        using var second = await client.SendAsync(AlertmanagerRequest(body));

        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        var receipt = await ReceiptAsync(second);
        Assert.Equal(0, receipt.GetProperty("reported").GetInt32());
        Assert.Equal(2, receipt.GetProperty("duplicates").GetInt32());
        Assert.Equal(2, Sink.Reports(ns).Count);
    }

    [Fact]
    public async Task Refired_alert_with_a_new_start_is_reported_again()
    {
        const string ns = "direct-refire";
        using var client = _fixture.Bot.CreateClient();
        var labels = PullLabels(ns, "api-1");
        var start = DateTimeOffset.UtcNow.AddHours(-2);

        using var fired = await client.SendAsync(AlertmanagerRequest(Message(Alert("firing", labels, fingerprint: "aaaa000000000001", startsAt: start)).ToJsonString()));
        using var resolved = await client.SendAsync(AlertmanagerRequest(Message(Alert("resolved", labels, fingerprint: "aaaa000000000001", startsAt: start)).ToJsonString()));
        using var refired = await client.SendAsync(AlertmanagerRequest(Message(Alert("firing", labels, fingerprint: "aaaa000000000001", startsAt: start.AddHours(1))).ToJsonString()));

        Assert.Equal(2, Sink.Reports(ns).Count);
        Assert.Single(Sink.Resolves(ns));
    }

    [Fact]
    public async Task Resolve_for_a_container_that_still_fires_in_the_same_message_is_not_delivered()
    {
        const string ns = "direct-flip";
        using var client = _fixture.Bot.CreateClient();
        // kube-state-metrics has one series per reason: ErrImagePull resolves while ImagePullBackOff fires.
        var body = Message(
            Alert("resolved", PullLabels(ns, "api-1", reason: "ErrImagePull")),
            Alert("firing", PullLabels(ns, "api-1", reason: "ImagePullBackOff")),
            Alert("resolved", PullLabels(ns, "api-2", reason: "ErrImagePull"))).ToJsonString();

        using var response = await client.SendAsync(AlertmanagerRequest(body));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["api-1"], Sink.Reports(ns).Select(f => f.Pod));
        Assert.Equal([new SinkResolve("test-cluster", ns, "api-2", "app", PodResolution.AlertResolved)], Sink.Resolves(ns));
    }

    [Fact]
    public async Task When_the_incident_engine_fails_the_alerts_are_still_accepted_wait_in_the_inbox_and_reach_it_when_it_recovers()
    {
        // 503 is for a store that cannot take the alerts (the fault tests stop PostgreSQL and fill SQLite's disk); an
        // engine that cannot apply them leaves them in the inbox, stored, and the drain tries again.
        const string ns = "direct-sink-down";
        using var client = new HttpClient { BaseAddress = _fixture.Bot.BaseAddress };
        var body = Message(Alert("firing", PullLabels(ns, "api-1")), Alert("firing", PullLabels(ns, "api-2"))).ToJsonString();
        var inbox = _fixture.Bot.Get<AlertInbox>();

        Sink.Failing = true;
        try
        {
            using var accepted = await client.SendAsync(AlertmanagerRequest(body));
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
            Assert.True(await inbox.CountAsync() >= 1);
            Assert.Empty(Sink.Reports(ns));
        }
        finally
        {
            Sink.Failing = false;
        }

        await Eventually.ValueAsync(() => inbox.CountAsync(), rows => rows == 0, "the inbox to be applied once the engine is back");
        Assert.Equal(["api-1", "api-2"], Sink.Reports(ns).Select(f => f.Pod).Distinct().Order());
    }

    [Fact]
    public async Task Refused_requests_leave_nothing_in_the_inbox_and_the_valid_message_after_them_is_all_the_engine_hears()
    {
        const string ns = "direct-refused-store-nothing";
        using var client = _fixture.Bot.CreateClient();
        var valid = Message(Alert("firing", PullLabels(ns, "api-ok"))).ToJsonString();
        var wrongShape = Message(Alert("firing", PullLabels(ns, "api-shape"))).ToJsonString().Replace("\"labels\":{", "\"labels\":{\"tier\":[1],", StringComparison.Ordinal);
        (HttpRequestMessage Request, HttpStatusCode Status)[] refused =
        [
            (AlertmanagerRequest(Message(Alert("firing", PullLabels(ns, "api-malformed"))).ToJsonString()[..^2]), HttpStatusCode.BadRequest),
            (AlertmanagerRequest(wrongShape), HttpStatusCode.BadRequest),
            (AlertmanagerRequest(OversizeMessage(ns)), HttpStatusCode.RequestEntityTooLarge),
            (AlertmanagerRequest(Message(Alert("firing", PullLabels(ns, "api-no-token"))).ToJsonString(), token: null), HttpStatusCode.Unauthorized),
            (AlertmanagerRequest(Message(Alert("firing", PullLabels(ns, "api-wrong-token"))).ToJsonString(), token: "wrong-token-0123456789abcdef"), HttpStatusCode.Unauthorized),
        ];

        foreach (var (request, status) in refused)
        {
            using (request)
            {
                using var response = await client.SendAsync(request);
                Assert.Equal(status, response.StatusCode);
            }

            var subjects = await _fixture.Bot.Get<AlertInbox>().OldestAsync(1000, alertsOfEveryRow: false, CancellationToken.None);
            Assert.DoesNotContain(subjects, row => row.Subject?.Contains($"/{ns}/", StringComparison.Ordinal) == true);
        }

        // The client waits until the inbox is applied after a 200: whatever a refused request had stored would be applied by then.
        using var accepted = await client.SendAsync(AlertmanagerRequest(valid));
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal(["api-ok"], Sink.Reports(ns).Select(f => f.Pod));
    }

    [Fact]
    public async Task Get_is_405()
    {
        using var client = _fixture.Bot.CreateClient();
        using var response = await client.GetAsync(new Uri("alerts/alertmanager", UriKind.Relative));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
    }

    private static string OversizeMessage(string ns)
    {
        var message = Message(Alert("firing", PullLabels(ns, "api-1"), description: new string('x', 1024 * 1024)));
        return message.ToJsonString();
    }
}
