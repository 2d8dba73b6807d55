using System.Text;
using ChatOpsPull.Core.Images;
using ChatOpsPull.Registry;
using k8s;
using k8s.Models;

namespace ChatOpsPull.Tests.Registry;

/// <summary>Kubelet's credential matching on real-world secret shapes (tests/fixtures/registry, sources in SOURCES.md).</summary>
public sealed class PullSecretResolverTests
{
    private static readonly DateTimeOffset Now = new(2024, 5, 2, 16, 0, 0, TimeSpan.Zero);
    private readonly PullSecretResolver _resolver = new();

    private static V1Secret Fixture(string name) =>
        KubernetesJson.Deserialize<V1Secret>(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "registry", name)));

    private static V1Secret Secret(string name, string type, string key, string json) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "shop" },
        Type = type,
        Data = new Dictionary<string, byte[]> { [key] = Encoding.UTF8.GetBytes(json) },
    };

    private PullSecretResolution Resolve(string image, params V1Secret[] secrets) => _resolver.Resolve(ImageReference.Parse(image), secrets);

    [Fact]
    public void Kubectl_created_secret_matches_its_registry_and_port()
    {
        var resolution = Resolve("registry.example.com:5000/shop/web:1.2", Fixture("regcred-kubectl-create.json"));

        var match = Assert.Single(resolution.Matches);
        Assert.Equal("shop/regcred", match.SecretName);
        Assert.Equal("registry.example.com:5000", match.AuthsKey);
        Assert.Equal("ci-bot", match.Credentials?.Username);
        Assert.Equal("host", match.MatchedBy);
        Assert.Contains("kubelet uses secret shop/regcred key \"registry.example.com:5000\"", resolution.Summary, StringComparison.Ordinal);
        Assert.DoesNotContain("ci-bot", resolution.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void Port_must_match()
    {
        var resolution = Resolve("registry.example.com/shop/web:1.2", Fixture("regcred-kubectl-create.json"));

        Assert.Empty(resolution.Matches);
        Assert.Contains("\"registry.example.com:5000\": port 5000 is not the image's (none)", resolution.Misses);
    }

    [Theory]
    [InlineData("nginx")]
    [InlineData("docker.io/library/nginx:1.25")]
    [InlineData("index.docker.io/shop/api")]
    [InlineData("shop/api:2")]
    public void Docker_hub_key_from_docker_login_matches_docker_hub_images(string image)
    {
        var match = Assert.Single(Resolve(image, Fixture("dockerhub-docker-login.json")).Matches);

        Assert.Equal("https://index.docker.io/v1/", match.AuthsKey);
        Assert.Equal("index.docker.io", match.KeyringKey);
        Assert.Equal("Docker Hub default (index.docker.io)", match.MatchedBy);
        Assert.Equal("shopbot", match.Credentials?.Username);
    }

    [Fact]
    public void Docker_hub_key_does_not_match_another_registry()
    {
        Assert.Empty(Resolve("ghcr.io/shop/api:1", Fixture("dockerhub-docker-login.json")).Matches);
    }

    [Theory]
    [InlineData("docker.io", true)]
    [InlineData("index.docker.io", true)]
    [InlineData("https://index.docker.io/v1/", true)]
    [InlineData("https://index.docker.io/v2/", true)]
    [InlineData("registry-1.docker.io", false)]
    public void Docker_hub_aliases_match_as_kubelet_matches_them(string key, bool matches)
    {
        var secret = Secret("hub", PullSecretResolver.DockerConfigJsonType, PullSecretResolver.DockerConfigJsonKey, "{\"auths\":{\"" + key + "\":{\"username\":\"u\",\"password\":\"p\"}}}");

        Assert.Equal(matches, Resolve("nginx:1.25", secret).Matches.Count == 1);
    }

    [Fact]
    public void Credential_store_entry_has_no_credentials_and_says_why()
    {
        var resolution = Resolve("shop/api:2", Fixture("credsstore-empty-entry.json"));

        var match = Assert.Single(resolution.Matches);
        Assert.Null(match.Credentials);
        Assert.Contains(match.Notes, n => n.Contains("credential store", StringComparison.Ordinal));
    }

    [Fact]
    public void Legacy_dockercfg_is_read_without_an_auths_wrapper()
    {
        var match = Assert.Single(Resolve("quay.io/shop/worker:3", Fixture("legacy-dockercfg.json")).Matches);

        Assert.Equal("shop+robot", match.Credentials?.Username);
    }

    [Fact]
    public void Ecr_token_expiry_is_read_from_the_password()
    {
        var match = Assert.Single(Resolve("123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/api:7", Fixture("ecr-token.json")).Matches);

        var lifetime = match.Credentials?.Lifetime;
        Assert.NotNull(lifetime);
        Assert.Equal("Amazon ECR token", lifetime.Kind);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1714680000), lifetime.ExpiresAt);
        Assert.False(lifetime.IsExpired(Now));
        Assert.True(lifetime.IsExpired(Now.AddHours(5)));
        Assert.Equal("Amazon ECR token expired 4h ago (2024-05-02 20:00 UTC)", lifetime.Describe(Now.AddHours(8)));
        Assert.Equal("Amazon ECR token expires in 4h (2024-05-02 20:00 UTC)", lifetime.Describe(Now));
    }

    [Fact]
    public void Acr_identity_token_is_not_passed_on_by_kubelet_and_the_entry_has_an_empty_password()
    {
        var resolution = Resolve("myregistry.azurecr.io/shop/api:1", Fixture("acr-az-login.json"));

        var match = Assert.Single(resolution.Matches);
        Assert.Equal("00000000-0000-0000-0000-000000000000", match.Credentials?.Username);
        Assert.Contains(match.Notes, n => n.Contains("identitytoken, which kubelet does not pass", StringComparison.Ordinal));
        Assert.Equal("identity token", match.DockerCliCredentials?.Kind);
        Assert.Equal("JWT", match.DockerCliCredentials?.Lifetime?.Kind);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1715849600), match.DockerCliCredentials?.Lifetime?.ExpiresAt);
    }

    [Fact]
    public void Google_access_token_is_known_to_be_short_lived()
    {
        var match = Assert.Single(Resolve("gcr.io/shop-project/api:1", Fixture("gcr-access-token.json")).Matches);

        Assert.Equal("Google OAuth access token: valid 1 hour from issue; its expiry cannot be read from the token", match.Credentials?.Lifetime?.Describe(Now));
    }

    [Fact]
    public void Secret_for_another_registry_is_explained()
    {
        var resolution = Resolve("registry.gitlab.com/shop/api:1", Fixture("ghcr-pat.json"));

        Assert.Empty(resolution.Matches);
        Assert.StartsWith("secret shop/ghcr has auths for ghcr.io but the image is on registry.gitlab.com", resolution.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void Kubelet_tries_every_matching_secret_in_order()
    {
        var resolution = Resolve("registry.gitlab.com/shop/api:1", Fixture("ghcr-pat.json"), Fixture("gitlab-deploy-token.json"), Fixture("acr-wildcard.json"));

        var match = Assert.Single(resolution.Matches);
        Assert.Equal("shop/gitlab", match.SecretName);
        Assert.Contains(resolution.Findings, f => f.Secret == "shop/ghcr" && f.Kind == PullSecretFindingKind.NoMatch);
    }

    [Theory]
    [InlineData("myregistry.azurecr.io/shop/api:1", true)]
    [InlineData("other.azurecr.io/x:1", true)]
    [InlineData("a.b.azurecr.io/x:1", false)]
    [InlineData("azurecr.io/x:1", false)]
    public void Glob_hosts_match_one_label_per_star(string image, bool matches)
    {
        var resolution = Resolve(image, Fixture("acr-wildcard.json"));

        Assert.Equal(matches, resolution.Matches.Count == 1);
        if (matches)
        {
            Assert.Equal("wildcard host", resolution.Matches[0].MatchedBy);
        }
    }

    // The examples of https://kubernetes.io/docs/concepts/containers/images/#config-json
    [Theory]
    [InlineData("*.kubernetes.io", "abc.kubernetes.io", true)]
    [InlineData("*.kubernetes.io", "abc.def.kubernetes.io", false)]
    [InlineData("prefix.*.io", "prefix.kubernetes.io", true)]
    [InlineData("*-good.kubernetes.io", "prefix-good.kubernetes.io", true)]
    [InlineData("my-registry.io/images", "my-registry.io/images", true)]
    [InlineData("my-registry.io/images", "my-registry.io/images/my-image", true)]
    [InlineData("my-registry.io/images", "my-registry.io/images/another-image", true)]
    [InlineData("*.my-registry.io/images", "sub.my-registry.io/images/my-image", true)]
    [InlineData("*.my-registry.io/images", "a.sub.my-registry.io/images/my-image", false)]
    [InlineData("*.my-registry.io/images", "a.b.sub.my-registry.io/images/my-image", false)]
    public void Kubernetes_documentation_examples_match_as_documented(string key, string image, bool matches)
    {
        Assert.Equal(matches, DockerKeyringMatches(key, image));
    }

    private static bool DockerKeyringMatches(string key, string image) =>
        DockerKeyring.Matches(DockerKeyring.KeyringKey(key)!, image, out _);

    [Fact]
    public void Longer_path_key_is_tried_first()
    {
        var resolution = Resolve("registry.example.com/team-a/api:1", Fixture("path-scoped.json"));

        Assert.Equal(["registry.example.com/team-a", "registry.example.com"], resolution.Matches.Select(m => m.AuthsKey));
        Assert.Equal("host and path prefix", resolution.Matches[0].MatchedBy);
        Assert.Equal("team-a-bot", resolution.Matches[0].Credentials?.Username);
    }

    [Fact]
    public void Path_key_does_not_match_another_path()
    {
        var resolution = Resolve("registry.example.com/team-b/api:1", Fixture("path-scoped.json"));

        Assert.Equal("org-bot", Assert.Single(resolution.Matches).Credentials?.Username);
    }

    [Fact]
    public void Opaque_secret_with_the_right_key_is_ignored_and_says_why()
    {
        var resolution = Resolve("registry.example.com:5000/shop/web:1.2", Fixture("opaque-dockerconfigjson.json"));

        Assert.Empty(resolution.Matches);
        var finding = Assert.Single(resolution.Findings);
        Assert.Equal(PullSecretFindingKind.Ignored, finding.Kind);
        Assert.Contains("type Opaque, but kubelet reads .dockerconfigjson only from type kubernetes.io/dockerconfigjson", finding.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Malformed_auth_fails_every_pull_of_the_pod()
    {
        var resolution = Resolve("registry.example.com:5000/shop/web:1.2", Fixture("regcred-kubectl-create.json"), Fixture("malformed-auth.json"));

        Assert.Empty(resolution.Matches);
        Assert.NotNull(resolution.KeyringError);
        Assert.Contains("secret shop/regcred-broken", resolution.Summary, StringComparison.Ordinal);
        Assert.Contains("is not valid base64", resolution.Summary, StringComparison.Ordinal);
        Assert.Contains("fails every image pull", resolution.Summary, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"auths":{"r.io":{"auth":"dTpw"}}}""", "u")]
    [InlineData("""{"auths":{"r.io":{"auth":"dTpwYQ=="}}}""", "u")]
    [InlineData("""{"AUTHS":{"r.io":{"Username":"U","PASSWORD":"p"}}}""", "U")]
    [InlineData("""{"auths":{"r.io":{"username":"a","password":"p","auth":"Yjpx"}}}""", "b")]
    public void Docker_config_is_read_like_go_reads_it(string json, string expectedUser)
    {
        var secret = Secret("s", PullSecretResolver.DockerConfigJsonType, PullSecretResolver.DockerConfigJsonKey, json);

        Assert.Equal(expectedUser, Assert.Single(Resolve("r.io/app:1", secret).Matches).Credentials?.Username);
    }

    [Theory]
    [InlineData("""{"auths":{"r.io":{"auth":"dXNlcm9ubHk="}}}""", "no ':' after decoding")]
    [InlineData("""{"auths":{"r.io":{"username":42}}}""", "is a number, not a string")]
    [InlineData("""{"auths":["r.io"]}""", "\"auths\" is an array")]
    [InlineData("""{"auths":{"r.io":{}}""", "does not parse")]
    public void Unreadable_docker_config_names_the_problem(string json, string expected)
    {
        var secret = Secret("s", PullSecretResolver.DockerConfigJsonType, PullSecretResolver.DockerConfigJsonKey, json);

        var resolution = Resolve("r.io/app:1", secret);

        Assert.NotNull(resolution.KeyringError);
        Assert.Contains(expected, resolution.KeyringError, StringComparison.Ordinal);
    }

    [Fact]
    public void No_pull_secrets_means_an_anonymous_pull()
    {
        var resolution = Resolve("ghcr.io/shop/api:1");

        Assert.Empty(resolution.Matches);
        Assert.Contains("no image pull secrets", resolution.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void Evidence_never_holds_a_secret_value()
    {
        var secrets = new[] { Fixture("regcred-kubectl-create.json"), Fixture("ghcr-pat.json"), Fixture("acr-az-login.json") };

        var all = string.Join("\n", secrets.SelectMany(s => Resolve("registry.example.com:5000/shop/web:1.2", secrets).ToEvidence()).Select(e => e.Detail))
                  + Resolve("registry.example.com:5000/shop/web:1.2", secrets).Summary
                  + string.Join("\n", Resolve("registry.example.com:5000/shop/web:1.2", secrets).Matches.Select(m => m.Credentials?.ToString()));

        Assert.DoesNotContain("s3cr3t", all, StringComparison.Ordinal);
        Assert.DoesNotContain("ghp_", all, StringComparison.Ordinal);
        Assert.DoesNotContain("Y2ktYm90", all, StringComparison.Ordinal);
        Assert.DoesNotContain("ci-bot", all, StringComparison.Ordinal); // the username is half of a credential, too
        Assert.Contains("secret shop/regcred", all, StringComparison.Ordinal);
    }
}
