using System.Collections.Concurrent;
using System.Data;
using System.Data.Common;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using Dapper;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace ChatOpsPull.Storage;

/// <summary>
/// Writes of one transaction sent together: on PostgreSQL one round trip (an <see cref="NpgsqlBatch"/>: the server runs
/// them in order and stops at the first error, which fails the transaction); on SQLite one after another, in process,
/// where there is no round trip to save, each bound by position (<see cref="SqliteIndexedStatement"/>: a multi-row
/// statement's hundreds of parameters cost one pass, not a name search each). Each statement keeps its own parameters
/// (an object's public properties, as Dapper binds them) and may check how many rows it changed (an optimistic-concurrency guard).
/// </summary>
public sealed partial class StatementBatch
{
    /// <summary>How many (parameter type, statement text) pairs keep their bound properties; past it the map starts again.</summary>
    private const int BoundLimit = 1024;

    /// <summary>
    /// The properties of a parameter type that a statement text names, in declaration order: the texts are the code's
    /// constants, so the text is scanned for its names once, not on every statement of every round.
    /// </summary>
    private static readonly ConcurrentDictionary<(Type Type, string Sql), PropertyInfo[]> Bound = new();

    private readonly List<Statement> _statements = [];

    /// <summary>Statements added and not sent yet.</summary>
    public int Count => _statements.Count;

    /// <param name="parameters">An object whose public properties are the statement's parameters (those the text names).</param>
    /// <param name="affected">Told the number of rows the statement changed, once the batch ran; may throw to fail the transaction.</param>
    public void Add(string sql, object? parameters = null, Action<int>? affected = null)
    {
        var named = new List<(string Name, object? Value, Type Type)>();
        if (parameters is not null)
        {
            var key = (parameters.GetType(), sql);
            if (!Bound.TryGetValue(key, out var properties))
            {
                properties = BoundProperties(key.Item1, sql);
            }

            foreach (var property in properties)
            {
                named.Add((property.Name, property.GetValue(parameters), property.PropertyType));
            }
        }

        _statements.Add(new Statement(sql, named, affected));
    }

    /// <summary>A statement with parameters given one by one (<see cref="StatementParameters"/>).</summary>
    public void Add(string sql, StatementParameters parameters, Action<int>? affected = null) =>
        _statements.Add(new Statement(sql, parameters.Values, affected));

