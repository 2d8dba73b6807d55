using System.Net;
using System.Net.Http.Headers;
using System.Text;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Detection.Webhooks;
using ChatOpsPull.Incidents;
using static ChatOpsPull.Tests.Alerts.WebhookCalls;

namespace ChatOpsPull.Tests.Alerts;

/// <summary>POST /alerts, the generic shape, behind an HMAC signature.</summary>
[Collection(AlertmanagerTests.Name)]
public sealed class GenericWebhookTests
{
    private readonly AlertmanagerFixture _fixture;

    public GenericWebhookTests(AlertmanagerFixture fixture)
    {
        _fixture = fixture;
    }

    private RecordingPullFailureSink Sink => _fixture.Bot.Sink;

    [Fact]
    public async Task Signed_single_alert_is_reported_with_every_field()
    {
        const string body = """
            {
              "status": "firing",
              "cluster": "prod-eu",
              "namespace": "generic-single",
              "pod": "api-7d9c-abcde",
              "container": "migrate",
              "containerKind": "init",
              "image": "registry.example.com/shop/api:1.4.2",
              "reason": "ErrImagePull",
              "message": "rpc error: code = NotFound desc = failed to pull and unpack image \"registry.example.com/shop/api:1.4.2\": not found",
              "workload": { "kind": "Deployment", "name": "api" },
              "node": "worker-3",
              "observedAt": "2026-03-01T10:15:00Z"
            }
            """;
        using var client = _fixture.Bot.CreateClient();

        using var response = await client.SendAsync(SignedGenericRequest(body));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var failure = Assert.Single(Sink.Reports("generic-single"));
        Assert.Equal(FailureSource.Webhook, failure.Source);
        Assert.Equal("prod-eu", failure.Cluster);
        Assert.Equal("api-7d9c-abcde", failure.Pod);
        Assert.Equal("migrate", failure.Container);
        Assert.Equal(ContainerKind.Init, failure.ContainerKind);
        Assert.Equal("registry.example.com/shop/api:1.4.2", failure.Image);
        Assert.Equal("ErrImagePull", failure.Reason);
        Assert.Contains("not found", failure.Message, StringComparison.Ordinal);
        Assert.Equal(new WorkloadRef("Deployment", "api"), failure.Workload);
        Assert.Equal("worker-3", failure.NodeName);
        Assert.Equal(new DateTimeOffset(2026, 3, 1, 10, 15, 0, TimeSpan.Zero), failure.ObservedAt);
    }

    [Fact]
    public async Task Signed_batch_reports_and_resolves_each_alert()
    {
        const string body = """
            [
              { "status": "firing", "namespace": "generic-batch", "pod": "web-0", "container": "web", "reason": "ImagePullBackOff" },
              { "status": "firing", "namespace": "generic-batch", "pod": "web-1", "container": "web", "reason": "ImagePullBackOff" },
              { "status": "resolved", "namespace": "generic-batch", "pod": "web-2" }
            ]
            """;
        using var client = _fixture.Bot.CreateClient();

        using var response = await client.SendAsync(SignedGenericRequest(body));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var receipt = await ReceiptAsync(response);
        Assert.Equal(3, receipt.GetProperty("alerts").GetInt32());
        Assert.Equal(2, receipt.GetProperty("reported").GetInt32());
        Assert.Equal(1, receipt.GetProperty("resolved").GetInt32());
        Assert.Equal(["web-0", "web-1"], Sink.Reports("generic-batch").Select(f => f.Pod).Order());
        Assert.All(Sink.Reports("generic-batch"), f => Assert.Equal("test-cluster", f.Cluster));
        Assert.Equal([new SinkResolve("test-cluster", "generic-batch", "web-2", null, PodResolution.AlertResolved)], Sink.Resolves("generic-batch"));
    }

