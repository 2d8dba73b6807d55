using ChatOpsPull.Storage;

namespace ChatOpsPull.Chat.Outbox;

/// <summary>
/// SQLite allows one writer at a time, and Microsoft.Data.Sqlite's async calls block a thread while SQLite busy-waits
/// for the lock. The chat outbox and Slack stores queue their writes here instead (asynchronously), so a burst of
/// enqueues, claims and seen-event inserts neither busy-waits nor starves the thread pool that acknowledges Slack.
/// On PostgreSQL the gate is open.
/// </summary>
public sealed class SqliteWriteGate(BotDatabase database) : IDisposable
{
    private readonly SemaphoreSlim _writer = new(1, 1);

    public async ValueTask<Pass> EnterAsync(CancellationToken cancellationToken)
    {
        if (!database.Dialect.OneWriterAtATime)
        {
            return default;
        }

        await _writer.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new Pass(_writer);
    }

    public void Dispose() => _writer.Dispose();

    /// <summary>Leaves the gate when disposed.</summary>
    public readonly struct Pass(SemaphoreSlim? writer) : IDisposable
    {
        public void Dispose() => writer?.Release();
    }
}
