using ChatOpsPull.Core.Images;

namespace ChatOpsPull.Core.Tests.Images;

/// <summary>
/// The table cases of github.com/distribution/reference (reference_test.go TestReferenceParse and normalize_test.go,
/// which took over docker/docker's reference tests), run through our normalizing parser.
/// reference_test.go exercises the non-normalizing <c>Parse</c>; the expectations below are what
/// <c>ParseNormalizedNamed</c> (what kubelet and the runtimes call) makes of the same inputs.
/// Sources: https://github.com/distribution/reference/blob/main/reference_test.go,
/// https://github.com/distribution/reference/blob/main/normalize_test.go,
/// https://github.com/opencontainers/go-digest/blob/master/digest_test.go.
/// </summary>
public sealed class ImageReferenceGrammarTests
{
    private const string Sha256F = "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
    private const string Sha512F =
        "sha512:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

    /// <summary>input, domain, path, tag (null = none written), digest.</summary>
    public static TheoryData<string, string, string, string?, string?> ValidReferenceTestCases() => new()
    {
        { "test_com", "docker.io", "library/test_com", null, null },
        { "test.com:tag", "docker.io", "library/test.com", "tag", null },
        { "test.com:5000", "docker.io", "library/test.com", "5000", null },
        { "test.com/repo:tag", "test.com", "repo", "tag", null },
        { "test:5000/repo", "test:5000", "repo", null, null },
        { "test:5000/repo:tag", "test:5000", "repo", "tag", null },
        { "test:5000/repo@" + Sha256F, "test:5000", "repo", null, Sha256F },
        { "test:5000/repo:tag@" + Sha256F, "test:5000", "repo", "tag", Sha256F },
        { "lowercase:Uppercase", "docker.io", "library/lowercase", "Uppercase", null },
        { string.Concat(Enumerable.Repeat("a/", 127)) + "a:tag-puts-this-over-max", "docker.io", string.Concat(Enumerable.Repeat("a/", 127)) + "a", "tag-puts-this-over-max", null },
        { "sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com", "bar/baz/quux", null, null },
        { "sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com", "bar/baz/quux", "some-long-tag", null },
        { "b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io", "test.example.com/my-app", "test.example.com", null },
        { "xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com", "myimage", "xn--n3h.com", null },
        { "xn--7o8h.com/myimage:xn--7o8h.com@" + Sha512F, "xn--7o8h.com", "myimage", "xn--7o8h.com", Sha512F },
        { "foo_bar.com:8080", "docker.io", "library/foo_bar.com", "8080", null },
        { "foo/foo_bar.com:8080", "docker.io", "foo/foo_bar.com", "8080", null },
        { "192.168.1.1", "docker.io", "library/192.168.1.1", null, null },
        { "192.168.1.1:tag", "docker.io", "library/192.168.1.1", "tag", null },
        { "192.168.1.1:5000", "docker.io", "library/192.168.1.1", "5000", null },
        { "192.168.1.1/repo", "192.168.1.1", "repo", null, null },
        { "192.168.1.1:5000/repo", "192.168.1.1:5000", "repo", null, null },
        { "192.168.1.1:5000/repo:5050", "192.168.1.1:5000", "repo", "5050", null },
        { "[2001:db8::1]/repo", "[2001:db8::1]", "repo", null, null },
        { "[2001:db8:1:2:3:4:5:6]/repo:tag", "[2001:db8:1:2:3:4:5:6]", "repo", "tag", null },
        { "[2001:db8::1]:5000/repo", "[2001:db8::1]:5000", "repo", null, null },
        { "[2001:db8::1]:5000/repo:tag", "[2001:db8::1]:5000", "repo", "tag", null },
        { "[2001:db8::1]:5000/repo@" + Sha256F, "[2001:db8::1]:5000", "repo", null, Sha256F },
        { "[2001:db8::1]:5000/repo:tag@" + Sha256F, "[2001:db8::1]:5000", "repo", "tag", Sha256F },
        { "[2001:db8::]:5000/repo", "[2001:db8::]:5000", "repo", null, null },
        { "[::1]:5000/repo", "[::1]:5000", "repo", null, null },
        { "example.com/" + new string('a', 255) + ":tag", "example.com", new string('a', 255), "tag", null },
        { "example.com:8000/named", "example.com:8000", "named", null, null },
        { "example.com:8000/named:tagged", "example.com:8000", "named", "tagged", null },
        { "other.com/named@sha256:1234567890098765432112345667890098765432112345667890098765432112", "other.com", "named", null, "sha256:1234567890098765432112345667890098765432112345667890098765432112" },
    };

