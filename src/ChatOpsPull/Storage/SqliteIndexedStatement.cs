using System.Buffers;
using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace ChatOpsPull.Storage;

/// <summary>
/// Runs a statement on SQLite with its parameters bound by position, each looked up once by name in a dictionary.
/// Microsoft.Data.Sqlite binds by name: for every parameter SQLite scans the statement's names (<c>strncmp</c> each), and
/// Dapper asks the parameter collection whether each name is already there (a linear search), so a statement with
/// n parameters costs n² name comparisons twice — 800-parameter multi-row upserts of the incident engine spent more
/// time there than in SQLite's writing. Here a statement costs one pass over its names. Runs inside the connection's
/// open transaction (the same handle); errors are thrown as <see cref="SqliteException"/> with SQLite's codes, as
/// Microsoft.Data.Sqlite throws them, so the retry pipelines and the dialect read them the same way.
/// </summary>
internal static class SqliteIndexedStatement
{
    /// <summary>Whether every value can be bound here (text, integers, booleans, doubles, null); otherwise use Dapper.</summary>
    public static bool CanBind(IReadOnlyList<(string Name, object? Value, Type Type)> parameters)
    {
        for (var i = 0; i < parameters.Count; i++)
        {
            if (parameters[i].Value is not (null or string or long or int or bool or double))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Runs <paramref name="sql"/> (one or more statements) and returns the rows they changed, as ExecuteNonQuery does. A
    /// text of one statement runs the connection's prepared statement of it (<see cref="SqlitePreparedStatements"/>),
    /// prepared on its first execution only.
    /// </summary>
    /// <param name="more">Parameters beside <paramref name="parameters"/> (a row's own, beside those every row shares), or null.</param>
    public static int Execute(SqliteConnection connection, string sql, IReadOnlyList<(string Name, object? Value, Type Type)> parameters, IReadOnlyList<(string Name, object? Value, Type Type)>? more = null)
    {
        var db = connection.Handle ?? throw new InvalidOperationException("the SQLite connection is not open");
        var values = new Values(parameters, more);
        var statements = SqlitePreparedStatements.Of(db);
        if (statements.Get(db, sql) is { } prepared)
        {
            return Kept(statements, sql, prepared, (db, values), static (state, statement, names) => Run(state.db, statement, names, state.values));
        }

        var changed = 0;
        var rest = sql;
        while (!string.IsNullOrWhiteSpace(rest))
        {
            var rc = raw.sqlite3_prepare_v2(db, rest, out var statement, out var tail);
            statements.Counted();
            SqliteException.ThrowExceptionForRC(rc, db);
            using (statement)
            {
                rest = tail;
                if (statement.IsInvalid)
                {
                    continue; // only a comment or white space was left
                }

                changed += Run(db, statement, null, values);
            }
        }

        return changed;
    }

    /// <summary>
    /// Runs <paramref name="sql"/> (one statement: a query, or a write with <c>RETURNING</c>) on the connection's prepared
    /// statement of it (<see cref="SqlitePreparedStatements"/>, prepared on its first execution only) and returns its rows,
    /// each made by <paramref name="map"/> from the columns by position (the text names its columns, so positions are
    /// fixed). The statement is reset once its rows are read, so it holds no read of the database afterwards.
    /// </summary>
    public static List<T> Query<T>(SqliteConnection connection, string sql, IReadOnlyList<(string Name, object? Value, Type Type)> parameters, Func<SqliteRow, T> map)
    {
        var db = connection.Handle ?? throw new InvalidOperationException("the SQLite connection is not open");
        var statements = SqlitePreparedStatements.Of(db);
        var prepared = statements.Get(db, sql) ?? throw new InvalidOperationException("A query runs one statement: its text holds several, or none.");
        return Kept(statements, sql, prepared, (db, values: new Values(parameters, null), map), static (state, statement, names) =>
        {
            Bind(statement, names, state.values);
            var rows = new List<T>();
            int rc;
            while ((rc = raw.sqlite3_step(statement)) == raw.SQLITE_ROW)
            {
                rows.Add(state.map(new SqliteRow(statement)));
            }

            if (rc != raw.SQLITE_DONE)
            {
                SqliteException.ThrowExceptionForRC(rc, state.db);
            }

            return rows;
        });
    }

    /// <summary>
    /// Runs a kept statement: one that failed is finalized (the next execution prepares it again); one that ran is reset
    /// and its bindings cleared, ready for its next execution and holding nothing (no read of the database).
    /// </summary>
    private static T Kept<TState, T>(SqlitePreparedStatements statements, string sql, SqlitePreparedStatements.Prepared prepared, TState state, Func<TState, sqlite3_stmt, string[], T> run)
    {
        try
        {
            return run(state, prepared.Statement, prepared.ParameterNames);
        }
        catch
        {
            statements.Forget(sql);
            throw;
        }
        finally
        {
            if (!prepared.Statement.IsClosed)
            {
                raw.sqlite3_reset(prepared.Statement);
                raw.sqlite3_clear_bindings(prepared.Statement);
            }
        }
    }

    /// <summary>Binds and runs one statement to its end; returns the rows it changed.</summary>
    private static int Run(sqlite3 db, sqlite3_stmt statement, string[]? names, Values values)
    {
        Bind(statement, names, values);
        int rc;
        while ((rc = raw.sqlite3_step(statement)) == raw.SQLITE_ROW)
        {
            // a statement with RETURNING: its rows are not read here
        }

        if (rc != raw.SQLITE_DONE)
        {
            SqliteException.ThrowExceptionForRC(rc, db);
        }

        return raw.sqlite3_stmt_readonly(statement) == 0 ? raw.sqlite3_changes(db) : 0;
    }

    private static void Bind(sqlite3_stmt statement, string[]? names, Values values)
    {
        var count = names?.Length ?? raw.sqlite3_bind_parameter_count(statement);
        var next = 0;
        for (var i = 1; i <= count; i++)
        {
            var name = names is null ? raw.sqlite3_bind_parameter_name(statement, i).utf8_to_string() : names[i - 1];
            if (name is null || !values.TryFind(name, ref next, out var value))
            {
                throw new InvalidOperationException($"No value was given for the statement's parameter {name ?? $"#{i}"}.");
            }

            var rc = value switch
            {
                null => raw.sqlite3_bind_null(statement, i),
                string text => BindText(statement, i, text),
                long number => raw.sqlite3_bind_int64(statement, i, number),
                int number => raw.sqlite3_bind_int64(statement, i, number),
                bool flag => raw.sqlite3_bind_int64(statement, i, flag ? 1 : 0),
                double real => raw.sqlite3_bind_double(statement, i, real),
                _ => throw new InvalidOperationException($"The statement's parameter {name} has a type bound through Dapper only ({value.GetType().Name})."),
            };
            if (rc != raw.SQLITE_OK)
            {
                throw new InvalidOperationException($"SQLite could not bind the statement's parameter {name} (code {rc}).");
            }
        }
    }

    /// <summary>
    /// Binds text as UTF-8 from a stack or pooled buffer (SQLite copies it): <c>raw.sqlite3_bind_text(…, string)</c> makes a
    /// new zero-terminated array of each value, every pod's name, message and incident id of a storm round.
    /// </summary>
    private static int BindText(sqlite3_stmt statement, int index, string text)
    {
        if (text.Length == 0)
        {
            return raw.sqlite3_bind_text(statement, index, text); // an empty span would bind a null pointer: NULL, not ''
        }

        const int StackLimit = 512;
        var most = Encoding.UTF8.GetMaxByteCount(text.Length);
        if (most <= StackLimit)
        {
            Span<byte> buffer = stackalloc byte[StackLimit];
            return raw.sqlite3_bind_text(statement, index, buffer[..Encoding.UTF8.GetBytes(text, buffer)]);
        }

        var rented = ArrayPool<byte>.Shared.Rent(most);
        try
        {
            return raw.sqlite3_bind_text(statement, index, rented.AsSpan(0, Encoding.UTF8.GetBytes(text, rented)));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// The values of a statement's parameters, found by the name SQLite gives (<c>@name</c>) without a dictionary or a
    /// concatenated name per execution: parameters are given in the text's order almost always, so each search starts
    /// after the last one found and one pass finds them all; more than <see cref="ScanLimit"/> are looked up in a
    /// dictionary instead (a scan in another order would cost n² name comparisons). A statement's parameters have distinct names.
    /// </summary>
    private readonly struct Values
    {
        private const int ScanLimit = 32;

        private readonly IReadOnlyList<(string Name, object? Value, Type Type)> _first;
        private readonly IReadOnlyList<(string Name, object? Value, Type Type)>? _more;
        private readonly Dictionary<string, object?>? _byName;

        public Values(IReadOnlyList<(string Name, object? Value, Type Type)> first, IReadOnlyList<(string Name, object? Value, Type Type)>? more)
        {
            _first = first;
            _more = more;
            if (Count > ScanLimit)
            {
                _byName = new Dictionary<string, object?>(Count, StringComparer.Ordinal);
                for (var i = 0; i < Count; i++)
                {
                    _byName["@" + this[i].Name] = this[i].Value;
                }
            }
        }

        private int Count => _first.Count + (_more?.Count ?? 0);

        private (string Name, object? Value, Type Type) this[int i] => i < _first.Count ? _first[i] : _more![i - _first.Count];

        /// <param name="next">Where the search starts: after the parameter found last.</param>
        public bool TryFind(string name, ref int next, out object? value)
        {
            value = null;
            if (_byName is not null)
            {
                return _byName.TryGetValue(name, out value);
            }

            if (name.Length < 2 || name[0] != '@')
            {
                return false;
            }

            var bare = name.AsSpan(1);
            var found = -1;
            for (var n = 0; n < Count; n++)
            {
                var at = (next + n) % Count;
                if (bare.SequenceEqual(this[at].Name))
                {
                    found = at;
                    break;
                }
            }

            if (found < 0)
            {
                return false;
            }

            value = this[found].Value;
            next = found + 1;
            return true;
        }
    }
}
