using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ChatOpsPull.Chat;
using ChatOpsPull.Chat.Commands;
using ChatOpsPull.Chat.Outbox;
using ChatOpsPull.Chat.Slack;
using ChatOpsPull.Core.Approvals;
using ChatOpsPull.Incidents;
using ChatOpsPull.Tests.Commands;
using ChatOpsPull.Tests.Storage;
using ChatOpsPull.Web;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace ChatOpsPull.Tests.WebPage;

/// <summary>The bot's own page through the real host: what it shows, and what its button endpoint does with every kind of post.</summary>
public sealed partial class WebPageTests : IDisposable
{
    private const string Password = "correct horse battery";
    private static readonly string Hash = PasswordHash.Hash(Password, PasswordHash.MinimumIterations);
    private readonly TestStorage _storage = TestStorage.Sqlite();
    private readonly InMemoryApprovals _approvals = InMemoryApprovals.For("web:alice");

    public void Dispose() => _storage.Dispose();

    private BotTestHost Host(bool withUsers = true, string? remoteAddress = null, Dictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>(extra ?? [])
        {
            ["Bot:Cluster"] = CommandTestKit.Cluster,
            ["Kubernetes:WatchEnabled"] = "false",
        };
        if (withUsers)
        {
            settings["Web:Users:0:Name"] = "alice";
            settings["Web:Users:0:PasswordHash"] = Hash;
            settings["Web:Users:1:Name"] = "bob";
            settings["Web:Users:1:PasswordHash"] = Hash;
        }

        return new BotTestHost(_storage, settings, services =>
        {
            _approvals.Register(services);
            if (remoteAddress is not null)
            {
                services.AddSingleton<IStartupFilter>(new RemoteAddressFilter(IPAddress.Parse(remoteAddress)));
            }
        });
    }

