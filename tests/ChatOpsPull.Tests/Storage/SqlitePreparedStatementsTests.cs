using ChatOpsPull.Storage;
using Dapper;
using Microsoft.Data.Sqlite;

namespace ChatOpsPull.Tests.Storage;

/// <summary>
/// A SQLite connection keeps the statements the bot's writes run (<see cref="SqlitePreparedStatements"/>): prepared once
/// per connection, counted by the connection's own counter, and still right after a schema change, a failure, or a
/// connection opened again.
/// </summary>
public sealed class SqlitePreparedStatementsTests
{
    private static readonly SchemaMigration Widgets = new(
        "9902-widgets",
        "CREATE TABLE widgets (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, at INTEGER NOT NULL)");

    private const string InsertSql = "INSERT INTO widgets (id, name, at) VALUES (@id, @name, @at)";

    [Fact]
    public async Task A_statement_executed_twice_on_a_connection_is_prepared_once()
    {
        using var storage = TestStorage.Sqlite();
        await using var database = await WidgetsAsync(storage);
        await using var connection = (SqliteConnection)await database.OpenAsync();
        var statements = SqlitePreparedStatements.Of(connection);
        var before = statements.PreparedCount;

        Insert(connection, 1, "a");
        Insert(connection, 2, "b");
        Insert(connection, 3, "c");

        Assert.Equal(before + 1, statements.PreparedCount);
        Assert.Equal([1L, 2L, 3L], await connection.QueryAsync<long>("SELECT id FROM widgets ORDER BY id"));
    }

    [Fact]
    public async Task Transactions_and_shared_rounds_on_the_pooled_connection_prepare_their_statements_and_savepoints_only_once()
    {
        using var storage = TestStorage.Sqlite();
        await using var database = await WidgetsAsync(storage);
        var seen = new List<(SqlitePreparedStatements Statements, int Prepared)>();

        for (var i = 1; i <= 3; i++)
        {
            var id = i;
            await database.InSharedTransactionAsync(async (connection, transaction) =>
            {
                var batch = new StatementBatch();
                batch.Add(InsertSql, new StatementParameters().Add("id", (long)id).Add("name", $"w{id}").Add("at", 0L));
                batch.Add("UPDATE widgets SET at = at + 1", new StatementParameters());
                await batch.ExecuteAsync(connection, transaction);
                var statements = SqlitePreparedStatements.Of((SqliteConnection)connection);
                seen.Add((statements, statements.PreparedCount));
                return true;
            });
        }

        // One pooled connection (nothing else opens one here): its statements were prepared in the first transaction only —
        // the savepoint's release and the COMMIT too, which run after the work (so the second transaction's count is the last one's).
        Assert.All(seen, s => Assert.Same(seen[0].Statements, s.Statements));
        Assert.Equal(seen[1].Prepared, seen[2].Prepared);
        Assert.InRange(seen[1].Prepared - seen[0].Prepared, 0, 2);
        await using var check = await database.OpenAsync();
        Assert.Equal([3L, 2L, 1L], await check.QueryAsync<long>("SELECT at FROM widgets ORDER BY id"));
    }

    [Fact]
    public async Task A_kept_statement_still_runs_right_after_the_schema_changed()
    {
        using var storage = TestStorage.Sqlite();
        await using var database = await WidgetsAsync(storage);
        await using var connection = (SqliteConnection)await database.OpenAsync();
        Insert(connection, 1, "a");

        // Another connection changes the table the kept statement writes: a column more, the name's uniqueness dropped.
        await using (var other = await database.OpenAsync())
        {
            await other.ExecuteAsync(
                "CREATE TABLE widgets2 (id INTEGER PRIMARY KEY, name TEXT NOT NULL, at INTEGER NOT NULL, colour TEXT NOT NULL DEFAULT 'red');"
                + "INSERT INTO widgets2 (id, name, at) SELECT id, name, at FROM widgets; DROP TABLE widgets; ALTER TABLE widgets2 RENAME TO widgets;");
        }

        Insert(connection, 2, "a");

        Assert.Equal(
            [(1L, "a", "red"), (2L, "a", "red")],
            await connection.QueryAsync<(long, string, string)>("SELECT id, name, colour FROM widgets ORDER BY id"));
    }

