using ChatOpsPull.Storage;
using Dapper;

namespace ChatOpsPull.Tests.Storage;

public sealed class SqliteWriteTurnTests
{
    private static readonly SchemaMigration Widgets = new("9901-widgets", "CREATE TABLE widgets (id {bigint} PRIMARY KEY)");

    private static Task<BotDatabase> OpenAsync(TestStorage storage) => storage.OpenMigratedAsync(Widgets);

    /// <summary>Starts a transaction that writes widget 1 and holds SQLite's write lock until <c>release</c> is set.</summary>
    private static async Task<(Task<bool> First, TaskCompletionSource Release)> HoldTheWriteLockAsync(BotDatabase database)
    {
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
        return (first, release);
    }

    [Fact]
    public async Task A_sqlite_writer_waits_for_its_turn_without_blocking_while_another_transaction_holds_the_write_lock()
    {
        using var storage = TestStorage.Sqlite();
        await using var database = await OpenAsync(storage);
        var (first, release) = await HoldTheWriteLockAsync(database);

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

    [Fact]
    public async Task A_write_marked_to_go_ahead_takes_the_turn_before_writers_queued_earlier_without_the_mark()
    {
        using var storage = TestStorage.Sqlite();
        await using var database = await OpenAsync(storage);
        var order = new System.Collections.Concurrent.ConcurrentQueue<long>();
        var (first, release) = await HoldTheWriteLockAsync(database);

        Task<bool> Insert(long id) => database.InTransactionAsync(async (connection, transaction) =>
        {
            order.Enqueue(id);
            await connection.ExecuteAsync("INSERT INTO widgets (id) VALUES (@id)", new { id }, transaction);
            return true;
        });

        // Two intake-like batches queue first, then a write someone waits to see (a diagnosis's result).
        var batches = new[] { Insert(2), Insert(3) };
        Task<bool> urgent;
        using (database.WriteTurn.GoAhead())
        {
            urgent = Insert(4);
        }

        var later = Insert(5); // after the scope: in order again
        Assert.Equal(4, database.WriteTurn.Waiting);
        release.SetResult();
        await Task.WhenAll([first, urgent, later, .. batches]);

        Assert.Equal([4L, 2L, 3L, 5L], order.ToArray());
        await using var connection = await database.OpenAsync();
        Assert.Equal(5, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM widgets"));
        Assert.Equal(0, database.WriteTurn.Waiting);
    }

    [Fact]
    public async Task A_writer_that_gives_up_waiting_leaves_the_queue_and_the_turn_goes_to_the_next()
    {
        using var storage = TestStorage.Sqlite();
        await using var database = await OpenAsync(storage);
        // Each in a flow of its own (an async method): a flow that holds the turn would go straight on.
        async Task<SqliteWriteTurn.Pass> TakeAsync(CancellationToken token) => await database.WriteTurn.TakeAsync(token);
        var held = await TakeAsync(CancellationToken.None);
        using var giveUp = new CancellationTokenSource();
        var impatient = TakeAsync(giveUp.Token);
        var patient = TakeAsync(CancellationToken.None);
        Assert.Equal(2, database.WriteTurn.Waiting);

        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => impatient);
        Assert.Equal(1, database.WriteTurn.Waiting);
        Assert.False(patient.IsCompleted);
        held.Dispose();
        (await patient).Dispose();

        var next = database.WriteTurn.TakeAsync(CancellationToken.None);
        Assert.True(next.IsCompleted);
        (await next).Dispose();
    }
    [Fact]
    public async Task A_write_marked_to_go_ahead_pulls_the_queued_writer_of_what_it_waits_for_ahead_of_the_others()
    {
        using var storage = TestStorage.Sqlite();
        await using var database = await OpenAsync(storage);
        var turn = database.WriteTurn;
        var order = new System.Collections.Concurrent.ConcurrentQueue<string>();

        async Task<SqliteWriteTurn.Pass> TakeAsync() => await turn.TakeAsync(CancellationToken.None);
        async Task WriteAsync(string name, string? writingFor)
        {
            using var named = writingFor is null ? default : turn.WritingFor(writingFor);
            using (await turn.TakeAsync(CancellationToken.None))
            {
                order.Enqueue(name);
            }
        }

        var held = await TakeAsync();
        // Intake batches of three workloads queue in this order; the diagnosis of workload "b" waits for b's subject lock,
        // which b's batch holds while it waits here.
        var writes = new[] { WriteAsync("a", "subject:a"), WriteAsync("plain", null), WriteAsync("b", "subject:b") };
        Assert.Equal(3, turn.Waiting);
        SqliteWriteTurn.PullScope pulled;
        using (turn.GoAhead())
        {
            Assert.True(turn.GoingAhead);
            pulled = turn.PullAhead("subject:b");
        }

        Assert.False(turn.GoingAhead);
        var laterB = WriteAsync("b again", "subject:b"); // asked for while the pull lasts: ahead too
        pulled.Dispose();
        var laterB2 = WriteAsync("b after", "subject:b"); // after it: in order
        held.Dispose();
        await Task.WhenAll([.. writes, laterB, laterB2]);

        Assert.Equal(["b", "b again", "a", "plain", "b after"], order.ToArray());
        Assert.Equal(0, turn.Waiting);
    }

    [Fact]
    public async Task Pulling_ahead_from_a_flow_not_marked_to_go_ahead_changes_no_order()
    {
        using var storage = TestStorage.Sqlite();
        await using var database = await OpenAsync(storage);
        var turn = database.WriteTurn;
        var order = new System.Collections.Concurrent.ConcurrentQueue<string>();
        async Task<SqliteWriteTurn.Pass> TakeAsync() => await turn.TakeAsync(CancellationToken.None);
        async Task WriteAsync(string name)
        {
            using var named = turn.WritingFor("subject:" + name);
            using (await turn.TakeAsync(CancellationToken.None))
            {
                order.Enqueue(name);
            }
        }

        var held = await TakeAsync();
        var writes = new[] { WriteAsync("a"), WriteAsync("b") };
        using (turn.PullAhead("subject:b"))
        {
            held.Dispose();
            await Task.WhenAll(writes);
        }

        Assert.Equal(["a", "b"], order.ToArray());
    }
}
