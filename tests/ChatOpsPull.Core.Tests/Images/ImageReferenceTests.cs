using ChatOpsPull.Core.Images;

namespace ChatOpsPull.Core.Tests.Images;

/// <summary>What the rest of the bot relies on: Docker Hub handling, display forms, and errors a person can act on.</summary>
public sealed class ImageReferenceTests
{
    [Fact]
    public void Short_name_becomes_docker_hub_library_latest()
    {
        var reference = ImageReference.Parse("nginx");
        Assert.Equal("docker.io/library/nginx:latest", reference.ToString());
        Assert.Equal("docker.io/library/nginx", reference.Name);
        Assert.True(reference.TagImplied);
        Assert.True(reference.IsDockerHub);
        Assert.Equal("registry-1.docker.io", reference.ApiHost);
        Assert.Equal("latest", reference.ManifestReference);
        Assert.Equal("nginx:latest", reference.FamiliarString);
    }

    [Theory]
    [InlineData("index.docker.io/nginx")]
    [InlineData("docker.io/nginx")]
    [InlineData("docker.io/library/nginx:latest")]
    [InlineData("index.docker.io/library/nginx")]
    public void Docker_hub_spellings_normalize_to_one_name(string input)
    {
        var reference = ImageReference.Parse(input);
        Assert.Equal("docker.io", reference.Domain);
        Assert.Equal("library/nginx", reference.Path);
        Assert.Equal("nginx:latest", reference.FamiliarString);
    }

    [Theory]
    [InlineData("nginx", "docker.io/library/nginx:latest")]
    [InlineData("index.docker.io/nginx:1.25", "docker.io/library/nginx:1.25")]
    [InlineData("registry-1.docker.io/org/app:v1", "docker.io/org/app:v1")]
    [InlineData("registry.hub.docker.com/org/app:v1", "docker.io/org/app:v1")]
    [InlineData("localhost:5000/app", "localhost:5000/app:latest")]
    [InlineData("[fe80::1]:5000/app:2", "[fe80::1]:5000/app:2")]
    public void Short_and_aliased_names_normalize_like_docker(string input, string expected)
    {
        Assert.Equal(expected, ImageReference.Parse(input).ToString());
    }

    [Fact]
    public void A_bare_name_on_a_docker_hub_api_host_gets_no_library_prefix()
    {
        // The runtimes add "library/" only for docker.io; for registry-1.docker.io they ask for "/v2/nginx/…",
        // which Docker Hub refuses, and a probe must ask the same thing to see the same answer.
        var reference = ImageReference.Parse("registry-1.docker.io/nginx");
        Assert.True(reference.IsDockerHub);
        Assert.Equal("nginx", reference.Path);
        Assert.Equal("registry-1.docker.io", reference.ApiHost);
    }

    [Theory]
    [InlineData("registry-1.docker.io/nginx", "registry-1.docker.io", "registry-1.docker.io/nginx")]
    [InlineData("registry.hub.docker.com/org/app:v1", "registry.hub.docker.com", "registry.hub.docker.com/org/app")]
    [InlineData("index.docker.io/nginx", null, "docker.io/library/nginx")]
    [InlineData("nginx", null, "docker.io/library/nginx")]
    [InlineData("ghcr.io/org/app", null, "ghcr.io/org/app")]
    public void Kubelet_looks_credentials_up_with_docker_hub_api_hosts_as_written(string input, string? written, string kubeletName)
    {
        // distribution/reference rewrites only index.docker.io; kubelet's keyring sees registry-1.docker.io as written.
        var reference = ImageReference.Parse(input);
        Assert.Equal((written, kubeletName), (reference.WrittenDomain, reference.KubeletName));
    }

    [Theory]
    [InlineData("docker.io", true, false)]
    [InlineData("index.docker.io", true, false)]
    [InlineData("registry-1.docker.io", true, true)]
    [InlineData("registry.hub.docker.com", true, true)]
    [InlineData("auth.docker.io", false, false)]
    [InlineData("Docker.io", false, false)]
    [InlineData("mirror.docker.io", false, false)]
    public void The_docker_hub_table_knows_its_hosts(string host, bool registryHost, bool apiHost)
    {
        Assert.Equal((registryHost, apiHost), (DockerHub.IsRegistryHost(host), DockerHub.IsApiHost(host)));
        Assert.Equal(registryHost ? "docker.io" : host, DockerHub.Normalize(host));
        Assert.Equal(registryHost || host == "auth.docker.io", DockerHub.IsServiceHost(host));
    }

