using System.Net;
using System.Text.RegularExpressions;
using ChatOpsPull.Cli;
using ChatOpsPull.Tests.Storage;
using ChatOpsPull.Web;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using ChatOpsPull.Hosting;

namespace ChatOpsPull.Tests.Web;

/// <summary>Local sign-in in front of the Hangfire dashboard, through the real host.</summary>
public sealed partial class LocalLoginTests : IDisposable
{
    private const string Password = "correct horse battery";
    private static readonly string Hash = PasswordHash.Hash(Password, PasswordHash.MinimumIterations);
    private readonly TestStorage _storage = TestStorage.Sqlite();

    public void Dispose() => _storage.Dispose();

    private BotTestHost Host(bool withUsers = true, string? remoteAddress = null, Dictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>(extra ?? []);
        if (withUsers)
        {
            settings["Web:Users:0:Name"] = "alice";
            settings["Web:Users:0:PasswordHash"] = Hash;
        }

        return new BotTestHost(_storage, settings, services =>
        {
            if (remoteAddress is not null)
            {
                services.AddSingleton<IStartupFilter>(new RemoteAddressFilter(IPAddress.Parse(remoteAddress)));
            }
        });
    }

    private static HttpClient Browser(BotTestHost host) =>
        host.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });

    private static async Task<(string Token, HttpResponseMessage Page)> LoginPageAsync(HttpClient client)
    {
        var page = await client.GetAsync(new Uri("/login?returnUrl=%2Fhangfire", UriKind.Relative));
        var html = await page.Content.ReadAsStringAsync();
        var token = TokenRegex().Match(html).Groups[1].Value;
        Assert.NotEmpty(token);
        return (token, page);
    }

    private static Task<HttpResponseMessage> SignInAsync(HttpClient client, string token, string user, string password, string returnUrl = "/hangfire") =>
        client.PostAsync(new Uri("/login", UriKind.Relative), new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token,
            ["username"] = user,
            ["password"] = password,
            ["returnUrl"] = returnUrl,
        }));

    [Fact]
    public async Task The_dashboard_sends_anonymous_browsers_to_login_and_answers_others_401()
    {
        await using var host = Host();
        using var client = Browser(host);
        using var browser = new HttpRequestMessage(HttpMethod.Get, "/hangfire");
        browser.Headers.Accept.ParseAdd("text/html,application/xhtml+xml");
        using var redirected = await client.SendAsync(browser);
        Assert.Equal(HttpStatusCode.Redirect, redirected.StatusCode);
        Assert.StartsWith("http://localhost/login?ReturnUrl=%2Fhangfire", redirected.Headers.Location!.ToString(), StringComparison.Ordinal);

        using var api = await client.GetAsync(new Uri("/hangfire/stats", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
        using var post = await client.PostAsync(new Uri("/hangfire/jobs/enqueued/delete", UriKind.Relative), new StringContent("jobs[]=1"));
        Assert.Equal(HttpStatusCode.Unauthorized, post.StatusCode);
    }

    [Fact]
    public async Task A_configured_user_signs_in_sees_the_dashboard_and_signs_out()
    {
        await using var host = Host();
        using var client = Browser(host);
        var (token, page) = await LoginPageAsync(client);
        Assert.Equal("no-store", page.Headers.CacheControl!.ToString());

        using var signedIn = await SignInAsync(client, token, "ALICE", Password);
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        Assert.Equal("/hangfire", signedIn.Headers.Location!.ToString());
        Assert.Contains(signedIn.Headers.GetValues("Set-Cookie"), c => c.StartsWith(LocalLoginServices.CookieName, StringComparison.Ordinal) && c.Contains("httponly", StringComparison.OrdinalIgnoreCase) && c.Contains("samesite=strict", StringComparison.OrdinalIgnoreCase));

        using var dashboard = await client.GetAsync(new Uri("/hangfire", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);
        Assert.Contains("ChatOpsPull jobs", await dashboard.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var (logoutToken, _) = await LoginPageAsync(client);
        using var forged = await client.PostAsync(new Uri("/logout", UriKind.Relative), new FormUrlEncodedContent(new Dictionary<string, string>()));
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        using var signedOut = await client.PostAsync(new Uri("/logout", UriKind.Relative), new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = logoutToken }));
        Assert.Equal(HttpStatusCode.Redirect, signedOut.StatusCode);
        using var after = await client.GetAsync(new Uri("/hangfire/stats", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
    }

    [Fact]
    public async Task Repeated_failures_lock_the_name_out_even_for_the_right_password()
    {
        await using var host = Host(extra: new() { ["Web:MaxFailedLogins"] = "3", ["Web:LockoutDuration"] = "00:05:00" });
        using var client = Browser(host);
        var (token, _) = await LoginPageAsync(client);
        for (var i = 0; i < 3; i++)
        {
            using var wrong = await SignInAsync(client, token, "alice", "guess-" + i);
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
            Assert.Contains("Wrong user name or password.", await wrong.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using var locked = await SignInAsync(client, token, "alice", Password);
        Assert.Equal(HttpStatusCode.TooManyRequests, locked.StatusCode);
        Assert.True(locked.Headers.RetryAfter!.Delta > TimeSpan.FromMinutes(4));
        Assert.DoesNotContain(locked.Headers, h => h.Key == "Set-Cookie" && h.Value.Any(v => v.StartsWith(LocalLoginServices.CookieName, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Unknown_users_forged_forms_and_foreign_return_urls_get_nowhere()
    {
        await using var host = Host();
        using var client = Browser(host);
        var (token, _) = await LoginPageAsync(client);

        using var unknown = await SignInAsync(client, token, "mallory", Password);
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);

        using var noToken = await client.PostAsync(new Uri("/login", UriKind.Relative), new FormUrlEncodedContent(new Dictionary<string, string> { ["username"] = "alice", ["password"] = Password }));
        Assert.Equal(HttpStatusCode.BadRequest, noToken.StatusCode);

        using var json = await client.PostAsync(new Uri("/login", UriKind.Relative), new StringContent("{\"username\":\"alice\"}", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, json.StatusCode);

        using var huge = await SignInAsync(client, token, "alice", new string('x', 20_000));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);

        using var empty = await SignInAsync(client, token, "", "");
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);

        using var offsite = await SignInAsync(client, token, "alice", Password, "//evil.example/steal");
        Assert.Equal(HttpStatusCode.Redirect, offsite.StatusCode);
        Assert.Equal("/", offsite.Headers.Location!.ToString());
    }

    [Fact]
    public async Task Without_users_the_dashboard_is_served_only_to_this_machine()
    {
        await using (var remote = Host(withUsers: false, remoteAddress: "203.0.113.7"))
        {
            using var client = Browser(remote);
            using var refused = await client.GetAsync(new Uri("/hangfire", UriKind.Relative));
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Contains("only served to requests from this machine", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        await using var local = Host(withUsers: false, remoteAddress: "127.0.0.1");
        using var localClient = Browser(local);
        using var served = await localClient.GetAsync(new Uri("/hangfire", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        using var proxied = new HttpRequestMessage(HttpMethod.Get, "/hangfire");
        proxied.Headers.Add("X-Forwarded-For", "198.51.100.4");
        using var viaProxy = await localClient.SendAsync(proxied);
        Assert.Equal(HttpStatusCode.Forbidden, viaProxy.StatusCode);
    }

    [Fact]
    public async Task A_malformed_password_hash_stops_start_with_a_sentence()
    {
        await using var host = new BotTestHost(_storage, new() { ["Web:Users:0:Name"] = "alice", ["Web:Users:0:PasswordHash"] = "hunter2" });
        var error = Assert.ThrowsAny<Exception>(() => host.Services);
        Assert.Contains("Web:Users:0:PasswordHash is not a hash from 'chatopspull hash-password'", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hash_password_reads_stdin_and_prints_a_hash_that_verifies()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await CliApp.RunAsync(["hash-password", "--iterations", "10000"], new StringReader("s3cret-enough\n"), stdout, stderr);
        Assert.Equal(0, code);
        var hash = stdout.ToString().Trim();
        Assert.StartsWith("pbkdf2-sha256$10000$", hash, StringComparison.Ordinal);
        Assert.True(PasswordHash.Verify("s3cret-enough", hash));
        Assert.False(PasswordHash.Verify("s3cret-enougH", hash));
        Assert.DoesNotContain("s3cret", hash, StringComparison.Ordinal);

        using var shortOut = new StringWriter();
        using var shortErr = new StringWriter();
        Assert.Equal(2, await CliApp.RunAsync(["hash-password"], new StringReader("short\n"), shortOut, shortErr));
        Assert.Contains("at least 8 characters", shortErr.ToString(), StringComparison.Ordinal);
        Assert.Equal(2, await CliApp.RunAsync(["hash-password", "--iterations", "5"], new StringReader("long enough\n"), shortOut, shortErr));
        Assert.Equal(2, await CliApp.RunAsync(["hash-password"], new StringReader(string.Empty), shortOut, shortErr));
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex TokenRegex();

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