    [Fact]
    public async Task Signature_with_the_wrong_secret_is_401_and_nothing_is_delivered()
    {
        var body = SingleFiring("generic-bad-signature");
        using var client = _fixture.Bot.CreateClient();

        using var response = await client.SendAsync(SignedGenericRequest(body, secret: "another-secret-0123456789abcdef"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Empty(Sink.Reports("generic-bad-signature"));
    }

    [Fact]
    public async Task Signature_of_another_body_is_401()
    {
        var signedBody = SingleFiring("generic-replayed");
        var sentBody = SingleFiring("generic-tampered");
        var now = DateTimeOffset.UtcNow;
        var signature = WebhookAuthentication.Sign(AlertmanagerFixture.HmacSecret, now.ToUnixTimeSeconds(), Encoding.UTF8.GetBytes(signedBody));
        using var client = _fixture.Bot.CreateClient();

        using var response = await client.SendAsync(SignedGenericRequest(sentBody, signedAt: now, signatureOverride: signature));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Empty(Sink.Reports("generic-tampered"));
    }

    [Theory]
    [InlineData(-301)]
    [InlineData(-3600)]
    [InlineData(310)] // the signed timestamp is whole seconds (up to 1 s earlier) and the request takes time: 301 s ahead could arrive inside the window
    public async Task Timestamp_outside_the_window_is_401_even_with_a_correct_signature(int offsetSeconds)
    {
        var ns = $"generic-stale-{Math.Abs(offsetSeconds)}{(offsetSeconds > 0 ? "f" : "p")}";
        using var client = _fixture.Bot.CreateClient();

        using var response = await client.SendAsync(SignedGenericRequest(SingleFiring(ns), signedAt: DateTimeOffset.UtcNow.AddSeconds(offsetSeconds)));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("300 seconds", (await ProblemAsync(response)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(Sink.Reports(ns));
    }

    [Theory]
    [InlineData("sha256=zz")]
    [InlineData("md5=0123")]
    [InlineData("sha256=0000000000000000000000000000000000000000000000000000000000000000")]
    public async Task Malformed_or_zero_signature_is_401(string signature)
    {
        var ns = $"generic-malformed-sig-{signature.Length}";
        using var client = _fixture.Bot.CreateClient();

        using var response = await client.SendAsync(SignedGenericRequest(SingleFiring(ns), signatureOverride: signature));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Empty(Sink.Reports(ns));
    }

    [Fact]
    public async Task Unsigned_request_is_401_even_with_a_bearer_token()
    {
        using var client = _fixture.Bot.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "alerts") { Content = new StringContent(SingleFiring("generic-unsigned"), Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AlertmanagerFixture.BearerToken);

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains(WebhookAuthentication.SignatureHeader, (await ProblemAsync(response)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(Sink.Reports("generic-unsigned"));
    }

    [Fact]
    public async Task Misspelt_field_is_400_naming_it()
    {
        const string body = """{ "status": "firing", "namepsace": "generic-typo", "pod": "web-0", "reason": "ErrImagePull" }""";
        using var client = _fixture.Bot.CreateClient();

        using var response = await client.SendAsync(SignedGenericRequest(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await ProblemAsync(response)).GetProperty("errors")[0];
        Assert.Contains("'namepsace'", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Batch_with_one_bad_alert_is_400_with_its_path_and_nothing_is_delivered()
    {
        const string body = """
            [
              { "status": "firing", "namespace": "generic-bad-batch", "pod": "web-0", "reason": "ErrImagePull" },
              { "status": "firing", "pod": "web-1", "reason": "ErrImagePull" },
              { "status": "firing", "namespace": "generic-bad-batch", "pod": "web-2", "reason": "CrashLoopBackOff" },
              { "status": "firing", "namespace": "generic-bad-batch", "pod": "web-3" },
              { "status": "gone", "namespace": "generic-bad-batch", "pod": "web-4", "reason": "ErrImagePull", "workload": { "kind": "deployment" } }
            ]
            """;
        using var client = _fixture.Bot.CreateClient();

        using var response = await client.SendAsync(SignedGenericRequest(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(
            ["$[1].namespace", "$[2].reason", "$[3].reason", "$[4].status", "$[4].workload.kind", "$[4].workload.name"],
            ErrorPaths(await ProblemAsync(response)));
        Assert.Empty(Sink.Reports("generic-bad-batch"));
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("null")]
    [InlineData("")]
    [InlineData("\"ImagePullBackOff\"")]
    [InlineData("{\"status\":\"firing\",")]
    public async Task Empty_or_malformed_body_is_400(string body)
    {
        using var client = _fixture.Bot.CreateClient();

        using var response = await client.SendAsync(SignedGenericRequest(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.NotEmpty(ErrorPaths(await ProblemAsync(response)));
    }

    [Fact]
    public async Task Oversize_batch_is_413()
    {
        var alerts = Enumerable.Range(0, 20_000).Select(i => $$"""{"status":"firing","namespace":"generic-oversize","pod":"web-{{i}}","reason":"ErrImagePull"}""");
        var body = "[" + string.Join(",", alerts) + "]";
        Assert.True(body.Length > 1024 * 1024);
        using var client = _fixture.Bot.CreateClient();

        using var response = await client.SendAsync(SignedGenericRequest(body));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Empty(Sink.Reports("generic-oversize"));
    }

    [Fact]
    public async Task Signature_made_with_openssl_as_the_readme_shows_is_accepted()
    {
        var body = SingleFiring("generic-openssl");
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var output = await Infrastructure.ExternalProcess.RunAsync("/bin/sh",
            ["-c", "printf '%s.%s' \"$TS\" \"$BODY\" | openssl dgst -sha256 -hmac \"$SECRET\" -hex | sed 's/^.* //'"],
            environment: new Dictionary<string, string> { ["TS"] = timestamp, ["BODY"] = body, ["SECRET"] = AlertmanagerFixture.HmacSecret });
        using var client = _fixture.Bot.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "alerts") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add(WebhookAuthentication.TimestampHeader, timestamp);
        request.Headers.Add(WebhookAuthentication.SignatureHeader, "sha256=" + output.Trim());

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(Sink.Reports("generic-openssl"));
    }

    private static string SingleFiring(string ns) =>
        $$"""{"status":"firing","namespace":"{{ns}}","pod":"web-0","container":"web","reason":"ImagePullBackOff"}""";
}
