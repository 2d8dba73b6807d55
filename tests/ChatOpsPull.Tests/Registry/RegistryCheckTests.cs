using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Images;
using ChatOpsPull.Registry;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace ChatOpsPull.Tests.Registry;

[Collection(RegistryFixtureGroup.Name)]
public sealed class RegistryCheckTests(RegistryFixture registry, ITestOutputHelper output)
{
    private static readonly RegistryCredentials Bob = RegistryCredentials.FromUsernamePassword(RegistryFixture.BasicUser, RegistryFixture.BasicPassword, "test");
    private static readonly RegistryCredentials Alice = RegistryCredentials.FromUsernamePassword(TokenServerStandIn.User, TokenServerStandIn.Password, "test");

    private async Task<RegistryCheck> CheckAsync(string image, RegistryCredentials? credentials = null, string? platform = null, Action<RegistryOptions>? configure = null)
    {
        await using var services = registry.Services(o =>
        {
            o.CacheWindow = TimeSpan.Zero;
            configure?.Invoke(o);
        });
        var checker = services.GetRequiredService<RegistryChecker>();
        var result = await checker.CheckAsync(ImageReference.Parse(image), credentials, platform is null ? null : Platform.Parse(platform), CancellationToken.None);
        output.WriteLine($"{image}: {result.Cause?.ToSnakeCase() ?? "pullable"} — {result.Summary}");
        foreach (var e in result.Evidence)
        {
            output.WriteLine($"  {e.Outcome,-7} {e.Check,-32} {e.Detail} {e.Duration?.TotalMilliseconds:0.0}");
        }

        return result;
    }

    [Fact]
    public async Task Existing_tag_is_pullable_with_digest_and_media_type()
    {
        var result = await CheckAsync($"{registry.Anonymous}/team/app:1.4.2");

        Assert.True(result.Pullable, result.Summary);
        Assert.Null(result.Cause);
        Assert.StartsWith("sha256:", result.Digest, StringComparison.Ordinal);
        Assert.Equal(ManifestMediaTypes.OciManifest, result.MediaType);
        Assert.Contains(result.Evidence, e => e.Check.StartsWith("TCP 127.0.0.1", StringComparison.Ordinal) && e.Outcome == EvidenceOutcome.Passed && e.Duration is not null);
        Assert.Contains(result.Evidence, e => e.Check == "registry API /v2/" && e.Outcome == EvidenceOutcome.Passed);
    }

    [Fact]
    public async Task Missing_tag_is_image_not_found_with_the_nearest_tags()
    {
        var result = await CheckAsync($"{registry.Anonymous}/team/app:1.4.3");

        Assert.Equal(PullCause.ImageNotFound, result.Cause);
        Assert.Equal(["1.4.2", "1.5.0"], result.SuggestedTags.Select(s => s.Tag));
        Assert.True(result.RepositoryExists);
        Assert.Contains("nearest: 1.4.2, 1.5.0", result.Summary, StringComparison.Ordinal);
        Assert.Contains(result.Evidence, e => e.Check.StartsWith("manifest team/app:1.4.3", StringComparison.Ordinal) && e.Outcome == EvidenceOutcome.Failed);
    }

    [Fact]
    public async Task Typo_in_latest_suggests_latest()
    {
        var result = await CheckAsync($"{registry.Anonymous}/team/app:lates");

        Assert.Equal(PullCause.ImageNotFound, result.Cause);
        Assert.Equal("latest", result.SuggestedTags[0].Tag);
    }

    [Fact]
    public async Task Missing_repository_is_image_not_found_and_says_so()
    {
        var result = await CheckAsync($"{registry.Anonymous}/team/nope:1.0");

        Assert.Equal(PullCause.ImageNotFound, result.Cause);
        Assert.False(result.RepositoryExists);
        Assert.Contains("repository team/nope does not exist", result.Summary, StringComparison.Ordinal);
        Assert.Empty(result.SuggestedTags);
    }

