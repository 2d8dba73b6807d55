using ChatOpsPull.Core.Images;

namespace ChatOpsPull.Core.Tests.Images;

public sealed class ImageReferenceTests
{
    [Theory]
    [InlineData("nginx", "docker.io/library/nginx:latest")]
    [InlineData("index.docker.io/nginx:1.25", "docker.io/library/nginx:1.25")]
    [InlineData("registry-1.docker.io/org/app:v1", "docker.io/org/app:v1")]
    [InlineData("localhost:5000/app", "localhost:5000/app:latest")]
    [InlineData("[fe80::1]:5000/app:2", "[fe80::1]:5000/app:2")]
    public void Short_and_aliased_names_normalize_like_docker(string input, string expected)
    {
        Assert.Equal(expected, ImageReference.Parse(input).ToString());
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
}
