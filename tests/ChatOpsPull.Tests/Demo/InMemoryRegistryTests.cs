using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using ChatOpsPull.Simulation.Registry;

namespace ChatOpsPull.Tests.Demo;

/// <summary>
/// The simulated demo's registry answers as the OCI distribution spec says (v1.1, pull side): the API root, manifests by
/// tag and digest with Docker-Content-Digest, HEAD without a body, error bodies with the spec's codes, tag lists with
/// n/last pagination, and a private repository behind a Bearer challenge (the Docker token protocol).
/// </summary>
public sealed class InMemoryRegistryTests : IAsyncLifetime
{
    private InMemoryRegistry _registry = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _registry = await InMemoryRegistry.StartAsync();
        _registry.AddRepository("library/nginx", ["1.27.4", "1.28.0", "latest"]);
        _registry.AddRepository("team/private", ["1.0.0"], "puller", "s3cret");
        _http = new HttpClient { BaseAddress = _registry.BaseAddress };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _registry.DisposeAsync();
    }

    [Fact]
    public async Task The_api_root_answers_200_with_the_distribution_version_header()
    {
        using var response = await _http.GetAsync("/v2/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("registry/2.0", response.Headers.GetValues("Docker-Distribution-API-Version").Single());
    }

    [Fact]
    public async Task A_manifest_by_tag_carries_the_digest_of_its_bytes_and_is_served_by_that_digest_too()
    {
        using var byTag = await _http.GetAsync("/v2/library/nginx/manifests/1.28.0");
        var body = await byTag.Content.ReadAsByteArrayAsync();
        var digest = byTag.Headers.GetValues("Docker-Content-Digest").Single();

        Assert.Equal(HttpStatusCode.OK, byTag.StatusCode);
        Assert.Equal("application/vnd.oci.image.manifest.v1+json", byTag.Content.Headers.ContentType?.MediaType);
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(body)), digest);
        Assert.Equal(2, JsonNode.Parse(body)!["schemaVersion"]!.GetValue<int>());

        using var head = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/v2/library/nginx/manifests/1.28.0"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(digest, head.Headers.GetValues("Docker-Content-Digest").Single());
        Assert.Equal(body.Length, head.Content.Headers.ContentLength);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());

        using var byDigest = await _http.GetAsync($"/v2/library/nginx/manifests/{digest}");
        Assert.Equal(HttpStatusCode.OK, byDigest.StatusCode);
        Assert.Equal(body, await byDigest.Content.ReadAsByteArrayAsync());

        var config = JsonNode.Parse(body)!["config"]!["digest"]!.GetValue<string>();
        using var blob = await _http.GetAsync($"/v2/library/nginx/blobs/{config}");
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(await blob.Content.ReadAsByteArrayAsync())), config);
    }

    [Fact]
    public async Task A_missing_tag_is_404_MANIFEST_UNKNOWN_and_a_missing_repository_404_NAME_UNKNOWN()
    {
        using var tag = await _http.GetAsync("/v2/library/nginx/manifests/0.0.0-nope");
        using var head = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/v2/library/nginx/manifests/0.0.0-nope"));
        using var repository = await _http.GetAsync("/v2/library/nothing/manifests/1.0");
        using var invalid = await _http.GetAsync("/v2/Shop/Web/manifests/1.0");

        Assert.Equal(HttpStatusCode.NotFound, tag.StatusCode);
        Assert.Equal("MANIFEST_UNKNOWN", ErrorCode(await tag.Content.ReadAsStringAsync()));
        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.NotFound, repository.StatusCode);
        Assert.Equal("NAME_UNKNOWN", ErrorCode(await repository.Content.ReadAsStringAsync()));
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Equal("NAME_INVALID", ErrorCode(await invalid.Content.ReadAsStringAsync()));
    }

    [Fact]
    public async Task Tags_list_pages_with_n_and_last_and_a_Link_header()
    {
        using var first = await _http.GetAsync("/v2/library/nginx/tags/list?n=2");
        var page = JsonNode.Parse(await first.Content.ReadAsStringAsync())!;
        using var rest = await _http.GetAsync("/v2/library/nginx/tags/list?n=2&last=1.28.0");

        Assert.Equal("library/nginx", page["name"]!.GetValue<string>());
        Assert.Equal(["1.27.4", "1.28.0"], page["tags"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Contains("rel=\"next\"", first.Headers.GetValues("Link").Single(), StringComparison.Ordinal);
        Assert.Equal(["latest"], JsonNode.Parse(await rest.Content.ReadAsStringAsync())!["tags"]!.AsArray().Select(t => t!.GetValue<string>()));
    }

    [Fact]
    public async Task A_private_repository_challenges_with_Bearer_and_serves_only_with_a_token_for_the_right_credentials()
    {
        using var anonymous = await _http.GetAsync("/v2/team/private/manifests/1.0.0");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("UNAUTHORIZED", ErrorCode(await anonymous.Content.ReadAsStringAsync()));
        var challenge = anonymous.Headers.WwwAuthenticate.Single();
        Assert.Equal("Bearer", challenge.Scheme);
        Assert.Contains($"realm=\"{_registry.BaseAddress}token\"", challenge.Parameter, StringComparison.Ordinal);
        Assert.Contains("service=\"simulated-registry\"", challenge.Parameter, StringComparison.Ordinal);
        Assert.Contains("scope=\"repository:team/private:pull\"", challenge.Parameter, StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.Unauthorized, await ManifestWithTokenAsync(null));
        Assert.Equal(HttpStatusCode.Unauthorized, (await TokenAsync(("puller", "wrong"))).Status);
        Assert.Equal(HttpStatusCode.OK, await ManifestWithTokenAsync(("puller", "s3cret")));

        Assert.Equal(SimulatedPull.Unauthorized, _registry.Pull("team/private", "1.0.0", []));
        Assert.Equal(SimulatedPull.Pulled, _registry.Pull("team/private", "1.0.0", [("puller", "s3cret")]));
        Assert.Equal(SimulatedPull.NotFound, _registry.Pull("library/nginx", "0.0.0-nope", []));
        Assert.Equal(SimulatedPull.InvalidName, _registry.Pull("Shop/Web", "1.0", []));
    }

    private async Task<HttpStatusCode> ManifestWithTokenAsync((string User, string Password)? credentials)
    {
        var (status, token) = await TokenAsync(credentials);
        Assert.Equal(HttpStatusCode.OK, status);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v2/team/private/manifests/1.0.0");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await _http.SendAsync(request);
        return response.StatusCode;
    }

    private async Task<(HttpStatusCode Status, string? Token)> TokenAsync((string User, string Password)? credentials)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/token?service=simulated-registry&scope=repository:team/private:pull");
        if (credentials is { } c)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{c.User}:{c.Password}")));
        }

        using var response = await _http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, response.IsSuccessStatusCode ? JsonNode.Parse(body)!["token"]!.GetValue<string>() : null);
    }

    private static string ErrorCode(string body) => JsonNode.Parse(body)!["errors"]![0]!["code"]!.GetValue<string>();
}
