using System.Collections.Concurrent;
using System.Data.Common;
using ChatOpsPull.Incidents;
using ChatOpsPull.Storage;
using ChatOpsPull.Tests.Incidents;
using Dapper;
using Npgsql;

namespace ChatOpsPull.Tests.Storage;

/// <summary>
/// Group commit on a real PostgreSQL server: writers queued for a write turn with shared work
/// (<see cref="BotDatabase.InSharedTransactionAsync{T}"/>) are run by the one handed the turn on one connection, in one
/// transaction, each in its own savepoint, and committed once. The database here has one round turn (one warm connection),
/// so a second writer queues.
/// </summary>
[Collection(UsesPostgres.Name)]
public sealed class PostgresTransactionGroupTests(PostgresFixture postgres)
{
    private static readonly SchemaMigration Widgets = new("9903-pg-group-widgets", "CREATE TABLE widgets (id {bigint} PRIMARY KEY, owner TEXT NOT NULL)");

    private async Task<(TestStorage Storage, BotDatabase Database)> OpenAsync()
    {
        var storage = await TestStorage.PostgresAsync(postgres);
        return (storage, await storage.OpenMigratedAsync(postgresWarmConnections: 1, Widgets));
    }

    /// <summary>A shared transaction that holds the only round turn until <c>release</c> is set, so that writers queue behind it.</summary>
    private static async Task<(Task<long> Holding, TaskCompletionSource Release)> HoldTheTurnAsync(BotDatabase database)
    {
        var holding = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = database.InSharedTransactionAsync(async (_, _) =>
        {
            holding.SetResult();
            await release.Task;
            return 0L;
        });
        await holding.Task;
        return (first, release);
    }

    /// <summary>A round as the incident writer makes one: its subject lock taken with its first command, then its write.</summary>
    private static Func<DbConnection, DbTransaction, Task<long>> Insert(BotDatabase database, long id, string owner, string? subject = null, ConcurrentQueue<long>? ran = null) =>
        async (connection, transaction) =>
        {
            ran?.Enqueue(id);
            var pending = database.PendingLock(subject ?? $"widget:{id}");
            var withKey = new DynamicParameters(new { id });
            withKey.Add(TransactionLock.KeyParameter, pending.Key);
            using (var reader = await connection.QueryMultipleAsync(pending.TakeWithNextStatement() + "SELECT COUNT(*) FROM widgets WHERE id = @id", withKey, transaction))
            {
                pending.CheckTaken(await reader.ReadSingleAsync<int>());
                _ = await reader.ReadSingleAsync<long>();
            }

            await connection.ExecuteAsync("INSERT INTO widgets (id, owner) VALUES (@id, @owner)", new { id, owner }, transaction);
            return id * 10;
        };

    private static async Task<long[]> StoredAsync(BotDatabase database)
    {
        await using var connection = await database.OpenAsync();
        return (await connection.QueryAsync<long>("SELECT id FROM widgets ORDER BY id")).ToArray();
    }

    private static async Task QueuedAsync(BotDatabase database, int writers) =>
        await Eventually.ValueAsync(() => Task.FromResult(database.WriteTurn.Waiting), n => n == writers, $"{writers} writers queued for the turn");

    [Fact]
    public async Task Writers_queued_for_the_turn_commit_in_one_transaction_and_each_gets_its_own_result_on_postgres()
    {
        var (storage, database) = await OpenAsync();
        using var _ = storage;
        await using var __ = database;
        var (holding, release) = await HoldTheTurnAsync(database);

        var writes = new[] { 1L, 2, 3, 4 }.Select(id => database.InSharedTransactionAsync(Insert(database, id, $"subject-{id}"))).ToArray();
        await QueuedAsync(database, writes.Length);
        release.SetResult();
        await holding;

        Assert.Equal(new long[] { 10L, 20, 30, 40 }, await Task.WhenAll(writes));
        Assert.Equal(new long[] { 1L, 2, 3, 4 }, await StoredAsync(database));
        Assert.Equal(0, database.WriteTurn.Waiting);
    }

