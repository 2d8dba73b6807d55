using System.Data;
using System.Data.Common;
using ChatOpsPull.Configuration;
using ChatOpsPull.Storage;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ChatOpsPull.Tests.Storage;

/// <summary>The dialects against the errors and locks of the real engines (a SQLite file, the tests' PostgreSQL).</summary>
[Collection(UsesPostgres.Name)]
public sealed class SqlDialectTests(PostgresFixture postgres)
{
    private static readonly SchemaMigration Widgets = new(
        "9901-widgets",
        "CREATE TABLE widgets (id {bigint} PRIMARY KEY, name TEXT NOT NULL UNIQUE, at {bigint} NOT NULL)");

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [InlineData(DatabaseProvider.Postgres)]
    public async Task A_duplicate_key_is_a_unique_violation_of_its_own_dialect_only_and_not_transient(DatabaseProvider provider)
    {
        using var storage = await StorageAsync(provider);
        await using var database = await WidgetsAsync(storage, ("a", 1));
        await using var connection = await database.OpenAsync();

        var byName = await Assert.ThrowsAnyAsync<DbException>(() => connection.ExecuteAsync("INSERT INTO widgets (id, name, at) VALUES (2, 'a', 0)"));
        var byKey = await Assert.ThrowsAnyAsync<DbException>(() => connection.ExecuteAsync("INSERT INTO widgets (id, name, at) VALUES (1, 'b', 0)"));

        foreach (var error in new[] { byName, byKey })
        {
            Assert.True(database.Dialect.IsUniqueViolation(error), error.ToString());
            Assert.False(database.Dialect.IsTransient(error), error.ToString());
            Assert.False(Other(database.Dialect).IsUniqueViolation(error), error.ToString());
        }
    }

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [InlineData(DatabaseProvider.Postgres)]
    public async Task A_missing_value_or_a_syntax_error_is_neither_a_unique_violation_nor_transient(DatabaseProvider provider)
    {
        using var storage = await StorageAsync(provider);
        await using var database = await WidgetsAsync(storage);
        await using var connection = await database.OpenAsync();

        var notNull = await Assert.ThrowsAnyAsync<DbException>(() => connection.ExecuteAsync("INSERT INTO widgets (id, name, at) VALUES (1, NULL, 0)"));
        var syntax = await Assert.ThrowsAnyAsync<DbException>(() => connection.ExecuteAsync("INSERT INTO widgets VALUES ("));

        foreach (var (error, dialect) in new[] { notNull, syntax }.SelectMany(e => SqlDialects.All.Select(d => (e, d))))
        {
            Assert.False(dialect.IsUniqueViolation(error), error.ToString());
            Assert.False(dialect.IsTransient(error), error.ToString());
        }
    }

    [Fact]
    public async Task A_busy_sqlite_database_is_transient()
    {
        using var storage = TestStorage.Sqlite();
        await using var database = await WidgetsAsync(storage);
        await using var holder = await database.OpenAsync();
        await using var held = await database.Dialect.BeginAsync(holder, CancellationToken.None);
        await holder.ExecuteAsync("INSERT INTO widgets (id, name, at) VALUES (1, 'a', 0)", transaction: held);

        await using var other = await database.OpenAsync();
        await other.ExecuteAsync("PRAGMA busy_timeout = 0");
        var error = await Assert.ThrowsAnyAsync<DbException>(() => other.ExecuteAsync("INSERT INTO widgets (id, name, at) VALUES (2, 'b', 0)"));

        Assert.True(database.Dialect.IsTransient(error), error.ToString());
        Assert.False(PostgresDialect.Instance.IsTransient(error));
        Assert.False(database.Dialect.IsUniqueViolation(error));
    }