    [Theory]
    [MemberData(nameof(ValidReferenceTestCases))]
    public void Reference_test_valid_cases_parse_into_the_normalized_parts(string input, string domain, string path, string? tag, string? digest)
    {
        Assert.True(ImageReference.TryParse(input, out var reference, out var error), error);
        Assert.Equal(domain, reference.Domain);
        Assert.Equal(path, reference.Path);
        Assert.Equal(tag ?? (digest is null ? "latest" : null), reference.Tag);
        Assert.Equal(tag is null && digest is null, reference.TagImplied);
        Assert.Equal(digest, reference.Digest);
    }

    /// <summary>input, a phrase the error must contain (what is wrong).</summary>
    public static TheoryData<string, string> InvalidReferenceTestCases() => new()
    {
        { "", "empty" },
        { ":justtag", "repository name is empty" },
        { "@" + Sha256F, "repository name is empty" },
        { "repo@sha256:ffffffffffffffffffffffffffffffffff", "invalid checksum digest length: sha256 needs 64 hex characters, got 34" },
        { "validname@invaliddigest:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", "unsupported digest algorithm \"invaliddigest\"" },
        { "Uppercase:tag", "repository name (library/Uppercase) must be lowercase" },
        { "test:5000/Uppercase/lowercase:tag", "repository name (Uppercase/lowercase) must be lowercase" },
        { string.Concat(Enumerable.Repeat("a/", 128)) + "a:tag", "must not be more than 255 characters (it has 257)" },
        { "domain/" + new string('a', 256) + ":tag", "must not be more than 255 characters" },
        { "example.com/" + new string('a', 256), "must not be more than 255 characters (it has 256)" },
        { "aa/asdf$$^/aa", "'$' at position 8 is not allowed" },
        { "[2001:db8::1]", "looks like a registry host without a repository" },
        { "[2001:db8::1]:5000", "looks like a registry host without a repository" },
        { "[2001:db8::1]:tag", "looks like a registry host without a repository" },
        { "[fe80::1%eth0]:5000/repo", "'%' (an IPv6 zone identifier?) at position 9" },
        { "[fe80::1%@invalidzone]:5000/repo", "IPv6 zone identifier" },
        { "example.com/repo:tag:extra", "tag \"tag:extra\" contains ':'" },
    };

    [Theory]
    [MemberData(nameof(InvalidReferenceTestCases))]
    public void Reference_test_invalid_cases_fail_saying_what_is_wrong(string input, string expected)
    {
        Assert.False(ImageReference.TryParse(input, out var reference, out var error));
        Assert.Null(reference);
        Assert.StartsWith("invalid reference format: ", error, StringComparison.Ordinal);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        var thrown = Assert.Throws<FormatException>(() => ImageReference.Parse(input));
        Assert.Equal(error, thrown.Message);
    }

    public static TheoryData<string> NormalizeTestValidNames() => new()
    {
        // TestValidateReferenceName
        "docker/docker", "library/debian", "debian", "docker.io/docker/docker", "docker.io/library/debian", "docker.io/debian",
        "index.docker.io/docker/docker", "index.docker.io/library/debian", "index.docker.io/debian",
        "127.0.0.1:5000/docker/docker", "127.0.0.1:5000/library/debian", "127.0.0.1:5000/debian",
        "192.168.0.1", "192.168.0.1:80", "192.168.0.1:8/debian", "192.168.0.2:25000/debian",
        "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
        "[fc00::1]:5000/docker", "[fc00::1]:5000/docker/docker", "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
        "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
        "Docker/docker", "DOCKER/docker",

        // TestValidateRemoteName
        "docker-rules/docker", "docker---rules/docker", "doc/docker", "d/docker", "jess/t", "dock__er/docker",
    };

    [Theory]
    [MemberData(nameof(NormalizeTestValidNames))]
    public void Normalize_test_valid_names_parse(string input)
    {
        Assert.True(ImageReference.TryParse(input, out _, out var error), error);
    }

