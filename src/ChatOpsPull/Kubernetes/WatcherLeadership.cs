using k8s;
using k8s.Autorest;
using k8s.LeaderElection;
using k8s.LeaderElection.ResourceLock;
using k8s.Models;

namespace ChatOpsPull.Kubernetes;

/// <summary>
/// Runs work only while this replica holds the coordination.k8s.io/v1 Lease, using KubernetesClient's LeaderElector
/// with a LeaseLock. Handles the elector's quirks: it throws out of its acquire loop on transport errors (we restart it),
/// and it tries to create a Lease whose holder was released instead of taking it over (<see cref="ReleasedLeaseLock"/>).
/// On a clean stop the leader releases the Lease so another replica takes over at once.
/// </summary>
public sealed partial class WatcherLeadership
{
    private readonly IKubernetes _client;
    private readonly LeaseOptions _options;
    private readonly ILogger<WatcherLeadership> _logger;
    private volatile bool _isLeader;

    public WatcherLeadership(IKubernetes client, LeaseOptions options, string leaseNamespace, string identity, ILogger<WatcherLeadership> logger)
    {
        _client = client;
        _options = options;
        LeaseNamespace = leaseNamespace;
        Identity = identity;
        _logger = logger;
    }

    /// <summary>Pod name (or host name) plus a random suffix, so a restarted pod is a new candidate.</summary>
    public string Identity { get; }

    public string LeaseNamespace { get; }

    public bool IsLeader => _isLeader;

    /// <summary>The holder this replica saw last.</summary>
    public string? ObservedLeader { get; private set; }

    public static string NewIdentity()
    {
        var name = Environment.GetEnvironmentVariable("POD_NAME");
        if (string.IsNullOrWhiteSpace(name))
        {
            name = Environment.MachineName.ToLowerInvariant();
        }

        return $"{name}-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3))}";
    }

    /// <summary>Campaigns until <paramref name="stopping"/>; runs <paramref name="work"/> during each term, cancelling it when the term ends.</summary>
    public async Task RunWhileLeadingAsync(Func<CancellationToken, Task> work, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            var leaseLock = new ReleasedLeaseLock(new LeaseLock(_client, LeaseNamespace, _options.Name, Identity));
            using var elector = new LeaderElector(new LeaderElectionConfig(leaseLock)
            {
                LeaseDuration = _options.LeaseDuration,
                RenewDeadline = _options.RenewDeadline,
                RetryPeriod = _options.RetryPeriod,
            });
            CancellationTokenSource? term = null;
            Task? running = null;
            elector.OnStartedLeading += () =>
            {
                _isLeader = true;
                LogStartedLeading(_logger, Identity, LeaseNamespace, _options.Name);
                term = CancellationTokenSource.CreateLinkedTokenSource(stopping);
                var token = term.Token;
                running = Task.Run(() => work(token), CancellationToken.None);
            };
            elector.OnStoppedLeading += () =>
            {
                _isLeader = false;
                term?.Cancel();
            };
            elector.OnNewLeader += leader =>
            {
                ObservedLeader = leader;
                LogNewLeader(_logger, leader ?? "(none)", Identity);
            };
            elector.OnError += e => LogElectionError(_logger, e?.GetType().Name ?? "error", e?.Message ?? string.Empty);

            try
            {
                await elector.RunUntilLeadershipLostAsync(stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                // shutting down
            }
            catch (Exception e) when (e is HttpRequestException or IOException or HttpOperationException or InvalidOperationException)
            {
                LogElectionError(_logger, e.GetType().Name, e.Message);
            }
            finally
            {
                _isLeader = false;
                term?.Cancel();
            }

            if (running is not null)
            {
                try
                {
                    await running.ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // the term ended
                }

                LogStoppedLeading(_logger, Identity);
                if (stopping.IsCancellationRequested)
                {
                    await ReleaseAsync().ConfigureAwait(false);
                }
            }

            term?.Dispose();
            if (!stopping.IsCancellationRequested)
            {
                await Task.Delay(_options.RetryPeriod, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Gives the Lease up (holder cleared, 1 s duration) if this replica still holds it.</summary>
    public async Task ReleaseAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            var lease = await _client.CoordinationV1.ReadNamespacedLeaseAsync(_options.Name, LeaseNamespace, cancellationToken: timeout.Token).ConfigureAwait(false);
            if (lease.Spec?.HolderIdentity != Identity)
            {
                return;
            }

            lease.Spec.HolderIdentity = string.Empty;
            lease.Spec.LeaseDurationSeconds = 1;
            lease.Spec.RenewTime = DateTime.UtcNow;
            await _client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, _options.Name, LeaseNamespace, cancellationToken: timeout.Token).ConfigureAwait(false);
            LogReleased(_logger, Identity);
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException or OperationCanceledException or IOException)
        {
            LogElectionError(_logger, e.GetType().Name, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Identity} now leads (Lease {Namespace}/{Name}) and runs the Kubernetes watcher.")]
    private static partial void LogStartedLeading(ILogger logger, string identity, string @namespace, string name);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Identity} stopped leading; the watcher is stopped on this replica.")]
    private static partial void LogStoppedLeading(ILogger logger, string identity);

    [LoggerMessage(Level = LogLevel.Information, Message = "The Lease is held by {Leader} (this replica is {Identity}).")]
    private static partial void LogNewLeader(ILogger logger, string leader, string identity);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Identity} released the Lease.")]
    private static partial void LogReleased(ILogger logger, string identity);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Leader election: {Kind}: {Message}")]
    private static partial void LogElectionError(ILogger logger, string kind, string message);

    /// <summary>
    /// LeaderElector creates the Lease when the record it reads has no holder, so a Lease released by its last holder
    /// (holderIdentity cleared, as client-go and <see cref="ReleaseAsync"/> do) would answer 409 forever. This lock reports
    /// such a record as held by nobody ("") with times set, which sends the elector down its take-over (update) path.
    /// </summary>
    internal sealed class ReleasedLeaseLock(LeaseLock inner) : ILock
    {
        public string Identity => inner.Identity;

        public async Task<LeaderElectionRecord> GetAsync(CancellationToken cancellationToken = default)
        {
            var record = await inner.GetAsync(cancellationToken).ConfigureAwait(false);
            if (record is not null && string.IsNullOrEmpty(record.HolderIdentity))
            {
                record.HolderIdentity = string.Empty;
                record.AcquireTime ??= DateTime.UnixEpoch;
                record.RenewTime ??= DateTime.UnixEpoch;
            }

            return record!;
        }

        public Task<bool> CreateAsync(LeaderElectionRecord record, CancellationToken cancellationToken = default) => inner.CreateAsync(record, cancellationToken);

        public Task<bool> UpdateAsync(LeaderElectionRecord record, CancellationToken cancellationToken = default) => inner.UpdateAsync(record, cancellationToken);

        public string Describe() => inner.Describe();
    }
}
