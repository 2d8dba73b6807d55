using ChatOpsPull.Configuration;
using ChatOpsPull.Storage;
using Dapper;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Tests.Storage;

public sealed class SqliteWriteTurnTests
{
    private static readonly SchemaMigration Widgets = new("9901-widgets", "CREATE TABLE widgets (id {bigint} PRIMARY KEY)");

    private static async Task<BotDatabase> OpenAsync(TestStorage storage)
    {
        var database = new BotDatabase(
            Options.Create(new StorageOptions { Provider = storage.Provider, ConnectionString = storage.ConnectionString }),
            Options.Create(new BotOptions { DataDirectory = storage.DataDirectory }),
            [new SchemaMigrationSet([Widgets])]);
        await database.MigrateAsync();
        return database;
    }

    [Fact]
    public async Task A_sqlite_writer_waits_for_its_turn_without_blocking_while_another_transaction_holds_the_write_lock()
    {
        using var storage = TestStorage.Sqlite();
        await using var database = await OpenAsync(storage);
        var holding = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = database.InTransactionAsync(async (connection, transaction) =>
        {
            await connection.ExecuteAsync("INSERT INTO widgets (id) VALUES (1)", transaction: transaction);
            holding.SetResult();
            await release.Task;
            return true;
        });
        await holding.Task;

        // Without a turn this call would block its thread in SQLite's busy handler (up to 5 s) and return a failed task.
        var second = database.InTransactionAsync(async (connection, transaction) =>
            await connection.ExecuteAsync("INSERT INTO widgets (id) VALUES (2)", transaction: transaction));

        Assert.False(second.IsCompleted);
        Assert.Equal(1, database.WriteTurn.Waiting);
        release.SetResult();
        await first;
        Assert.Equal(1, await second);
        await using var connection = await database.OpenAsync();
        Assert.Equal(2, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM widgets"));
        Assert.Equal(0, database.WriteTurn.Waiting);
    }

    [Fact]
    public async Task A_write_inside_a_write_goes_on_with_the_turn_it_holds_and_the_turn_is_handed_on_after()
    {
        using var storage = TestStorage.Sqlite();
        await using var database = await OpenAsync(storage);

        await database.InTransactionAsync(async (connection, transaction) =>
        {
            // Waiting for the turn this flow holds would never end.
            var inner = database.WriteTurn.TakeAsync(CancellationToken.None);
            Assert.True(inner.IsCompleted);
            using (await inner)
            {
                await connection.ExecuteAsync("INSERT INTO widgets (id) VALUES (1)", transaction: transaction);
            }

            return true;
        });

        var next = database.WriteTurn.TakeAsync(CancellationToken.None);
        Assert.True(next.IsCompleted);
        (await next).Dispose();
        Assert.Equal(0, database.WriteTurn.Waiting);
    }
}