    [Fact]
    public async Task Missing_digest_is_image_not_found()
    {
        var result = await CheckAsync($"{registry.Anonymous}/team/app@sha256:{new string('a', 64)}");

        Assert.Equal(PullCause.ImageNotFound, result.Cause);
        Assert.Contains("manifest sha256:aaaa", result.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Basic_registry_without_credentials_is_auth_failed()
    {
        var result = await CheckAsync($"{registry.Basic}/private/app:1.0");

        Assert.Equal(PullCause.AuthFailed, result.Cause);
        Assert.Contains("requires credentials", result.Summary, StringComparison.Ordinal);
        Assert.Contains(result.Evidence, e => e.Check == "registry API /v2/" && e.Detail.Contains("Basic realm=chatopspull-basic-realm", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Basic_registry_with_a_wrong_password_is_auth_failed()
    {
        var wrong = RegistryCredentials.FromUsernamePassword(RegistryFixture.BasicUser, "wrong-password", "test");

        var result = await CheckAsync($"{registry.Basic}/private/app:1.0", wrong);

        Assert.Equal(PullCause.AuthFailed, result.Cause);
        Assert.Contains("rejected the username/password from test", result.Summary, StringComparison.Ordinal);
        Assert.DoesNotContain(result.Evidence, e => e.Detail.Contains("wrong-password", StringComparison.Ordinal) || e.Detail.Contains(RegistryFixture.BasicUser, StringComparison.Ordinal));
        Assert.DoesNotContain("wrong-password", result.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Basic_registry_with_the_right_password_is_pullable()
    {
        var result = await CheckAsync($"{registry.Basic}/private/app:1.0", Bob);

        Assert.True(result.Pullable, result.Summary);
        Assert.Equal("the username/password from test", result.Credentials);
        Assert.DoesNotContain(result.Evidence, e => e.Detail.Contains(RegistryFixture.BasicUser, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Basic_registry_with_the_right_password_and_a_missing_tag_suggests_tags()
    {
        var result = await CheckAsync($"{registry.Basic}/team/app:1.4.3", Bob);

        Assert.Equal(PullCause.ImageNotFound, result.Cause);
        Assert.Equal("1.4.2", result.SuggestedTags[0].Tag);
    }

    [Fact]
    public async Task Tls_registry_with_its_ca_configured_is_pullable()
    {
        var result = await CheckAsync($"{registry.Tls}/team/app:1.5.0");

        Assert.True(result.Pullable, result.Summary);
        Assert.Contains(result.Evidence, e => e.Check == "TLS 127.0.0.1" && e.Outcome == EvidenceOutcome.Passed && e.Detail.Contains("issued by ChatOpsPull Test CA", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Tls_registry_signed_by_an_unknown_ca_is_a_tls_failure_named_plainly()
    {
        var result = await CheckAsync($"{registry.Tls}/team/app:1.5.0", configure: o => o.Hosts.RemoveAll(h => h.Host == registry.Tls));

        Assert.Equal(PullCause.Tls, result.Cause);
        Assert.Contains("certificate signed by unknown authority", result.Summary, StringComparison.Ordinal);
        Assert.Contains("ChatOpsPull Test CA", result.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tls_certificate_for_another_name_says_which_names_it_is_for()
    {
        var image = $"localhost:{registry.TlsPort}/team/app:1.5.0";

        var result = await CheckAsync(image, configure: o => o.Hosts.Add(new RegistryHostOptions { Host = $"localhost:{registry.TlsPort}", CaFiles = [registry.CaFile] }));

        Assert.Equal(PullCause.Tls, result.Cause);
        Assert.Contains("certificate is valid for 127.0.0.1, not localhost", result.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Https_client_against_a_plain_http_registry_is_told_it_got_an_http_response()
    {
        var result = await CheckAsync($"{registry.Anonymous}/team/app:1.4.2", configure: o => o.Hosts.RemoveAll(h => h.Host == registry.Anonymous));

        Assert.Equal(PullCause.Tls, result.Cause);
        Assert.Contains("server gave HTTP response to HTTPS client", result.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plain_http_client_against_a_tls_registry_is_told_the_port_speaks_https()
    {
        var result = await CheckAsync($"{registry.Tls}/team/app:1.5.0", configure: o =>
        {
            o.Hosts.RemoveAll(h => h.Host == registry.Tls);
            o.Hosts.Add(new RegistryHostOptions { Host = registry.Tls, PlainHttp = true });
        });

        Assert.Equal(PullCause.Tls, result.Cause);
        Assert.Contains("client sent an HTTP request to an HTTPS server", result.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Nothing_listening_is_a_network_failure_with_connection_refused()
    {
        var port = Infrastructure.FreePort.Next();

        var result = await CheckAsync($"127.0.0.1:{port}/team/app:1.0");

        Assert.Equal(PullCause.Network, result.Cause);
        Assert.Contains("connection refused", result.Summary, StringComparison.Ordinal);
        Assert.Contains(result.Evidence, e => e.Check == $"TCP 127.0.0.1:{port}" && e.Outcome == EvidenceOutcome.Failed);
    }

    [Fact]
    public async Task Unresolvable_host_is_a_network_failure_with_no_such_host()
    {
        var result = await CheckAsync("registry.chatopspull.invalid/team/app:1.0");

        Assert.Equal(PullCause.Network, result.Cause);
        Assert.Contains("does not resolve", result.Summary, StringComparison.Ordinal);
        Assert.Contains(result.Evidence, e => e.Check == "DNS registry.chatopspull.invalid" && e.Outcome == EvidenceOutcome.Failed);
    }

    [Fact]
    public async Task Index_with_the_nodes_platform_is_pullable_and_lists_platforms()
    {
        var result = await CheckAsync($"{registry.Anonymous}/team/multi:1.0", platform: "linux/arm64");

        Assert.True(result.Pullable, result.Summary);
        Assert.Equal(ManifestMediaTypes.OciIndex, result.MediaType);
        Assert.Equal(["linux/amd64", "linux/arm64"], result.Platforms.Select(p => p.ToString()));
    }

    [Fact]
    public async Task Index_without_the_nodes_platform_is_a_platform_mismatch()
    {
        var result = await CheckAsync($"{registry.Anonymous}/team/multi:1.0", platform: "linux/s390x");

        Assert.Equal(PullCause.PlatformMismatch, result.Cause);
        Assert.Contains("has no linux/s390x image (it offers linux/amd64, linux/arm64)", result.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Single_platform_image_is_judged_by_its_config()
    {
        var mismatch = await CheckAsync($"{registry.Anonymous}/team/app:1.4.2", platform: "linux/arm64");
        var match = await CheckAsync($"{registry.Anonymous}/team/app:1.4.2", platform: "linux/amd64");

        Assert.Equal(PullCause.PlatformMismatch, mismatch.Cause);
        Assert.Equal(["linux/amd64"], mismatch.Platforms.Select(p => p.ToString()));
        Assert.True(match.Pullable, match.Summary);
    }

    [Fact]
    public async Task Docker_hub_rate_limit_headers_are_reported_as_headroom()
    {
        registry.DockerHubProxy.Remaining = 77;

        var result = await CheckAsync($"{registry.DockerHub}/team/app:1.4.2", platform: "linux/amd64");

        Assert.True(result.Pullable, result.Summary);
        Assert.Equal(new RateLimitHeadroom(100, 76, TimeSpan.FromHours(6), "127.0.0.1"), result.RateLimit);
        Assert.Contains(result.Evidence, e => e.Check == "rate limit" && e.Detail == "76 of 100 pulls left per 6h (counted for 127.0.0.1)");
    }

    [Fact]
    public async Task Too_many_requests_is_rate_limited_with_what_is_left()
    {
        registry.DockerHubProxy.Remaining = 0;

        var result = await CheckAsync($"{registry.DockerHub}/team/app:1.4.2", platform: "linux/amd64");

        Assert.Equal(PullCause.RateLimited, result.Cause);
        Assert.Contains("TOOMANYREQUESTS", result.Summary, StringComparison.Ordinal);
        Assert.Contains("0 of 100 pulls left per 6h", result.Summary, StringComparison.Ordinal);
        Assert.Equal(0, result.RateLimit?.Remaining);
    }

    [Fact]
    public async Task Bearer_anonymous_pull_of_a_public_repository_gets_a_token_and_pulls()
    {
        var result = await CheckAsync($"{registry.Token}/public/tool:1.0");

        Assert.True(result.Pullable, result.Summary);
        Assert.Contains(result.Evidence, e => e.Check == "token service" && e.Outcome == EvidenceOutcome.Passed && e.Detail.Contains("anonymously", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Bearer_anonymous_pull_of_a_private_repository_is_access_denied()
    {
        var result = await CheckAsync($"{registry.Token}/private/app:1.0");

        Assert.Equal(PullCause.AccessDenied, result.Cause);
        Assert.Contains("private and needs a pull secret, or it does not exist", result.Summary, StringComparison.Ordinal);
        Assert.Contains(result.Evidence, e => e.Detail.Contains("insufficient_scope", StringComparison.Ordinal) || e.Detail.Contains("UNAUTHORIZED", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Bearer_with_the_right_password_pulls_the_private_repository()
    {
        var result = await CheckAsync($"{registry.Token}/private/app:1.0", Alice);

        Assert.True(result.Pullable, result.Summary);
        Assert.Contains(result.Evidence, e => e.Check == "token service" && e.Detail.Contains("for the username/password", StringComparison.Ordinal));
        Assert.DoesNotContain(result.Evidence, e => e.Detail.Contains(TokenServerStandIn.User, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Bearer_with_a_wrong_password_is_auth_failed()
    {
        var wrong = RegistryCredentials.FromUsernamePassword(TokenServerStandIn.User, "nope", "test");

        var result = await CheckAsync($"{registry.Token}/private/app:1.0", wrong);

        Assert.Equal(PullCause.AuthFailed, result.Cause);

        // The token service listens on another port than the registry: another host, so only its status is shown.
        var line = result.Evidence.Single(e => e.Check == "token service").Detail;
        Assert.Contains("rejected the credentials (for the username/password): 401 Unauthorized (the token service is not the registry's own host, so its message is not shown)", line, StringComparison.Ordinal);
        Assert.DoesNotContain("incorrect username or password", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bearer_with_wrong_credentials_for_a_public_image_says_the_secret_breaks_the_pull()
    {
        var wrong = RegistryCredentials.FromUsernamePassword(TokenServerStandIn.User, "nope", "test");

        var result = await CheckAsync($"{registry.Token}/public/tool:1.0", wrong);

        Assert.Equal(PullCause.AuthFailed, result.Cause);
        Assert.Contains("the image is public", result.Summary, StringComparison.Ordinal);
        Assert.Contains(result.Evidence, e => e.Check == "anonymous pull" && e.Detail.StartsWith("the manifest is readable", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Bearer_credentials_without_rights_on_the_repository_are_access_denied()
    {
        var result = await CheckAsync($"{registry.Token}/other/app:1.0", Alice);

        Assert.Equal(PullCause.AccessDenied, result.Cause);
        Assert.Contains("belongs to another account or does not exist", result.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bearer_with_credentials_tells_a_missing_repository_from_a_private_one()
    {
        var anonymous = await CheckAsync($"{registry.Token}/private/missing:1.0");
        var withCredentials = await CheckAsync($"{registry.Token}/private/missing:1.0", Alice);

        Assert.Equal(PullCause.AccessDenied, anonymous.Cause);
        Assert.Equal(PullCause.ImageNotFound, withCredentials.Cause);
        Assert.False(withCredentials.RepositoryExists);
    }

    [Fact]
    public async Task Bearer_identity_token_is_used_as_a_refresh_token()
    {
        var before = registry.TokenServer.Requests;
        var credentials = RegistryCredentials.FromIdentityToken(TokenServerStandIn.IdentityToken, source: "test");

        var result = await CheckAsync($"{registry.Token}/private/app:1.0", credentials);

        Assert.True(result.Pullable, result.Summary);
        Assert.Equal(before + 1, registry.TokenServer.Requests);
    }

    [Fact]
    public async Task Open_api_root_with_a_private_repository_answers_the_manifests_challenge()
    {
        var anonymous = await CheckAsync($"{registry.OpenRoot}/private/app:1.0");
        var withCredentials = await CheckAsync($"{registry.OpenRoot}/private/app:1.0", Alice);

        Assert.Equal(PullCause.AccessDenied, anonymous.Cause);
        Assert.True(withCredentials.Pullable, withCredentials.Summary);
        Assert.Contains(withCredentials.Evidence, e => e.Check == "token service" && e.Detail.Contains("issued for the username/password", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Expired_jwt_password_is_reported_with_how_long_ago()
    {
        var expired = FakeJwt(DateTimeOffset.UtcNow.AddHours(-2).AddMinutes(-1));
        var credentials = RegistryCredentials.FromUsernamePassword(TokenServerStandIn.User, expired, "test");

        var result = await CheckAsync($"{registry.Token}/private/app:1.0", credentials);

        Assert.Equal(PullCause.AuthFailed, result.Cause);
        Assert.Contains("JWT expired 2h", result.Summary, StringComparison.Ordinal);
        Assert.True(result.CredentialLifetime?.IsExpired(DateTimeOffset.UtcNow));
        Assert.Contains(result.Evidence, e => e.Check == "credential expiry" && e.Outcome == EvidenceOutcome.Failed);
    }

    private static string FakeJwt(DateTimeOffset expiry)
    {
        static string B64(string json) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return B64("""{"alg":"RS256","typ":"JWT"}""") + "." + B64($$"""{"sub":"alice","exp":{{expiry.ToUnixTimeSeconds()}}}""") + ".c2lnbmF0dXJl";
    }

    [Fact]
    public async Task Pull_secrets_are_tried_in_kubelets_order_until_one_pulls()
    {
        await using var services = registry.Services();
        var checker = services.GetRequiredService<RegistryChecker>();
        var image = ImageReference.Parse($"{registry.Basic}/private/app:1.0");
        var stale = DockerConfigSecret("a-stale", $"{registry.Basic}/private", RegistryFixture.BasicUser, "old-password");
        var current = DockerConfigSecret("b-current", registry.Basic, RegistryFixture.BasicUser, RegistryFixture.BasicPassword);
        var unrelated = DockerConfigSecret("c-ghcr", "ghcr.io", "someone", "whatever");

        var result = await checker.CheckWithPullSecretsAsync(image, [unrelated, current, stale], null, CancellationToken.None);

        Assert.True(result.Pullable, result.Outcome.Summary);
        Assert.Equal(2, result.Attempts.Count);
        Assert.Equal(PullCause.AuthFailed, result.Attempts[0].Cause);
        Assert.Contains("secret shop/a-stale", result.Attempts[0].Credentials, StringComparison.Ordinal);
        Assert.Contains("secret shop/b-current", result.Outcome.Credentials, StringComparison.Ordinal);
        Assert.Contains(result.AllEvidence, e => e.Check == "pull secret shop/c-ghcr" && e.Outcome == EvidenceOutcome.Failed);
    }

    [Fact]
    public async Task No_matching_pull_secret_checks_anonymously_and_says_why()
    {
        await using var services = registry.Services();
        var checker = services.GetRequiredService<RegistryChecker>();
        var unrelated = DockerConfigSecret("ghcr", "ghcr.io", "someone", "whatever");

        var result = await checker.CheckWithPullSecretsAsync(ImageReference.Parse($"{registry.Basic}/private/app:1.0"), [unrelated], null, CancellationToken.None);

        Assert.Equal(PullCause.AuthFailed, result.Outcome.Cause);
        Assert.Equal("anonymous", Assert.Single(result.Attempts).Credentials);
        Assert.StartsWith($"secret shop/ghcr has auths for ghcr.io but the image is on {registry.Basic}", result.Resolution.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_pull_secret_kubelet_cannot_read_fails_the_pull_before_the_registry_is_asked()
    {
        await using var services = registry.Services();
        var checker = services.GetRequiredService<RegistryChecker>();
        var broken = new k8s.Models.V1Secret
        {
            Metadata = new k8s.Models.V1ObjectMeta { Name = "broken", NamespaceProperty = "shop" },
            Type = PullSecretResolver.DockerConfigJsonType,
            Data = new Dictionary<string, byte[]> { [PullSecretResolver.DockerConfigJsonKey] = "{\"auths\":"u8.ToArray() },
        };
        var before = await registry.AnonymousRequestCountAsync();

        var result = await checker.CheckWithPullSecretsAsync(ImageReference.Parse($"{registry.Anonymous}/team/app:1.4.2"), [broken], null, CancellationToken.None);

        Assert.Equal(PullCause.AuthFailed, result.Outcome.Cause);
        Assert.Contains("kubelet cannot read secret shop/broken", result.Outcome.Summary, StringComparison.Ordinal);
        Assert.Equal(before, await registry.AnonymousRequestCountAsync());
    }

    private static k8s.Models.V1Secret DockerConfigSecret(string name, string key, string user, string password)
    {
        var auth = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(user + ":" + password));
        var json = System.Text.Json.JsonSerializer.Serialize(new { auths = new Dictionary<string, object> { [key] = new { auth } } });
        return new k8s.Models.V1Secret
        {
            Metadata = new k8s.Models.V1ObjectMeta { Name = name, NamespaceProperty = "shop" },
            Type = PullSecretResolver.DockerConfigJsonType,
            Data = new Dictionary<string, byte[]> { [PullSecretResolver.DockerConfigJsonKey] = System.Text.Encoding.UTF8.GetBytes(json) },
        };
    }
}
