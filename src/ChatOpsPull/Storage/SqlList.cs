using System.Buffers;
using System.Data;
using System.Text;
using System.Text.Json;
using Dapper;
using Microsoft.Data.Sqlite;

namespace ChatOpsPull.Storage;

/// <summary>
/// A list of strings passed as one parameter, for <see cref="ISqlDialect.In"/> and <see cref="ISqlDialect.NotIn"/>: on
/// PostgreSQL one text array (<c>= ANY(@p)</c>), on SQLite one JSON text read by <c>json_each</c>. Either way the SQL
/// text stays the same whatever the list's length. (A plain array would have Dapper expand <c>IN @p</c> on SQLite into
/// <c>IN (@p1, @p2…)</c>: a new SQL text per length, prepared anew, and a new <see cref="System.Text.RegularExpressions.Regex"/>
/// built and parsed on every call — in a storm's intake round, on every round.)
/// </summary>
public sealed class SqlList(IReadOnlyCollection<string> values) : SqlMapper.ICustomQueryParameter
{
    public static SqlList Of(IEnumerable<string> values) => new(values as IReadOnlyCollection<string> ?? [.. values]);

    public IReadOnlyCollection<string> Values { get; } = values;

    public void AddParameter(IDbCommand command, string name)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        if (command is SqliteCommand)
        {
            parameter.DbType = DbType.String;
            parameter.Value = JsonArray(Values);
        }
        else
        {
            parameter.Value = Values as string[] ?? [.. Values];
        }

        command.Parameters.Add(parameter);
    }

    internal static string JsonArray(IReadOnlyCollection<string> values)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var value in values)
            {
                json.WriteStringValue(value);
            }

            json.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