    [Theory]
    [InlineData("Nginx", "lowercase")]
    [InlineData("nginx@sha256:abc", "digest")]
    [InlineData("nginx:-bad", "tag")]
    public void Invalid_references_say_what_is_wrong(string input, string expectedWord)
    {
        Assert.False(ImageReference.TryParse(input, out _, out var error));
        Assert.Contains(expectedWord, error, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("localhost/app", "localhost", "app")]
    [InlineData("localhost:5000/team/app:v1", "localhost:5000", "team/app")]
    [InlineData("[::1]:5000/app", "[::1]:5000", "app")]
    [InlineData("ghcr.io/org/app:1.2.3", "ghcr.io", "org/app")]
    [InlineData("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api:2024.06.01", "123456789012.dkr.ecr.eu-west-1.amazonaws.com", "team/api")]
    [InlineData("europe-west3-docker.pkg.dev/project/repo/image:tag", "europe-west3-docker.pkg.dev", "project/repo/image")]
    [InlineData("myregistry.azurecr.io/fluent/fluent-bit:3.1.6", "myregistry.azurecr.io", "fluent/fluent-bit")]
    public void Registry_hosts_are_recognised(string input, string domain, string path)
    {
        var reference = ImageReference.Parse(input);
        Assert.Equal(domain, reference.Domain);
        Assert.Equal(path, reference.Path);
        Assert.False(reference.IsDockerHub);
        Assert.Equal(domain, reference.ApiHost);
        Assert.StartsWith(domain + "/" + path + ":", reference.FamiliarString, StringComparison.Ordinal);
    }

    [Fact]
    public void Localhost_alone_is_a_docker_hub_repository_like_in_the_reference_library()
    {
        var reference = ImageReference.Parse("localhost:5000");
        Assert.Equal("docker.io", reference.Domain);
        Assert.Equal("library/localhost", reference.Path);
        Assert.Equal("5000", reference.Tag);
    }

    [Fact]
    public void A_first_component_that_is_no_valid_host_is_still_contacted_as_one()
    {
        // ParseNormalizedNamed accepts "foo_bar.com/x" (it reads as a path); containerd then resolves host "foo_bar.com".
        var reference = ImageReference.Parse("foo_bar.com/x:1");
        Assert.Equal("foo_bar.com", reference.Domain);
        Assert.Equal("x", reference.Path);
    }

    [Fact]
    public void Tag_of_128_characters_is_accepted_and_129_is_refused()
    {
        var tag128 = "v" + new string('1', 127);
        Assert.Equal(tag128, ImageReference.Parse("app:" + tag128).Tag);

        Assert.False(ImageReference.TryParse("app:" + tag128 + "1", out _, out var error));
        Assert.Contains("tag must be at most 128 characters (it has 129)", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("app:-rc1", "tag \"-rc1\" must start with a letter, digit or '_'")]
    [InlineData("app:.hidden", "must start with a letter, digit or '_'")]
    [InlineData("app:", "the tag after ':' is empty")]
    [InlineData("app:v1+build", "'+' at position 7 is not allowed")]
    [InlineData("gcr.io/p/dark-gcp:gcr.io/p/dark-gcp:8e32", "a registry port or a second image name ended up after the ':'")]
    [InlineData("app@", "must be algorithm:hex")]
    [InlineData("app@sha256:abc", "sha256 needs 64 hex characters, got 3")]
    [InlineData("nginx latest", "a space at position 6 is not allowed")]
    [InlineData("nginx:1.25\n", "a line break at position 11")]
    [InlineData("docker.elastic.co/eck-snapshot\u200bs/eck-operator:1.0.0", "an invisible character U+200B at position 31")]
    [InlineData("/app", "has an empty component")]
    [InlineData("registry.example.com/", "the repository path is empty (nothing after the registry host)")]
    [InlineData("registry.example.com:/app", "the port after ':' must be digits")]
    [InlineData("registry.example.com:50a0/app", "the port after ':' must be digits")]
    [InlineData("my..registry.com/app", "has an empty label")]
    [InlineData("[fc00::1/app", "has no closing ']'")]
    [InlineData("[fc00::1]x/app", "only ':port' may follow ']'")]
    [InlineData("APP", "repository name (library/APP) must be lowercase")]
    [InlineData("None:None", "repository name (library/None) must be lowercase")]
    [InlineData("ghcr.io/Org/App:v1", "repository name (Org/App) must be lowercase")]
    public void Invalid_forms_get_a_message_saying_what_is_wrong(string input, string expected)
    {
        Assert.False(ImageReference.TryParse(input, out _, out var error));
        Assert.StartsWith("invalid reference format: ", error, StringComparison.Ordinal);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Null_is_refused_not_thrown()
    {
        Assert.False(ImageReference.TryParse(null, out var reference, out var error));
        Assert.Null(reference);
        Assert.Equal("invalid reference format: the image reference is empty", error);
    }

    [Fact]
    public void Digest_only_reference_has_no_tag_and_is_asked_for_by_digest()
    {
        const string digest = "sha256:7cc4b5aefd1d0cadf8d97d4350462ba51c694ebca145b08d7d41b41acc8db5aa";
        var reference = ImageReference.Parse("ghcr.io/org/app@" + digest);
        Assert.Null(reference.Tag);
        Assert.False(reference.TagImplied);
        Assert.Equal(digest, reference.ManifestReference);
        Assert.Equal("ghcr.io/org/app@" + digest, reference.FamiliarString);
    }

    [Fact]
    public void Library_prefix_is_kept_in_the_familiar_form_when_the_path_is_nested()
    {
        Assert.Equal("library/foo/bar:latest", ImageReference.Parse("docker.io/library/foo/bar").FamiliarString);
        Assert.Equal("someone/app:1", ImageReference.Parse("someone/app:1").FamiliarString);
    }

    [Fact]
    public void Path_limit_counts_the_library_prefix_docker_hub_adds()
    {
        // "library/" + 247 characters = 255 is the longest a single-component Docker Hub name can be.
        Assert.True(ImageReference.TryParse(new string('a', 247), out _, out _));
        Assert.False(ImageReference.TryParse(new string('a', 248), out _, out var error));
        Assert.Contains("(it has 256)", error, StringComparison.Ordinal);
    }
}
