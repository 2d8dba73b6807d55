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

    /// <summary>The texts of <see cref="AddRows"/> by their parts (<see cref="RowText"/>).</summary>
    private static readonly ConcurrentDictionary<(string Into, string Row, string Then), string> RowTexts = new();

    private readonly List<Statement> _statements = [];

    /// <summary>Statements added and not sent yet.</summary>
    public int Count => _statements.Count;

    /// <param name="parameters">An object whose public properties are the statement's parameters (those the text names).</param>
    /// <param name="affected">Told the number of rows the statement changed, once the batch ran; may throw to fail the transaction.</param>
    public void Add(string sql, object? parameters = null, Action<int>? affected = null)
    {
        if (parameters is null)
        {
            _statements.Add(new Statement(sql, [], affected));
            return;
        }

        var key = (parameters.GetType(), sql);
        if (!Bound.TryGetValue(key, out var properties))
        {
            properties = BoundProperties(key.Item1, sql);
        }

        var named = new (string Name, object? Value, Type Type)[properties.Length];
        for (var i = 0; i < properties.Length; i++)
        {
            named[i] = (properties[i].Name, properties[i].GetValue(parameters), properties[i].PropertyType);
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
            var values = new IReadOnlyList<(string Name, object? Value, Type Type)>[rows.Count];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = rows[i].Values;
            }

            _statements.Add(new Statement(RowText(into, row, then), shared.Values, Affected: null, new RowValues(into, row, then, values, rowsPerStatement)));
        }
    }

    /// <summary>The text of one row (<see cref="AddRows"/>): the parts are the code's constants, so each text is made once, not per round.</summary>
    private static string RowText(string into, string row, string then)
    {
        if (RowTexts.TryGetValue((into, row, then), out var text))
        {
            return text;
        }

        if (RowTexts.Count >= BoundLimit)
        {
            RowTexts.Clear();
        }

        return RowTexts[(into, row, then)] = $"{into} {row}\n{then}";
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

        if (connection is not NpgsqlConnection npgsql)
        {
            var added = _statements.ToArray();
            _statements.Clear();
            await ExecuteOneByOneAsync(connection, transaction, added, cancellationToken).ConfigureAwait(false);
            return;
        }

        var statements = Expand(_statements);
        _statements.Clear();
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
    }

    /// <summary>
    /// SQLite: each statement in turn, in process; a statement of rows (<see cref="AddRows"/>) runs its text once per row,
    /// bound from the shared parameters and the row's own side by side (no list of both made per row).
    /// </summary>
    private static async Task ExecuteOneByOneAsync(DbConnection connection, DbTransaction? transaction, Statement[] statements, CancellationToken cancellationToken)
    {
        foreach (var statement in statements)
        {
            if (statement.Rows is not { } rows)
            {
                await ExecuteOneAsync(connection, transaction, statement.Sql, statement.Parameters, null, statement.Affected, cancellationToken).ConfigureAwait(false);
                continue;
            }

            foreach (var values in rows.Values)
            {
                await ExecuteOneAsync(connection, transaction, statement.Sql, statement.Parameters, values, null, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static async Task ExecuteOneAsync(
        DbConnection connection,
        DbTransaction? transaction,
        string sql,
        IReadOnlyList<(string Name, object? Value, Type Type)> parameters,
        IReadOnlyList<(string Name, object? Value, Type Type)>? more,
        Action<int>? affected,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (connection is SqliteConnection sqlite && SqliteIndexedStatement.CanBind(parameters) && (more is null || SqliteIndexedStatement.CanBind(more)))
        {
            // Run first: Affected?.Invoke(Execute(…)) would not run a statement that checks no row count.
            var rows = SqliteIndexedStatement.Execute(sqlite, sql, parameters, more);
            affected?.Invoke(rows);
            return;
        }

        var dynamic = new DynamicParameters();
        foreach (var (name, value, type) in more is null ? parameters : [.. parameters, .. more])
        {
            dynamic.Add(name, value, DbTypeOf(type));
        }

        var changed = await connection.ExecuteAsync(new CommandDefinition(sql, dynamic, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        affected?.Invoke(changed);
    }

    /// <summary>The statements to send to PostgreSQL: rows (<see cref="AddRows"/>) as many per statement as asked, the rest as they are.</summary>
    private static List<Statement> Expand(List<Statement> added)
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
    /// <summary>Room for an incident pod's row (nine values) without growing the list on the way.</summary>
    private readonly List<(string Name, object? Value, Type Type)> _values = new(10);

    internal IReadOnlyList<(string Name, object? Value, Type Type)> Values => _values;

    public StatementParameters Add<T>(string name, T value)
    {
        _values.Add((name, value, typeof(T)));
        return this;
    }
}