    [Fact]
    public async Task A_statement_that_failed_runs_again_on_its_connection_and_leaves_the_transaction_able_to_commit()
    {
        using var storage = TestStorage.Sqlite();
        await using var database = await WidgetsAsync(storage);

        await database.InTransactionAsync(async (connection, transaction) =>
        {
            var sqlite = (SqliteConnection)connection;
            Insert(sqlite, 1, "a");
            var duplicate = Assert.Throws<SqliteException>(() => Insert(sqlite, 2, "a"));
            Assert.True(database.Dialect.IsUniqueViolation(duplicate));
            Insert(sqlite, 3, "c");
            await Task.CompletedTask;
            return true;
        });

        await using var check = await database.OpenAsync();
        Assert.Equal([(1L, "a"), (3L, "c")], await check.QueryAsync<(long, string)>("SELECT id, name FROM widgets ORDER BY id"));
    }

    [Fact]
    public async Task A_connection_opened_again_after_its_pool_was_cleared_prepares_its_statements_anew_and_the_old_ones_are_finalized()
    {
        using var storage = TestStorage.Sqlite();
        await using var database = await WidgetsAsync(storage);
        SqlitePreparedStatements old;
        await using (var connection = (SqliteConnection)await database.OpenAsync())
        {
            old = SqlitePreparedStatements.Of(connection);
            var held = old.Count; // what the migrations kept on this pooled connection
            Insert(connection, 1, "a");
            Assert.Equal(held + 1, old.Count);

            // What a fault that makes the pool drop its connections does: every native handle is closed.
            SqliteConnection.ClearPool(connection);
        }

        Assert.Equal(0, old.Count);
        await using var reopened = (SqliteConnection)await database.OpenAsync();
        var statements = SqlitePreparedStatements.Of(reopened);
        Assert.NotSame(old, statements);
        Assert.Equal(0, statements.PreparedCount);

        Insert(reopened, 2, "b");

        Assert.Equal(1, statements.PreparedCount);
        Assert.Equal([1L, 2L], await reopened.QueryAsync<long>("SELECT id FROM widgets ORDER BY id"));
    }

    [Fact]
    public async Task A_text_of_several_statements_runs_them_all_and_is_not_kept()
    {
        using var storage = TestStorage.Sqlite();
        await using var database = await WidgetsAsync(storage);
        await using var connection = (SqliteConnection)await database.OpenAsync();
        var statements = SqlitePreparedStatements.Of(connection);
        var held = statements.Count;
        const string sql = "INSERT INTO widgets (id, name, at) VALUES (@id, @name, 0); UPDATE widgets SET at = at + 5 WHERE id = @id";

        var changed = SqliteIndexedStatement.Execute(connection, sql, [("id", 1L, typeof(long)), ("name", "a", typeof(string))]);

        Assert.Equal(2, changed);
        Assert.Equal(held, statements.Count);
        Assert.Equal(5L, await connection.ExecuteScalarAsync<long>("SELECT at FROM widgets WHERE id = 1"));
    }

    [Fact]
    public async Task A_query_run_in_three_pooled_transactions_is_prepared_once_and_maps_its_rows_by_position()
    {
        using var storage = TestStorage.Sqlite();
        await using var database = await WidgetsAsync(storage);
        const string query = "SELECT id, name, at FROM widgets WHERE at >= @since ORDER BY id";
        var prepared = new List<int>();
        var read = new List<List<(long, string, long)>>();

        for (var i = 1; i <= 3; i++)
        {
            var id = i;
            await database.InTransactionAsync(async (connection, transaction) =>
            {
                var sqlite = (SqliteConnection)connection;
                Insert(sqlite, id, $"w{id}");
                read.Add(SqliteIndexedStatement.Query(sqlite, query, [("since", 20L, typeof(long))], row => (row.Int64(0), row.Text(1), row.Int64(2))));
                prepared.Add(SqlitePreparedStatements.Of(sqlite).PreparedCount);
                await Task.CompletedTask;
                return true;
            });
        }

        Assert.Equal(prepared[1], prepared[2]);
        Assert.Empty(read[0]);
        Assert.Equal([(2L, "w2", 20L)], read[1]);
        Assert.Equal([(2L, "w2", 20L), (3L, "w3", 30L)], read[2]);
    }

