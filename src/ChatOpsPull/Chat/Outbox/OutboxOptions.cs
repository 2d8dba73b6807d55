using System.ComponentModel.DataAnnotations;

namespace ChatOpsPull.Chat.Outbox;

/// <summary>Section "Outbox": how fast and how persistently outbound chat messages are sent.</summary>
public sealed class OutboxOptions : IValidatableObject
{
    public const string Section = "Outbox";

    /// <summary>Pause between two sends to the same channel. Slack documents about one message per second per channel.</summary>
    public TimeSpan MessageInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Failed attempts (5xx, timeouts) before a message is given up as Failed. Rate-limit answers do not count.</summary>
    [Range(1, 100, ErrorMessage = "Outbox:MaxAttempts must be between 1 and 100.")]
    public int MaxAttempts { get; set; } = 8;

    /// <summary>First retry delay after a transient error; doubles each attempt (with jitter) up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan BaseBackoff { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a replica holds a channel or a message it is sending before another replica may take it over.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Longest wait between two looks at the queue when nothing wakes the dispatcher (other replicas' enqueues).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Channels sent to at the same time by one replica.</summary>
    [Range(1, 64, ErrorMessage = "Outbox:MaxParallelChannels must be between 1 and 64.")]
    public int MaxParallelChannels { get; set; } = 8;

    /// <summary>How long delivered and superseded rows are kept (for the web page and audits) before they are deleted.</summary>
    public TimeSpan KeepDelivered { get; set; } = TimeSpan.FromDays(1);

    /// <summary>On shutdown, sends already under way get this long to finish before they are cut off.</summary>
    public TimeSpan ShutdownGrace { get; set; } = TimeSpan.FromSeconds(5);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MessageInterval < TimeSpan.Zero || MessageInterval > TimeSpan.FromMinutes(1))
        {
            yield return new ValidationResult("Outbox:MessageInterval must be between 0 and 1 minute (Slack allows about one message per second per channel).", [nameof(MessageInterval)]);
        }

        if (BaseBackoff <= TimeSpan.Zero || MaxBackoff < BaseBackoff)
        {
            yield return new ValidationResult("Outbox:BaseBackoff must be positive and Outbox:MaxBackoff at least as long.", [nameof(BaseBackoff)]);
        }

        if (LeaseDuration < TimeSpan.FromSeconds(5))
        {
            yield return new ValidationResult("Outbox:LeaseDuration must be at least 5 seconds, longer than one send takes.", [nameof(LeaseDuration)]);
        }

        if (PollInterval <= TimeSpan.Zero || PollInterval > TimeSpan.FromMinutes(1))
        {
            yield return new ValidationResult("Outbox:PollInterval must be between 0 and 1 minute.", [nameof(PollInterval)]);
        }
    }
}
