using System.Collections.Concurrent;
using System.Diagnostics;
using System.Data.Common;
using ChatOpsPull.Incidents;
using ChatOpsPull.Storage;
using ChatOpsPull.Tests.Incidents;
using Dapper;

namespace ChatOpsPull.Tests.Storage;

/// <summary>
/// Group commit on the real SQLite file and on a real PostgreSQL server: writers queued for a write turn with shared work
/// (<see cref="BotDatabase.InSharedTransactionAsync{T}"/>) are run by the one handed the turn, each in its own savepoint,
/// and committed once. The PostgreSQL database has one round turn (one warm connection), so a second writer queues.
/// PostgreSQL's own hazards (locks held elsewhere, round trips) are in <see cref="PostgresTransactionGroupTests"/>.
/// </summary>
[Collection(UsesPostgres.Name)]
public sealed class TransactionGroupTests(PostgresFixture postgres)
{
    internal static readonly SchemaMigration Widgets = new("9902-group-widgets", "CREATE TABLE widgets (id {bigint} PRIMARY KEY, owner TEXT NOT NULL)");

    private async Task<(TestStorage Storage, BotDatabase Database)> OpenAsync(DatabaseProvider provider)
    {
        var storage = await Engines.StorageAsync(provider, postgres);
        return (storage, await storage.OpenMigratedAsync(postgresWarmConnections: 1, Widgets));
    }

    /// <summary>
    /// A transaction that holds the (only) write turn until <c>release</c> is set, so that writers queue behind it: a plain
    /// one on SQLite, where every writer takes the turn; a shared one, alone, where only shared rounds do (PostgreSQL).
    /// </summary>
    internal static async Task<(Task<bool> Holding, TaskCompletionSource Release)> HoldTheTurnAsync(BotDatabase database)
    {
        var holding = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Func<Func<DbConnection, DbTransaction, Task<bool>>, Task<bool>> transaction = database.Dialect.OneWriterAtATime
            ? work => database.InTransactionAsync(work)
            : work => database.InSharedTransactionAsync(work);
        var first = transaction(async (_, _) =>
        {
            holding.SetResult();
            await release.Task;
            return true;
        });
        await holding.Task;
        return (first, release);
    }

    /// <summary>
    /// A round as the incident writer makes one: its subject lock (<paramref name="subject"/>, by default one per widget)
    /// taken with its first command (on PostgreSQL; SQLite needs none), then its insert.
    /// </summary>
    internal static Func<DbConnection, DbTransaction, Task<long>> Insert(BotDatabase database, long id, string owner, ConcurrentQueue<long>? ran = null, string? subject = null) =>
        async (connection, transaction) =>
        {
            ran?.Enqueue(id);
            var pending = database.PendingLock(subject ?? $"widget:{id}");
            var take = pending.TakeWithNextStatement();
            var withKey = new DynamicParameters(new { id });
            withKey.Add(TransactionLock.KeyParameter, pending.Key);
            using (var reader = await connection.QueryMultipleAsync(take + "SELECT COUNT(*) FROM widgets WHERE id = @id", withKey, transaction))
            {
                if (take.Length > 0)
                {
                    pending.CheckTaken(await reader.ReadSingleAsync<int>());
                }

                _ = await reader.ReadSingleAsync<long>();
            }

            await connection.ExecuteAsync("INSERT INTO widgets (id, owner) VALUES (@id, @owner)", new { id, owner }, transaction);
            return id * 10;
        };

    internal static async Task<long[]> StoredAsync(BotDatabase database)
    {
        await using var connection = await database.OpenAsync();
        return (await connection.QueryAsync<long>("SELECT id FROM widgets ORDER BY id")).ToArray();
    }

    internal static async Task QueuedAsync(BotDatabase database, int writers) =>
        await Eventually.ValueAsync(() => Task.FromResult(database.WriteTurn.Waiting), n => n == writers, $"{writers} writers queued for the turn");

    /// <summary>Counts the bot's "TRANSACTION" activities under one trace (this test's), with the rounds each held.</summary>
    private sealed class TransactionCounter : IDisposable
    {
        private readonly Activity _test = new Activity("transaction-group-test").Start();
        private readonly ActivityListener _listener;
        private readonly ConcurrentQueue<int> _rounds = new();