    [Fact]
    public async Task A_kept_query_reads_the_new_table_after_the_schema_changed_on_another_connection()
    {
        using var storage = TestStorage.Sqlite();
        await using var database = await WidgetsAsync(storage);
        await using var connection = (SqliteConnection)await database.OpenAsync();
        const string query = "SELECT id, name FROM widgets ORDER BY id";
        Insert(connection, 1, "a");
        Assert.Equal([(1L, "a")], SqliteIndexedStatement.Query(connection, query, [], row => (row.Int64(0), row.Text(1))));

        await using (var other = await database.OpenAsync())
        {
            await other.ExecuteAsync(
                "CREATE TABLE widgets2 (colour TEXT NOT NULL DEFAULT 'red', id INTEGER PRIMARY KEY, name TEXT NOT NULL, at INTEGER NOT NULL);"
                + "INSERT INTO widgets2 (id, name, at) VALUES (5, 'moved', 0); DROP TABLE widgets; ALTER TABLE widgets2 RENAME TO widgets;");
        }

        Assert.Equal([(5L, "moved")], SqliteIndexedStatement.Query(connection, query, [], row => (row.Int64(0), row.Text(1))));
    }

    [Fact]
    public async Task A_query_that_failed_is_discarded_and_runs_again_with_null_columns_read_as_null()
    {
        using var storage = TestStorage.Sqlite();
        await using var database = await WidgetsAsync(storage);
        await using var connection = (SqliteConnection)await database.OpenAsync();
        var statements = SqlitePreparedStatements.Of(connection);
        var held = statements.Count;
        const string query = "SELECT value, NULL, NULL FROM json_each(@list)";

        Assert.Throws<SqliteException>(() => SqliteIndexedStatement.Query(connection, query, [("list", "not json", typeof(string))], row => row.Text(0)));
        Assert.Equal(held, statements.Count);

        var rows = SqliteIndexedStatement.Query(connection, query, [("list", "[\"a\",\"b\"]", typeof(string))], row => (row.Text(0), row.NullableText(1), row.NullableInt64(2)));

        Assert.Equal([("a", (string?)null, (long?)null), ("b", null, null)], rows);
        Assert.Equal(held + 1, statements.Count);
    }

    [Fact]
    public async Task Values_given_in_another_order_than_the_text_names_them_are_bound_to_their_own_parameters()
    {
        using var storage = TestStorage.Sqlite();
        await using var database = await WidgetsAsync(storage);
        await using var connection = (SqliteConnection)await database.OpenAsync();

        SqliteIndexedStatement.Execute(connection, InsertSql, [("at", 70L, typeof(long)), ("name", "seven", typeof(string)), ("id", 7L, typeof(long))]);
        SqliteIndexedStatement.Execute(connection, InsertSql, [("name", "eight", typeof(string)), ("id", 8L, typeof(long))], [("at", 80L, typeof(long))]);

        Assert.Equal([(7L, "seven", 70L), (8L, "eight", 80L)], await connection.QueryAsync<(long, string, long)>("SELECT id, name, at FROM widgets ORDER BY id"));
        Assert.Throws<InvalidOperationException>(() => SqliteIndexedStatement.Execute(connection, InsertSql, [("id", 9L, typeof(long)), ("name", "nine", typeof(string))]));
    }

    [Fact]
    public async Task A_statement_of_many_parameters_given_in_reverse_binds_each_to_its_own_name()
    {
        using var storage = TestStorage.Sqlite();
        await using var database = await WidgetsAsync(storage);
        await using var connection = (SqliteConnection)await database.OpenAsync();
        var ids = Enumerable.Range(1, 40).ToArray();
        var sql = "INSERT INTO widgets (id, name, at) VALUES " + string.Join(", ", ids.Select(i => $"(@id{i}, @name{i}, @at{i})"));
        var parameters = ids.SelectMany(i => new (string, object?, Type)[] { ($"id{i}", (long)i, typeof(long)), ($"name{i}", $"w{i}", typeof(string)), ($"at{i}", i * 3L, typeof(long)) })
            .Reverse()
            .ToList();

        Assert.Equal(40, SqliteIndexedStatement.Execute(connection, sql, parameters));
        Assert.Equal(ids.Select(i => ((long)i, $"w{i}", i * 3L)), await connection.QueryAsync<(long, string, long)>("SELECT id, name, at FROM widgets ORDER BY id"));
    }

