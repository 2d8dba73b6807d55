using ChatOpsPull.Core.Caching;
using ChatOpsPull.Kubernetes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Prevention;

/// <summary>What reading one object by name gave.</summary>
public enum LookupOutcome
{
    Found,
    Missing,
    Forbidden,
    Failed,
}

/// <summary>One object read by name, or why not.</summary>
public sealed record Lookup<T>(LookupOutcome Outcome, T? Value, string? Problem)
    where T : class;

/// <summary>
/// The reads the admission check makes for every review — a namespace's labels, a ServiceAccount's imagePullSecrets, a pull
/// secret — by name (the RBAC grants get, never list on secrets), shared while in flight and reused for
/// <see cref="AdmissionOptions.LookupCacheWindow"/>, so a burst of reviews in one namespace reads each object once. A read
/// that failed is not remembered. Secret contents stay in this process; nothing here logs them.
/// </summary>
public sealed class ClusterLookups(KubernetesConnection connection, IOptionsMonitor<AdmissionOptions> options, TimeProvider time)
{
    /// <summary>How long one read may take, whoever waits for it.</summary>
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Each lookup by key (its kind, namespace and name) as read, shared while in flight and kept for the window as it is
    /// set now; one that failed is not kept. The answer is the lookup and its outcome, since the cache holds every kind.
    /// </summary>
    private readonly SingleFlightCache<string, (LookupOutcome Outcome, object Lookup)> _lookups = new(
        (answer, answeredAt, now) => answer.Outcome != LookupOutcome.Failed && now - answeredAt < options.CurrentValue.LookupCacheWindow,
        4096,
        time,
        StringComparer.Ordinal);

    public bool Connected => connection.Client is not null;

    public Task<Lookup<IReadOnlyDictionary<string, string>>> NamespaceLabelsAsync(string @namespace, CancellationToken cancellationToken) =>
        GetAsync<IReadOnlyDictionary<string, string>>(
            $"ns|{@namespace}",
            async (client, ct) => (IReadOnlyDictionary<string, string>)((await client.CoreV1.ReadNamespaceAsync(@namespace, cancellationToken: ct).ConfigureAwait(false)).Metadata?.Labels
                ?? new Dictionary<string, string>(StringComparer.Ordinal)),
            cancellationToken);

    public Task<Lookup<IReadOnlyList<string>>> ServiceAccountPullSecretsAsync(string @namespace, string name, CancellationToken cancellationToken) =>
        GetAsync<IReadOnlyList<string>>(
            $"sa|{@namespace}|{name}",
            async (client, ct) => (await client.CoreV1.ReadNamespacedServiceAccountAsync(name, @namespace, cancellationToken: ct).ConfigureAwait(false)).ImagePullSecrets?
                .Select(r => r.Name).Where(n => !string.IsNullOrEmpty(n)).Distinct(StringComparer.Ordinal).ToList() ?? [],
            cancellationToken);

    public Task<Lookup<V1Secret>> SecretAsync(string @namespace, string name, CancellationToken cancellationToken) =>
        GetAsync(
            $"secret|{@namespace}|{name}",
            (client, ct) => client.CoreV1.ReadNamespacedSecretAsync(name, @namespace, cancellationToken: ct),
            cancellationToken);

    private async Task<Lookup<T>> GetAsync<T>(string key, Func<IKubernetes, CancellationToken, Task<T>> read, CancellationToken cancellationToken)
        where T : class
    {
        if (connection.Client is not { } client)
        {
            return new Lookup<T>(LookupOutcome.Failed, null, "the bot has no connection to the cluster");
        }

        // Not cancelled by this caller: others may be waiting for the same read, which bounds itself.
        var answer = await _lookups.GetAsync(
            key,
            (Client: client, Read: read),
            static (_, lookup) => ReadAsync(lookup.Client, lookup.Read),
            cancellationToken).ConfigureAwait(false);
        return (Lookup<T>)answer.Lookup;
    }

    private static async Task<(LookupOutcome, object)> ReadAsync<T>(IKubernetes client, Func<IKubernetes, CancellationToken, Task<T>> read)
        where T : class
    {
        using var deadline = new CancellationTokenSource(ReadTimeout);
        Lookup<T> lookup;
        try
        {
            lookup = new Lookup<T>(LookupOutcome.Found, await read(client, deadline.Token).ConfigureAwait(false), null);
        }
        catch (HttpOperationException e)
        {
            var error = ApiError.From(e);
            lookup = new Lookup<T>(error.IsNotFound ? LookupOutcome.Missing : error.IsForbidden ? LookupOutcome.Forbidden : LookupOutcome.Failed, null, error.Message);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
        {
            lookup = new Lookup<T>(LookupOutcome.Failed, null, e is OperationCanceledException ? $"the API server did not answer within {ReadTimeout.TotalSeconds:0} s" : e.Message);
        }

        return (lookup.Outcome, lookup);
    }
}
