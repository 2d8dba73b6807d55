namespace ChatOpsPull.Chat.Outbox;

/// <summary>
/// One pending send to a chat platform, persisted before it is attempted so a restart loses nothing.
/// </summary>
/// <param name="Operation">Platform-specific verb ("chat.postMessage", "chat.update", "response_url", "activity.send", "activity.update" …).</param>
/// <param name="Payload">JSON the delivery understands; never holds a token (tokens are added at send time).</param>
/// <param name="DedupeKey">When set, a second enqueue with the same key while the first is still pending does not add a send: it replaces the pending message's operation and payload, so one send carries the newest content (card updates coalesce).</param>
/// <param name="Attempts">Tries so far, counting the one under way (rate-limit answers are not counted).</param>
public sealed record OutboxMessage(
    long Id,
    ChatPlatform Platform,
    string Channel,
    string Operation,
    string Payload,
    string? DedupeKey,
    int Attempts,
    DateTimeOffset NotBefore);

public enum DeliveryOutcome
{
    /// <summary>Sent; remove it.</summary>
    Delivered,

    /// <summary>Throttled (429) or transient (5xx, timeout): try again after <see cref="DeliveryResult.RetryAfter"/> or backoff.</summary>
    Retry,

    /// <summary>The platform refused it for good (channel_not_found, invalid_blocks …): record the error where a person sees it.</summary>
    Failed,

    /// <summary>
    /// Not sendable yet because it waits for another message of the outbox (a thread reply for its card's post): set it
    /// aside until <see cref="DeliveryResult.RetryAfter"/> while the lane goes on with the messages behind it, which may
    /// be the one it waits for. Not an attempt.
    /// </summary>
    Deferred,
}

public sealed record DeliveryResult(DeliveryOutcome Outcome, TimeSpan? RetryAfter = null, string? Error = null)
{
    public static DeliveryResult Delivered { get; } = new(DeliveryOutcome.Delivered);

    /// <summary>A thread reply whose card's post still waits in the outbox: asked again 5 s later (<see cref="DeliveryOutcome.Deferred"/>).</summary>
    public static DeliveryResult CardNotPostedYet { get; } = new(DeliveryOutcome.Deferred, TimeSpan.FromSeconds(5), "the card is not posted yet");
}

/// <summary>The paced, persistent queue every outbound chat call goes through (about one message per second per channel).</summary>
public interface IChatOutbox
{
    Task<long> EnqueueAsync(ChatPlatform platform, string channel, string operation, string payload, string? dedupeKey, CancellationToken cancellationToken);

    /// <summary>
    /// Enqueues a message that must be sent once ever (a thread line), identified by <paramref name="onceKey"/>: when the
    /// outbox holds a message with that key already — pending, being sent, sent, or given up — nothing is added. The key
    /// is kept as long as that message's row (delivered rows for Outbox:KeepDelivered). Returns the new row's id, or null
    /// when it was there already.
    /// </summary>
    Task<long?> EnqueueOnceAsync(ChatPlatform platform, string channel, string operation, string payload, string onceKey, CancellationToken cancellationToken);
}

/// <summary>Sends one outbox message to its platform. One implementation per platform; it must not throw for HTTP errors.</summary>
public interface IOutboxDelivery
{
    ChatPlatform Platform { get; }

    /// <summary>
    /// Whether this bot holds what sending needs (the platform's credentials). In a fleet, a bot that does not leaves the
    /// platform's rows to a bot of the fleet that does (a chat replica); alone, it tries, and the row fails with the reason.
    /// </summary>
    bool CanSend => true;

    Task<DeliveryResult> DeliverAsync(OutboxMessage message, CancellationToken cancellationToken);
}
