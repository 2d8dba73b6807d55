using System.Globalization;
using System.Net;
using System.Text;
using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Images;
using ChatOpsPull.Hosting;
using ChatOpsPull.Registry;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace ChatOpsPull.Tests.Registry;

/// <summary>
/// Registries and token services that try to send the bot where it must not go, on loopback: a "public" registry is a
/// server on 127.0.0.1 that <see cref="TestNetwork"/> gives the public address 203.0.113.10 (the check sees that address
/// and the connection reaches the server below the checks), so "public registry → loopback realm refused" and "registry
/// on loopback → loopback realm allowed" are both real exchanges. An "inside" server stands for an internal service:
/// it answers with text that must never reach evidence, and records whether anything reached it at all.
/// </summary>
[Collection(RegistryFixtureGroup.Name)]
public sealed class HostileRegistryTests(RegistryFixture registry, ITestOutputHelper output)
{
    private const string InternalText = "INTERNAL-ONLY admin console: root password hunter2";
    private const string PublicRegistry = "registry.hostile.test";
    private const string PublicAddress = "203.0.113.10";
    private const string PublicTokenAddress = "203.0.113.20";

    [Theory]
    [InlineData("http://127.0.0.1:{inside}/token", null, "on the loopback interface")]
    [InlineData("http://10.20.30.40:{inside}/token", "10.20.30.40", "on a private network")]
    [InlineData("http://tokens.corp.test:{inside}/token", "10.20.30.40", "on a private network")]
    public async Task A_public_registry_cannot_send_the_token_request_inward(string realmTemplate, string? internalAddress, string why)
    {
        await using var hostile = await ScriptedServer.StartAsync();
        await using var inside = await InsideAsync();
        var realm = realmTemplate.Replace("{inside}", inside.Port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        hostile.Handler = context => BearerChallenge(context, realm);
        var network = PublicNetwork().Name("tokens.corp.test", ["10.20.30.40"]);
        if (internalAddress is not null)
        {
            network.Route(internalAddress);
        }

        var result = await CheckAsync($"{PublicRegistry}:{hostile.Port}/team/app:1.0", network, o => PlainHttp(o, $"{PublicRegistry}:{hostile.Port}"));

        Assert.Empty(inside.Requests);
        Assert.False(internalAddress is not null && network.Connected(internalAddress), "the bot connected to the internal address");
        Assert.Equal(PullCause.Unknown, result.Cause);
        var line = Assert.Single(result.Evidence, e => e.Check == "token service");
        Assert.Equal(EvidenceOutcome.Failed, line.Outcome);
        Assert.StartsWith("the token realm was not asked: ", line.Detail, StringComparison.Ordinal);
        Assert.Contains($"{why}, further inside the network than the registry that sent the bot there (public)", line.Detail, StringComparison.Ordinal);
        Assert.StartsWith($"the bot did not follow {PublicRegistry}:{hostile.Port}'s token realm", result.Summary, StringComparison.Ordinal);
        AssertNothingFromInside(result);
    }

    [Fact]
    public async Task A_registry_on_loopback_may_use_a_token_realm_on_loopback_but_what_that_host_says_stays_out()
    {
        await using var hostile = await ScriptedServer.StartAsync();
        await using var inside = await InsideAsync();
        hostile.Handler = context => BearerChallenge(context, $"http://{inside.Authority}/token");

        var result = await CheckAsync($"{hostile.Authority}/team/app:1.0", new TestNetwork(), o => PlainHttp(o, hostile.Authority));

        var asked = Assert.Single(inside.Requests);
        Assert.StartsWith("/token?service=hostile&scope=repository%3Ateam%2Fapp%3Apull", asked.PathAndQuery, StringComparison.Ordinal);
        Assert.Equal(PullCause.AuthFailed, result.Cause);
        var line = Assert.Single(result.Evidence, e => e.Check == "token service");
        Assert.Equal(
            $"the token service {inside.Authority} requires credentials for repository:team/app:pull: 401 UNAUTHORIZED (the token service is not the registry's own host, so its message is not shown)",
            line.Detail);
        AssertNothingFromInside(result);
    }

    [Fact]
    public async Task The_check_verb_never_prints_what_a_token_realm_on_another_host_answered()
    {
        await using var hostile = await ScriptedServer.StartAsync();
        await using var inside = await InsideAsync();
        hostile.Handler = context => BearerChallenge(context, $"http://{inside.Authority}/admin/reset?confirm=yes");
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var exit = await CliApp.RunAsync(
            ["check", $"{hostile.Authority}/team/app:1.0", $"--Registry:Hosts:0:Host={hostile.Authority}", "--Registry:Hosts:0:PlainHttp=true"],
            TextReader.Null,
            stdout,
            stderr);

        var printed = stdout + stderr.ToString();
        output.WriteLine(printed);
        Assert.Equal(1, exit);
        Assert.Single(inside.Requests);
        Assert.Contains("its message is not shown", printed, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", printed, StringComparison.Ordinal);
        Assert.DoesNotContain("INTERNAL", printed, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://169.254.169.254/latest/meta-data/iam/security-credentials/", "169.254.169.254:80 is a cloud metadata service address")]
    [InlineData("http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token", "metadata.google.internal is the name of a cloud metadata service")]
    [InlineData("http://[fd00:ec2::254]/latest/meta-data/", "[fd00:ec2::254]:80 is a cloud metadata service address")]
    [InlineData("http://100.100.100.200/latest/meta-data/", "100.100.100.200:80 is a cloud metadata service address")]
    [InlineData("http://169.254.10.20:8080/token", "169.254.10.20:8080 is a link-local address")]
    [InlineData("http://[fe80::1]:8080/token", "[fe80::1]:8080 is a link-local address")]
    [InlineData("http://kubernetes.default.svc/api/v1/namespaces/kube-system/secrets", "kubernetes.default.svc:80 is the cluster's own API server")]
    [InlineData("http://cloud-metadata.test/latest/meta-data/", "169.254.169.254:80 is a cloud metadata service address")]
    public async Task A_token_realm_at_a_metadata_link_local_or_api_server_address_is_refused_even_for_a_registry_on_loopback(string realm, string refused)
    {
        await using var hostile = await ScriptedServer.StartAsync();
        hostile.Handler = context => BearerChallenge(context, realm);
        var network = new TestNetwork().Name("cloud-metadata.test", ["169.254.169.254"]);

        var result = await CheckAsync($"{hostile.Authority}/team/app:1.0", network, o => PlainHttp(o, hostile.Authority));

        Assert.Equal(PullCause.Unknown, result.Cause);
        var line = Assert.Single(result.Evidence, e => e.Check == "token service");
        Assert.Contains($"the token realm was not asked: {refused}", line.Detail, StringComparison.Ordinal);
        Assert.Contains("Registry:Hosts", line.Detail, StringComparison.Ordinal);
        Assert.All(network.Connects, c => Assert.True(IPAddress.IsLoopback(c.Address), $"connected to {c}"));
    }

    [Theory]
    [InlineData("169.254.169.254/latest/meta-data:v1", "TCP 169.254.169.254:443", "169.254.169.254:443 is a cloud metadata service address")]
    [InlineData("100.100.100.200/latest/meta-data:v1", "TCP 100.100.100.200:443", "100.100.100.200:443 is a cloud metadata service address")]
    [InlineData("169.254.1.1:5000/team/app:1.0", "TCP 169.254.1.1:5000", "169.254.1.1:5000 is a link-local address")]
    [InlineData("metadata.google.internal/computemetadata/v1:latest", "DNS metadata.google.internal", "metadata.google.internal is the name of a cloud metadata service")]
    [InlineData("kubernetes.default.svc.cluster.local/api/v1:secrets", "DNS kubernetes.default.svc.cluster.local", "kubernetes.default.svc.cluster.local:443 is the cluster's own API server")]
    [InlineData("10.96.0.1/api/v1:secrets", "TCP 10.96.0.1:443", "10.96.0.1:443 is the cluster's own API server")]
    [InlineData("api.cluster.test:6443/api/v1:secrets", "DNS api.cluster.test", "api.cluster.test:6443 is the cluster's own API server")]
    [InlineData("innocent.test/team/app:1.0", "TCP 169.254.169.254:443", "169.254.169.254:443 is a cloud metadata service address")]
    public async Task An_image_on_a_refused_host_is_not_probed_and_the_evidence_says_why(string image, string check, string refused)
    {
        var network = new TestNetwork().Name("innocent.test", ["169.254.169.254"]).Name("api.cluster.test", ["10.0.0.7"]);
        var apiServer = ClusterApiServer.From("10.96.0.1", "443", new Uri("https://api.cluster.test:6443"));

        var result = await CheckAsync(image, network, apiServer: apiServer);

        Assert.Equal(PullCause.Unknown, result.Cause);
        var line = Assert.Single(result.Evidence, e => e.Check == check);
        Assert.Equal(EvidenceOutcome.Skipped, line.Outcome);
        Assert.Contains(refused, line.Detail, StringComparison.Ordinal);
        Assert.StartsWith("the bot did not contact ", result.Summary, StringComparison.Ordinal);
        Assert.Empty(network.Connects);
    }

    [Fact]
    public async Task A_link_local_host_the_operator_lists_as_a_registry_is_checked()
    {
        var network = new TestNetwork().Route("169.254.10.10");
        var host = $"169.254.10.10:{registry.AnonymousPort}";

        var refused = await CheckAsync($"{host}/team/app:1.4.2", network);
        var listed = await CheckAsync($"{host}/team/app:1.4.2", network, o => PlainHttp(o, host));

        Assert.Equal(PullCause.Unknown, refused.Cause);
        Assert.True(listed.Pullable, listed.Summary);
        Assert.True(network.Connected("169.254.10.10"));
    }

    [Theory]
    [InlineData("10.0.0.9", "10.0.0.9:{port} is on a private network, further inside the network than the registry that sent the bot there (public)")]
    [InlineData("127.0.0.1", "127.0.0.1:{port} is on the loopback interface, further inside the network than the registry that sent the bot there (public)")]
    public async Task A_registry_name_that_changes_its_answer_after_the_probe_is_refused_at_the_address_it_would_connect_to(string second, string refused)
    {
        await using var hostile = await ScriptedServer.StartAsync();
        hostile.Handler = OpenApiRoot;
        var network = new TestNetwork().Name("rebind.hostile.test", [PublicAddress], [second]).Route(PublicAddress);

        var result = await CheckAsync($"rebind.hostile.test:{hostile.Port}/team/app:1.0", network, o => PlainHttp(o, $"rebind.hostile.test:{hostile.Port}"));

        Assert.Contains(result.Evidence, e => e.Check == $"TCP {PublicAddress}:{hostile.Port}" && e.Outcome == EvidenceOutcome.Passed);
        var line = Assert.Single(result.Evidence, e => e.Check == "registry request");
        Assert.StartsWith("not sent: " + refused.Replace("{port}", hostile.Port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal), line.Detail, StringComparison.Ordinal);
        Assert.Equal(PullCause.Unknown, result.Cause);
        Assert.Empty(hostile.Requests);
        Assert.DoesNotContain(network.Connects, c => c.Address.Equals(IPAddress.Parse(second)));
    }

    [Fact]
    public async Task A_token_realm_over_plain_http_is_followed_only_for_a_registry_configured_plain_http()
    {
        using var certificate = ScriptedServer.Certificate(PublicRegistry);
        await using var tlsRegistry = await ScriptedServer.StartAsync(certificate);
        await using var plainRegistry = await ScriptedServer.StartAsync();
        await using var tokens = await InsideAsync();
        var realm = $"http://{PublicTokenAddress}:{tokens.Port}/token";
        tlsRegistry.Handler = context => BearerChallenge(context, realm);
        plainRegistry.Handler = context => BearerChallenge(context, realm);

        var overTls = await CheckAsync(
            $"{PublicRegistry}:{tlsRegistry.Port}/team/app:1.0",
            PublicNetwork().Route(PublicTokenAddress),
            o => o.Hosts.Add(new RegistryHostOptions { Host = $"{PublicRegistry}:{tlsRegistry.Port}", SkipVerify = true }));

        Assert.Empty(tokens.Requests);
        Assert.Contains(
            $"the token realm was not asked: http://{PublicTokenAddress}:{tokens.Port} is a token realm over plain HTTP, and {PublicRegistry}:{tlsRegistry.Port} is not configured as a plain-HTTP registry",
            Assert.Single(overTls.Evidence, e => e.Check == "token service").Detail,
            StringComparison.Ordinal);

        var plain = await CheckAsync($"{PublicRegistry}:{plainRegistry.Port}/team/app:1.0", PublicNetwork().Route(PublicTokenAddress), o => PlainHttp(o, $"{PublicRegistry}:{plainRegistry.Port}"));

        Assert.Single(tokens.Requests);
        Assert.Equal(PullCause.AuthFailed, plain.Cause);
        AssertNothingFromInside(plain);
    }

    [Fact]
    public async Task A_redirect_further_inside_the_network_is_not_followed()
    {
        await using var hostile = await ScriptedServer.StartAsync();
        await using var inside = await InsideAsync();
        hostile.Handler = context => context.Request.Path == "/v2/" ? OpenApiRoot(context) : Redirect(context, $"http://{inside.Authority}/steal");

        var result = await CheckAsync($"{PublicRegistry}:{hostile.Port}/team/app:1.0", PublicNetwork(), o => PlainHttp(o, $"{PublicRegistry}:{hostile.Port}"));

        Assert.Empty(inside.Requests);
        Assert.Equal(PullCause.Unknown, result.Cause);
        Assert.Equal(
            $"not sent: {inside.Authority} is on the loopback interface, further inside the network than the registry that sent the bot there (public); a registry may point the bot only as far in as itself",
            Assert.Single(result.Evidence, e => e.Check == "registry request").Detail);
        Assert.Equal($"the bot did not follow {PublicRegistry}:{hostile.Port} to {inside.Authority}: on the loopback interface, further inside the network than the registry that sent the bot there (public); a registry may point the bot only as far in as itself", result.Summary);
    }

    [Fact]
    public async Task A_redirect_from_an_https_registry_to_plain_http_is_not_followed()
    {
        using var certificate = ScriptedServer.Certificate(PublicRegistry);
        await using var hostile = await ScriptedServer.StartAsync(certificate);
        await using var storage = await InsideAsync();
        hostile.Handler = context => context.Request.Path == "/v2/" ? OpenApiRoot(context) : Redirect(context, $"http://{PublicTokenAddress}:{storage.Port}/blob");

        var result = await CheckAsync(
            $"{PublicRegistry}:{hostile.Port}/team/app:1.0",
            PublicNetwork().Route(PublicTokenAddress),
            o => o.Hosts.Add(new RegistryHostOptions { Host = $"{PublicRegistry}:{hostile.Port}", SkipVerify = true }));

        Assert.Empty(storage.Requests);
        Assert.StartsWith(
            $"not sent: http://{PublicTokenAddress}:{storage.Port} is a redirect to plain HTTP, and {PublicRegistry}:{hostile.Port} is not configured as a plain-HTTP registry",
            Assert.Single(result.Evidence, e => e.Check == "registry request").Detail,
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_redirect_to_another_host_leaves_the_credentials_behind()
    {
        await using var hostile = await ScriptedServer.StartAsync();
        await using var other = await ScriptedServer.StartAsync();
        hostile.Handler = context =>
        {
            if (context.Request.Path == "/v2/")
            {
                context.Response.StatusCode = 401;
                context.Response.Headers.WWWAuthenticate = "Basic realm=\"hostile\"";
                return Task.CompletedTask;
            }

            return Redirect(context, $"http://{other.Authority}/manifest");
        };
        other.Handler = context =>
        {
            context.Response.Headers["Docker-Content-Digest"] = "sha256:" + new string('a', 64);
            context.Response.ContentType = ManifestMediaTypes.OciManifest;
            return Task.CompletedTask;
        };
        var credentials = RegistryCredentials.FromUsernamePassword("redirect-user", "redirect-password-9d1", "test");

        var result = await CheckAsync($"{hostile.Authority}/team/app:1.0", new TestNetwork(), o => PlainHttp(o, hostile.Authority), credentials);

        Assert.True(result.Pullable, result.Summary);
        Assert.StartsWith("Basic ", Assert.Single(hostile.Requests, r => r.PathAndQuery.Contains("manifests", StringComparison.Ordinal)).Authorization, StringComparison.Ordinal);
        Assert.Null(Assert.Single(other.Requests).Authorization);
    }

    [Fact]
    public async Task What_a_registry_says_is_bounded_and_stripped_of_control_characters_bidi_overrides_and_credentials()
    {
        const string Hostile = "manifest unknown\u001b[2J\r\nFAKE: all good \u202Edeef\u2066\u200B see https://admin:s3cret-77@internal.corp/reset?token=abc123#frag ";
        await using var hostile = await ScriptedServer.StartAsync();
        hostile.Handler = context => context.Request.Path.Value switch
        {
            "/v2/" => OpenApiRoot(context),
            "/v2/team/app/tags/list" => context.Response.WriteAsJsonAsync(new { name = "team/app", tags = new[] { "1.0.1", "1.0\u202E.0", "1.0.0", "../../etc" } }),
            _ => Json(context, 404, new { errors = new[] { new { code = "MANIFEST_UNKNOWN\u202E\n", message = Hostile + new string('A', 5000) } } }),
        };

        var result = await CheckAsync($"{hostile.Authority}/team/app:1.0", new TestNetwork(), o => PlainHttp(o, hostile.Authority), platform: "linux/amd64");

        Assert.Equal(PullCause.ImageNotFound, result.Cause);
        var line = Assert.Single(result.Evidence, e => e.Check == "manifest team/app:1.0").Detail;
        Assert.StartsWith(
            "404 MANIFEST_UNKNOWN: manifest unknown [2J FAKE: all good deef see https://[credentials removed]@internal.corp/reset?[query removed] AAAA",
            line,
            StringComparison.Ordinal);
        Assert.EndsWith("A…", line, StringComparison.Ordinal);
        Assert.InRange(line.Length, 200, 230);
        foreach (var text in result.Evidence.Select(e => e.Detail).Append(result.Summary))
        {
            Assert.DoesNotContain(text.EnumerateRunes(), r => Rune.IsControl(r) || Rune.GetUnicodeCategory(r) == UnicodeCategory.Format);
            Assert.DoesNotContain("s3cret-77", text, StringComparison.Ordinal);
            Assert.DoesNotContain("abc123", text, StringComparison.Ordinal);
        }

        Assert.NotEmpty(result.SuggestedTags);
        Assert.All(result.SuggestedTags, t => Assert.Contains(t.Tag, new[] { "1.0.1", "1.0.0" }));
    }

    private async Task<RegistryCheck> CheckAsync(
        string image,
        TestNetwork network,
        Action<RegistryOptions>? configure = null,
        RegistryCredentials? credentials = null,
        ClusterApiServer? apiServer = null,
        string? platform = null)
    {
        await using var services = registry.Services(
            o =>
            {
                o.CacheWindow = TimeSpan.Zero;
                configure?.Invoke(o);
            },
            network: network,
            apiServer: apiServer ?? ClusterApiServer.None);
        var result = await services.GetRequiredService<RegistryChecker>().CheckAsync(ImageReference.Parse(image), credentials, platform is null ? null : Platform.Parse(platform), CancellationToken.None);
        output.WriteLine($"{image}: {result.Cause?.ToSnakeCase() ?? "pullable"} — {result.Summary}");
        foreach (var e in result.Evidence)
        {
            output.WriteLine($"  {e.Outcome,-7} {e.Check,-32} {e.Detail}");
        }

        return result;
    }

    private static TestNetwork PublicNetwork() => new TestNetwork().Name(PublicRegistry, [PublicAddress]).Route(PublicAddress);

    private static void PlainHttp(RegistryOptions options, string host) => options.Hosts.Add(new RegistryHostOptions { Host = host, PlainHttp = true });

    /// <summary>The internal service: whatever is asked, it answers 401 with text that must never reach a card.</summary>
    private static async Task<ScriptedServer> InsideAsync()
    {
        var inside = await ScriptedServer.StartAsync();
        inside.Handler = context =>
        {
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"" + InternalText + "\"";
            return Json(context, 401, new { details = InternalText, errors = new[] { new { code = "UNAUTHORIZED", message = InternalText } } });
        };
        return inside;
    }

    private static void AssertNothingFromInside(RegistryCheck result)
    {
        Assert.DoesNotContain("hunter2", result.Summary, StringComparison.Ordinal);
        Assert.DoesNotContain(result.Evidence, e => e.Detail.Contains("hunter2", StringComparison.Ordinal) || e.Detail.Contains("INTERNAL", StringComparison.Ordinal));
    }

    private static Task BearerChallenge(HttpContext context, string realm)
    {
        context.Response.Headers["Docker-Distribution-API-Version"] = "registry/2.0";
        context.Response.Headers.WWWAuthenticate = $"Bearer realm=\"{realm}\",service=\"hostile\"";
        return Json(context, 401, new { errors = new[] { new { code = "UNAUTHORIZED", message = "authentication required" } } });
    }

    private static Task OpenApiRoot(HttpContext context)
    {
        context.Response.Headers["Docker-Distribution-API-Version"] = "registry/2.0";
        return context.Response.WriteAsJsonAsync(new { });
    }

    private static Task Redirect(HttpContext context, string location)
    {
        context.Response.StatusCode = 307;
        context.Response.Headers.Location = location;
        return Task.CompletedTask;
    }

    private static Task Json(HttpContext context, int status, object body)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(body);
    }
}
