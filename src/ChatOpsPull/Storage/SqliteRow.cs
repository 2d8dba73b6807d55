using SQLitePCL;

namespace ChatOpsPull.Storage;

/// <summary>
/// The current row of a query run by <see cref="SqliteIndexedStatement.Query{T}"/>: its columns read by position straight
/// from SQLite (no reader object, no reflection). Valid only inside the mapping call that is handed it.
/// </summary>
internal readonly struct SqliteRow(sqlite3_stmt statement)
{
    public string Text(int column) => raw.sqlite3_column_text(statement, column).utf8_to_string() ?? string.Empty;

    public string? NullableText(int column) =>
        raw.sqlite3_column_type(statement, column) == raw.SQLITE_NULL ? null : raw.sqlite3_column_text(statement, column).utf8_to_string();

    /// <summary>The column's text, or null; a text <paramref name="known"/> holds comes back as that string (no new one).</summary>
    public string? NullableText(int column, KnownTexts known) =>
        raw.sqlite3_column_type(statement, column) == raw.SQLITE_NULL ? null : known.Of(raw.sqlite3_column_blob(statement, column));

    public long Int64(int column) => raw.sqlite3_column_int64(statement, column);

    public long? NullableInt64(int column) =>
        raw.sqlite3_column_type(statement, column) == raw.SQLITE_NULL ? null : raw.sqlite3_column_int64(statement, column);
}