    /// <summary>input, a phrase the error must contain.</summary>
    public static TheoryData<string, string> NormalizeTestInvalidNames() => new()
    {
        // TestValidateReferenceName
        { "https://github.com/docker/docker", "remove \"https://\": an image reference has no URL scheme (write github.com/docker/docker)" },
        { "docker/Docker", "repository name (docker/Docker) must be lowercase" },
        { "-docker", "path component \"-docker\" must start and end with a lowercase letter or digit" },
        { "-docker/docker", "must start and end with a lowercase letter or digit" },
        { "-docker.io/docker/docker", "registry host \"-docker.io\": a host label cannot start or end with '-'" },
        { "docker///docker", "has an empty component" },
        { "docker.io/docker/Docker", "repository name (docker/Docker) must be lowercase" },
        { "docker.io/docker///docker", "has an empty component" },
        { "[fc00::1]", "looks like a registry host without a repository" },
        { "[fc00::1]:5000", "looks like a registry host without a repository" },
        { "fc00::1:5000/debian", "an IPv6 address must be written in brackets" },
        { "[fe80::1%eth0]:5000/debian", "zone identifier" },
        { "[2001:db8:3:4::192.0.2.33]:5000/debian", "only hexadecimal IPv6 addresses in brackets are allowed (no embedded IPv4)" },
        { "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a", "is a 64-character hexadecimal image ID, not a repository name" },

        // TestValidateRemoteName
        { "docker-/docker", "must start and end with a lowercase letter or digit" },
        { "-docker-/docker", "must start and end with a lowercase letter or digit" },
        { "____/____", "must start and end with a lowercase letter or digit" },
        { "_docker/_docker", "must start and end with a lowercase letter or digit" },
        { "dock..er/docker", "has the separator \"..\"" },
        { "dock_.er/docker", "has the separator \"_.\"" },
        { "dock-.er/docker", "has the separator \"-.\"" },
        { "dock___er/docker", "has the separator \"___\"" },
        { "docker/", "has an empty component" },
        {
            "this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255/docker",
            "must not be more than 255 characters"
        },

        // TestInvalidReferenceComponents
        { "-foo", "must start and end with a lowercase letter or digit" },
    };