    [Fact]
    public async Task A_postgres_serialization_failure_is_transient()
    {
        using var storage = await StorageAsync(DatabaseProvider.Postgres);
        await using var database = await WidgetsAsync(storage, ("a", 1));
        await using var reader = await database.OpenAsync();
        await using var snapshot = await reader.BeginTransactionAsync(IsolationLevel.RepeatableRead);
        Assert.Equal(1L, await reader.ExecuteScalarAsync<long>("SELECT at FROM widgets WHERE id = 1", transaction: snapshot));

        await using (var writer = await database.OpenAsync())
        {
            await writer.ExecuteAsync("UPDATE widgets SET at = 2 WHERE id = 1");
        }

        var error = await Assert.ThrowsAnyAsync<DbException>(() => reader.ExecuteAsync("UPDATE widgets SET at = 3 WHERE id = 1", transaction: snapshot));
        Assert.Equal(PostgresErrorCodes.SerializationFailure, Assert.IsType<PostgresException>(error).SqlState);
        Assert.True(database.Dialect.IsTransient(error), error.ToString());
        Assert.False(SqliteDialect.Instance.IsTransient(error));
    }

    [Fact]
    public async Task A_postgres_deadlock_is_transient()
    {
        using var storage = await StorageAsync(DatabaseProvider.Postgres);
        await using var database = await WidgetsAsync(storage, ("a", 1), ("b", 2));
        await using var first = await database.OpenAsync();
        await using var second = await database.OpenAsync();
        await using var one = await database.Dialect.BeginAsync(first, CancellationToken.None);
        await using var two = await database.Dialect.BeginAsync(second, CancellationToken.None);
        await first.ExecuteAsync("SET LOCAL deadlock_timeout = '50ms'", transaction: one);
        await second.ExecuteAsync("SET LOCAL deadlock_timeout = '50ms'", transaction: two);
        await first.ExecuteAsync("UPDATE widgets SET at = 10 WHERE id = 1", transaction: one);
        await second.ExecuteAsync("UPDATE widgets SET at = 20 WHERE id = 2", transaction: two);

        // Each now waits for the row the other holds; PostgreSQL ends one of them with a deadlock error.
        var crossed = new[]
        {
            Attempt(() => first.ExecuteAsync("UPDATE widgets SET at = 11 WHERE id = 2", transaction: one)),
            Attempt(() => second.ExecuteAsync("UPDATE widgets SET at = 21 WHERE id = 1", transaction: two)),
        };
        // PostgreSQL releases the loser's locks when it raises the error, so the winner may finish first: wait for the
        // one that failed.
        var pending = crossed.ToList();
        Task<Exception?> lost;
        do
        {
            lost = await Task.WhenAny(pending);
            pending.Remove(lost);
        }
        while (await lost is null && pending.Count > 0);

        var error = Assert.IsType<PostgresException>(await lost);
        Assert.Equal(PostgresErrorCodes.DeadlockDetected, error.SqlState);
        Assert.True(database.Dialect.IsTransient(error), error.ToString());
        Assert.False(SqliteDialect.Instance.IsTransient(error));

        // The loser's transaction is dead; after its rollback the winner has gone through.
        var firstLost = lost == crossed[0];
        await (firstLost ? one : two).RollbackAsync();
        Assert.Null(await (firstLost ? crossed[1] : crossed[0]));
    }

    [Fact]
    public async Task For_update_holds_the_row_on_postgres_until_the_transaction_ends()
    {
        using var storage = await StorageAsync(DatabaseProvider.Postgres);
        await using var database = await WidgetsAsync(storage, ("a", 1), ("b", 2));
        var lockRow = "SELECT id FROM widgets WHERE id = @id" + database.Dialect.ForUpdate;
        await using var holder = await database.OpenAsync();
        await using var held = await database.Dialect.BeginAsync(holder, CancellationToken.None);
        Assert.Equal(1L, await holder.ExecuteScalarAsync<long>(lockRow, new { id = 1 }, held));

        await using var other = await database.OpenAsync();
        await using (var waiting = await database.Dialect.BeginAsync(other, CancellationToken.None))
        {
            await other.ExecuteAsync("SET LOCAL lock_timeout = '200ms'", transaction: waiting);
            Assert.Equal(2L, await other.ExecuteScalarAsync<long>(lockRow, new { id = 2 }, waiting)); // another row is free
            var error = await Assert.ThrowsAsync<PostgresException>(() => other.ExecuteScalarAsync<long>(lockRow, new { id = 1 }, waiting));
            Assert.Equal(PostgresErrorCodes.LockNotAvailable, error.SqlState);
        }

        await using (var reading = await database.Dialect.BeginAsync(other, CancellationToken.None))
        {
            // A plain read does not wait for the lock.
            await other.ExecuteAsync("SET LOCAL lock_timeout = '200ms'", transaction: reading);
            Assert.Equal(1L, await other.ExecuteScalarAsync<long>("SELECT at FROM widgets WHERE id = 1", transaction: reading));
        }

        await held.CommitAsync();
        await using var after = await database.Dialect.BeginAsync(other, CancellationToken.None);
        await other.ExecuteAsync("SET LOCAL lock_timeout = '200ms'", transaction: after);
        Assert.Equal(1L, await other.ExecuteScalarAsync<long>(lockRow, new { id = 1 }, after));
    }

