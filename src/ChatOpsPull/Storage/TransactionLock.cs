using System.Data.Common;
using Dapper;

namespace ChatOpsPull.Storage;

/// <summary>
/// A transaction-scoped lock (<see cref="BotDatabase.LockAsync"/>) not taken yet, which the transaction's first read takes
/// in the same round trip: its statement goes first in that read's command (<see cref="TakeWithNextStatement"/>), so on
/// PostgreSQL the lock costs no round trip of its own. The reads after it in the command are separate statements, and under
/// READ COMMITTED each takes its snapshot when it starts, after the lock is held: they see everything committed by the
/// lock's previous holder. On SQLite there is nothing to send (the immediate transaction holds the only write lock).
/// One per transaction attempt.
/// In a PostgreSQL transaction that holds other callers' rounds (<see cref="TransactionGroup"/>), a round after the first
/// must not wait for a lock: the group holds its earlier rounds' locks until its one commit, so two replicas' groups
/// waiting on each other would deadlock. There the lock is only tried (and later lock waits of the transaction are
/// bounded): when it is taken elsewhere, the round fails with <see cref="TransactionLockBusyException"/>, is rolled back
/// to its savepoint, and its caller runs it alone, where waiting is safe (it holds nothing else).
/// </summary>
public sealed class TransactionLock
{
    /// <summary>The parameter the lock statement names; a read that sends it passes <see cref="Key"/> under this name.</summary>
    public const string KeyParameter = "transaction_lock_key";

    private readonly ISqlDialect _dialect;

    /// <summary>Set by <see cref="TransactionGroup"/> for the flow of a round that runs after another's in its transaction.</summary>
    private static readonly AsyncLocal<bool> OthersHeld = new();

    private readonly bool _mustNotWait;

    internal TransactionLock(ISqlDialect dialect, long key)
    {
        _dialect = dialect;
        Key = key;
        _mustNotWait = OthersHeld.Value;
    }

    /// <summary>
    /// Whether the locks made from here on in the calling flow (until it returns) are only tried: the flow runs a round in a
    /// transaction that holds other rounds' locks already.
    /// </summary>
    internal static bool MustNotWait
    {
        get => OthersHeld.Value;
        set => OthersHeld.Value = value;
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
        return _mustNotWait ? _dialect.TryLockStatement(KeyParameter) : _dialect.LockStatement(KeyParameter);
    }

    /// <summary>
    /// Checks the row the statement of <see cref="TakeWithNextStatement"/> returned: 0 means a lock that was only tried is
    /// taken elsewhere (<see cref="TransactionLockBusyException"/>; nothing the command read may be used).
    /// </summary>
    public void CheckTaken(int row)
    {
        if (row == 0)
        {
            throw new TransactionLockBusyException(Key);
        }
    }

    /// <summary>
    /// Runs <paramref name="sql"/> (one or more statements) as one command, with the statement that takes this lock first
    /// when it is not taken yet (<see cref="TakeWithNextStatement"/>); that statement's row is read and checked here, so the
    /// reader starts at <paramref name="sql"/>'s first result.
    /// </summary>
    public async Task<SqlMapper.GridReader> QueryMultipleTakingAsync(DbConnection connection, DbTransaction transaction, string sql, object parameters)
    {
        var take = TakeWithNextStatement();
        if (take.Length == 0)
        {
            return await connection.QueryMultipleAsync(sql, parameters, transaction).ConfigureAwait(false);
        }

        var withKey = new DynamicParameters(parameters);
        withKey.Add(KeyParameter, Key);
        var reader = await connection.QueryMultipleAsync(take + sql, withKey, transaction).ConfigureAwait(false);
        try
        {
            CheckTaken(await reader.ReadSingleAsync<int>().ConfigureAwait(false)); // 0: a lock only tried is held elsewhere
        }
        catch
        {
            reader.Dispose();
            throw;
        }

        return reader;
    }

    /// <summary>Takes the lock in a round trip of its own when no read took it (a write that starts with someone else's statement).</summary>
    public async Task TakeAsync(DbConnection connection, DbTransaction transaction)
    {
        if (Taken)
        {
            return;
        }

        Taken = true;
        if (!_mustNotWait)
        {
            await _dialect.LockAsync(connection, transaction, Key).ConfigureAwait(false);
        }
        else if (!await _dialect.TryLockAsync(connection, transaction, Key).ConfigureAwait(false))
        {
            throw new TransactionLockBusyException(Key);
        }
    }
}

/// <summary>
/// A round of a shared PostgreSQL transaction found its lock (or a row) held by another transaction, which it must not wait
/// for (<see cref="TransactionLock"/>); nothing of the round is kept, and its caller runs it again alone.
/// </summary>
public sealed class TransactionLockBusyException : Exception
{
    public TransactionLockBusyException()
        : base("A lock of a round in a shared transaction is held elsewhere; the round runs again alone.")
    {
    }

    public TransactionLockBusyException(string message)
        : base(message)
    {
    }

    public TransactionLockBusyException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal TransactionLockBusyException(long key)
        : base($"The lock {key} of a round in a shared transaction is held elsewhere; the round runs again alone.")
    {
    }

    internal TransactionLockBusyException(Exception waited)
        : base("A round in a shared transaction would have waited for a lock held elsewhere; the round runs again alone.", waited)
    {
    }
}