    [Theory]
    [MemberData(nameof(NormalizeTestInvalidNames))]
    public void Normalize_test_invalid_names_fail_saying_what_is_wrong(string input, string expected)
    {
        Assert.False(ImageReference.TryParse(input, out _, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    /// <summary>TestParseRepositoryInfo: every spelling of a repository gives the same familiar/full name, domain and path.</summary>
    public static TheoryData<string, string, string, string, string> RepositoryInfoCases()
    {
        var data = new TheoryData<string, string, string, string, string>();
        (string Remote, string Familiar, string Full, string? Ambiguous, string Domain)[] cases =
        [
            ("fooo/bar", "fooo/bar", "docker.io/fooo/bar", "index.docker.io/fooo/bar", "docker.io"),
            ("library/ubuntu", "ubuntu", "docker.io/library/ubuntu", "library/ubuntu", "docker.io"),
            ("nonlibrary/ubuntu", "nonlibrary/ubuntu", "docker.io/nonlibrary/ubuntu", null, "docker.io"),
            ("other/library", "other/library", "docker.io/other/library", null, "docker.io"),
            ("private/moonbase", "127.0.0.1:8000/private/moonbase", "127.0.0.1:8000/private/moonbase", null, "127.0.0.1:8000"),
            ("privatebase", "127.0.0.1:8000/privatebase", "127.0.0.1:8000/privatebase", null, "127.0.0.1:8000"),
            ("private/moonbase", "example.com/private/moonbase", "example.com/private/moonbase", null, "example.com"),
            ("privatebase", "example.com/privatebase", "example.com/privatebase", null, "example.com"),
            ("private/moonbase", "example.com:8000/private/moonbase", "example.com:8000/private/moonbase", null, "example.com:8000"),
            ("privatebasee", "example.com:8000/privatebasee", "example.com:8000/privatebasee", null, "example.com:8000"),
            ("library/ubuntu-12.04-base", "ubuntu-12.04-base", "docker.io/library/ubuntu-12.04-base", "index.docker.io/library/ubuntu-12.04-base", "docker.io"),
            ("library/foo", "foo", "docker.io/library/foo", "docker.io/foo", "docker.io"),
            ("library/foo/bar", "library/foo/bar", "docker.io/library/foo/bar", null, "docker.io"),
            ("store/foo/bar", "store/foo/bar", "docker.io/store/foo/bar", null, "docker.io"),
            ("bar", "Foo/bar", "Foo/bar", null, "Foo"),
            ("bar", "FOO/bar", "FOO/bar", null, "FOO"),
        ];
        foreach (var c in cases)
        {
            // Outside Docker Hub the familiar and full spellings are the same string: test it once.
            foreach (var spelling in new[] { c.Familiar, c.Full, c.Ambiguous }.OfType<string>().Distinct(StringComparer.Ordinal))
            {
                data.Add(spelling, c.Familiar, c.Full, c.Domain, c.Remote);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(RepositoryInfoCases))]
    public void Parse_repository_info_cases_normalize_every_spelling_alike(string input, string familiar, string full, string domain, string path)
    {
        var reference = ImageReference.Parse(input);
        Assert.Equal(full, reference.Name);
        Assert.Equal(domain, reference.Domain);
        Assert.Equal(path, reference.Path);
        Assert.Equal(familiar + ":latest", reference.FamiliarString);
    }

    /// <summary>TestNormalizedSplitHostname.</summary>
    [Theory]
    [InlineData("test.com/foo", "test.com", "foo")]
    [InlineData("test_com/foo", "docker.io", "test_com/foo")]
    [InlineData("docker/migrator", "docker.io", "docker/migrator")]
    [InlineData("test.com:8080/foo", "test.com:8080", "foo")]
    [InlineData("test-com:8080/foo", "test-com:8080", "foo")]
    [InlineData("foo", "docker.io", "library/foo")]
    [InlineData("xn--n3h.com/foo", "xn--n3h.com", "foo")]
    [InlineData("xn--n3h.com:18080/foo", "xn--n3h.com:18080", "foo")]
    [InlineData("docker.io/foo", "docker.io", "library/foo")]
    [InlineData("docker.io/library/foo", "docker.io", "library/foo")]
    [InlineData("docker.io/library/foo/bar", "docker.io", "library/foo/bar")]
    public void Normalized_split_hostname_cases(string input, string domain, string path)
    {
        var reference = ImageReference.Parse(input);
        Assert.Equal(domain, reference.Domain);
        Assert.Equal(path, reference.Path);
    }

    /// <summary>TestParseAnyReference, the cases that are names (bare digests are not image names).</summary>
    [Theory]
    [InlineData("redis", "docker.io/library/redis:latest")]
    [InlineData("redis:latest", "docker.io/library/redis:latest")]
    [InlineData("docker.io/library/redis:latest", "docker.io/library/redis:latest")]
    [InlineData("redis@sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c", "docker.io/library/redis@sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c")]
    [InlineData("dmcgowan/myapp", "docker.io/dmcgowan/myapp:latest")]
    [InlineData("dmcgowan/myapp:latest", "docker.io/dmcgowan/myapp:latest")]
    [InlineData("docker.io/mcgowan/myapp:latest", "docker.io/mcgowan/myapp:latest")]
    [InlineData("dmcgowan/myapp@sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c", "docker.io/dmcgowan/myapp@sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c")]
    [InlineData("dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9", "docker.io/library/dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9:latest")]
    [InlineData("dbcc1", "docker.io/library/dbcc1:latest")]
    public void Parse_any_reference_name_cases(string input, string canonical)
    {
        Assert.Equal(canonical, ImageReference.Parse(input).ToString());
    }

    /// <summary>TestParseReferenceWithTagAndDigest.</summary>
    [Fact]
    public void Tag_and_digest_are_both_kept_and_the_digest_is_what_the_registry_is_asked_for()
    {
        const string shortRef = "busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa";
        var reference = ImageReference.Parse(shortRef);
        Assert.Equal("docker.io/library/" + shortRef, reference.ToString());
        Assert.Equal(shortRef, reference.FamiliarString);
        Assert.Equal("latest", reference.Tag);
        Assert.False(reference.TagImplied);
        Assert.Equal("sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa", reference.ManifestReference);
    }

    /// <summary>go-digest TestParseDigest inputs, written after a repository name.</summary>
    [Theory]
    [InlineData("sha256:e58fcf7418d4390dec8e8fb69d88c06ec07039d651fedd3aa72af9972e7d046b", null)]
    [InlineData("sha384:d3fc7881460b7e22e3d172954463dddd7866d17597e7248453c48b3e9d26d9596bf9c4a9cf8072c9d5bad76e19af801d", null)]
    [InlineData("sha256:", "must be algorithm:hex")]
    [InlineData(":", "must be algorithm:hex")]
    [InlineData("d41d8cd98f00b204e9800998ecf8427e", "must be algorithm:hex")]
    [InlineData("sha256:d41d8cd98f00b204e9800m98ecf8427e", "must be hexadecimal")]
    [InlineData("sha256:abcdef0123456789", "sha256 needs 64 hex characters, got 16")]
    [InlineData("sha512:abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789", "sha512 needs 128 hex characters, got 64")]
    [InlineData("foo:d41d8cd98f00b204e9800998ecf8427e", "unsupported digest algorithm \"foo\"")]
    [InlineData("sha384.foo+bar:d3fc7881460b7e22e3d172954463dddd7866d17597e7248453c48b3e9d26d9596bf9c4a9cf8072c9d5bad76e19af801d", "'+' at position")]
    [InlineData("sha256:E58FCF7418D4390DEC8E8FB69D88C06EC07039D651FEDD3AA72AF9972E7D046B", "invalid checksum digest format: the hex part must be lowercase")]
    public void Go_digest_cases_after_a_name(string digest, string? expectedError)
    {
        var ok = ImageReference.TryParse("registry.example.com/app@" + digest, out var reference, out var error);
        if (expectedError is null)
        {
            Assert.True(ok, error);
            Assert.Equal(digest, reference!.Digest);
            Assert.Null(reference.Tag);
        }
        else
        {
            Assert.False(ok);
            Assert.Contains(expectedError, error, StringComparison.Ordinal);
        }
    }
}
