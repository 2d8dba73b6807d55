using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Images;
using ChatOpsPull.Registry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace ChatOpsPull.Tests.Registry;

[Collection(RegistryFixtureGroup.Name)]
public sealed class RegistryCheckCacheTests(RegistryFixture registry, ITestOutputHelper output)
{
    [Fact]
    public async Task A_storm_of_1000_checks_of_one_failing_image_costs_the_registry_one_check()
    {
        // One check per cache window is the promise: the longest window allowed, so the storm falls in one on a loaded machine.
        await using var services = registry.Services(o => o.CacheWindow = TimeSpan.FromHours(1));
        var checker = services.GetRequiredService<RegistryChecker>();
        var cache = services.GetRequiredService<RegistryCheckCache>();
        var image = ImageReference.Parse($"{registry.Anonymous}/storm/app:2.0");
        var before = await registry.AnonymousRequestCountAsync();

        var results = await Task.WhenAll(Enumerable.Range(0, 1000).Select(_ => Task.Run(() => checker.CheckAsync(image, null, null, CancellationToken.None))));

        var requests = await registry.AnonymousRequestsSinceAsync(before);
        output.WriteLine($"registry access log for 1000 concurrent checks ({requests.Count} requests):");
        foreach (var line in requests)
        {
            output.WriteLine("  " + line);
        }

        Assert.All(results, r => Assert.Equal(PullCause.ImageNotFound, r.Cause));
        Assert.Equal(1, cache.Started);
        Assert.Equal(999, results.Count(r => r.FromCache));
        Assert.InRange(requests.Count, 1, 3);
    }

    [Fact]
    public async Task After_the_window_the_registry_is_asked_again()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var services = registry.Services(o => o.CacheWindow = TimeSpan.FromSeconds(30), clock);
        var checker = services.GetRequiredService<RegistryChecker>();
        var cache = services.GetRequiredService<RegistryCheckCache>();
        var image = ImageReference.Parse($"{registry.Anonymous}/storm/app:1.0");

        var first = await checker.CheckAsync(image, null, null, CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(29));
        var within = await checker.CheckAsync(image, null, null, CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(2));
        var after = await checker.CheckAsync(image, null, null, CancellationToken.None);

        Assert.True(first.Pullable, first.Summary);
        Assert.False(first.FromCache);
        Assert.True(within.FromCache);
        Assert.False(after.FromCache);
        Assert.Equal(2, cache.Started);
    }

    [Fact]
    public async Task Different_credentials_are_checked_separately_and_the_key_holds_no_secret()
    {
        await using var services = registry.Services();
        var checker = services.GetRequiredService<RegistryChecker>();
        var cache = services.GetRequiredService<RegistryCheckCache>();
        var image = ImageReference.Parse($"{registry.Basic}/private/app:1.0");
        var right = RegistryCredentials.FromUsernamePassword(RegistryFixture.BasicUser, RegistryFixture.BasicPassword, "test");
        var wrong = RegistryCredentials.FromUsernamePassword(RegistryFixture.BasicUser, "not-the-password", "test");

        var good = await checker.CheckAsync(image, right, null, CancellationToken.None);
        var bad = await checker.CheckAsync(image, wrong, null, CancellationToken.None);
        var goodAgain = await checker.CheckAsync(image, right, null, CancellationToken.None);

        Assert.True(good.Pullable, good.Summary);
        Assert.Equal(PullCause.AuthFailed, bad.Cause);
        Assert.True(goodAgain.FromCache);
        Assert.Equal(2, cache.Started);
        Assert.NotEqual(right.Fingerprint, wrong.Fingerprint);
        Assert.Matches("^[0-9a-f]{32}$", right.Fingerprint);
        Assert.DoesNotContain(RegistryFixture.BasicPassword, right.Fingerprint + right, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_caller_that_gives_up_does_not_cancel_the_shared_check()
    {
        await using var services = registry.Services();
        var checker = services.GetRequiredService<RegistryChecker>();
        var cache = services.GetRequiredService<RegistryCheckCache>();
        var image = ImageReference.Parse($"{registry.Anonymous}/team/app:1.5.0");
        using var gaveUp = new CancellationTokenSource();
        await gaveUp.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => checker.CheckAsync(image, null, null, gaveUp.Token));
        var result = await checker.CheckAsync(image, null, null, CancellationToken.None);

        Assert.True(result.Pullable, result.Summary);
        Assert.True(result.FromCache);
        Assert.Equal(1, cache.Started);
    }
}
