using System.Data;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace ChatOpsPull.Storage;

/// <summary>
/// The prepared statements of one SQLite connection (its native handle), kept between executions so a statement text
/// is compiled once per connection, not on every execution (<see cref="SqliteIndexedStatement"/>). A
/// <see cref="SqliteCommand"/> cannot keep them for us: <see cref="SqliteConnection.Close"/> disposes every command of
/// the connection object (and with them their statements), and the bot opens a new connection object per transaction over
/// the pool's native handle. The handle outlives those objects, so the statements are kept by handle: the pool hands a
/// handle to one connection at a time, so one caller at a time uses them. When closing a connection closes its handle too
/// (its pool was cleared, say, after a fault) they are finalized then (<see cref="FinalizeWithHandle"/>); a handle the pool
/// closes while idle (pruned) leaves them to the garbage collector, which finalizes them (and only then does SQLite
/// finish closing that handle). A handle opened again is a new handle, with no statements yet.
/// Each statement is reset as soon as it ran (a statement left running would hold its read of the database, and COMMIT
/// would refuse to end the transaction); one that failed is finalized and prepared again next time. A statement SQLite
/// must compile again because the schema changed since (a migration, say) is recompiled by <c>sqlite3_step</c> itself
/// (<c>sqlite3_prepare_v2</c>).
/// </summary>
internal sealed class SqlitePreparedStatements : IDisposable
{
    /// <summary>Texts kept per connection; past it the cache starts again (the bot's texts are its constants: far fewer).</summary>
    internal const int Limit = 256;

    /// <summary>The statements of each native handle (SQLitePCL's own per-handle slot holds its callbacks).</summary>
    private static readonly ConditionalWeakTable<sqlite3, SqlitePreparedStatements> ByHandle = [];

    private static long s_prepared;
    private static long s_executed;

    private readonly Dictionary<string, Prepared> _statements = new(StringComparer.Ordinal);
    private bool _disposed;

    /// <summary>Statements prepared (compiled) by <see cref="SqliteIndexedStatement"/> in this process, on every connection.</summary>
    public static long TotalPrepared => Interlocked.Read(ref s_prepared);

    /// <summary>Statements executed by <see cref="SqliteIndexedStatement"/> in this process, on every connection.</summary>
    public static long TotalExecuted => Interlocked.Read(ref s_executed);

    /// <summary>Statements this connection prepared.</summary>
    public int PreparedCount { get; private set; }

    /// <summary>Statement texts this connection holds prepared now.</summary>
    public int Count => _statements.Count;

    /// <summary>The prepared statements of <paramref name="connection"/>'s native handle (the connection must be open).</summary>
    public static SqlitePreparedStatements Of(SqliteConnection connection) =>
        Of(connection.Handle ?? throw new InvalidOperationException("the SQLite connection is not open"));

    public static SqlitePreparedStatements Of(sqlite3 db) => ByHandle.GetValue(db, _ => new SqlitePreparedStatements());

    /// <summary>
    /// Has the statements of <paramref name="connection"/>'s handle (open now) finalized when closing the connection closes
    /// the handle too, rather than when the garbage collector finds them.
    /// </summary>
    public static void FinalizeWithHandle(SqliteConnection connection)
    {
        var db = connection.Handle ?? throw new InvalidOperationException("the SQLite connection is not open");
        connection.StateChange += (_, change) =>
        {
            if (change.CurrentState == ConnectionState.Closed && db.IsClosed && ByHandle.TryGetValue(db, out var statements))
            {
                ByHandle.Remove(db);
                statements.Dispose();
            }
        };
    }

    /// <summary>
    /// The statement of <paramref name="sql"/>, prepared now or before; null when the text holds more than one statement
    /// (or none): those are prepared one by one as they run, and not kept.
    /// </summary>
    public Prepared? Get(sqlite3 db, string sql)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Interlocked.Increment(ref s_executed);
        if (_statements.TryGetValue(sql, out var kept))
        {
            SqliteStatementCounts.RanKept(sql);
            return kept;
        }

        var rc = raw.sqlite3_prepare_v2(db, sql, out var statement, out var tail);
        Counted();
        if (rc != raw.SQLITE_OK)
        {
            statement.Dispose();
            SqliteException.ThrowExceptionForRC(rc, db);
        }

        if (statement.IsInvalid || !string.IsNullOrWhiteSpace(tail))
        {
            statement.Dispose();
            return null;
        }

        if (_statements.Count >= Limit)
        {
            Clear();
        }

        var prepared = new Prepared(statement, ParameterNames(statement));
        _statements[sql] = prepared;
        SqliteStatementCounts.RanKept(sql);
        return prepared;
    }

    /// <summary>Counts a statement prepared for this connection that is not kept (a text of several statements).</summary>
    public void Counted()
    {
        PreparedCount++;
        Interlocked.Increment(ref s_prepared);
    }

    /// <summary>Finalizes the statement of <paramref name="sql"/> (it failed): the next execution prepares it again.</summary>
    public void Forget(string sql)
    {
        if (_statements.Remove(sql, out var prepared))
        {
            prepared.Statement.Dispose();
        }
    }

    public void Dispose()
    {
        _disposed = true;
        Clear();
    }

    private void Clear()
    {
        foreach (var prepared in _statements.Values)
        {
            prepared.Statement.Dispose();
        }

        _statements.Clear();
    }

    private static string[] ParameterNames(sqlite3_stmt statement)
    {
        var names = new string[raw.sqlite3_bind_parameter_count(statement)];
        for (var i = 0; i < names.Length; i++)
        {
            names[i] = raw.sqlite3_bind_parameter_name(statement, i + 1).utf8_to_string() ?? $"#{i + 1}";
        }

        return names;
    }

    /// <summary>A statement kept prepared, and the names of its parameters by position (1 is <c>[0]</c>).</summary>
    internal sealed record Prepared(sqlite3_stmt Statement, string[] ParameterNames);
}
