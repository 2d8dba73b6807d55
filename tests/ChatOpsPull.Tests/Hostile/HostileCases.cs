using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using ChatOpsPull.Tests.Teams;
using ChatOpsPull.Tests.Teams.FakeConnector;

namespace ChatOpsPull.Tests.Hostile;

/// <summary>One hostile request and the answer it must get: the status and a phrase of the body.</summary>
public sealed record HostileCase(string Name, string Endpoint, Func<HostileFixture, HttpRequestMessage> Request, int Status, string Answer)
{
    public override string ToString() => Name;
}

/// <summary>
/// The table of hostile requests: every one is refused, says why, and changes nothing. Slack and webhook requests are
/// signed here independently of the bot's code; Teams tokens come from the Bot Connector stand-in.
/// </summary>
public static class HostileCases
{
    private const string Form = "application/x-www-form-urlencoded";
    private const string Json = "application/json";

    public static IReadOnlyList<HostileCase> All { get; } =
    [
        // ---- Slack: /slack/commands, /slack/interactions, /slack/events ----
        new("slack-unsigned", "/slack/commands", f => Slack("/slack/commands", Command("status"), Form, timestamp: null, signature: null), 401, "X-Slack-Signature or X-Slack-Request-Timestamp is missing"),
        new("slack-forged-signature", "/slack/commands", f => Slack("/slack/commands", Command("status"), Form, secret: "not-the-signing-secret"), 401, "the signature does not match"),
        new("slack-stale-timestamp", "/slack/commands", f => Slack("/slack/commands", Command("status"), Form, timestamp: Seconds(-360)), 401, "more than 5 minutes away from now"),
        new("slack-future-timestamp", "/slack/commands", f => Slack("/slack/commands", Command("status"), Form, timestamp: Seconds(+360)), 401, "more than 5 minutes away from now"),
        new("slack-timestamp-not-a-number", "/slack/commands", f => Slack("/slack/commands", Command("status"), Form, timestamp: "1.7e9"), 401, "not a Unix time in seconds"),
        new("slack-body-changed-after-signing", "/slack/commands", f => Slack("/slack/commands", Command("status"), Form, signedBody: Command("help")), 401, "the signature does not match"),
        new("slack-wrong-signature-version", "/slack/commands", f => Slack("/slack/commands", Command("status"), Form, signature: "v1=" + new string('0', 64)), 401, "the signature does not match"),
        new("slack-oversize-body", "/slack/commands", f => Slack("/slack/commands", Command(new string('a', 300 * 1024)), Form), 413, "larger than 256 KiB"),
        new("slack-json-to-form-endpoint", "/slack/commands", f => Slack("/slack/commands", Utf8("""{"command":"/pullbot"}"""), Json), 415, "Expected a application/x-www-form-urlencoded body"),
        new("slack-invalid-percent-encoding", "/slack/commands", f => Slack("/slack/commands", Utf8("command=%2Fpullbot&text=%zz"), Form), 400, "not valid percent-encoded UTF-8"),
        new("slack-truncated-percent-escape", "/slack/commands", f => Slack("/slack/commands", Utf8("command=%2Fpullbot&text=%4"), Form), 400, "not valid percent-encoded UTF-8"),
        new("slack-overlong-utf8", "/slack/commands", f => Slack("/slack/commands", Utf8("command=%2Fpullbot&text=%C0%AF..%C0%AFetc"), Form), 400, "not valid percent-encoded UTF-8"),
        new("slack-invalid-utf8-byte", "/slack/commands", f => Slack("/slack/commands", Utf8("command=%2Fpullbot&text=%FF%FE"), Form), 400, "not valid percent-encoded UTF-8"),
        new("slack-nul-in-field", "/slack/commands", f => Slack("/slack/commands", Utf8("command=%2Fpullbot&text=status%00rm"), Form), 400, "not valid percent-encoded UTF-8"),
        new("slack-raw-control-byte", "/slack/commands", f => Slack("/slack/commands", [.. Utf8("command=%2Fpullbot&text=a"), 0x01, .. Utf8("b")], Form), 400, "not valid percent-encoded UTF-8"),
        new("slack-latin1-charset", "/slack/commands", f => Slack("/slack/commands", [.. Utf8("command=%2Fpullbot&text=caf"), 0xE9], Form + "; charset=iso-8859-1"), 400, "not valid percent-encoded UTF-8"),
        new("slack-duplicate-field", "/slack/commands", f => Slack("/slack/commands", Utf8("command=%2Fpullbot&command=%2Fother&text=x"), Form), 400, "appears twice"),
        new("slack-interaction-without-payload", "/slack/interactions", f => Slack("/slack/interactions", Utf8("other=1"), Form), 400, "the form has no payload field"),
        new("slack-interaction-payload-not-json", "/slack/interactions", f => Slack("/slack/interactions", Utf8("payload=%7Bnot%20json"), Form), 400, "the payload is not valid JSON"),
        new("slack-interaction-payload-too-deep", "/slack/interactions", f => Slack("/slack/interactions", Utf8("payload=" + Uri.EscapeDataString(Nested(100))), Form), 400, "the payload is not valid JSON"),
        new("slack-event-malformed-json", "/slack/events", f => Slack("/slack/events", Utf8("""{"type":"event_callback","event":"""), Json), 400, "the body is not valid JSON"),
        new("slack-event-array", "/slack/events", f => Slack("/slack/events", Utf8("[1,2,3]"), Json), 400, "the body has no type"),
        new("slack-url-verification-without-challenge", "/slack/events", f => Slack("/slack/events", Utf8("""{"type":"url_verification"}"""), Json), 400, "url_verification without a challenge"),
        new("slack-get", "/slack/commands", f => new HttpRequestMessage(HttpMethod.Get, Relative("/slack/commands")), 405, string.Empty),
        // The server decodes %2e%2e and removes the dot segments (RFC 3986 5.2.4): the request lands on /alerts, which wants its own credentials.
        new("slack-dot-dot-encoded", "/slack/%2e%2e/alerts", f => Slack("/slack/%2e%2e/alerts", Command("status"), Form), 401, "Credentials are missing"),
        new("slack-dot-dot-slash-encoded", "/slack/commands/..%2f..%2falerts", f => Slack("/slack/commands/..%2f..%2falerts", Command("status"), Form), 404, string.Empty),

        // ---- Teams: /api/messages ----
        new("teams-no-token", "/api/messages", f => Teams(f, Activity(f), authorization: null), 401, "A Bot Connector token (Authorization: Bearer"),
        new("teams-basic-auth-with-app-password", "/api/messages", f => Teams(f, Activity(f), authorization: new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(BotConnectorStandIn.AppId + ":" + BotConnectorStandIn.AppPassword)))), 401, "A Bot Connector token (Authorization: Bearer"),
        new("teams-token-not-a-jwt", "/api/messages", f => Teams(f, Activity(f), token: "not-a-jwt"), 401, "Unauthorized:"),
        new("teams-alg-none", "/api/messages", f => Teams(f, Activity(f), token: f.Teams.CreateUnsignedToken(f.Teams.ServiceUrl)), 401, "Unauthorized:"),
        new("teams-tampered-payload", "/api/messages", f => Teams(f, Activity(f), token: f.Teams.CreateTamperedToken(f.Teams.ServiceUrl)), 401, "Unauthorized:"),
        new("teams-unknown-signing-key", "/api/messages", f => Teams(f, Activity(f), spec: new TokenSpec { WrongKey = true }), 401, "Unauthorized:"),
        new("teams-other-audience", "/api/messages", f => Teams(f, Activity(f), spec: new TokenSpec { Audience = "00000000-0000-0000-0000-000000000000" }), 401, "Unauthorized:"),
        new("teams-other-issuer", "/api/messages", f => Teams(f, Activity(f), spec: new TokenSpec { Issuer = "https://sts.windows.net/attacker/" }), 401, "Unauthorized:"),
        new("teams-expired-token", "/api/messages", f => Teams(f, Activity(f), spec: new TokenSpec { ExpiresIn = TimeSpan.FromHours(-1), NotBeforeOffset = TimeSpan.FromHours(-2) }), 401, "Unauthorized:"),
        new("teams-token-for-another-service-url", "/api/messages", f => Teams(f, Activity(f), spec: new TokenSpec { ServiceUrl = "https://smba.trafficmanager.net/emea/" }), 401, "Unauthorized:"),
        new("teams-untrusted-service-url", "/api/messages", f => Teams(f, Activity(f, "https://attacker.example/teams/"), spec: new TokenSpec()), 403, "not on Teams:AllowedServiceUrlHosts"),
        new("teams-malformed-json", "/api/messages", f => Teams(f, Utf8("""{"type":"message","""), spec: new TokenSpec()), 400, "not a JSON Bot Framework activity"),
        new("teams-json-array", "/api/messages", f => Teams(f, Utf8("[]"), spec: new TokenSpec()), 400, "not a JSON Bot Framework activity"),
        new("teams-oversize", "/api/messages", f => Teams(f, Utf8("{\"text\":\"" + new string('a', 300 * 1024) + "\"}"), spec: new TokenSpec()), 400, "larger than"),

        // ---- Alert webhooks: /alerts/alertmanager, /alerts ----
        new("alertmanager-no-credentials", "/alerts/alertmanager", f => Alert("/alerts/alertmanager", Utf8(AlertmanagerBody("pod-a")), Json), 401, "Credentials are missing"),
        new("alertmanager-wrong-token", "/alerts/alertmanager", f => Alert("/alerts/alertmanager", Utf8(AlertmanagerBody("pod-a")), Json, bearer: "wrong-token-wrong-token-wrong"), 401, "not the one configured"),
        new("alertmanager-basic-scheme", "/alerts/alertmanager", f => Alert("/alerts/alertmanager", Utf8(AlertmanagerBody("pod-a")), Json, authorization: new AuthenticationHeaderValue("Basic", "YWRtaW46YWRtaW4=")), 401, "must use the Bearer scheme"),
        new("alertmanager-hmac-wrong-secret", "/alerts/alertmanager", f => Alert("/alerts/alertmanager", Utf8(AlertmanagerBody("pod-a")), Json, hmacSecret: "not-the-secret-not-the-secret"), 401, "does not match the body"),
        new("alertmanager-hmac-stale", "/alerts/alertmanager", f => Alert("/alerts/alertmanager", Utf8(AlertmanagerBody("pod-a")), Json, hmacSecret: HostileFixture.AlertmanagerHmac, hmacAge: 600), 401, "seconds away from the bot's clock"),
        new("alertmanager-hmac-not-hex", "/alerts/alertmanager", f => Alert("/alerts/alertmanager", Utf8(AlertmanagerBody("pod-a")), Json, signatureOverride: "sha256=" + new string('z', 64)), 401, "64 hex digits"),
        new("alertmanager-text-plain", "/alerts/alertmanager", f => Alert("/alerts/alertmanager", Utf8(AlertmanagerBody("pod-a")), "text/plain", bearer: HostileFixture.AlertmanagerToken), 415, "Content-Type: application/json"),
        new("alertmanager-latin1-json", "/alerts/alertmanager", f => Alert("/alerts/alertmanager", Utf8(AlertmanagerBody("pod-a")), Json + "; charset=iso-8859-1", bearer: HostileFixture.AlertmanagerToken), 415, "Content-Type: application/json"),
        new("alertmanager-oversize", "/alerts/alertmanager", f => Alert("/alerts/alertmanager", Utf8(AlertmanagerBody(new string('p', HostileFixture.AlertBodyLimit))), Json, bearer: HostileFixture.AlertmanagerToken), 413, "Alerts:MaxBodyBytes"),
        new("alertmanager-malformed-json", "/alerts/alertmanager", f => Alert("/alerts/alertmanager", Utf8("""{"version":"4","alerts":["""), Json, bearer: HostileFixture.AlertmanagerToken), 400, "not valid"),
        new("alertmanager-wrong-version", "/alerts/alertmanager", f => Alert("/alerts/alertmanager", Utf8(AlertmanagerBody("pod-a").Replace("\"version\":\"4\"", "\"version\":\"3\"", StringComparison.Ordinal)), Json, bearer: HostileFixture.AlertmanagerToken), 400, "version"),
        new("alertmanager-too-deep", "/alerts/alertmanager", f => Alert("/alerts/alertmanager", Utf8(Nested(500)), Json, bearer: HostileFixture.AlertmanagerToken), 400, "not valid"),
        new("alertmanager-overlong-utf8", "/alerts/alertmanager", f => Alert("/alerts/alertmanager", WithBytes(AlertmanagerBody("pod-MARK"), "MARK", [0xC0, 0xAF]), Json, bearer: HostileFixture.AlertmanagerToken), 400, "not valid"),
        new("alertmanager-rtl-override-in-pod", "/alerts/alertmanager", f => Alert("/alerts/alertmanager", Utf8(AlertmanagerBody("api-\u202Egnp.exe")), Json, bearer: HostileFixture.AlertmanagerToken), 400, "pod"),
        new("generic-no-credentials", "/alerts", f => Alert("/alerts", Utf8(GenericBody("pod-a")), Json), 401, "Credentials are missing"),
        new("generic-wrong-token", "/alerts", f => Alert("/alerts", Utf8(GenericBody("pod-a")), Json, bearer: "wrong-token-wrong-token-wrong"), 401, "not the one configured"),
        new("generic-hmac-over-other-body", "/alerts", f => Alert("/alerts", Utf8(GenericBody("pod-a")), Json, hmacSecret: HostileFixture.GenericHmac, signedBody: Utf8(GenericBody("pod-b"))), 401, "does not match the body"),
        new("generic-unknown-field", "/alerts", f => Alert("/alerts", Utf8(GenericBody("pod-a").Replace("\"status\"", "\"stauts\":\"x\",\"status\"", StringComparison.Ordinal)), Json, bearer: HostileFixture.GenericToken), 400, "stauts"),
        new("generic-zero-width-in-namespace", "/alerts", f => Alert("/alerts", Utf8(GenericBody("pod-a", "sh\u200Bop")), Json, bearer: HostileFixture.GenericToken), 400, "namespace"),
        new("generic-nul-in-pod", "/alerts", f => Alert("/alerts", Utf8(GenericBody("pod\\u0000rm")), Json, bearer: HostileFixture.GenericToken), 400, "pod"),
        new("generic-dot-dot-namespace", "/alerts", f => Alert("/alerts", Utf8(GenericBody("pod-a", "../kube-system")), Json, bearer: HostileFixture.GenericToken), 400, "namespace"),
        new("generic-encoded-dot-dot-namespace", "/alerts", f => Alert("/alerts", Utf8(GenericBody("pod-a", "%2e%2e")), Json, bearer: HostileFixture.GenericToken), 400, "namespace"),
        new("generic-lone-surrogate", "/alerts", f => Alert("/alerts", Utf8(GenericBody("pod\\ud800")), Json, bearer: HostileFixture.GenericToken), 400, "pod"),
        new("generic-batch-too-large", "/alerts", f => Alert("/alerts", Utf8("[" + string.Join(',', Enumerable.Range(0, 51).Select(i => GenericBody($"pod-{i}"))) + "]"), Json, bearer: HostileFixture.GenericToken), 400, "50"),
        new("generic-number-as-body", "/alerts", f => Alert("/alerts", Utf8("42"), Json, bearer: HostileFixture.GenericToken), 400, string.Empty),

        // ---- the bot's own pages, health and anything else ----
        new("login-without-form-token", "/login", f => Post("/login", Utf8($"name={HostileFixture.WebUser}&password={Uri.EscapeDataString(HostileFixture.WebPassword)}"), Form), 400, "did not come from this site"),
        new("login-json", "/login", f => Post("/login", Utf8($$"""{"name":"{{HostileFixture.WebUser}}","password":"{{HostileFixture.WebPassword}}"}"""), Json), 415, "Send the sign-in form"),
        new("dashboard-signed-out", "/hangfire", f => new HttpRequestMessage(HttpMethod.Get, Relative("/hangfire")), 401, string.Empty),
        new("dot-dot-to-etc-passwd", "/%2e%2e/%2e%2e/etc/passwd", f => new HttpRequestMessage(HttpMethod.Get, Relative("/%2e%2e/%2e%2e/etc/passwd")), 404, string.Empty),
        new("post-to-readyz", "/readyz", f => Post("/readyz", Utf8("{}"), Json), 405, string.Empty),
        new("unknown-endpoint", "/api/unknown", f => Post("/api/unknown", Utf8("{}"), Json), 404, string.Empty),
    ];

    public static TheoryData<string> Names
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var c in All)
            {
                data.Add(c.Name);
            }

            return data;
        }
    }

    public static HostileCase Named(string name) => All.Single(c => c.Name == name);

    // ---- request builders ----

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    public static Uri Relative(string path) => new(path, UriKind.Relative);

    public static string Seconds(int offset) => DateTimeOffset.UtcNow.AddSeconds(offset).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static byte[] Command(string text) =>
        Utf8($"token=legacy&team_id=T0HOSTILE&team_domain=example&channel_id=C0HOSTILE&channel_name=ops&user_id=U0MALLORY&user_name=mallory&command=%2Fpullbot&text={Uri.EscapeDataString(text)}&trigger_id=1.2.3");

    /// <summary>Signed like Slack signs (v0, HMAC-SHA256 over "v0:{timestamp}:{body}"), or broken as asked.</summary>
    public static HttpRequestMessage Slack(string path, byte[] body, string contentType, string? timestamp = "now", string? signature = "sign", string secret = HostileFixture.SlackSigningSecret, byte[]? signedBody = null)
    {
        var request = Post(path, body, contentType);
        var ts = timestamp == "now" ? HostileFixture.Now() : timestamp;
        if (ts is not null)
        {
            request.Headers.Add("X-Slack-Request-Timestamp", ts);
        }

        if (signature is not null)
        {
            request.Headers.Add("X-Slack-Signature", signature == "sign" ? HostileFixture.SlackSignature(secret, ts ?? string.Empty, signedBody ?? body) : signature);
        }

        return request;
    }

    public static HttpRequestMessage Teams(HostileFixture f, JsonObject activity, string? token = null, TokenSpec? spec = null, AuthenticationHeaderValue? authorization = null) =>
        Teams(f, Utf8(activity.ToJsonString()), token, spec ?? new TokenSpec(), authorization, activity["serviceUrl"]?.GetValue<string>(), explicitNoToken: token is null && spec is null && authorization is null);

    public static HttpRequestMessage Teams(HostileFixture f, byte[] body, string? token = null, TokenSpec? spec = null, AuthenticationHeaderValue? authorization = null, string? serviceUrl = null, bool explicitNoToken = false)
    {
        var request = Post("/api/messages", body, Json);
        if (authorization is not null)
        {
            request.Headers.Authorization = authorization;
        }
        else if (!explicitNoToken)
        {
            var claims = spec ?? new TokenSpec();
            token ??= f.Teams.CreateToken(claims with { ServiceUrl = claims.ServiceUrl ?? serviceUrl ?? f.Teams.ServiceUrl });
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return request;
    }

    public static JsonObject Activity(HostileFixture f, string? serviceUrl = null) => new()
    {
        ["type"] = "message",
        ["id"] = "1732520000777",
        ["channelId"] = "msteams",
        ["serviceUrl"] = serviceUrl ?? f.Teams.ServiceUrl,
        ["from"] = new JsonObject { ["id"] = "29:1mallory", ["name"] = "Mallory", ["aadObjectId"] = "6a0c1f2e-0000-4000-8000-0000000000ff" },
        ["conversation"] = new JsonObject { ["id"] = TeamsTestHost.GeneralChannel, ["conversationType"] = "channel", ["tenantId"] = BotConnectorStandIn.TenantId },
        ["recipient"] = new JsonObject { ["id"] = BotConnectorStandIn.BotId, ["name"] = "pullbot" },
        ["channelData"] = new JsonObject { ["tenant"] = new JsonObject { ["id"] = BotConnectorStandIn.TenantId } },
        ["text"] = "<at>pullbot</at> status",
    };

    /// <summary>An alert request with a bearer token, an HMAC signature (optionally stale or over another body), or nothing.</summary>
    public static HttpRequestMessage Alert(string path, byte[] body, string contentType, string? bearer = null, string? hmacSecret = null, int hmacAge = 0, byte[]? signedBody = null, string? signatureOverride = null, AuthenticationHeaderValue? authorization = null)
    {
        var request = Post(path, body, contentType);
        if (authorization is not null)
        {
            request.Headers.Authorization = authorization;
        }
        else if (bearer is not null)
        {
            request.Headers.Authorization = HostileFixture.Bearer(bearer);
        }

        if (hmacSecret is not null || signatureOverride is not null)
        {
            var ts = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - hmacAge;
            request.Headers.Add("X-ChatOpsPull-Timestamp", ts.ToString(System.Globalization.CultureInfo.InvariantCulture));
            request.Headers.Add("X-ChatOpsPull-Signature", signatureOverride ?? HostileFixture.WebhookSignature(hmacSecret!, ts, signedBody ?? body));
        }

        return request;
    }

    public static string AlertmanagerBody(string pod) => $$"""
        {"version":"4","groupKey":"{}:{alertname=\"KubeContainerWaiting\"}","truncatedAlerts":0,"status":"firing","receiver":"chatopspull",
         "groupLabels":{"alertname":"KubeContainerWaiting"},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://alertmanager:9093",
         "alerts":[{"status":"firing","labels":{"alertname":"KubeContainerWaiting","namespace":"shop","pod":"{{pod}}","container":"api","reason":"ImagePullBackOff"},
         "annotations":{"description":"Back-off pulling image"},"startsAt":"2026-11-25T08:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus","fingerprint":"0a1b2c3d4e5f6789"}]}
        """;

    public static string GenericBody(string pod, string @namespace = "shop") =>
        $$"""{"status":"firing","namespace":"{{@namespace}}","pod":"{{pod}}","container":"api","reason":"ImagePullBackOff","message":"Back-off pulling image"}""";

    /// <summary>The text as UTF-8 with raw bytes (say, an overlong encoding) in place of <paramref name="marker"/>.</summary>
    public static byte[] WithBytes(string text, string marker, byte[] bytes)
    {
        var at = text.IndexOf(marker, StringComparison.Ordinal);
        return [.. Utf8(text[..at]), .. bytes, .. Utf8(text[(at + marker.Length)..])];
    }

    public static string Nested(int depth) => string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);

    private static HttpRequestMessage Post(string path, byte[] body, string contentType)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return new HttpRequestMessage(HttpMethod.Post, Relative(path)) { Content = content };
    }
}