        public TransactionCounter()
        {
            var trace = _test.TraceId;
            _listener = new ActivityListener
            {
                ShouldListenTo = s => s.Name == BotDatabase.ActivitySourceName,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
                ActivityStopped = a =>
                {
                    if (a.TraceId == trace && a.OperationName == "TRANSACTION")
                    {
                        _rounds.Enqueue(a.GetTagItem("rounds") is int n ? n : 1);
                    }
                },
            };
            ActivitySource.AddActivityListener(_listener);
        }

        /// <summary>Rounds per transaction, in the order the transactions ended.</summary>
        public IReadOnlyList<int> Transactions => [.. _rounds];

        public void Dispose()
        {
            _listener.Dispose();
            _test.Dispose();
        }
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Writers_queued_for_the_turn_commit_in_one_transaction_and_each_gets_its_own_result(DatabaseProvider provider)
    {
        var (storage, database) = await OpenAsync(provider);
        using var _ = storage;
        await using var __ = database;
        using var counter = new TransactionCounter();
        var (holding, release) = await HoldTheTurnAsync(database);

        var writes = new[] { 1L, 2, 3, 4 }.Select(id => database.InSharedTransactionAsync(Insert(database, id, $"subject-{id}"))).ToArray();
        await QueuedAsync(database, writes.Length);
        release.SetResult();
        await holding;

        Assert.Equal(new long[] { 10L, 20, 30, 40 }, await Task.WhenAll(writes));
        Assert.Equal(new long[] { 1L, 2, 3, 4 }, await StoredAsync(database));
        Assert.Equal(new[] { 1, 4 }, counter.Transactions); // the holder's own, then one for the four queued writers
        Assert.Equal(0, database.WriteTurn.Waiting);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_writer_that_throws_inside_the_group_rolls_back_only_its_own_part_and_the_others_commit(DatabaseProvider provider)
    {
        var (storage, database) = await OpenAsync(provider);
        using var _ = storage;
        await using var __ = database;
        using var counter = new TransactionCounter();
        var (holding, release) = await HoldTheTurnAsync(database);

        var first = database.InSharedTransactionAsync(Insert(database, 1, "a"));
        var failing = database.InSharedTransactionAsync<long>(async (connection, transaction) =>
        {
            await connection.ExecuteAsync("INSERT INTO widgets (id, owner) VALUES (2, 'b')", transaction: transaction);
            throw new InvalidOperationException("the round's own failure");
        });
        var duplicate = database.InSharedTransactionAsync(Insert(database, 1, "c", subject: "other")); // the first's key: a constraint error (PostgreSQL: the transaction aborted until ROLLBACK TO)
        var last = database.InSharedTransactionAsync(Insert(database, 3, "d"));
        await QueuedAsync(database, 4);
        release.SetResult();
        await holding;

        Assert.Equal(10, await first);
        Assert.Equal("the round's own failure", (await Assert.ThrowsAsync<InvalidOperationException>(() => failing)).Message);
        Assert.True(database.Dialect.IsUniqueViolation(await Assert.ThrowsAnyAsync<Exception>(() => duplicate)));
        Assert.Equal(30, await last);
        Assert.Equal(new long[] { 1L, 3 }, await StoredAsync(database));
        await using var connection = await database.OpenAsync();
        Assert.Equal("a", await connection.ExecuteScalarAsync<string>("SELECT owner FROM widgets WHERE id = 1"));
        Assert.Equal(new[] { 1, 4 }, counter.Transactions);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_writer_that_lost_a_race_is_tried_again_without_redoing_the_others(DatabaseProvider provider)
    {
        var (storage, database) = await OpenAsync(provider);
        using var _ = storage;
        await using var __ = database;
        var ran = new ConcurrentQueue<long>();
        var attempts = 0;
        var (holding, release) = await HoldTheTurnAsync(database);

        async Task<long> RetriedAsync()
        {
            // What the incident writer's retry pipeline does with a lost race: the same work again, in a transaction of its own.
            while (true)
            {
                try
                {
                    return await database.InSharedTransactionAsync(async (connection, transaction) =>
                    {
                        await Insert(database, 2, "b", ran)(connection, transaction);
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

        var writes = new[] { database.InSharedTransactionAsync(Insert(database, 1, "a", ran)), RetriedAsync(), database.InSharedTransactionAsync(Insert(database, 3, "c", ran)) };
        await QueuedAsync(database, 3);
        release.SetResult();
        await holding;

        Assert.Equal(new long[] { 10L, 20, 30 }, await Task.WhenAll(writes));
        Assert.Equal(2, attempts);
        Assert.Equal(new long[] { 1L, 2, 2, 3 }, ran.Order().ToArray()); // the others ran once each
        Assert.Equal(new long[] { 1L, 2, 3 }, await StoredAsync(database));
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task No_writer_of_the_group_is_answered_before_the_commit_that_holds_its_write(DatabaseProvider provider)
    {
        var (storage, database) = await OpenAsync(provider);
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

        // The first two writes are done inside the shared transaction, which has not committed: nobody is answered, and
        // another connection does not see them.
        Assert.False(first.IsCompleted);
        Assert.False(second.IsCompleted);
        Assert.Empty(await StoredAsync(database));

        finishLast.SetResult();
        Assert.Equal(new long[] { 10L, 20, 30 }, await Task.WhenAll(first, second, last));
        Assert.Equal(new long[] { 1L, 2, 3 }, await StoredAsync(database));
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_write_marked_to_go_ahead_rides_the_transaction_under_way_and_commits_before_the_intake_rounds_queued_behind_it(DatabaseProvider provider)
    {
        var (storage, database) = await OpenAsync(provider);
        using var _ = storage;
        await using var __ = database;
        using var counter = new TransactionCounter();
        var ran = new ConcurrentQueue<long>();
        var (holding, release) = await HoldTheTurnAsync(database);
        var leaderRunning = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finishLeader = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // Five intake rounds queue behind the holder; the first leads the next group and waits inside it.
        var intake = new List<Task<long>>
        {
            database.InSharedTransactionAsync(async (connection, transaction) =>
            {
                var id = await Insert(database, 1, "intake", ran)(connection, transaction);
                leaderRunning.SetResult();
                await finishLeader.Task;
                return id;
            }),
        };
        intake.AddRange(new[] { 2L, 3, 4, 5 }.Select(id => database.InSharedTransactionAsync(Insert(database, id, "intake", ran))));
        await QueuedAsync(database, 5);
        release.SetResult();
        await holding;
        await leaderRunning.Task;

        // A diagnosis's result queues while that group's first round runs, behind the four rounds it counted at its start.
        Task<long> diagnosis;
        using (database.WriteTurn.GoAhead())
        {
            diagnosis = database.InSharedTransactionAsync(Insert(database, 100, "diagnosis", ran));
        }

        await QueuedAsync(database, 5);
        finishLeader.SetResult();

        Assert.Equal(1000, await diagnosis);
        Assert.Equal(new long[] { 10L, 20, 30, 40, 50 }, await Task.WhenAll(intake));
        Assert.Equal(new long[] { 1L, 100, 2, 3, 4, 5 }, ran.ToArray()); // run next, not after the four
        Assert.Equal(new[] { 1, 2, 4 }, counter.Transactions); // the holder's; the leader's with the diagnosis, committed at once; the other four
        Assert.Equal(new long[] { 1L, 2, 3, 4, 5, 100 }, await StoredAsync(database));
    }

    [Fact]
    public async Task A_writer_queued_for_the_turn_without_shared_work_is_not_taken_into_a_group()
    {
        var (storage, database) = await OpenAsync(DatabaseProvider.Sqlite); // on PostgreSQL plain writers take no turn
        using var _ = storage;
        await using var __ = database;
        using var counter = new TransactionCounter();
        var (holding, release) = await HoldTheTurnAsync(database);

        var shared = database.InSharedTransactionAsync(Insert(database, 1, "a"));
        var own = database.InTransactionAsync(Insert(database, 2, "b"));
        var sharedAfter = database.InSharedTransactionAsync(Insert(database, 3, "c"));
        await QueuedAsync(database, 3);
        release.SetResult();
        await holding;

        Assert.Equal(new long[] { 10L, 20, 30 }, await Task.WhenAll(shared, own, sharedAfter));
        // The holder's; the first shared writer's, which takes the shared writer queued behind the plain one along; the
        // plain writer's own, after that commit.
        Assert.Equal(new[] { 1, 2, 1 }, counter.Transactions);
    }
}