    [Fact]
    public async Task Texts_are_stored_as_given_empty_not_null_long_and_beyond_ascii()
    {
        using var storage = TestStorage.Sqlite();
        await using var database = await WidgetsAsync(storage);
        await using var connection = (SqliteConnection)await database.OpenAsync();
        var texts = new[] { string.Empty, "web-6b9f7c5d8-x7kq2", "Grüße — 拉取失败 🚫", new string('x', 300) + "é", string.Concat(Enumerable.Repeat("Failed to pull image \"registry.example.com/shop/web:1.4.3\": not found; ", 60)) };

        for (var i = 0; i < texts.Length; i++)
        {
            Insert(connection, i + 1, texts[i]);
        }

        Assert.Equal(texts, await connection.QueryAsync<string>("SELECT name FROM widgets ORDER BY id"));
        Assert.Equal(1L, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM widgets WHERE name = ''"));
    }

    [Fact]
    public async Task A_batch_of_rows_binds_the_shared_parameters_beside_each_rows_own()
    {
        using var storage = TestStorage.Sqlite();
        await using var database = await WidgetsAsync(storage);
        await using var connection = (SqliteConnection)await database.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var batch = new StatementBatch();
        batch.AddRows(
            "INSERT INTO widgets (id, name, at) VALUES",
            "(@id, @prefix || @name, @at)",
            "ON CONFLICT (id) DO UPDATE SET name = excluded.name",
            new StatementParameters().Add("prefix", "row-").Add("at", 5L),
            [new StatementParameters().Add("id", 1L).Add("name", "a"), new StatementParameters().Add("name", "b").Add("id", 2L)],
            rowsPerStatement: 100);
        batch.Add("UPDATE widgets SET at = at + @more WHERE id = @id", new { id = 2L, more = 10L }, changed => Assert.Equal(1, changed));

        await batch.ExecuteAsync(connection, transaction);
        await transaction.CommitAsync();

        Assert.Equal(0, batch.Count);
        Assert.Equal([(1L, "row-a", 5L), (2L, "row-b", 15L)], await connection.QueryAsync<(long, string, long)>("SELECT id, name, at FROM widgets ORDER BY id"));
    }

    [Fact]
    public async Task A_text_read_again_is_the_string_made_the_first_time_and_another_text_is_its_own()
    {
        using var storage = TestStorage.Sqlite();
        await using var database = await WidgetsAsync(storage);
        await using var connection = (SqliteConnection)await database.OpenAsync();
        var long1 = "{\"summary\":\"tag 2.0.0 not found — Grüße\"," + new string('a', 4000) + "}";
        Insert(connection, 1, long1);
        Insert(connection, 2, long1[..^2] + "b}");
        var known = new KnownTexts(limit: 8);
        const string query = "SELECT name FROM widgets WHERE id = @id";

        string Read(long id) => SqliteIndexedStatement.Query(connection, query, [("id", id, typeof(long))], row => row.NullableText(0, known)!)[0];
        var first = Read(1);
        var again = Read(1);
        var other = Read(2);

        Assert.Equal(long1, first);
        Assert.Same(first, again);
        Assert.Equal(long1[..^2] + "b}", other);
        Assert.NotSame(first, other);
    }

    private static void Insert(SqliteConnection connection, long id, string name) =>
        SqliteIndexedStatement.Execute(connection, InsertSql, [("id", id, typeof(long)), ("name", name, typeof(string)), ("at", id * 10, typeof(long))]);

    private static Task<BotDatabase> WidgetsAsync(TestStorage storage) => storage.OpenMigratedAsync(Widgets);
}
