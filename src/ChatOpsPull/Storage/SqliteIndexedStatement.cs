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
        foreach (var (_, value, _) in parameters)
        {
            if (value is not (null or string or long or int or bool or double))
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
    public static int Execute(SqliteConnection connection, string sql, IReadOnlyList<(string Name, object? Value, Type Type)> parameters)
    {
        var db = connection.Handle ?? throw new InvalidOperationException("the SQLite connection is not open");
        var values = Values(parameters);
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
        return Kept(statements, sql, prepared, (db, values: Values(parameters), map), static (state, statement, names) =>
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

    private static Dictionary<string, object?> Values(IReadOnlyList<(string Name, object? Value, Type Type)> parameters)
    {
        var values = new Dictionary<string, object?>(parameters.Count, StringComparer.Ordinal);
        foreach (var (name, value, _) in parameters)
        {
            values["@" + name] = value;
        }

        return values;
    }

    /// <summary>Binds and runs one statement to its end; returns the rows it changed.</summary>
    private static int Run(sqlite3 db, sqlite3_stmt statement, string[]? names, Dictionary<string, object?> values)
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

    private static void Bind(sqlite3_stmt statement, string[]? names, Dictionary<string, object?> values)
    {
        var count = names?.Length ?? raw.sqlite3_bind_parameter_count(statement);
        for (var i = 1; i <= count; i++)
        {
            var name = names is null ? raw.sqlite3_bind_parameter_name(statement, i).utf8_to_string() : names[i - 1];
            if (name is null || !values.TryGetValue(name, out var value))
            {
                throw new InvalidOperationException($"No value was given for the statement's parameter {name ?? $"#{i}"}.");
            }

            var rc = value switch
            {
                null => raw.sqlite3_bind_null(statement, i),
                string text => raw.sqlite3_bind_text(statement, i, text),
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
}