    [Fact]
    public async Task A_read_sent_behind_the_lock_statement_waits_for_the_lock_and_sees_what_its_holder_committed_on_postgres()
    {
        using var storage = await StorageAsync(DatabaseProvider.Postgres);
        await using var database = await WidgetsAsync(storage, ("a", 1));
        await using var holder = await database.OpenAsync();
        await using var held = await database.Dialect.BeginAsync(holder, CancellationToken.None);
        await database.LockAsync(holder, held, "widgets");

        // One command: the lock statement, then the read (what a subject write's first read sends).
        await using var other = await database.OpenAsync();
        await using var waiting = await database.Dialect.BeginAsync(other, CancellationToken.None);
        var pending = database.PendingLock("widgets");
        var sql = pending.TakeWithNextStatement() + "SELECT count(*) FROM widgets";
        Assert.StartsWith("SELECT 1 FROM pg_advisory_xact_lock(", sql, StringComparison.Ordinal);
        var read = Task.Run(async () =>
        {
            using var reader = await other.QueryMultipleAsync(sql, new Dictionary<string, object> { [TransactionLock.KeyParameter] = pending.Key }, waiting);
            Assert.Equal(1, await reader.ReadSingleAsync<int>());
            return await reader.ReadSingleAsync<long>();
        });

        await using (var watcher = await database.OpenAsync())
        {
            await Eventually.ValueAsync(
                () => watcher.ExecuteScalarAsync<long>("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"),
                waiters => waiters == 1,
                "the read to wait for the lock");
        }

        Assert.False(read.IsCompleted);
        await holder.ExecuteAsync("INSERT INTO widgets (id, name, at) VALUES (2, 'b', 2)", transaction: held);
        await held.CommitAsync();

        Assert.Equal(2L, await read); // its snapshot was taken after the lock was granted
        Assert.True(pending.Taken);
        Assert.Equal(string.Empty, pending.TakeWithNextStatement());
    }

