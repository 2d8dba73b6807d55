using ChatOpsPull.Core.Images;

namespace ChatOpsPull.Core.Tests.Images;

public sealed class PlatformTests
{
    [Theory]
    [InlineData("linux/amd64", "linux/amd64")]
    [InlineData("linux/x86_64", "linux/amd64")]
    [InlineData("linux/aarch64", "linux/arm64")]
    [InlineData("linux/arm64/v8", "linux/arm64")]
    [InlineData("linux/arm", "linux/arm/v7")]
    [InlineData("linux/armhf", "linux/arm/v7")]
    [InlineData("Linux/ARM64", "linux/arm64")]
    [InlineData("windows/amd64", "windows/amd64")]
    public void Parses_and_normalizes_like_containerd(string input, string expected)
    {
        Assert.Equal(expected, Platform.Parse(input).ToString());
    }

    [Theory]
    [InlineData("linux")]
    [InlineData("linux/")]
    [InlineData("linux/arm/v7/extra")]
    [InlineData("linux/am d64")]
    public void Rejects_malformed_platforms_with_a_sentence(string input)
    {
        Assert.False(Platform.TryParse(input, out _, out var error));
        Assert.Contains("os/arch", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("linux/amd64", "linux/amd64", true)]
    [InlineData("linux/arm64", "linux/amd64", false)]
    [InlineData("linux/arm64", "linux/arm64/v8", true)]
    [InlineData("linux/arm/v7", "linux/arm/v6", true)]
    [InlineData("linux/arm/v6", "linux/arm/v7", false)]
    [InlineData("linux/amd64", "windows/amd64", false)]
    public void Node_runs_only_its_os_and_arch(string node, string image, bool expected)
    {
        Assert.Equal(expected, Platform.Parse(node).CanRun(Platform.Parse(image)));
    }
}
