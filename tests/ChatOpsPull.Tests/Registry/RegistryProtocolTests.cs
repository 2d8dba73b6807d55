using System.Net;
using ChatOpsPull.Core.Images;
using ChatOpsPull.Registry;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Tests.Registry;

/// <summary>Header and body formats from the specs: WWW-Authenticate (RFC 7235/6750), Link (RFC 8288), Docker Hub rate-limit headers, error JSON.</summary>
public sealed class RegistryProtocolTests
{
    [Fact]
    public void Bearer_challenge_with_a_comma_inside_the_scope_parses()
    {
        // The example of the Docker token auth spec (token.md).
        var challenge = Assert.Single(AuthChallenge.Parse(["Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\",scope=\"repository:samalba/my-app:pull,push\""]));

        Assert.True(challenge.IsBearer);
        Assert.Equal("https://auth.docker.io/token", challenge.Realm);
        Assert.Equal("registry.docker.io", challenge.Service);
        Assert.Equal("repository:samalba/my-app:pull,push", challenge.Scope);
    }

    [Fact]
    public void Several_challenges_in_one_header_are_all_read()
    {
        var challenges = AuthChallenge.Parse(["Basic realm=\"Registry Realm\", Bearer realm=\"https://ghcr.io/token\",service=\"ghcr.io\",error=\"insufficient_scope\""]);

        Assert.Equal(["Basic", "Bearer"], challenges.Select(c => c.Scheme));
        Assert.Equal("Registry Realm", challenges[0].Realm);
        Assert.Equal("insufficient_scope", challenges[1].Error);
    }

    [Fact]
    public void Escaped_quotes_in_a_quoted_value_are_kept()
    {
        var challenge = Assert.Single(AuthChallenge.Parse(["Basic realm=\"say \\\"hi\\\"\""]));

        Assert.Equal("say \"hi\"", challenge.Realm);
    }

    [Theory]
    [InlineData("</v2/app/tags/list?n=2&last=1.4.2>; rel=\"next\"", "http://r:5000/v2/app/tags/list?n=2&last=1.4.2")]
    [InlineData("<https://other.example/v2/app/tags/list?last=b>; rel=next", "https://other.example/v2/app/tags/list?last=b")]
    [InlineData("</v2/app/tags/list?last=a>; rel=\"prev\"", null)]
    [InlineData(null, null)]
    public void Link_next_is_resolved_against_the_current_page(string? link, string? expected)
    {
        var next = RegistryClient.NextLink(link, new Uri("http://r:5000/v2/app/tags/list?n=2"));

        Assert.Equal(expected, next?.ToString());
    }

    [Fact]
    public void Docker_hub_rate_limit_headers_parse()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.OK);
        response.Headers.TryAddWithoutValidation("ratelimit-limit", "100;w=21600");
        response.Headers.TryAddWithoutValidation("ratelimit-remaining", "76;w=21600");
        response.Headers.TryAddWithoutValidation("docker-ratelimit-source", "192.0.2.1");

        Assert.Equal(new RateLimitHeadroom(100, 76, TimeSpan.FromSeconds(21600), "192.0.2.1"), RateLimitHeadroom.FromHeaders(response));
    }

    [Fact]
    public void Registry_errors_and_token_service_errors_parse()
    {
        var registry = RegistryError.Parse("""{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"1.4.3"}}]}"""u8);
        var hub = RegistryError.Parse("""{"details":"incorrect username or password"}"""u8);
        var html = RegistryError.Parse("<html>502 Bad Gateway</html>"u8);

        Assert.Equal(new RegistryError("MANIFEST_UNKNOWN", "manifest unknown"), Assert.Single(registry));
        Assert.Equal("incorrect username or password", Assert.Single(hub).Message);
        Assert.Empty(html);
    }

    [Fact]
    public void Docker_hub_is_reached_at_registry_1_and_configuration_is_keyed_by_the_image_domain()
    {
        var options = Options.Create(new RegistryOptions { Hosts = [new RegistryHostOptions { Host = "registry.internal:5000", PlainHttp = true }] });
        var endpoints = new RegistryEndpoints(options);

        var hub = endpoints.For(ImageReference.Parse("nginx:1.25"));
        var plain = endpoints.For(ImageReference.Parse("registry.internal:5000/app:1"));
        var v6 = endpoints.For(ImageReference.Parse("[fe80::1]:5000/app:1"));

        Assert.Equal(new Uri("https://registry-1.docker.io/"), hub.BaseUri);
        Assert.Equal("docker.io", hub.Domain);
        Assert.Equal(new Uri("http://registry.internal:5000/"), plain.BaseUri);
        Assert.Equal(("fe80::1", 5000), (v6.Host, v6.Port));
        Assert.Equal("[fe80::1]:5000", v6.Authority);
    }
}
