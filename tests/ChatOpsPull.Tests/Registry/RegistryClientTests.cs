using ChatOpsPull.Core.Images;
using ChatOpsPull.Registry;
using Microsoft.Extensions.DependencyInjection;

namespace ChatOpsPull.Tests.Registry;

[Collection(RegistryFixtureGroup.Name)]
public sealed class RegistryClientTests(RegistryFixture registry)
{
    [Fact]
    public async Task Tags_are_listed_across_pages_by_following_the_link_header()
    {
        await using var services = registry.Services(o =>
        {
            o.TagPageSize = 2;
            o.MaxTagsListed = 100;
        });
        var client = services.GetRequiredService<RegistryClient>();
        var endpoint = services.GetRequiredService<RegistryEndpoints>().For(ImageReference.Parse($"{registry.DockerHub}/team/app"));
        var ping = await client.PingAsync(endpoint, CancellationToken.None);
        var authorization = await client.AuthorizeAsync(endpoint, ping, "team/app", null, CancellationToken.None);

        var tags = await client.ListTagsAsync(endpoint, "team/app", authorization, CancellationToken.None);

        Assert.Equal(["1.4.0", "1.4.2", "1.5.0", "latest"], tags.Tags);
        Assert.Equal(2, tags.Pages);
        Assert.False(tags.Truncated);
    }

    [Fact]
    public async Task Tag_listing_stops_at_the_configured_maximum_and_says_so()
    {
        await using var services = registry.Services(o =>
        {
            o.TagPageSize = 2;
            o.MaxTagsListed = 2;
        });
        var client = services.GetRequiredService<RegistryClient>();
        var endpoint = services.GetRequiredService<RegistryEndpoints>().For(ImageReference.Parse($"{registry.DockerHub}/team/app"));
        var ping = await client.PingAsync(endpoint, CancellationToken.None);
        var authorization = await client.AuthorizeAsync(endpoint, ping, "team/app", null, CancellationToken.None);

        var tags = await client.ListTagsAsync(endpoint, "team/app", authorization, CancellationToken.None);

        Assert.Equal(2, tags.Tags.Count);
        Assert.True(tags.Truncated);
    }

    [Fact]
    public async Task Head_gives_the_same_digest_as_get_without_the_body()
    {
        await using var services = registry.Services();
        var client = services.GetRequiredService<RegistryClient>();
        var endpoint = services.GetRequiredService<RegistryEndpoints>().For(ImageReference.Parse($"{registry.Anonymous}/team/multi:1.0"));
        var ping = await client.PingAsync(endpoint, CancellationToken.None);
        var authorization = await client.AuthorizeAsync(endpoint, ping, "team/multi", null, CancellationToken.None);

        var head = await client.HeadManifestAsync(endpoint, "team/multi", "1.0", authorization, CancellationToken.None);
        var get = await client.GetManifestAsync(endpoint, "team/multi", "1.0", authorization, CancellationToken.None);

        Assert.Equal(200, head.Answer.Code);
        Assert.Null(head.Content);
        Assert.Equal(get.Digest, head.Digest);
        Assert.Equal(ManifestMediaTypes.OciIndex, head.MediaType);
        Assert.Equal(2, get.Content?.Entries.Count);
    }

    [Fact]
    public async Task Error_codes_come_back_from_the_registry_body()
    {
        await using var services = registry.Services();
        var client = services.GetRequiredService<RegistryClient>();
        var endpoint = services.GetRequiredService<RegistryEndpoints>().For(ImageReference.Parse($"{registry.Anonymous}/team/app"));
        var ping = await client.PingAsync(endpoint, CancellationToken.None);
        var authorization = await client.AuthorizeAsync(endpoint, ping, "team/app", null, CancellationToken.None);

        var missingTag = await client.GetManifestAsync(endpoint, "team/app", "9.9.9", authorization, CancellationToken.None);
        var missingRepo = await client.ListTagsAsync(endpoint, "team/none", authorization, CancellationToken.None);

        Assert.True(missingTag.Answer.HasError(RegistryError.ManifestUnknown), missingTag.Answer.Describe());
        Assert.True(missingRepo.Answer.HasError(RegistryError.NameUnknown), missingRepo.Answer.Describe());
    }

    [Fact]
    public async Task Bearer_tokens_are_cached_per_scope_until_they_expire()
    {
        await using var services = registry.Services();
        var client = services.GetRequiredService<RegistryClient>();
        var endpoint = services.GetRequiredService<RegistryEndpoints>().For(ImageReference.Parse($"{registry.Token}/private/app"));
        var alice = RegistryCredentials.FromUsernamePassword(TokenServerStandIn.User, TokenServerStandIn.Password, "test");
        var ping = await client.PingAsync(endpoint, CancellationToken.None);
        var before = registry.TokenServer.Requests;

        var first = await client.AuthorizeAsync(endpoint, ping, "private/app", alice, CancellationToken.None);
        var second = await client.AuthorizeAsync(endpoint, ping, "private/app", alice, CancellationToken.None);
        var otherScope = await client.AuthorizeAsync(endpoint, ping, "public/tool", alice, CancellationToken.None);
        var anonymous = await client.AuthorizeAsync(endpoint, ping, "private/app", null, CancellationToken.None);

        Assert.False(first.FromCache);
        Assert.True(second.FromCache);
        Assert.False(otherScope.FromCache);
        Assert.False(anonymous.FromCache);
        Assert.Equal(before + 3, registry.TokenServer.Requests);
        Assert.DoesNotContain("Bearer ey", first.ToString(), StringComparison.Ordinal);
    }
}