    [Fact]
    public void The_lock_statement_is_empty_on_sqlite_where_the_transaction_already_holds_the_write_lock() =>
        Assert.Equal(string.Empty, SqliteDialect.Instance.LockStatement(TransactionLock.KeyParameter));

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [InlineData(DatabaseProvider.Postgres)]
    public async Task A_statement_batch_runs_in_order_and_tells_each_statement_its_own_row_count(DatabaseProvider provider)
    {
        using var storage = await StorageAsync(provider);
        await using var database = await WidgetsAsync(storage, ("a", 1), ("b", 2));
        var counts = new List<(string, int)>();

        await database.InTransactionAsync(async (connection, transaction) =>
        {
            var batch = new StatementBatch();
            batch.Add("INSERT INTO widgets (id, name, at) VALUES (@id, @name, @at)", new { id = 3L, name = "c", at = 3L }, n => counts.Add(("insert", n)));
            batch.Add("UPDATE widgets SET at = at + 10 WHERE at >= @from", new StatementParameters().Add("from", 2L), n => counts.Add(("update", n)));
            batch.Add("UPDATE widgets SET name = @name WHERE id = @id", new { id = 99L, name = (string?)null }, n => counts.Add(("missing", n)));
            Assert.Equal(3, batch.Count);
            await batch.ExecuteAsync(connection, transaction);
            Assert.Equal(0, batch.Count);
            return true;
        });

        Assert.Equal([("insert", 1), ("update", 2), ("missing", 0)], counts);
        await using var check = await database.OpenAsync();
        Assert.Equal([1L, 12L, 13L], await check.QueryAsync<long>("SELECT at FROM widgets ORDER BY id"));
    }

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [InlineData(DatabaseProvider.Postgres)]
    public async Task A_statement_batch_puts_every_value_of_a_many_row_statement_in_its_place_and_runs_statements_that_check_no_count(DatabaseProvider provider)
    {
        using var storage = await StorageAsync(provider);
        await using var database = await WidgetsAsync(storage);
        var changed = new List<int>();

        await database.InTransactionAsync(async (connection, transaction) =>
        {
            // 300 rows of three values each: more parameters than a name search per parameter could afford.
            var batch = new StatementBatch();
            var sql = new System.Text.StringBuilder("INSERT INTO widgets (id, name, at) VALUES ");
            var parameters = new StatementParameters();
            for (var i = 0; i < 300; i++)
            {
                sql.Append(System.Globalization.CultureInfo.InvariantCulture, $"{(i > 0 ? ", " : string.Empty)}(@i{i}, @n{i}, @a{i})");
                parameters.Add($"i{i}", (long)i).Add($"n{i}", $"widget-é-{i}").Add($"a{i}", i * 7L);
            }

            batch.Add(sql.ToString(), parameters, changed.Add);
            // A statement that checks no row count runs too.
            batch.Add("UPDATE widgets SET at = @at WHERE name = @name", new { name = "widget-é-299", at = -1L });
            await batch.ExecuteAsync(connection, transaction);
            return true;
        });

        Assert.Equal([300], changed);
        await using var check = await database.OpenAsync();
        var rows = (await check.QueryAsync<(long Id, string Name, long At)>("SELECT id, name, at FROM widgets ORDER BY id")).ToList();
        Assert.Equal(300, rows.Count);
        Assert.All(rows.Take(299), row => Assert.Equal(($"widget-é-{row.Id}", row.Id * 7), (row.Name, row.At)));
        Assert.Equal(("widget-é-299", -1L), (rows[299].Name, rows[299].At));
    }

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [InlineData(DatabaseProvider.Postgres)]
    public async Task Rows_of_a_statement_batch_each_get_their_own_values_and_the_shared_ones_on_both_engines(DatabaseProvider provider)
    {
        using var storage = await StorageAsync(provider);
        await using var database = await WidgetsAsync(storage, ("w1", 1));

        await database.InTransactionAsync(async (connection, transaction) =>
        {
            // 250 rows, 100 per statement on PostgreSQL (three statements); the first row is already there (an upsert).
            var rows = Enumerable.Range(1, 250)
                .Select(i => new StatementParameters().Add("id", (long)i).Add("name", $"w{i}-é"))
                .ToList();
            var batch = new StatementBatch();
            batch.AddRows(
                "INSERT INTO widgets (id, name, at) VALUES",
                "(@id, @name, @at)",
                "ON CONFLICT (id) DO UPDATE SET name = excluded.name, at = excluded.at + widgets.at",
                new StatementParameters().Add("at", 1000L),
                rows,
                rowsPerStatement: 100);
            batch.AddRows("INSERT INTO widgets (id, name, at) VALUES", "(@id, @name, 0)", string.Empty, new StatementParameters(), [], rowsPerStatement: 100);
            Assert.Equal(1, batch.Count);
            await batch.ExecuteAsync(connection, transaction);
            return true;
        });

        await using var check = await database.OpenAsync();
        var stored = (await check.QueryAsync<(long Id, string Name, long At)>("SELECT id, name, at FROM widgets ORDER BY id")).ToList();
        Assert.Equal(250, stored.Count);
        Assert.Equal((1L, "w1-é", 1001L), stored[0]);
        Assert.All(stored.Skip(1), row => Assert.Equal(($"w{row.Id}-é", 1000L), (row.Name, row.At)));
    }

