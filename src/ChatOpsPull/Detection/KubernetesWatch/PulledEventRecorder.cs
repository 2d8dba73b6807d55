using k8s.Models;

namespace ChatOpsPull.Detection.KubernetesWatch;

/// <summary>
/// Keeps kubelet's Normal "Pulled" events as pull times for the digest: image, registry, node, how long the pull took
/// and how big the image was (<see cref="PulledMessage"/> reads the message). The same event seen again — a relist, a
/// restart, another replica — is stored once, keyed by the event's uid and count. A store that cannot take the row is
/// logged and skipped: pull times are never a reason to stop watching.
/// </summary>
public sealed partial class PulledEventRecorder(PullEventStore store, string cluster, TimeProvider time, ILogger logger)
{
    /// <summary>A Normal "Pulled" event of a pod: the only events this recorder keeps.</summary>
    public static bool IsPulled(WatchedEvent item) =>
        item is { Type: "Normal", Reason: "Pulled", Subject.Kind: "Pod" };

    /// <summary>Stores the event when it is a Pulled event whose message kubelet's wording lets us read; ignores anything else.</summary>
    public async Task RecordAsync(WatchedEvent item, CancellationToken cancellationToken)
    {
        if (ToRecord(item, cluster, time.GetUtcNow()) is not { } record)
        {
            return;
        }

        try
        {
            await store.RecordAsync(record, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException)
        {
            LogPullEventNotStored(logger, record.Namespace, record.Pod, e.Message);
        }
    }

    /// <summary>The row for one Pulled event; null when it is not one or its message is no pull ("already present on machine").</summary>
    internal static PullEventRecord? ToRecord(WatchedEvent item, string cluster, DateTimeOffset now)
    {
        if (!IsPulled(item) || !PulledMessage.TryParse(item.Message, out var pulled))
        {
            return null;
        }

        var observed = item.LastSeen ?? now.UtcDateTime;
        return new PullEventRecord(
            cluster,
            item.Subject!.Namespace ?? item.Namespace ?? string.Empty,
            item.Subject.Name ?? string.Empty,
            item.SourceHost ?? item.ReportingInstance,
            pulled.Image,
            PullEventStore.RegistryHostOf(pulled.Image),
            pulled.Duration is { } d ? (long)Math.Round(d.TotalMilliseconds) : null,
            pulled.SizeBytes,
            new DateTimeOffset(DateTime.SpecifyKind(observed, DateTimeKind.Utc)),
            $"{item.Uid ?? item.Name}/{item.Occurrences}");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A Pulled event of {Namespace}/{Pod} could not be stored: {Message}")]
    private static partial void LogPullEventNotStored(ILogger logger, string @namespace, string pod, string message);
}
