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
        Assert.Contains("rejected user bob", result.Summary, StringComparison.Ordinal);
        Assert.DoesNotContain(result.Evidence, e => e.Detail.Contains("wrong-password", StringComparison.Ordinal));
        Assert.DoesNotContain("wrong-password", result.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Basic_registry_with_the_right_password_is_pullable()
    {
        var result = await CheckAsync($"{registry.Basic}/private/app:1.0", Bob);

        Assert.True(result.Pullable, result.Summary);
        Assert.Contains("user bob", result.Credentials, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Basic_registry_with_the_right_password_and_a_missing_tag_suggests_tags()
    {
        var result = await CheckAsync($"{registry.Basic}/team/app:1.4.3", Bob);

        Assert.Equal(PullCause.ImageNotFound, result.Cause);
        Assert.Equal("1.4.2", result.SuggestedTags[0].Tag);
    }
}