    [Fact]
    public async Task For_update_is_empty_on_sqlite_where_the_transaction_already_holds_the_write_lock()
    {
        Assert.Equal(string.Empty, SqliteDialect.Instance.ForUpdate);
        using var storage = TestStorage.Sqlite();
        await using var database = await WidgetsAsync(storage, ("a", 1));
        var at = await database.InTransactionAsync((c, t) =>
            c.ExecuteScalarAsync<long>("SELECT at FROM widgets WHERE id = @id" + database.Dialect.ForUpdate, new { id = 1 }, t));
        Assert.Equal(1L, at);
    }

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [InlineData(DatabaseProvider.Postgres)]
    public async Task In_and_not_in_take_a_list_parameter_of_any_length_and_any_characters_on_both_engines(DatabaseProvider provider)
    {
        using var storage = await StorageAsync(provider);
        await using var database = await WidgetsAsync(storage, ("a", 1), ("b", 2), ("c", 3), ("it's \"quoted\" \\ [x]", 4), ("héllo ✓", 5));
        await using var connection = await database.OpenAsync();
        var inSql = "SELECT name FROM widgets WHERE " + database.Dialect.In("name", "@names") + " ORDER BY id";
        var notInSql = "SELECT name FROM widgets WHERE " + database.Dialect.NotIn("name", "@names") + " ORDER BY id";

        Assert.Equal(["a", "c"], await connection.QueryAsync<string>(inSql, new { names = SqlList.Of(["a", "c", "zz"]) }));
        Assert.Equal(["b", "it's \"quoted\" \\ [x]", "héllo ✓"], await connection.QueryAsync<string>(notInSql, new { names = SqlList.Of(["a", "c", "zz"]) }));
        Assert.Equal(["it's \"quoted\" \\ [x]", "héllo ✓"], await connection.QueryAsync<string>(inSql, new { names = SqlList.Of(["héllo ✓", "it's \"quoted\" \\ [x]"]) }));
        Assert.Empty(await connection.QueryAsync<string>(inSql, new { names = SqlList.Of([]) }));
        Assert.Equal(5, (await connection.QueryAsync<string>(notInSql, new { names = SqlList.Of([]) })).Count());
        var many = Enumerable.Range(0, 5_000).Select(i => $"w{i}").Append("b").ToList(); // one parameter, however long the list
        Assert.Equal(["b"], await connection.QueryAsync<string>(inSql, new { names = SqlList.Of(many) }));
    }

    [Fact]
    public void Each_dialect_expands_the_placeholders_to_its_own_types_and_refuses_an_unknown_one()
    {
        const string ddl = "CREATE TABLE t (id {identity}, at {bigint} NOT NULL)";
        Assert.Equal("CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL)", SqliteDialect.Instance.ExpandDdl(ddl));
        Assert.Equal("CREATE TABLE t (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, at BIGINT NOT NULL)", PostgresDialect.Instance.ExpandDdl(ddl));
        foreach (var dialect in SqlDialects.All)
        {
            var error = Assert.Throws<InvalidOperationException>(() => dialect.ExpandDdl("CREATE TABLE t (id {serial})"));
            Assert.Contains("{serial}", error.Message, StringComparison.Ordinal);
        }
    }

    private static ISqlDialect Other(ISqlDialect dialect) => SqlDialects.All.Single(d => d != dialect);

    private static async Task<Exception?> Attempt(Func<Task> work)
    {
        try
        {
            await work();
            return null;
        }
        catch (PostgresException e)
        {
            return e;
        }
    }

    private async Task<TestStorage> StorageAsync(DatabaseProvider provider) =>
        provider == DatabaseProvider.Sqlite ? TestStorage.Sqlite() : await TestStorage.PostgresAsync(postgres);

    private static async Task<BotDatabase> WidgetsAsync(TestStorage storage, params (string Name, long At)[] rows)
    {
        var database = new BotDatabase(
            Options.Create(new StorageOptions { Provider = storage.Provider, ConnectionString = storage.ConnectionString }),
            Options.Create(new BotOptions { DataDirectory = storage.DataDirectory }),
            [new SchemaMigrationSet([Widgets])]);
        await database.MigrateAsync();
        await using var connection = await database.OpenAsync();
        var id = 0;
        foreach (var (name, at) in rows)
        {
            await connection.ExecuteAsync("INSERT INTO widgets (id, name, at) VALUES (@id, @name, @at)", new { id = ++id, name, at });
        }

        return database;
    }
}