    private static HttpClient Browser(BotTestHost host) =>
        host.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });

    private static async Task SignInAsync(HttpClient client, string user)
    {
        var login = await (await client.GetAsync(new Uri("/login", UriKind.Relative))).Content.ReadAsStringAsync();
        using var signedIn = await client.PostAsync(new Uri("/login", UriKind.Relative), new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = Token(login),
            ["username"] = user,
            ["password"] = Password,
            ["returnUrl"] = "/",
        }));
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
    }

    private static async Task<string> PageAsync(HttpClient client, string path = "/")
    {
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    private static Task<HttpResponseMessage> ClickAsync(HttpClient client, string token, string payload, string card = "incident:inc-unknown") =>
        client.PostAsync(new Uri(WebPageView.ActionPath, UriKind.Relative), new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token,
            ["payload"] = payload,
            ["card"] = card,
        }));

    private static string Token(string html) => TokenRegex().Match(html).Groups[1].Value;

    private async Task<(Core.Incidents.Incident Incident, ApprovalRequest Request)> SeedAsync(BotTestHost host)
    {
        var incident = await CommandTestKit.ReportAsync(host.Services, "shop", "web", "web-6b9f7c5d8-x7kq2");
        var request = _approvals.Seed(incident.Id, RetryCommand.Plan(new ChatCommand.Retry("shop", "Deployment", "web")));
        return (incident, request);
    }

    [Fact]
    public async Task Anonymous_browsers_are_sent_to_sign_in_and_other_clients_get_401()
    {
        await using var host = Host();
        using var client = Browser(host);

        using var page = new HttpRequestMessage(HttpMethod.Get, "/");
        page.Headers.Accept.ParseAdd("text/html");
        using var redirected = await client.SendAsync(page);
        using var fragment = await client.GetAsync(new Uri(WebPageView.CardsPath, UriKind.Relative));
        using var click = await ClickAsync(client, "x", "approve|apr-test0001");

        Assert.Equal(HttpStatusCode.Redirect, redirected.StatusCode);
        Assert.StartsWith("http://localhost/login?ReturnUrl=%2F", redirected.Headers.Location!.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, fragment.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, click.StatusCode);
        Assert.Empty(_approvals.Clicks);
    }

    [Fact]
    public async Task Signed_in_page_shows_incident_cards_with_buttons_failed_sends_audit_and_the_dashboard_link()
    {
        await using var host = Host();
        var (incident, request) = await SeedAsync(host);
        var outbox = host.Services.GetRequiredService<IChatOutbox>();
        await outbox.EnqueueAsync(ChatPlatform.Slack, "C0FAILED1", "chat.bogus", new SlackOutboxPayload(new JsonObject { ["text"] = "hi" }).Serialize(), null, CancellationToken.None);
        await Eventually.HoldsAsync(
            () => host.Services.GetRequiredService<ChatOutbox>().RecentFailuresAsync(5, CancellationToken.None).GetAwaiter().GetResult().Count > 0,
            TimeSpan.FromSeconds(20),
            () => "the bogus send never failed");
        using var client = Browser(host);
        await SignInAsync(client, "alice");

        using var response = await client.GetAsync(new Uri("/", UriKind.Relative));
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("script-src 'self'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Contains($"data-card-key=\"incident:{incident.Id}\"", html, StringComparison.Ordinal);
        Assert.Contains($"name=\"payload\" value=\"approve|{request.Id}\"", html, StringComparison.Ordinal);
        Assert.Matches("<form method=\"post\" action=\"/web/actions\" data-confirm=\"Restart deployment/web\\?", html);
        Assert.Contains("Signed in as <strong>alice</strong>", html, StringComparison.Ordinal);
        Assert.Contains("<a href=\"/hangfire\">Jobs dashboard</a>", html, StringComparison.Ordinal);
        Assert.Contains("<td>C0FAILED1</td><td>chat.bogus</td>", html, StringComparison.Ordinal);
        Assert.Contains("unknown Slack operation", html, StringComparison.Ordinal);
        Assert.Contains("<td>incident.opened</td>", html, StringComparison.Ordinal);

        var fragment = await PageAsync(client, WebPageView.CardsPath);
        Assert.StartsWith("<article class=\"card bad\"", fragment, StringComparison.Ordinal);
        Assert.Contains($"approve|{request.Id}", fragment, StringComparison.Ordinal);
        Assert.Contains("window.confirm", await PageAsync(client, WebPageView.ScriptPath), StringComparison.Ordinal);
        Assert.Contains(".card.bad", await PageAsync(client, WebPageView.StylePath), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Approver_click_goes_through_the_handler_as_the_web_user_and_the_page_shows_the_answer_once()
    {
        await using var host = Host();
        var (incident, request) = await SeedAsync(host);
        using var client = Browser(host);
        await SignInAsync(client, "alice");
        var token = Token(await PageAsync(client));

        using var click = await ClickAsync(client, token, $"approve|{request.Id}", $"incident:{incident.Id}");

        Assert.Equal(HttpStatusCode.SeeOther, click.StatusCode);
        Assert.Equal("/", click.Headers.Location!.ToString());
        var seen = Assert.Single(_approvals.Clicks);
        Assert.Equal(new ChatUser(ChatPlatform.Web, "alice", "alice", []).Id, seen.User.Id);
        Assert.Equal((ChatPlatform.Web, $"incident:{incident.Id}"), (seen.User.Platform, seen.CardKey));
        Assert.Equal(ApprovalStatus.Approved, Assert.Single(_approvals.Requests).Status);
        var after = await PageAsync(client);
        Assert.Contains("<p class=\"flash\" role=\"status\" id=\"flash\">alice approved &#x201C;Restart deployment/web&#x201D;. Running it now.</p>".Replace("&#x201C;", "&quot;", StringComparison.Ordinal).Replace("&#x201D;", "&quot;", StringComparison.Ordinal), after, StringComparison.Ordinal);
        Assert.Contains("approved by alice", after, StringComparison.Ordinal);
        Assert.DoesNotContain($"approve|{request.Id}", after, StringComparison.Ordinal);
        Assert.DoesNotContain("class=\"flash\"", await PageAsync(client), StringComparison.Ordinal);

        using var twice = await ClickAsync(client, token, $"approve|{request.Id}", $"incident:{incident.Id}");
        Assert.Contains("already approved", await PageAsync(client), StringComparison.Ordinal);
        Assert.Single(Assert.Single(_approvals.Requests).Votes);
    }

    [Fact]
    public async Task Non_approver_click_is_refused_with_the_policy_message_and_changes_nothing()
    {
        await using var host = Host();
        var (incident, request) = await SeedAsync(host);
        using var client = Browser(host);
        await SignInAsync(client, "bob");
        var token = Token(await PageAsync(client));

        using var click = await ClickAsync(client, token, $"approve|{request.Id}", $"incident:{incident.Id}");

        Assert.Equal(HttpStatusCode.SeeOther, click.StatusCode);
        Assert.Contains("You are not an approver for namespace shop in cluster test-cluster. Nothing changed.", await PageAsync(client), StringComparison.Ordinal);
        var stored = Assert.Single(_approvals.Requests);
        Assert.Equal((ApprovalStatus.Pending, 0), (stored.Status, stored.Votes.Count));
    }

    [Theory]
    [InlineData("forged-token", "approve|apr-test0001", HttpStatusCode.BadRequest, WebPageEndpoints.StaleForm)]
    [InlineData("", "approve|apr-test0001", HttpStatusCode.BadRequest, WebPageEndpoints.StaleForm)]
    [InlineData(null, "launch|apr-test0001", HttpStatusCode.BadRequest, WebPageEndpoints.InvalidButton)]
    [InlineData(null, "approve|../../etc/passwd", HttpStatusCode.BadRequest, WebPageEndpoints.InvalidButton)]
    [InlineData(null, "", HttpStatusCode.BadRequest, WebPageEndpoints.InvalidButton)]
    public async Task Hostile_posts_get_a_clear_answer_and_change_nothing(string? token, string payload, HttpStatusCode status, string message)
    {
        await using var host = Host();
        await SeedAsync(host);
        using var client = Browser(host);
        await SignInAsync(client, "alice");
        var real = Token(await PageAsync(client));

        using var response = await ClickAsync(client, token ?? real, payload);

        Assert.Equal(status, response.StatusCode);
        Assert.Contains(WebUtility.HtmlEncode(message).Replace("&#39;", "&#x27;", StringComparison.Ordinal), await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(_approvals.Clicks);
        Assert.Equal(ApprovalStatus.Pending, Assert.Single(_approvals.Requests).Status);
    }

    [Fact]
    public async Task Huge_and_non_form_posts_are_refused_before_anything_is_read()
    {
        await using var host = Host();
        using var client = Browser(host);
        await SignInAsync(client, "alice");
        var token = Token(await PageAsync(client));

        using var huge = await ClickAsync(client, token, "approve|apr-test0001|" + new string('a', 20_000));
        using var json = await client.PostAsync(new Uri(WebPageView.ActionPath, UriKind.Relative), new StringContent("{\"payload\":\"approve|apr-test0001\"}", System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, json.StatusCode);
        Assert.Empty(_approvals.Clicks);
    }

    [Fact]
    public async Task Audit_log_is_paged_from_the_newest_line()
    {
        await using var host = Host(extra: new() { ["Web:Page:AuditPageSize"] = "5" });
        var audit = host.Services.GetRequiredService<AuditLog>();
        for (var i = 1; i <= 12; i++)
        {
            await audit.AppendAsync(new AuditRecord(new AuditActor("web", "alice", "alice"), "test.line", Detail: $"line {i:D2}"));
        }

        using var client = Browser(host);
        await SignInAsync(client, "alice");

        var first = await PageAsync(client);
        var older = OlderRegex().Match(first).Groups[1].Value;
        var second = await PageAsync(client, "/?auditBefore=" + older);
        var third = await PageAsync(client, "/?auditBefore=" + OlderRegex().Match(second).Groups[1].Value);
        using var bad = await client.GetAsync(new Uri("/?auditBefore=-3", UriKind.Relative));

        Assert.Contains("line 12", first, StringComparison.Ordinal);
        Assert.Contains("line 08", first, StringComparison.Ordinal);
        Assert.DoesNotContain("line 07", first, StringComparison.Ordinal);
        Assert.Contains("line 07", second, StringComparison.Ordinal);
        Assert.Contains("line 03", second, StringComparison.Ordinal);
        Assert.DoesNotContain("line 08", second, StringComparison.Ordinal);
        Assert.Contains(">Newest</a>", second, StringComparison.Ordinal);
        Assert.Contains("line 01", third, StringComparison.Ordinal);
        Assert.DoesNotMatch(OlderRegex(), third);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task Without_users_only_this_machine_gets_the_page_and_its_clicks_act_as_web_local()
    {
        await using (var remote = Host(withUsers: false, remoteAddress: "203.0.113.7"))
        {
            using var outsider = Browser(remote);
            using var refused = await outsider.GetAsync(new Uri("/", UriKind.Relative));
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        await using var host = Host(withUsers: false, remoteAddress: "127.0.0.1");
        var (_, request) = await SeedAsync(host);
        using var client = Browser(host);
        var html = await PageAsync(client);
        Assert.Contains("Local access (no users configured", html, StringComparison.Ordinal);

        using var click = await ClickAsync(client, Token(html), $"approve|{request.Id}");

        Assert.Equal(HttpStatusCode.SeeOther, click.StatusCode);
        Assert.Equal((ChatPlatform.Web, WebPageEndpoints.LoopbackUser), (Assert.Single(_approvals.Clicks).User.Platform, _approvals.Clicks.Single().User.Id));
        Assert.Contains("You are not an approver for namespace shop", await PageAsync(client), StringComparison.Ordinal);
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex TokenRegex();

    [GeneratedRegex("auditBefore=([0-9]+)#audit-heading\">Older")]
    private static partial Regex OlderRegex();

    private sealed class RemoteAddressFilter(IPAddress address) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((HttpContext context, RequestDelegate nextMiddleware) =>
            {
                context.Connection.RemoteIpAddress = address;
                return nextMiddleware(context);
            });
            next(app);
        };
    }
}
