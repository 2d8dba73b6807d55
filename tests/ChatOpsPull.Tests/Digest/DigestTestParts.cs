using System.Buffers.Binary;
using System.Collections.Concurrent;
using ChatOpsPull.Approvals;
using ChatOpsPull.Chat;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Core.Approvals;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Kubernetes;
using ChatOpsPull.Tests.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ChatOpsPull.Tests.Digest;

/// <summary>The approvals read side, as the digest needs it, over a list the test fills (the real one is built on another branch).</summary>
public sealed class ListedApprovals : IApprovalQueries
{
    public List<ApprovalRequest> Requests { get; } = [];

    public Task<IReadOnlyList<ApprovalRequest>> ListPendingAsync(string? @namespace, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ApprovalRequest>>(Requests.Where(r => r.Status == ApprovalStatus.Pending && (@namespace is null || r.Plan.Namespace == @namespace)).ToList());

    public Task<IReadOnlyList<ApprovalRequest>> ListForIncidentAsync(string incidentId, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ApprovalRequest>>(Requests.Where(r => r.IncidentId == incidentId).ToList());

    public Task<IReadOnlyList<RemediationRun>> ListRunsForIncidentAsync(string incidentId, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<RemediationRun>>([]);

    public Task<IReadOnlyList<ApprovalRequest>> ListRequestedAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ApprovalRequest>>(Requests.Where(r => r.RequestedAt >= from && r.RequestedAt < to).ToList());

    public static ApprovalRequest Pending(string id, string incidentId, string @namespace, DateTimeOffset requestedAt, DateTimeOffset expiresAt) =>
        new(
            id,
            incidentId,
            new RemediationPlan(RemediationKind.RefreshCredentials, @namespace, "Deployment", "checkout", "Refresh ghcr.io credentials", "Writes the pull secret from the credential source.", RemediationRisk.Medium, new Dictionary<string, string>()),
            new Actor("slack", "U1", "alice", []),
            requestedAt,
            expiresAt,
            ApprovalStatus.Pending,
            1,
            [],
            1);
}

/// <summary>A chat surface that keeps what it was asked to show (for the Teams path, where the card itself is the subject).</summary>
public sealed class RecordingSurface(ChatPlatform platform) : IChatSurface
{
    public ConcurrentQueue<(string Channel, Card Card)> Published { get; } = new();

    public ChatPlatform Platform => platform;

    public Task PublishAsync(string channelId, Card card, CancellationToken cancellationToken)
    {
        Published.Enqueue((channelId, card));
        return Task.CompletedTask;
    }

    public Task ReplyInThreadAsync(string channelId, string cardKey, string text, string? onceKey, CancellationToken cancellationToken) => Task.CompletedTask;
}

public static class DigestHosts
{
    /// <summary>Settings for one schedule at index <paramref name="index"/>.</summary>
    public static Dictionary<string, string?> Schedule(int index, string platform, string channel, string cron = "0 9 * * 1", string zone = "Europe/Berlin", string cluster = DigestSeed.Cluster, string ns = "*", string period = "7d") => new()
    {
        [$"Digest:Schedules:{index}:Platform"] = platform,
        [$"Digest:Schedules:{index}:Channel"] = channel,
        [$"Digest:Schedules:{index}:Cron"] = cron,
        [$"Digest:Schedules:{index}:TimeZone"] = zone,
        [$"Digest:Schedules:{index}:Cluster"] = cluster,
        [$"Digest:Schedules:{index}:Namespace"] = ns,
        [$"Digest:Schedules:{index}:Period"] = period,
    };

    public static Dictionary<string, string?> Merge(params Dictionary<string, string?>[] parts)
    {
        var all = new Dictionary<string, string?>
        {
            ["Bot:Cluster"] = DigestSeed.Cluster,
            ["Kubernetes:WatchEnabled"] = "false",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var part in parts)
        {
            foreach (var (key, value) in part)
            {
                all[key] = value;
            }
        }

        return all;
    }

    /// <summary>No cluster connection, whatever kubeconfig the machine has; the given approvals.</summary>
    public static Action<IServiceCollection> WithoutCluster(ListedApprovals? approvals = null, Action<IServiceCollection>? more = null) => services =>
    {
        services.RemoveAll<KubernetesConnection>();
        services.AddSingleton(KubernetesConnection.None("tests run without a cluster"));
        services.AddSingleton<IApprovalQueries>(approvals ?? new ListedApprovals());
        more?.Invoke(services);
    };

    public static BotTestHost Start(TestStorage storage, Dictionary<string, string?> settings, Action<IServiceCollection> services)
    {
        var host = new BotTestHost(storage, settings, services);
        _ = host.Services; // start: migrations, Hangfire, recurring job registration
        return host;
    }
}

public static class Png
{
    private static readonly byte[] Signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Width and height from the IHDR chunk, after checking the signature and that IHDR comes first.</summary>
    public static (int Width, int Height) Size(byte[] bytes)
    {
        Assert.True(bytes.Length > 33, $"{bytes.Length} bytes is too short for a PNG");
        Assert.Equal(Signature, bytes[..8]);
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(bytes, 12, 4));
        Assert.Equal("IEND", System.Text.Encoding.ASCII.GetString(bytes, bytes.Length - 8, 4));
        return (BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)));
    }
}
