using System.Collections.Concurrent;
using System.Data.Common;
using ChatOpsPull.Incidents;
using ChatOpsPull.Storage;
using ChatOpsPull.Tests.Incidents;
using Dapper;
using Npgsql;

namespace ChatOpsPull.Tests.Storage;

/// <summary>
/// Group commit's PostgreSQL hazards on a real server (what both engines share is in <see cref="TransactionGroupTests"/>):
/// what a group costs in round trips, a later round whose subject lock or row is held by another transaction (it must not
/// wait inside the group: it runs again alone), and two replicas grouping rounds of the same subjects. The database has one
/// round turn (one warm connection), so a second writer queues.
/// </summary>
[Collection(UsesPostgres.Name)]
public sealed class PostgresTransactionGroupTests(PostgresFixture postgres)
{
    private async Task<(TestStorage Storage, BotDatabase Database)> OpenAsync()
    {
        var storage = await TestStorage.PostgresAsync(postgres);
        return (storage, await storage.OpenMigratedAsync(postgresWarmConnections: 1, TransactionGroupTests.Widgets));
    }

    private static Func<DbConnection, DbTransaction, Task<long>> Insert(BotDatabase database, long id, string owner, string? subject = null, ConcurrentQueue<long>? ran = null) =>
        TransactionGroupTests.Insert(database, id, owner, ran, subject);

    [Fact]
    public async Task Four_queued_rounds_cost_two_round_trips_each_and_one_commit_on_postgres()
    {
        var (storage, database) = await OpenAsync();
        using var _ = storage;
        await using var __ = database;
        var (holding, release) = await TransactionGroupTests.HoldTheTurnAsync(database);

        var sent = await SentToPostgres.CountAsync(async () =>
        {
            var writes = new[] { 1L, 2, 3, 4 }.Select(id => database.InSharedTransactionAsync(Insert(database, id, $"subject-{id}"))).ToArray();
            await TransactionGroupTests.QueuedAsync(database, writes.Length);
            release.SetResult();
            await Task.WhenAll(writes);
        });
        await holding;

        // Each round: its lock with its read (the SAVEPOINT travels with that command), its insert; then one COMMIT for all
        // four. Alone they cost 4 × 3.
        Assert.Equal(9, sent.RoundTrips);
        Assert.Equal(1, sent.Commits);
        Assert.Equal(new long[] { 1L, 2, 3, 4 }, await TransactionGroupTests.StoredAsync(database));
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

        var (holding, release) = await TransactionGroupTests.HoldTheTurnAsync(database);
        var writes = new[] { 1L, 2, 3 }.Select(id => database.InSharedTransactionAsync(Insert(database, id, "x", ran: ran))).ToArray();
        await TransactionGroupTests.QueuedAsync(database, 3);
        release.SetResult();
        await holding;

        // The group committed 1 and 3 without waiting for 2; 2 waits alone for the lock.
        Assert.Equal(new long[] { 10L, 30 }, await Task.WhenAll(writes[0], writes[2]).WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(new long[] { 1L, 3 }, await TransactionGroupTests.StoredAsync(database));
        Assert.False(writes[1].IsCompleted);

        await theirs.CommitAsync();
        Assert.Equal(20, await writes[1]);
        Assert.Equal(new long[] { 1L, 2, 2, 3 }, ran.Order().ToArray());
        Assert.Equal(new long[] { 1L, 2, 3 }, await TransactionGroupTests.StoredAsync(database));
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
        var (holding, release) = await TransactionGroupTests.HoldTheTurnAsync(database);
        var first = database.InSharedTransactionAsync(Insert(database, 1, "a"));
        var blocked = database.InSharedTransactionAsync(async (connection, transaction) =>
        {
            Interlocked.Increment(ref attempts);
            await database.PendingLock("widget:7").TakeAsync(connection, transaction);
            await connection.ExecuteAsync("UPDATE widgets SET owner = 'ours' WHERE id = 7", transaction: transaction);
            return 70L;
        });
        var last = database.InSharedTransactionAsync(Insert(database, 3, "c"));
        await TransactionGroupTests.QueuedAsync(database, 3);
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
        await using var two = await storage.Replica().OpenMigratedAsync(postgresWarmConnections: 1, TransactionGroupTests.Widgets);
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