    [Fact]
    public async Task Four_queued_rounds_cost_two_round_trips_each_and_one_commit_on_postgres()
    {
        var (storage, database) = await OpenAsync();
        using var _ = storage;
        await using var __ = database;
        var (holding, release) = await HoldTheTurnAsync(database);

        var sent = await SentToPostgres.CountAsync(async () =>
        {
            var writes = new[] { 1L, 2, 3, 4 }.Select(id => database.InSharedTransactionAsync(Insert(database, id, $"subject-{id}"))).ToArray();
            await QueuedAsync(database, writes.Length);
            release.SetResult();
            await Task.WhenAll(writes);
        });
        await holding;

        // Each round: its lock with its read (the SAVEPOINT travels with that command), its insert; then one COMMIT for all
        // four. Alone they cost 4 × 3.
        Assert.Equal(9, sent.RoundTrips);
        Assert.Equal(1, sent.Commits);
        Assert.Equal(new long[] { 1L, 2, 3, 4 }, await StoredAsync(database));
    }

    [Fact]
    public async Task A_round_that_throws_or_breaks_a_constraint_rolls_back_only_its_own_part_and_the_others_commit_on_postgres()
    {
        var (storage, database) = await OpenAsync();
        using var _ = storage;
        await using var __ = database;
        var (holding, release) = await HoldTheTurnAsync(database);

        var first = database.InSharedTransactionAsync(Insert(database, 1, "a"));
        var failing = database.InSharedTransactionAsync<long>(async (connection, transaction) =>
        {
            await connection.ExecuteAsync("INSERT INTO widgets (id, owner) VALUES (2, 'b')", transaction: transaction);
            throw new InvalidOperationException("the round's own failure");
        });
        var duplicate = database.InSharedTransactionAsync(Insert(database, 1, "c", subject: "other")); // aborts PostgreSQL's transaction until ROLLBACK TO
        var last = database.InSharedTransactionAsync(Insert(database, 3, "d"));
        await QueuedAsync(database, 4);
        release.SetResult();
        await holding;

        Assert.Equal(10, await first);
        Assert.Equal("the round's own failure", (await Assert.ThrowsAsync<InvalidOperationException>(() => failing)).Message);
        Assert.True(PostgresDialect.Instance.IsUniqueViolation(await Assert.ThrowsAnyAsync<Exception>(() => duplicate)));
        Assert.Equal(30, await last);
        Assert.Equal(new long[] { 1L, 3 }, await StoredAsync(database));
        await using var connection = await database.OpenAsync();
        Assert.Equal("a", await connection.ExecuteScalarAsync<string>("SELECT owner FROM widgets WHERE id = 1"));
    }

    [Fact]
    public async Task A_round_that_lost_a_race_is_tried_again_without_redoing_the_others_on_postgres()
    {
        var (storage, database) = await OpenAsync();
        using var _ = storage;
        await using var __ = database;
        var ran = new ConcurrentQueue<long>();
        var attempts = 0;
        var (holding, release) = await HoldTheTurnAsync(database);

        async Task<long> RetriedAsync()
        {
            // What the incident writer's retry pipeline does with a lost race: the same work again.
            while (true)
            {
                try
                {
                    return await database.InSharedTransactionAsync(async (connection, transaction) =>
                    {
                        await Insert(database, 2, "b", ran: ran)(connection, transaction);
                        return Interlocked.Increment(ref attempts) == 1
                            ? throw new IncidentConcurrencyException("inc-1")
                            : 20L;
                    });
                }
                catch (IncidentConcurrencyException)
                {
                }
            }
        }

        var writes = new[] { database.InSharedTransactionAsync(Insert(database, 1, "a", ran: ran)), RetriedAsync(), database.InSharedTransactionAsync(Insert(database, 3, "c", ran: ran)) };
        await QueuedAsync(database, 3);
        release.SetResult();
        await holding;

        Assert.Equal(new long[] { 10L, 20, 30 }, await Task.WhenAll(writes));
        Assert.Equal(2, attempts);
        Assert.Equal(new long[] { 1L, 2, 2, 3 }, ran.Order().ToArray()); // the others ran once each
        Assert.Equal(new long[] { 1L, 2, 3 }, await StoredAsync(database));
    }

