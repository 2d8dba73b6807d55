using System.Data.Common;
using System.Text.RegularExpressions;

namespace ChatOpsPull.Storage;

/// <summary>The two dialects, and the few places that must find one without a <see cref="BotDatabase"/> at hand.</summary>
public static partial class SqlDialects
{
    public static IReadOnlyList<ISqlDialect> All { get; } = [SqliteDialect.Instance, PostgresDialect.Instance];

    public static ISqlDialect For(DatabaseProvider provider) => provider switch
    {
        DatabaseProvider.Sqlite => SqliteDialect.Instance,
        DatabaseProvider.Postgres => PostgresDialect.Instance,
        _ => throw new ArgumentOutOfRangeException(nameof(provider), provider, "Unknown database provider."),
    };

    /// <summary>The dialect of an open connection of either engine (for static helpers that are handed only a connection).</summary>
    public static ISqlDialect For(DbConnection connection) =>
        connection is Npgsql.NpgsqlConnection ? PostgresDialect.Instance : SqliteDialect.Instance;

    /// <summary>Replaces each <c>{name}</c> in <paramref name="ddl"/> with its value; an unknown name is an error that names it.</summary>
    internal static string Expand(string ddl, IReadOnlyDictionary<string, string> placeholders, DatabaseProvider provider) =>
        Placeholder().Replace(ddl, match => placeholders.TryGetValue(match.Groups[1].Value, out var value)
            ? value
            : throw new InvalidOperationException(
                $"Schema text has the placeholder \"{match.Value}\", which {provider} does not know; known: {string.Join(", ", placeholders.Keys.Select(k => "{" + k + "}"))}."));

    [GeneratedRegex(@"\{([A-Za-z_][A-Za-z0-9_]*)\}", RegexOptions.CultureInvariant)]
    private static partial Regex Placeholder();
}
