using System.Data;
using ChatOpsPull.Storage;
using Dapper;
using Microsoft.Data.Sqlite;

namespace ChatOpsPull.Tests.Storage;

/// <summary>
/// The bot's SQLite transactions begin and commit with the connection's kept BEGIN IMMEDIATE and COMMIT
/// (<see cref="SqliteKeptTransaction"/>), counted by the connection's own counter, and every failure path stays
/// Microsoft.Data.Sqlite's: a failed BEGIN leaves nothing begun, a failed COMMIT is rolled back, a rollback SQLite made
/// itself refuses the commit, work that throws is rolled back, and the pooled connection serves the next transaction.
/// </summary>
public sealed class SqliteKeptTransactionTests
{
    private static readonly SchemaMigration Widgets = new(
        "9903-kept-transactions",
        "CREATE TABLE owners (id INTEGER PRIMARY KEY);"
        + "CREATE TABLE widgets (id INTEGER PRIMARY KEY, name TEXT NOT NULL, owner INTEGER NULL REFERENCES owners (id) DEFERRABLE INITIALLY DEFERRED)");

    [Fact]
    public async Task Transactions_on_the_pooled_connection_prepare_begin_and_commit_once()
    {
        using var storage = TestStorage.Sqlite();
        await using var database = await WidgetsAsync(storage);
        var seen = new List<(SqlitePreparedStatements Statements, int Prepared)>();

        for (var i = 1; i <= 4; i++)
        {
            var id = i;
            await database.InTransactionAsync(async (connection, transaction) =>
            {
                Assert.IsType<SqliteTransaction>(transaction);
                await connection.ExecuteAsync("INSERT INTO widgets (id, name) VALUES (@id, 'w')", new { id }, transaction);
                var statements = SqlitePreparedStatements.Of((SqliteConnection)connection);
                seen.Add((statements, statements.PreparedCount));
                return true;
            });
        }

        // One pooled connection: BEGIN was prepared in the first transaction, COMMIT at its end; none after.
        Assert.True(SqliteKeptTransaction.InUse);
        Assert.All(seen, s => Assert.Same(seen[0].Statements, s.Statements));
        Assert.Equal(seen[1].Prepared, seen[3].Prepared);
        Assert.Equal(1, seen[1].Prepared - seen[0].Prepared);
        await using var check = await database.OpenAsync();
        Assert.Equal(4L, await check.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM widgets"));
    }

    [Fact]
    public async Task Work_that_throws_is_rolled_back_and_the_pooled_connection_commits_the_next_transaction()
    {
        using var storage = TestStorage.Sqlite();
        await using var database = await WidgetsAsync(storage);

        await Assert.ThrowsAsync<InvalidOperationException>(() => database.InTransactionAsync<bool>(async (connection, transaction) =>
        {
            await connection.ExecuteAsync("INSERT INTO widgets (id, name) VALUES (1, 'lost')", transaction: transaction);
            throw new InvalidOperationException("the work failed");
        }));

        await database.InTransactionAsync(async (connection, transaction) =>
        {
            await connection.ExecuteAsync("INSERT INTO widgets (id, name) VALUES (2, 'kept')", transaction: transaction);
            return true;
        });

        await using var check = await database.OpenAsync();
        Assert.Equal(["kept"], await check.QueryAsync<string>("SELECT name FROM widgets ORDER BY id"));
        Assert.Equal(1L, await check.ExecuteScalarAsync<long>("SELECT 1")); // autocommit: no transaction left open on the handle
    }

    [Fact]
    public async Task A_commit_that_fails_leaves_nothing_and_the_next_transaction_on_the_connection_commits()
    {
        using var storage = TestStorage.Sqlite();
        await using var database = await WidgetsAsync(storage);

        // A deferred foreign key is checked by COMMIT: the commit fails with SQLITE_CONSTRAINT and the transaction stays open.
        var failed = await Assert.ThrowsAsync<SqliteException>(() => database.InTransactionAsync(async (connection, transaction) =>
        {
            await connection.ExecuteAsync("INSERT INTO widgets (id, name, owner) VALUES (1, 'orphan', 99)", transaction: transaction);
            return true;
        }));
        Assert.Equal(19, failed.SqliteErrorCode);

        await database.InTransactionAsync(async (connection, transaction) =>
        {
            await connection.ExecuteAsync("INSERT INTO owners (id) VALUES (7)", transaction: transaction);
            await connection.ExecuteAsync("INSERT INTO widgets (id, name, owner) VALUES (2, 'owned', 7)", transaction: transaction);
            return true;
        });

        await using var check = await database.OpenAsync();
        Assert.Equal(["owned"], await check.QueryAsync<string>("SELECT name FROM widgets ORDER BY id"));
    }

    [Fact]
    public async Task A_begin_that_finds_the_database_busy_throws_a_transient_error_and_begins_later()
    {
        using var storage = TestStorage.Sqlite();
        await using var database = await WidgetsAsync(storage);
        await using var connection = (SqliteConnection)await database.OpenAsync();
        await connection.ExecuteAsync("PRAGMA busy_timeout = 0");

        // Another connection (not the bot's write turn) holds the write lock.
        await using (var other = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database.Location, Pooling = false }.ToString()))
        {
            await other.OpenAsync();
            await using var holding = other.BeginTransaction(IsolationLevel.Serializable, deferred: false);

            var busy = Assert.Throws<SqliteException>(() => SqliteKeptTransaction.Begin(connection));
            Assert.True(database.Dialect.IsTransient(busy));
        }

