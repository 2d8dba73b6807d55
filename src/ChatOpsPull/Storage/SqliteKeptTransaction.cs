using System.Data;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace ChatOpsPull.Storage;

/// <summary>
/// Begins and commits the bot's SQLite transactions with the connection's kept statements of <c>BEGIN IMMEDIATE</c> and
/// <c>COMMIT</c> (<see cref="SqlitePreparedStatements"/>) instead of Microsoft.Data.Sqlite's, which prepares both again for
/// every transaction (a command per call, on a connection object that lives one transaction). Commands still need the
/// <see cref="SqliteTransaction"/> of their connection (they check <c>connection.Transaction</c>), so this makes that object
/// as <c>BeginTransaction(Serializable, deferred: false)</c> does — its connection, its isolation level, set as the
/// connection's transaction, SQLite's rollback hook marking it rolled back from outside — with only the statement prepared
/// differently; <see cref="Commit"/> does what <see cref="SqliteTransaction.Commit"/> does (refuses a completed or
/// externally rolled back transaction, removes the hook, commits, completes). Every other path is the object's own: a
/// failed BEGIN leaves nothing begun (the kept statement is discarded); a failed COMMIT leaves the transaction open, and its
/// Dispose rolls it back (<c>ROLLBACK</c>, Microsoft.Data.Sqlite's), as does an exception in the work; savepoints are the
/// object's. One path differs, for the better: a COMMIT after which SQLite ended the transaction itself (a full disk) marks
/// it rolled back, so Dispose sends no ROLLBACK that would fail and hide the commit's error. When Microsoft.Data.Sqlite's private members are not as read
/// (another version), it falls back to <c>BeginTransaction</c> and <c>Commit</c> for the rest of the process.
/// SQLite's busy handler (<c>busy_timeout</c>) waits for a lock as before; Microsoft.Data.Sqlite's command would retry a
/// busy BEGIN for its own timeout after that, this one throws SQLITE_BUSY, which the write pipelines retry.
/// </summary>
internal static class SqliteKeptTransaction
{
    internal const string BeginSql = "BEGIN IMMEDIATE";
    internal const string CommitSql = "COMMIT";

    private static volatile bool s_fallBack;

    /// <summary>Whether transactions are begun and committed here (false after Microsoft.Data.Sqlite's members were not found).</summary>
    internal static bool InUse => !s_fallBack;

    /// <summary>BEGIN IMMEDIATE on <paramref name="connection"/>, with its transaction object set as Microsoft.Data.Sqlite sets it.</summary>
    public static SqliteTransaction Begin(SqliteConnection connection)
    {
        if (s_fallBack || connection.State != ConnectionState.Open)
        {
            return connection.BeginTransaction(IsolationLevel.Serializable, deferred: false);
        }

        SqliteTransaction transaction;
        try
        {
            if (Transaction(connection) is not null)
            {
                // A transaction is open already: BeginTransaction throws what it throws.
                return connection.BeginTransaction(IsolationLevel.Serializable, deferred: false);
            }

            transaction = (SqliteTransaction)RuntimeHelpers.GetUninitializedObject(typeof(SqliteTransaction));
            TransactionConnection(transaction) = connection;
            TransactionIsolationLevel(transaction) = IsolationLevel.Serializable;
            Completed(transaction) = false;
            ExternalRollback(transaction) = false;
        }
        catch (Exception e) when (e is MissingMemberException)
        {
            s_fallBack = true;
            return connection.BeginTransaction(IsolationLevel.Serializable, deferred: false);
        }

        SqliteIndexedStatement.Execute(connection, BeginSql, []);
        SetTransaction(connection, transaction);
        var handle = connection.Handle!;
        raw.sqlite3_rollback_hook(
            handle,
            _ =>
            {
                // SQLite rolled the transaction back itself (a full disk, say): what SqliteTransaction's own hook does.
                raw.sqlite3_rollback_hook(handle, null, null);
                ExternalRollback(transaction) = true;
            },
            null);
        return transaction;
    }

    /// <summary>Commits <paramref name="transaction"/> as <see cref="SqliteTransaction.Commit"/> does, with the connection's kept COMMIT.</summary>
    public static void Commit(SqliteTransaction transaction)
    {
        if (s_fallBack || transaction.IsolationLevel == IsolationLevel.ReadUncommitted)
        {
            transaction.Commit();
            return;
        }

        var connection = TransactionConnection(transaction);
        if (ExternalRollback(transaction) || Completed(transaction) || connection is null || connection.State != ConnectionState.Open)
        {
            throw new InvalidOperationException("This SqliteTransaction has completed; it is no longer usable.");
        }

        raw.sqlite3_rollback_hook(connection.Handle, null, null);
        try
        {
            SqliteIndexedStatement.Execute(connection, CommitSql, []);
        }
        catch (SqliteException) when (raw.sqlite3_get_autocommit(connection.Handle) != 0)
        {
            // The commit failed and SQLite ended the transaction itself (a full disk can do that, with the hook already
            // removed): marked rolled back, so its Dispose sends no ROLLBACK, whose "no transaction is active" would hide
            // why (SQLITE_FULL says the store cannot write; the callers hold their work and try again).
            ExternalRollback(transaction) = true;
            throw;
        }

        SetTransaction(connection, null);
        TransactionConnection(transaction) = null;
        Completed(transaction) = true;
    }

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_connection")]
    private static extern ref SqliteConnection? TransactionConnection(SqliteTransaction transaction);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_completed")]
    private static extern ref bool Completed(SqliteTransaction transaction);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "<IsolationLevel>k__BackingField")]
    private static extern ref IsolationLevel TransactionIsolationLevel(SqliteTransaction transaction);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "<ExternalRollback>k__BackingField")]
    private static extern ref bool ExternalRollback(SqliteTransaction transaction);

    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "get_Transaction")]
    private static extern SqliteTransaction? Transaction(SqliteConnection connection);

    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "set_Transaction")]
    private static extern void SetTransaction(SqliteConnection connection, SqliteTransaction? transaction);
}
