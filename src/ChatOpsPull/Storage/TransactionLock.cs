using System.Data.Common;

namespace ChatOpsPull.Storage;

/// <summary>
/// A transaction-scoped lock (<see cref="BotDatabase.LockAsync"/>) not taken yet, which the transaction's first read takes
/// in the same round trip: its statement goes first in that read's command (<see cref="TakeWithNextStatement"/>), so on
/// PostgreSQL the lock costs no round trip of its own. The reads after it in the command are separate statements, and under
/// READ COMMITTED each takes its snapshot when it starts, after the lock is held: they see everything committed by the
/// lock's previous holder. On SQLite there is nothing to send (the immediate transaction holds the only write lock).
/// One per transaction attempt.
/// </summary>
public sealed class TransactionLock
{
    /// <summary>The parameter the lock statement names; a read that sends it passes <see cref="Key"/> under this name.</summary>
    public const string KeyParameter = "transaction_lock_key";

    private readonly ISqlDialect _dialect;

    internal TransactionLock(ISqlDialect dialect, long key)
    {
        _dialect = dialect;
        Key = key;
    }

    public long Key { get; }

    /// <summary>Whether a statement that takes the lock was sent (or, where none is needed, would have been).</summary>
    public bool Taken { get; private set; }

    /// <summary>
    /// The statement to send first in the next command (a row of its own to skip before the command's results), or empty when
    /// the lock is taken already or the engine needs none. Counts as taken from here: the caller must send it.
    /// </summary>
    public string TakeWithNextStatement()
    {
        if (Taken)
        {
            return string.Empty;
        }

        Taken = true;
        return _dialect.LockStatement(KeyParameter);
    }

    /// <summary>Takes the lock in a round trip of its own when no read took it (a write that starts with someone else's statement).</summary>
    public async Task TakeAsync(DbConnection connection, DbTransaction transaction)
    {
        if (Taken)
        {
            return;
        }

        Taken = true;
        await _dialect.LockAsync(connection, transaction, Key).ConfigureAwait(false);
    }
}
