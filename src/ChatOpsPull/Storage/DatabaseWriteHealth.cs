namespace ChatOpsPull.Storage;

/// <summary>The database could not write since <paramref name="Since"/>; <paramref name="Reason"/> is the latest error in a few words.</summary>
public sealed record WriteFailure(DateTimeOffset Since, string Reason);

/// <summary>
/// Whether the bot's database takes writes: every transaction of <see cref="BotDatabase"/> reports its outcome here. The
/// first write that fails because the store is unavailable (<see cref="StorageFaults"/>) is logged once as an error
/// that says what it means for the bot; the first success after it is logged too, with how long it lasted. Readiness
/// reads <see cref="Failure"/> (and probes the store while it is set), so <c>/readyz</c> fails exactly while writes do.
/// </summary>
public sealed partial class DatabaseWriteHealth(TimeProvider time, ILogger<DatabaseWriteHealth> logger)
{
    private readonly Lock _gate = new();
    private volatile WriteFailure? _failure;

    /// <summary>Null while writes succeed.</summary>
    public WriteFailure? Failure => _failure;

    public void Succeeded(string location)
    {
        if (_failure is null)
        {
            return;
        }

        WriteFailure? ended;
        lock (_gate)
        {
            ended = _failure;
            _failure = null;
        }

        if (ended is not null)
        {
            LogRecovered(logger, location, time.GetUtcNow() - ended.Since);
        }
    }

    public void Failed(string location, DatabaseProvider provider, Exception exception)
    {
        var reason = StorageFaults.Describe(exception);
        bool first;
        lock (_gate)
        {
            first = _failure is null;
            _failure = new WriteFailure(_failure?.Since ?? time.GetUtcNow(), reason);
        }

        if (first)
        {
            LogCannotWrite(logger, provider, location, reason);
        }
    }

    [LoggerMessage(EventId = 1300, Level = LogLevel.Error, Message = "The {Provider} database {Location} cannot write ({Reason}). Until it can, alert webhooks answer 503 so senders retry, the Kubernetes watcher holds its reports, chat sends wait, and /readyz fails.")]
    private static partial void LogCannotWrite(ILogger logger, DatabaseProvider provider, string location, string reason);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Warning, Message = "The database {Location} writes again after {Duration}; held reports and chat sends go on.")]
    private static partial void LogRecovered(ILogger logger, string location, TimeSpan duration);
}
