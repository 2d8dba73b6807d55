using System.Text;
using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Images;
using ChatOpsPull.Registry;
using k8s.Models;

namespace ChatOpsPull.Tests.Registry;

/// <summary>
/// Kubelet's own keyring and docker-config tests, case for case, run against the bot's copy of the rules
/// (<see cref="DockerKeyring"/>, <see cref="DockerConfigReader"/>, <see cref="PullSecretResolver"/>):
/// https://github.com/kubernetes/kubernetes/blob/master/pkg/credentialprovider/keyring_test.go and
/// https://github.com/kubernetes/kubernetes/blob/master/pkg/credentialprovider/config_test.go.
/// Each test names the Go test it comes from. Where kubelet's test looks up a string no image reference can produce
/// ("prefix.docker.io/path:1111/foo/bar"), the case runs against the keyring rules directly; where the string is an
/// image name, it runs through the resolver with a real secret.
/// </summary>
public sealed class KubeletKeyringTests
{
    private readonly PullSecretResolver _resolver = new();

    private static V1Secret DockerConfigJson(string name, string json) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "shop" },
        Type = PullSecretResolver.DockerConfigJsonType,
        Data = new Dictionary<string, byte[]> { [PullSecretResolver.DockerConfigJsonKey] = Encoding.UTF8.GetBytes(json) },
    };

    /// <summary>A .dockerconfigjson with one entry per key, user:password as kubelet's tests write them (email and base64 auth).</summary>
    private static V1Secret Auths(string name, params (string Key, string User, string Password)[] entries) =>
        DockerConfigJson(name, "{\"auths\":{" + string.Join(",", entries.Select(e =>
            $"\"{e.Key}\":{{\"email\":\"{e.User}@example.com\",\"auth\":\"{Convert.ToBase64String(Encoding.UTF8.GetBytes(e.User + ":" + e.Password))}\"}}")) + "}}");

    private PullSecretResolution Resolve(string image, params V1Secret[] secrets) => _resolver.Resolve(ImageReference.Parse(image), secrets);

    /// <summary>BasicDockerKeyring.Lookup over one auths key: a URLsMatchStr match, else the default-registry fallback.</summary>
    private static bool Lookup(string authsKey, string lookupName)
    {
        var key = DockerKeyring.KeyringKey(authsKey);
        Assert.NotNull(key);
        return DockerKeyring.Matches(key, lookupName, out _)
               || (key == DockerKeyring.DefaultRegistryHost && DockerKeyring.IsDefaultRegistryMatch(lookupName));
    }

    // TestURLsMatch
    [Theory]
    [InlineData("*.kubernetes.io", "prefix.kubernetes.io", true)]
    [InlineData("prefix.*.io", "prefix.kubernetes.io", true)]
    [InlineData("prefix.kubernetes.*", "prefix.kubernetes.io", true)]
    [InlineData("*-good.kubernetes.io", "prefix-good.kubernetes.io", true)]
    [InlineData("*.kubernetes.io/blah", "prefix.kubernetes.io/blah", true)]
    [InlineData("prefix.*.io/foo", "prefix.kubernetes.io/foo/bar", true)]
    [InlineData("*.kubernetes.io:1111/blah", "prefix.kubernetes.io:1111/blah", true)]
    [InlineData("prefix.*.io:1111/foo", "prefix.kubernetes.io:1111/foo/bar", true)]
    [InlineData("*.kubernetes.io", "kubernetes.io", false)]
    [InlineData("*.*.kubernetes.io", "prefix.kubernetes.io", false)]
    [InlineData("*.*.kubernetes.io", "kubernetes.io", false)]
    [InlineData("kubernetes.io", "kubernetes.com", false)]
    [InlineData("k*.io", "quay.io", false)]
    [InlineData("*.kubernetes.io:1234/blah", "prefix.kubernetes.io:1111/blah", false)]
    [InlineData("prefix.*.io/foo", "prefix.kubernetes.io:1111/foo/bar", false)]
    public void Urls_match_as_in_kubelets_TestURLsMatch(string glob, string target, bool expected)
    {
        Assert.Equal(expected, DockerKeyring.Matches(glob, target, out _));
    }

    // TestDockerKeyringForGlob: each key finds target + "/foo/bar".
    [Theory]
    [InlineData("https://hello.kubernetes.io", "hello.kubernetes.io")]
    [InlineData("https://*.docker.io", "prefix.docker.io")]
    [InlineData("https://prefix.*.io", "prefix.docker.io")]
    [InlineData("https://prefix.docker.*", "prefix.docker.io")]
    [InlineData("https://*.docker.io/path", "prefix.docker.io/path")]
    [InlineData("https://prefix.*.io/path", "prefix.docker.io/path/subpath")]
    [InlineData("https://prefix.docker.*/path", "prefix.docker.io/path")]
    [InlineData("https://*.docker.io:8888", "prefix.docker.io:8888")]
    [InlineData("https://prefix.*.io:8888", "prefix.docker.io:8888")]
    [InlineData("https://prefix.docker.*:8888", "prefix.docker.io:8888")]
    [InlineData("https://*.docker.io/path:1111", "prefix.docker.io/path:1111")]
    [InlineData("https://*.docker.io/v1/", "prefix.docker.io/path:1111")]
    [InlineData("https://*.docker.io/v2/", "prefix.docker.io/path:1111")]
    [InlineData("https://prefix.docker.*/path:1111", "prefix.docker.io/path:1111")]
    [InlineData("prefix.docker.io:1111", "prefix.docker.io:1111/path")]
    [InlineData("*.docker.io:1111", "prefix.docker.io:1111/path")]
    public void Glob_keys_find_their_images_as_in_kubelets_TestDockerKeyringForGlob(string authsKey, string target)
    {
        Assert.True(Lookup(authsKey, target + "/foo/bar"));
    }

    // TestKeyringMiss
    [Theory]
    [InlineData("https://hello.kubernetes.io", "world.mesos.org/foo/bar")]
    [InlineData("https://*.docker.com", "prefix.docker.io")]
    [InlineData("https://suffix.*.io", "prefix.docker.io")]
    [InlineData("https://prefix.docker.c*", "prefix.docker.io")]
    [InlineData("https://prefix.*.io/path:1111", "prefix.docker.io/path/subpath:1111")]
    [InlineData("suffix.*.io", "prefix.docker.io")]
    public void Keys_miss_as_in_kubelets_TestKeyringMiss(string authsKey, string lookup)
    {
        Assert.False(Lookup(authsKey, lookup + "/foo/bar"));
    }

    [Fact]
    public void Docker_hub_credentials_do_not_match_another_registry_as_in_TestKeyringMissWithDockerHubCredentials()
    {
        Assert.False(Lookup("https://index.docker.io/v1/", "world.mesos.org/foo/bar"));
        Assert.Empty(Resolve("world.mesos.org/foo/bar", Auths("hub", ("https://index.docker.io/v1/", "foo", "bar"))).Matches);
    }

    // TestKeyringHitWithUnqualifiedDockerHub, TestKeyringHitWithUnqualifiedLibraryDockerHub
    [Theory]
    [InlineData("google/docker-registry")]
    [InlineData("jenkins")]
    public void Docker_hub_credentials_serve_unqualified_images_as_in_kubelets_tests(string image)
    {
        Assert.True(Lookup("https://index.docker.io/v1/", image));

        var match = Assert.Single(Resolve(image, Auths("hub", ("https://index.docker.io/v1/", "foo", "bar"))).Matches);
        Assert.Equal(("foo", "bar"), (match.Credentials?.Username, match.Credentials?.Password));
    }

    [Fact]
    public void Docker_hub_credentials_serve_the_qualified_name_as_in_TestKeyringHitWithQualifiedDockerHub()
    {
        Assert.True(Lookup("https://index.docker.io/v1/", "index.docker.io/v1/" + "/google/docker-registry"));
    }

    // TestIsDefaultRegistryMatch
    [Theory]
    [InlineData("foo/bar", true)]
    [InlineData("docker.io/foo/bar", true)]
    [InlineData("index.docker.io/foo/bar", true)]
    [InlineData("foo", true)]
    [InlineData("", false)]
    [InlineData("registry.tld/foo/bar", false)]
    [InlineData("registry:5000/foo/bar", false)]
    [InlineData("myhostdocker.io/foo/bar", false)]
    public void Default_registry_matches_as_in_TestIsDefaultRegistryMatch(string name, bool expected)
    {
        Assert.Equal(expected, DockerKeyring.IsDefaultRegistryMatch(name));
    }

    // TestDockerKeyringLookup: ada for "bar.example.com", grace for "bar.example.com/pong"; the longer key first.
    [Theory]
    [InlineData("bar.example.com/pong", "grace,ada")]
    [InlineData("bar.example.com/ping", "ada")]
    [InlineData("bar.example.com/pongz", "grace,ada")]
    [InlineData("bar.example.com/pong/pang", "grace,ada")]
    public void Path_keys_come_first_as_in_TestDockerKeyringLookup(string image, string users)
    {
        var secret = Auths("keys", ("bar.example.com/pong", "grace", "squash"), ("bar.example.com", "ada", "smash"));

        Assert.Equal(users.Split(','), Resolve(image, secret).Matches.Select(m => m.Credentials?.Username));
    }

    [Theory]
    [InlineData("bar.example.com", true)]
    [InlineData("example.com", false)]
    [InlineData("foo.example.com", false)]
    public void Hosts_match_only_themselves_as_in_TestDockerKeyringLookup(string lookup, bool expected)
    {
        Assert.Equal(expected, Lookup("bar.example.com", lookup));
    }

    // TestIssue3797: a key with a scheme and /v1/ matches by host.
    [Theory]
    [InlineData("quay.io/foo")]
    [InlineData("quay.io/foo/bar")]
    public void A_key_with_scheme_and_v1_path_matches_its_host_as_in_TestIssue3797(string image)
    {
        Assert.True(Lookup("https://quay.io/v1/", "quay.io"));
        var match = Assert.Single(Resolve(image, Auths("quay", ("https://quay.io/v1/", "rex", "tiny arms"))).Matches);
        Assert.Equal("rex", match.Credentials?.Username);
    }

    // config_test.go TestDockerConfigEntryJSONDecode (each entry under one key of a legacy .dockercfg).
    [Theory]
    [InlineData("""{"username": "foo", "password": "bar", "email": "foo@example.com"}""", "foo", "bar")]
    [InlineData("""{"auth": "Zm9vOmJhcg==", "email": "foo@example.com"}""", "foo", "bar")]
    [InlineData("""{"username": "foo", "password": "bar", "auth": "cGluZzpwb25n", "email": "foo@example.com"}""", "ping", "pong")]
    public void Entries_decode_as_in_TestDockerConfigEntryJSONDecode(string entry, string username, string password)
    {
        Assert.True(DockerConfigReader.TryRead(Encoding.UTF8.GetBytes("{\"r.io\":" + entry + "}"), legacy: true, out var config, out var error), error);

        var read = Assert.Single(config).Entry;
        Assert.Equal((username, password, "foo@example.com"), (read.Username, read.Password, read.Email));
    }

    [Theory]
    [InlineData("""{"auth": "pants", "email": "foo@example.com"}""")]
    [InlineData("""{"email": false}""")]
    public void Bad_entries_fail_as_in_TestDockerConfigEntryJSONDecode(string entry)
    {
        Assert.False(DockerConfigReader.TryRead(Encoding.UTF8.GetBytes("{\"r.io\":" + entry + "}"), legacy: true, out _, out var error));
        Assert.NotEmpty(error);
    }

    [Fact]
    public void A_legacy_dockercfg_decodes_as_in_TestDockerConfigJSONDecode()
    {
        var json = """{"http://foo.example.com":{"username": "foo", "password": "bar", "email": "foo@example.com"}, "http://bar.example.com":{"username": "bar", "password": "baz", "email": "bar@example.com"}}""";

        Assert.True(DockerConfigReader.TryRead(Encoding.UTF8.GetBytes(json), legacy: true, out var config, out _));
        Assert.Equal(
            [("http://foo.example.com", "foo", "bar"), ("http://bar.example.com", "bar", "baz")],
            config.Select(c => (c.Key, c.Entry.Username!, c.Entry.Password!)));
    }

    // ── Docker Hub's API hosts: kubelet looks credentials up with the host as written ──────────────────────────────

    [Theory]
    [InlineData("registry-1.docker.io/shop/api:2", "registry-1.docker.io/shop/api")]
    [InlineData("registry.hub.docker.com/library/nginx", "registry.hub.docker.com/library/nginx")]
    [InlineData("registry-1.docker.io/nginx", "registry-1.docker.io/nginx")]
    public void Docker_hub_keys_do_not_reach_an_image_written_with_an_api_host(string image, string lookupName)
    {
        var resolution = Resolve(image, Auths("hub", ("https://index.docker.io/v1/", "shopbot", "s3cr3t"), ("docker.io", "other", "s3cr3t")));

        Assert.Empty(resolution.Matches);
        Assert.Equal(lookupName, resolution.LookupName);
        Assert.Equal(DockerHub.Domain, resolution.Image.Domain);
        var finding = Assert.Single(resolution.Findings);
        Assert.Equal(PullSecretFindingKind.NoMatch, finding.Kind);
        Assert.Contains("kubelet sends no credentials for this image", finding.Detail, StringComparison.Ordinal);
        Assert.Contains($"looks them up under \"{lookupName}\"", finding.Detail, StringComparison.Ordinal);
        Assert.Contains("Docker Hub keys (docker.io, index.docker.io) match only images written as docker.io/", finding.Detail, StringComparison.Ordinal);
        Assert.EndsWith("kubelet pulls anonymously", resolution.Summary, StringComparison.Ordinal);
        Assert.Contains(resolution.ToEvidence(), e => e.Outcome == EvidenceOutcome.Failed && e.Detail.Contains("kubelet sends no credentials", StringComparison.Ordinal));
        Assert.DoesNotContain("s3cr3t", resolution.Summary + string.Join("\n", resolution.ToEvidence().Select(e => e.Detail)), StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_for_the_api_host_as_written_does_match()
    {
        var match = Assert.Single(Resolve("registry-1.docker.io/shop/api:2", Auths("hub", ("registry-1.docker.io", "shopbot", "pw"))).Matches);

        Assert.Equal(("host", "shopbot"), (match.MatchedBy, match.Credentials?.Username));
    }

    [Fact]
    public void The_same_image_written_as_docker_io_gets_the_docker_hub_key()
    {
        var resolution = Resolve("docker.io/shop/api:2", Auths("hub", ("https://index.docker.io/v1/", "shopbot", "pw")));

        Assert.Equal("docker.io/shop/api", resolution.LookupName);
        Assert.Equal("shopbot", Assert.Single(resolution.Matches).Credentials?.Username);
    }

    // ── Token fields kubelet's types do not have are skipped whatever they hold ─────────────────────────────────────

    [Theory]
    [InlineData("identitytoken", "42", "a number")]
    [InlineData("identitytoken", """{"token":"x"}""", "an object")]
    [InlineData("registrytoken", "true", "a boolean")]
    [InlineData("IdentityToken", "[1]", "an array")]
    public void A_token_field_that_is_not_a_string_is_ignored_as_kubelet_ignores_it(string field, string value, string kind)
    {
        var secret = DockerConfigJson("acr", """{"auths":{"myregistry.azurecr.io":{"username":"00000000-0000-0000-0000-000000000000","password":"",""" + $"\"{field}\":{value}" + "}}}");

        var resolution = Resolve("myregistry.azurecr.io/shop/api:1", secret);

        Assert.Null(resolution.KeyringError);
        var match = Assert.Single(resolution.Matches);
        Assert.Equal("00000000-0000-0000-0000-000000000000", match.Credentials?.Username);
        Assert.Contains(match.Notes, n => n.Contains($"\"{field}\" is {kind}, not a string", StringComparison.Ordinal) && n.Contains("kubelet reads only username, password, email and auth", StringComparison.Ordinal));
    }

    [Fact]
    public void A_wrong_type_in_a_field_kubelet_reads_still_fails_the_secret()
    {
        var resolution = Resolve("r.io/app:1", DockerConfigJson("s", """{"auths":{"r.io":{"password":7,"identitytoken":7}}}"""));

        Assert.NotNull(resolution.KeyringError);
        Assert.Contains("\"password\" of the entry for \"r.io\" is a number, not a string", resolution.KeyringError, StringComparison.Ordinal);
    }

    [Fact]
    public void Http_headers_that_are_not_strings_fail_the_secret_as_DockerConfigJSON_does()
    {
        var resolution = Resolve("r.io/app:1", DockerConfigJson("s", """{"auths":{"r.io":{"username":"u","password":"p"}},"HttpHeaders":{"User-Agent":1}}"""));

        Assert.NotNull(resolution.KeyringError);
        Assert.Contains("\"HttpHeaders\" is not an object of strings", resolution.KeyringError, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_null_leaves_a_field_as_go_leaves_it()
    {
        var resolution = Resolve("r.io/app:1", DockerConfigJson("s", """{"auths":{"r.io":{"username":"u","password":"p","username":null}}}"""));

        Assert.Equal("u", Assert.Single(resolution.Matches).Credentials?.Username);
    }

    [Fact]
    public void A_second_auths_object_adds_to_the_first_as_a_go_map_does()
    {
        var resolution = Resolve("r.io/app:1", DockerConfigJson("s", """{"auths":{"r.io":{"username":"u","password":"p"}},"Auths":{"q.io":{"username":"q","password":"p"}}}"""));

        Assert.Equal("u", Assert.Single(resolution.Matches).Credentials?.Username);
        Assert.Single(Resolve("q.io/app:1", DockerConfigJson("s", """{"auths":{"r.io":{"username":"u","password":"p"}},"Auths":{"q.io":{"username":"q","password":"p"}}}""")).Matches);
    }
}