    [Fact]
    public async Task No_round_of_the_group_is_answered_or_visible_on_another_connection_before_the_commit_on_postgres()
    {
        var (storage, database) = await OpenAsync();
        using var _ = storage;
        await using var __ = database;
        var (holding, release) = await HoldTheTurnAsync(database);
        var lastRunning = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finishLast = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var first = database.InSharedTransactionAsync(Insert(database, 1, "a"));
        var second = database.InSharedTransactionAsync(Insert(database, 2, "b"));
        var last = database.InSharedTransactionAsync(async (connection, transaction) =>
        {
            var id = await Insert(database, 3, "c")(connection, transaction);
            lastRunning.SetResult();
            await finishLast.Task;
            return id;
        });
        await QueuedAsync(database, 3);
        release.SetResult();
        await holding;
        await lastRunning.Task;

        Assert.False(first.IsCompleted);
        Assert.False(second.IsCompleted);
        Assert.Empty(await StoredAsync(database));

        finishLast.SetResult();
        Assert.Equal(new long[] { 10L, 20, 30 }, await Task.WhenAll(first, second, last));
        Assert.Equal(new long[] { 1L, 2, 3 }, await StoredAsync(database));
    }

    [Fact]
    public async Task A_later_round_whose_subject_lock_is_held_elsewhere_does_not_wait_in_the_group_but_runs_alone_once_the_lock_is_free_on_postgres()
    {
        var (storage, database) = await OpenAsync();
        using var _ = storage;
        await using var __ = database;
        var ran = new ConcurrentQueue<long>();

        // Another replica's transaction holds the subject lock of widget 2.
        await using var elsewhere = new NpgsqlConnection(storage.ConnectionString);
        await elsewhere.OpenAsync();
        await using var theirs = await elsewhere.BeginTransactionAsync();
        await elsewhere.ExecuteAsync("SELECT pg_advisory_xact_lock(@key)", new { key = BotDatabase.LockKey("widget:2") }, theirs);

        var (holding, release) = await HoldTheTurnAsync(database);
        var writes = new[] { 1L, 2, 3 }.Select(id => database.InSharedTransactionAsync(Insert(database, id, "x", ran: ran))).ToArray();
        await QueuedAsync(database, 3);
        release.SetResult();
        await holding;

        // The group committed 1 and 3 without waiting for 2; 2 waits alone for the lock.
        Assert.Equal(new long[] { 10L, 30 }, await Task.WhenAll(writes[0], writes[2]).WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(new long[] { 1L, 3 }, await StoredAsync(database));
        Assert.False(writes[1].IsCompleted);

        await theirs.CommitAsync();
        Assert.Equal(20, await writes[1]);
        Assert.Equal(new long[] { 1L, 2, 2, 3 }, ran.Order().ToArray());
        Assert.Equal(new long[] { 1L, 2, 3 }, await StoredAsync(database));
    }

    [Fact]
    public async Task A_later_round_that_would_wait_for_a_row_held_elsewhere_gives_up_at_once_and_runs_alone_on_postgres()
    {
        var (storage, database) = await OpenAsync();
        using var _ = storage;
        await using var __ = database;
        await using (var connection = await database.OpenAsync())
        {
            await connection.ExecuteAsync("INSERT INTO widgets (id, owner) VALUES (7, 'before')");
        }

        await using var elsewhere = new NpgsqlConnection(storage.ConnectionString);
        await elsewhere.OpenAsync();
        await using var theirs = await elsewhere.BeginTransactionAsync();
        await elsewhere.ExecuteAsync("UPDATE widgets SET owner = 'theirs' WHERE id = 7", transaction: theirs); // holds the row

        var attempts = 0;
        var (holding, release) = await HoldTheTurnAsync(database);
        var first = database.InSharedTransactionAsync(Insert(database, 1, "a"));
        var blocked = database.InSharedTransactionAsync(async (connection, transaction) =>
        {
            Interlocked.Increment(ref attempts);
            await database.PendingLock("widget:7").TakeAsync(connection, transaction);
            await connection.ExecuteAsync("UPDATE widgets SET owner = 'ours' WHERE id = 7", transaction: transaction);
            return 70L;
        });
        var last = database.InSharedTransactionAsync(Insert(database, 3, "c"));
        await QueuedAsync(database, 3);
        release.SetResult();
        await holding;

        Assert.Equal(new long[] { 10L, 30 }, await Task.WhenAll(first, last).WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.False(blocked.IsCompleted);

        await theirs.CommitAsync();
        Assert.Equal(70, await blocked);
        Assert.Equal(2, attempts);
        await using var check = await database.OpenAsync();
        Assert.Equal("ours", await check.ExecuteScalarAsync<string>("SELECT owner FROM widgets WHERE id = 7"));
    }

    [Fact]
    public async Task Two_replicas_grouping_rounds_of_overlapping_subjects_each_store_every_round_once_without_a_deadlock_on_postgres()
    {
        var (storage, one) = await OpenAsync();
        using var _ = storage;
        await using var __ = one;
        await using var two = await storage.Replica().OpenMigratedAsync(postgresWarmConnections: 1, Widgets);
        await using (var connection = await one.OpenAsync())
        {
            await connection.ExecuteAsync("CREATE TABLE widget_counts (subject TEXT PRIMARY KEY, n BIGINT NOT NULL)");
        }

        // Each round adds one to its subject's row under its subject lock, read then written: without the lock two
        // replicas' rounds would lose updates; in reverse subject order on the second replica, groups meet head on.
        static Func<DbConnection, DbTransaction, Task<long>> Count(BotDatabase database, string subject) =>
            async (connection, transaction) =>
            {
                var pending = database.PendingLock("count:" + subject);
                var withKey = new DynamicParameters(new { subject });
                withKey.Add(TransactionLock.KeyParameter, pending.Key);
                long n;
                using (var reader = await connection.QueryMultipleAsync(pending.TakeWithNextStatement() + "SELECT COALESCE(MAX(n), 0) FROM widget_counts WHERE subject = @subject", withKey, transaction))
                {
                    pending.CheckTaken(await reader.ReadSingleAsync<int>());
                    n = await reader.ReadSingleAsync<long>();
                }

                await connection.ExecuteAsync(
                    "INSERT INTO widget_counts (subject, n) VALUES (@subject, @n) ON CONFLICT (subject) DO UPDATE SET n = excluded.n",
                    new { subject, n = n + 1 },
                    transaction);
                return n + 1;
            };

        var subjects = Enumerable.Range(0, 8).Select(i => $"s{i}").ToArray();
        const int RoundsPerSubject = 12;
        var writes = new List<Task<long>>();
        for (var r = 0; r < RoundsPerSubject; r++)
        {
            foreach (var subject in subjects)
            {
                writes.Add(Task.Run(() => one.InSharedTransactionAsync(Count(one, subject))));
            }

            foreach (var subject in subjects.Reverse())
            {
                writes.Add(Task.Run(() => two.InSharedTransactionAsync(Count(two, subject))));
            }
        }

        // No round is retried here: a deadlock (40P01) or any other failure of a round would fail this wait.
        await Task.WhenAll(writes).WaitAsync(TimeSpan.FromSeconds(60));

        await using var check = await one.OpenAsync();
        var counts = (await check.QueryAsync<(string Subject, long N)>("SELECT subject, n FROM widget_counts")).ToDictionary(c => c.Subject, c => c.N);
        Assert.All(subjects, s => Assert.Equal(2 * RoundsPerSubject, counts[s])); // every round of both replicas counted once
        // Each subject's rounds saw 1, 2, … 24 in turn: no two read the same count (they were serialized by the subject lock).
        Assert.Equal(
            Enumerable.Range(1, 2 * RoundsPerSubject).SelectMany(n => Enumerable.Repeat((long)n, subjects.Length)).ToArray(),
            writes.Select(w => w.Result).Order().ToArray());
    }
}
