using System.Collections.Concurrent;
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

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

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

        var window = options.CurrentValue.LookupCacheWindow;
        while (true)
        {
            var now = time.GetUtcNow();
            if (_entries.TryGetValue(key, out var existing))
            {
                if (existing.IsFresh(now, window))
                {
                    return (Lookup<T>)await existing.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                }

                _entries.TryRemove(new KeyValuePair<string, Entry>(key, existing));
                continue;
            }

            // The read starts only once this caller's entry is the one stored: a caller that lost the race to add it
            // waits for the winner's read instead of sending one nobody shares.
            var entry = new Entry();
            if (!_entries.TryAdd(key, entry))
            {
                continue;
            }

            entry.Start(ReadAsync(client, read));

            Sweep(now, window);
            _ = entry.Task.ContinueWith(
                t =>
                {
                    if (t.IsFaulted || ((Lookup<T>)t.Result).Outcome == LookupOutcome.Failed)
                    {
                        _entries.TryRemove(new KeyValuePair<string, Entry>(key, entry));
                    }
                    else
                    {
                        entry.Completed(time.GetUtcNow());
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
            return (Lookup<T>)await entry.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<object> ReadAsync<T>(IKubernetes client, Func<IKubernetes, CancellationToken, Task<T>> read)
        where T : class
    {
        using var deadline = new CancellationTokenSource(ReadTimeout);
        try
        {
            return new Lookup<T>(LookupOutcome.Found, await read(client, deadline.Token).ConfigureAwait(false), null);
        }
        catch (HttpOperationException e)
        {
            var error = ApiError.From(e);
            return new Lookup<T>(error.IsNotFound ? LookupOutcome.Missing : error.IsForbidden ? LookupOutcome.Forbidden : LookupOutcome.Failed, null, error.Message);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
        {
            return new Lookup<T>(LookupOutcome.Failed, null, e is OperationCanceledException ? $"the API server did not answer within {ReadTimeout.TotalSeconds:0} s" : e.Message);
        }
    }

    private void Sweep(DateTimeOffset now, TimeSpan window)
    {
        if (_entries.Count < 4096)
        {
            return;
        }

        foreach (var (key, entry) in _entries)
        {
            if (!entry.IsFresh(now, window))
            {
                _entries.TryRemove(new KeyValuePair<string, Entry>(key, entry));
            }
        }
    }

    private sealed class Entry
    {
        private readonly TaskCompletionSource<Task<object>> _read = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _completedAtTicks = -1;

        public Entry() => Task = _read.Task.Unwrap();

        /// <summary>The read's answer; callers that find the entry before its read starts wait for it too.</summary>
        public Task<object> Task { get; }

        public void Start(Task<object> read) => _read.SetResult(read);

        public bool IsFresh(DateTimeOffset now, TimeSpan window)
        {
            var ticks = Interlocked.Read(ref _completedAtTicks);
            return ticks < 0 || now.UtcTicks - ticks < window.Ticks;
        }

        public void Completed(DateTimeOffset at) => Interlocked.Exchange(ref _completedAtTicks, at.UtcTicks);
    }
}