        // Nothing was begun on the connection: a transaction begins and commits now.
        var transaction = SqliteKeptTransaction.Begin(connection);
        await connection.ExecuteAsync("INSERT INTO widgets (id, name) VALUES (1, 'later')", transaction: transaction);
        SqliteKeptTransaction.Commit(transaction);
        await transaction.DisposeAsync();
        Assert.Equal(["later"], await connection.QueryAsync<string>("SELECT name FROM widgets"));
    }

    [Fact]
    public async Task A_transaction_sqlite_rolled_back_itself_refuses_to_commit_and_disposes_quietly()
    {
        using var storage = TestStorage.Sqlite();
        await using var database = await WidgetsAsync(storage);
        await using var connection = (SqliteConnection)await database.OpenAsync();

        var transaction = SqliteKeptTransaction.Begin(connection);
        await connection.ExecuteAsync("INSERT INTO widgets (id, name) VALUES (1, 'gone')", transaction: transaction);
        // What SQLite does on its own after some errors (a full disk): the transaction is rolled back under the object.
        SqliteIndexedStatement.Execute(connection, "ROLLBACK", []);

        Assert.Throws<InvalidOperationException>(() => SqliteKeptTransaction.Commit(transaction));
        await transaction.DisposeAsync(); // no second ROLLBACK: SQLite has none to end
        Assert.Empty(await connection.QueryAsync<string>("SELECT name FROM widgets"));

        // The connection begins again.
        var next = SqliteKeptTransaction.Begin(connection);
        SqliteKeptTransaction.Commit(next);
        await next.DisposeAsync();
    }

    [Fact]
    public async Task A_committed_transaction_refuses_a_second_commit_and_commands_without_it_run_on_the_connection()
    {
        using var storage = TestStorage.Sqlite();
        await using var database = await WidgetsAsync(storage);
        await using var connection = (SqliteConnection)await database.OpenAsync();

        var transaction = SqliteKeptTransaction.Begin(connection);
        Assert.Throws<InvalidOperationException>(() => connection.BeginTransaction()); // one transaction at a time, as before
        SqliteKeptTransaction.Commit(transaction);

        Assert.Throws<InvalidOperationException>(() => SqliteKeptTransaction.Commit(transaction));
        Assert.Equal(1, await connection.ExecuteAsync("INSERT INTO widgets (id, name) VALUES (1, 'after')"));
    }

    private static Task<BotDatabase> WidgetsAsync(TestStorage storage) => storage.OpenMigratedAsync(Widgets);
}
