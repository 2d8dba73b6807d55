using System.Net;
using ChatOpsPull.Kubernetes;
using ChatOpsPull.Prevention;
using ChatOpsPull.Simulation.KubernetesApi;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace ChatOpsPull.Tests.Prevention;

/// <summary>What the admission check's lookups remember between reviews, against the Kubernetes API stand-in.</summary>
public sealed class ClusterLookupsTests : IDisposable
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(30);
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "chatopspull-lookups-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task A_failed_lookup_is_not_remembered_and_a_missing_one_is_until_the_window_ends()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        var failNext = 1;
        api.BeforeServing = request =>
            request.Resource == "secrets" && Interlocked.Exchange(ref failNext, 0) == 1
                ? throw new ApiStatusException(HttpStatusCode.ServiceUnavailable, "ServiceUnavailable", "etcd is busy")
                : Task.CompletedTask;
        using var connection = KubernetesConnection.FromKubeconfig(api.WriteKubeconfig(_directory), null);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var lookups = new ClusterLookups(connection, new FixedOptions(new AdmissionOptions { LookupCacheWindow = Window }), clock);

        var failed = await lookups.SecretAsync("shop", "regcred", CancellationToken.None);
        var missing = await lookups.SecretAsync("shop", "regcred", CancellationToken.None);
        clock.Advance(Window - TimeSpan.FromSeconds(1));
        var remembered = await lookups.SecretAsync("shop", "regcred", CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(1));
        var readAgain = await lookups.SecretAsync("shop", "regcred", CancellationToken.None);

        Assert.Equal(LookupOutcome.Failed, failed.Outcome);
        Assert.All([missing, remembered, readAgain], lookup => Assert.Equal(LookupOutcome.Missing, lookup.Outcome));
        // The failure, the first missing answer and the one after the window: the remembered one cost nothing.
        Assert.Equal(3, api.Requests.Count(r => r.Contains("/secrets/regcred", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Reviews_asking_for_one_namespace_at_once_read_it_once_even_when_the_first_gives_up()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        api.BeforeServing = async request =>
        {
            if (request.Resource == "namespaces")
            {
                held.TrySetResult();
                await release.Task;
            }
        };
        using var connection = KubernetesConnection.FromKubeconfig(api.WriteKubeconfig(_directory), null);
        var lookups = new ClusterLookups(connection, new FixedOptions(new AdmissionOptions { LookupCacheWindow = Window }), new FakeTimeProvider(DateTimeOffset.UtcNow));
        using var givesUp = new CancellationTokenSource();

        var first = lookups.NamespaceLabelsAsync("shop", givesUp.Token);
        await held.Task.WaitAsync(TimeSpan.FromSeconds(60));
        var others = Enumerable.Range(0, 50).Select(_ => Task.Run(() => lookups.NamespaceLabelsAsync("shop", CancellationToken.None))).ToArray();
        await givesUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        release.SetResult();
        var answers = await Task.WhenAll(others).WaitAsync(TimeSpan.FromSeconds(60));

        // The stand-in has no namespace "shop": every review hears it is missing, from the one read.
        Assert.All(answers, a => Assert.Equal(LookupOutcome.Missing, a.Outcome));
        Assert.Single(api.Requests, r => r.Contains("/namespaces/shop", StringComparison.Ordinal));
    }

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private sealed class FixedOptions(AdmissionOptions options) : IOptionsMonitor<AdmissionOptions>
    {
        public AdmissionOptions CurrentValue => options;

        public AdmissionOptions Get(string? name) => options;

        public IDisposable? OnChange(Action<AdmissionOptions, string?> listener) => null;
    }
}
