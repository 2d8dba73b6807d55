using System.Data.Common;
using Dapper;
using Microsoft.Data.Sqlite;

namespace ChatOpsPull.Storage;

/// <summary>SQLite (one file, one replica, one writer at a time).</summary>
public sealed class SqliteDialect : ISqlDialect
{
    /// <summary>SQLITE_BUSY, SQLITE_LOCKED.</summary>
    private const int Busy = 5;
    private const int Locked = 6;

    /// <summary>SQLITE_CONSTRAINT with its extended codes SQLITE_CONSTRAINT_UNIQUE and SQLITE_CONSTRAINT_PRIMARYKEY.</summary>
    private const int Constraint = 19;
    private const int ConstraintUnique = 2067;
    private const int ConstraintPrimaryKey = 1555;

    private static readonly Dictionary<string, string> Placeholders = new(StringComparer.Ordinal)
    {
        ["bigint"] = "INTEGER",
        ["identity"] = "INTEGER PRIMARY KEY AUTOINCREMENT",
    };

    private SqliteDialect()
    {
    }

    public static SqliteDialect Instance { get; } = new();

    public DatabaseProvider Provider => DatabaseProvider.Sqlite;

    public string ForUpdate => string.Empty;

    public string ForUpdateSkipLocked => string.Empty;

    public bool OneWriterAtATime => true;

    public bool CommandsAreRoundTrips => false;

    public bool OneProcess => true;

    public string ExpandDdl(string ddl) => SqlDialects.Expand(ddl, Placeholders, Provider);

    public string IdentityByDefault(string table, string column) => string.Empty;

    public string IdentityFromSerial(string table, string column) => string.Empty;

    public string In(string expression, string parameter) => $"{expression} IN (SELECT value FROM json_each({parameter}))";

    public string NotIn(string expression, string parameter) => $"{expression} NOT IN (SELECT value FROM json_each({parameter}))";

    public bool IsUniqueViolation(Exception exception) =>
        exception is SqliteException { SqliteErrorCode: Constraint, SqliteExtendedErrorCode: ConstraintUnique or ConstraintPrimaryKey };

    public bool IsTransient(Exception exception) => exception is SqliteException { SqliteErrorCode: Busy or Locked };

    /// <summary>SQLITE_READONLY (8), SQLITE_IOERR (10), SQLITE_FULL (13), SQLITE_CANTOPEN (14).</summary>
    public bool IsUnavailable(Exception exception) => exception is SqliteException { SqliteErrorCode: 8 or 10 or 13 or 14 };

    /// <summary>
    /// BEGIN IMMEDIATE: the write lock at once, so a read-then-write cannot be overtaken by another writer. With the
    /// connection's kept statement (<see cref="SqliteKeptTransaction"/>); commit it with <see cref="BotDatabase.CommitAsync"/>.
    /// </summary>
    public Task<DbTransaction> BeginAsync(DbConnection connection, CancellationToken cancellationToken) =>
        Task.FromResult<DbTransaction>(SqliteKeptTransaction.Begin((SqliteConnection)connection));

    public string LockStatement(string keyParameter) => string.Empty;

    public Task LockAsync(DbConnection connection, DbTransaction transaction, long key) => Task.CompletedTask;

    public string TryLockStatement(string keyParameter) => string.Empty;

    public Task<bool> TryLockAsync(DbConnection connection, DbTransaction transaction, long key) => Task.FromResult(true);

    public bool IsLockWaitRefused(Exception exception) => false;

    /// <summary>Write-ahead logging (readers do not wait for the writer); each migration re-checks under the write lock.</summary>
    public async Task<IAsyncDisposable> BeginMigratingAsync(DbConnection connection, long key)
    {
        await connection.ExecuteAsync("PRAGMA journal_mode = WAL;").ConfigureAwait(false);
        return NothingToRelease.Instance;
    }

    private sealed class NothingToRelease : IAsyncDisposable
    {
        public static readonly NothingToRelease Instance = new();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