    /// <summary>
    /// Rows written by one statement of the form <c><paramref name="into"/> <paramref name="row"/> <paramref name="then"/></c>
    /// (an INSERT's head with its <c>VALUES</c>, one row's values naming its parameters, and what follows — an
    /// <c>ON CONFLICT</c> clause, say). On SQLite, where a statement is no round trip, that text runs once per row: one text
    /// whatever the number of rows, prepared once per connection (<see cref="SqlitePreparedStatements"/>). On PostgreSQL up
    /// to <paramref name="rowsPerStatement"/> rows share one statement (each row parameter an array, the rows read from them
    /// with <c>unnest</c>: one text whatever the number of rows, which the connection prepares once), all in the batch's
    /// one round trip. <paramref name="shared"/> holds the parameters every row uses, each of
    /// <paramref name="rows"/> its own (the same names in each).
    /// </summary>
    public void AddRows(string into, string row, string then, StatementParameters shared, IReadOnlyList<StatementParameters> rows, int rowsPerStatement)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rowsPerStatement, 1);
        if (rows.Count > 0)
        {
            _statements.Add(new Statement(
                $"{into} {row}\n{then}",
                shared.Values,
                Affected: null,
                new RowValues(into, row, then, [.. rows.Select(r => r.Values)], rowsPerStatement)));
        }
    }

    /// <summary>
    /// Sends what was added (nothing when empty) and empties the batch. Without a transaction only on PostgreSQL, where the
    /// batch is then its own implicit transaction (<see cref="BotDatabase.WriteBatchAsync"/>).
    /// </summary>
    public async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, CancellationToken cancellationToken = default)
    {
        if (_statements.Count == 0)
        {
            return;
        }

        var postgres = connection is NpgsqlConnection;
        var statements = Expand(_statements, postgres);
        _statements.Clear();
        if (postgres)
        {
            var npgsql = (NpgsqlConnection)connection;
            await using var batch = new NpgsqlBatch(npgsql, (NpgsqlTransaction?)transaction);
            foreach (var statement in statements)
            {
                var command = new NpgsqlBatchCommand(statement.Sql);
                foreach (var (name, value, type) in statement.Parameters)
                {
                    var parameter = new NpgsqlParameter(name, value ?? DBNull.Value);
                    if (DbTypeOf(type) is { } dbType)
                    {
                        parameter.DbType = dbType;
                    }

                    command.Parameters.Add(parameter);
                }

                batch.BatchCommands.Add(command);
            }

            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < statements.Count; i++)
            {
                statements[i].Affected?.Invoke(batch.BatchCommands[i].RecordsAffected);
            }

            return;
        }

        foreach (var statement in statements)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (connection is SqliteConnection sqlite && SqliteIndexedStatement.CanBind(statement.Parameters))
            {
                // Run first: Affected?.Invoke(Execute(…)) would not run a statement that checks no row count.
                var rows = SqliteIndexedStatement.Execute(sqlite, statement.Sql, statement.Parameters);
                statement.Affected?.Invoke(rows);
                continue;
            }

            var parameters = new DynamicParameters();
            foreach (var (name, value, type) in statement.Parameters)
            {
                parameters.Add(name, value, DbTypeOf(type));
            }

            var changed = await connection.ExecuteAsync(new CommandDefinition(statement.Sql, parameters, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            statement.Affected?.Invoke(changed);
        }
    }

    /// <summary>The statements to send: rows (<see cref="AddRows"/>) as the engine takes them, the rest as they are.</summary>
    private static List<Statement> Expand(List<Statement> added, bool postgres)
    {
        if (!added.Exists(s => s.Rows is not null))
        {
            return [.. added];
        }

        var statements = new List<Statement>(added.Count);
        foreach (var statement in added)
        {
            if (statement.Rows is not { } rows)
            {
                statements.Add(statement);
            }
            else if (!postgres)
            {
                foreach (var values in rows.Values)
                {
                    statements.Add(new Statement(statement.Sql, [.. statement.Parameters, .. values], null));
                }
            }
            else
            {
                foreach (var chunk in rows.Values.Chunk(rows.PerStatement))
                {
                    statements.Add(ManyRows(statement.Parameters, rows, chunk));
                }
            }
        }

        return statements;
    }

    /// <summary>
    /// One statement of several rows whose text is the same whatever their number, so PostgreSQL prepares it once per
    /// connection: each row parameter becomes an array of the chunk's values, and the rows are those arrays side by side
    /// (<c>INSERT INTO t (a, b) SELECT @shared, u.b FROM unnest(@b) AS u(b) …</c>, in the arrays' order).
    /// </summary>
    private static Statement ManyRows(IReadOnlyList<(string Name, object? Value, Type Type)> shared, RowValues rows, IReadOnlyList<(string Name, object? Value, Type Type)>[] chunk)
    {
        var own = chunk[0];
        var parameters = new List<(string Name, object? Value, Type Type)>(shared);
        for (var column = 0; column < own.Count; column++)
        {
            var type = own[column].Type;
            var values = Array.CreateInstance(type, chunk.Length);
            for (var i = 0; i < chunk.Length; i++)
            {
                values.SetValue(chunk[i][column].Value, i);
            }

            parameters.Add((own[column].Name, values, values.GetType()));
        }

        return new Statement(UnnestText(rows, own), parameters, null);
    }

    /// <summary>The text of <see cref="ManyRows"/>: <see cref="RowValues.Into"/> without its <c>VALUES</c>, the row's values selected from the arrays.</summary>
    private static string UnnestText(RowValues rows, IReadOnlyList<(string Name, object? Value, Type Type)> own)
    {
        var head = rows.Into.TrimEnd();
        if (!head.EndsWith("VALUES", StringComparison.OrdinalIgnoreCase) || rows.Row.Trim() is not ['(', .., ')'] row)
        {
            throw new ArgumentException($"Rows are written as \"INSERT INTO … VALUES\" and \"(@a, @b …)\", not \"{rows.Into}\" and \"{rows.Row}\".");
        }

        var names = own.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        var columns = string.Join(", ", own.Select(p => $"\"{p.Name}\"")); // quoted: a parameter may be named like a keyword
        return new StringBuilder(head[..^"VALUES".Length])
            .Append("SELECT ")
            .Append(ParameterName().Replace(row[1..^1], m => names.Contains(m.Groups[1].Value) ? $"u.\"{m.Groups[1].Value}\"" : m.Value))
            .Append(" FROM unnest(")
            .Append(string.Join(", ", own.Select(p => "@" + p.Name)))
            .Append(") AS u(").Append(columns).Append(")\n")
            .Append(rows.Then)
            .ToString();
    }

    private static DbType? DbTypeOf(Type type) => (Nullable.GetUnderlyingType(type) ?? type) switch
    {
        var t when t == typeof(string) => DbType.String,
        var t when t == typeof(long) => DbType.Int64,
        var t when t == typeof(int) => DbType.Int32,
        var t when t == typeof(bool) => DbType.Boolean,
        var t when t == typeof(double) => DbType.Double,
        _ => null,
    };

    private static PropertyInfo[] BoundProperties(Type type, string sql)
    {
        var used = UsedNames(sql);
        var properties = Array.FindAll(type.GetProperties(BindingFlags.Public | BindingFlags.Instance), p => used.Contains(p.Name));
        if (Bound.Count >= BoundLimit)
        {
            Bound.Clear();
        }

        Bound[(type, sql)] = properties;
        return properties;
    }

    private static HashSet<string> UsedNames(string sql)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match match in ParameterName().Matches(sql))
        {
            names.Add(match.Groups[1].Value);
        }

        return names;
    }

    [GeneratedRegex(@"@([A-Za-z_][A-Za-z0-9_]*)", RegexOptions.CultureInvariant)]
    private static partial Regex ParameterName();

    /// <summary>A statement to send; with <paramref name="Rows"/>, the rows its text writes one at a time (<see cref="AddRows"/>).</summary>
    private sealed record Statement(string Sql, IReadOnlyList<(string Name, object? Value, Type Type)> Parameters, Action<int>? Affected, RowValues? Rows = null);

    /// <summary>What <see cref="AddRows"/> was given: each row's own parameters, and how to make a statement of several rows.</summary>
    private sealed record RowValues(string Into, string Row, string Then, IReadOnlyList<(string Name, object? Value, Type Type)>[] Values, int PerStatement);
}

/// <summary>Parameters of one <see cref="StatementBatch"/> statement, given one by one with their types (a null keeps its type).</summary>
public sealed class StatementParameters
{
    private readonly List<(string Name, object? Value, Type Type)> _values = [];

    internal IReadOnlyList<(string Name, object? Value, Type Type)> Values => _values;

    public StatementParameters Add<T>(string name, T value)
    {
        _values.Add((name, value, typeof(T)));
        return this;
    }
}
