using ChatOpsPull.Storage;

namespace ChatOpsPull.Chat.Outbox;

/// <summary>
/// SQLite allows one writer at a time, and Microsoft.Data.Sqlite's async calls block a thread while SQLite busy-waits
/// for the lock. The chat outbox and Slack stores write outside <see cref="BotDatabase.InTransactionAsync{T}"/> and take
/// the same write turn here (<see cref="SqliteWriteTurn"/>, asynchronously), so a burst of enqueues, claims and seen-event
/// inserts neither busy-waits nor starves the thread pool that acknowledges Slack, and they queue with the incident
/// engine's writes instead of racing them. On PostgreSQL the gate is open.
/// </summary>
public sealed class SqliteWriteGate(BotDatabase database)
{
    public ValueTask<SqliteWriteTurn.Pass> EnterAsync(CancellationToken cancellationToken) => database.WriteTurn.TakeAsync(cancellationToken);
}
