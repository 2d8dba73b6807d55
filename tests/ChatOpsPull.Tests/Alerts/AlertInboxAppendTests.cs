using ChatOpsPull.Detection.Webhooks;
using ChatOpsPull.Detection.Webhooks.Inbox;
using ChatOpsPull.Incidents;
using ChatOpsPull.Storage;
using ChatOpsPull.Tests.Incidents;
using ChatOpsPull.Tests.Storage;
using Dapper;
using Xunit.Abstractions;
using static ChatOpsPull.Tests.Alerts.InboxRigs;

namespace ChatOpsPull.Tests.Alerts;

/// <summary>
/// The alert inbox's appends on a real SQLite file and a real PostgreSQL database (the host's own drain left out): requests
/// that arrive together share one commit, each answered only once its rows are committed; on PostgreSQL a round is one
/// round trip, all or nothing.
/// </summary>
[Collection(UsesPostgres.Name)]
public sealed class AlertInboxAppendTests(PostgresFixture postgres, ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Requests_arriving_while_a_round_is_written_share_the_next_commit_and_none_is_answered_before_its_rows_are_committed(DatabaseProvider provider)
    {
        const int requests = 8;
        await using var rig = await StartAsync(provider);
        var inbox = rig.Get<AlertInbox>();
        var database = rig.Get<BotDatabase>();
        await inbox.AppendAsync([Firing("warm-1", "warm")], default);
        var before = inbox.Counts;

        // The store's write is held up (SQLite: another writer of this process holds the write turn; PostgreSQL: another
        // session holds the table's lock), so every request arrives while the first round waits to be written.
        var blocker = await HoldWritesAsync(provider, database);
        var appends = new List<Task>();
        for (var i = 0; i < requests; i++)
        {
            appends.Add(inbox.AppendAsync([Firing($"api-{i}")], default));
            await Eventually.HoldsAsync(() => inbox.Accepting.InFlight == i + 1, "the request to hand its rows to the inbox");
        }

        await Task.Delay(50); // not a timing assertion: a request answered early would have had the time to be
        Assert.DoesNotContain(appends, a => a.IsCompleted);
        await blocker.DisposeAsync();
        await Task.WhenAll(appends);

        var counts = inbox.Counts - before;
        output.WriteLine($"{counts.Requests} requests, {counts.Commits} commits");
        Assert.Equal(requests, counts.Requests);
        if (provider == DatabaseProvider.Sqlite)
        {
            // The round takes the requests waiting once it holds the write turn: all of them, one commit (it was two: the
            // first request's round, then the seven that came while it waited for the turn).
            Assert.Equal(1, counts.Commits);
        }
        else
        {
            // Up to InboxRoundsAtOnce rounds (each alone, or with the others that came before its writer started), then
            // the rest that came while they waited: one more commit.
            Assert.InRange(counts.Commits, 1, inbox.RoundsAtOnce + 1);
            Assert.True(counts.Commits < requests, $"{counts.Commits} commits for {requests} requests: they did not share");
        }

        Assert.Equal(requests + 1, await inbox.CountAsync());
    }

    [Fact]
    public async Task On_postgres_a_request_arriving_while_a_round_is_written_starts_the_next_round_at_once_up_to_InboxRoundsAtOnce_and_later_ones_share_one()
    {
        await using var rig = await InboxRigs.StartWithoutDrainAsync(DatabaseProvider.Postgres, postgres, settings: new() { ["Alerts:InboxRoundsAtOnce"] = "2" });
        var inbox = rig.Get<AlertInbox>();
        var database = rig.Get<BotDatabase>();
        await inbox.AppendAsync([Firing("warm-1", "warm")], default);
        var before = inbox.Counts;

        // Another session holds the table: every round's INSERT waits for it on the server, each on its own connection.
        await using var holder = await database.OpenAsync();
        await using var transaction = await holder.BeginTransactionAsync();
        await holder.ExecuteAsync("LOCK TABLE alert_inbox IN EXCLUSIVE MODE", transaction: transaction);
        Task<long> WaitingInserts() => holder.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM pg_locks WHERE NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())", transaction: transaction);

        var first = inbox.AppendAsync([Firing("api-1")], default);
        await Eventually.ValueAsync(WaitingInserts, n => n == 1, "the first round's INSERT to reach the server");
        // Not behind the first round's commit: its own round, in flight beside it.
        var second = inbox.AppendAsync([Firing("web-1", "web")], default);
        await Eventually.ValueAsync(WaitingInserts, n => n == 2, "the second round's INSERT to reach the server while the first waits");
        // Two rounds in flight, as many as allowed: these wait for one of them, and go together.
        var later = new[] { inbox.AppendAsync([Firing("api-2")], default), inbox.AppendAsync([Firing("db-1", "db")], default) };
        await Eventually.HoldsAsync(() => inbox.Accepting.InFlight == 4, "the later requests to hand their rows to the inbox");
        await Task.Delay(100); // not a timing assertion: a third round would have had the time to reach the server
        Assert.Equal(2, await WaitingInserts());
        Assert.DoesNotContain([first, second, .. later], a => a.IsCompleted);

        await transaction.RollbackAsync();
        await Task.WhenAll([first, second, .. later]);

        var counts = inbox.Counts - before;
        output.WriteLine($"{counts.Requests} requests, {counts.Commits} commits");
        Assert.Equal(4, counts.Requests);
        Assert.Equal(3, counts.Commits);
        Assert.Equal(5, await inbox.CountAsync());
    }

    [Fact]
    public async Task On_postgres_a_round_that_commits_after_a_later_round_of_its_subject_was_applied_is_still_applied_once()
    {
        await using var rig = await InboxRigs.StartWithoutDrainAsync(DatabaseProvider.Postgres, postgres, settings: new() { ["Alerts:InboxRoundsAtOnce"] = "2" });
        var inbox = rig.Get<AlertInbox>();
        // On the real clock: it gives way (briefly) to the request still waiting for its round.
        var drain = new AlertInboxDrain(inbox, rig.Engine, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<AlertInboxDrain>.Instance);
        // The row of pod api-held waits on the server (for an advisory lock this test holds) after its id was taken.
        await ExecuteAsync(rig, """
            CREATE FUNCTION test_hold_row() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.alerts LIKE '%api-held%' THEN PERFORM pg_advisory_xact_lock(4242); END IF;
              RETURN NEW;
            END $$;
            CREATE TRIGGER test_hold_row BEFORE INSERT ON alert_inbox FOR EACH ROW EXECUTE FUNCTION test_hold_row();
            """);
        await using var holder = await rig.Get<BotDatabase>().OpenAsync();
        await holder.ExecuteAsync("SELECT pg_advisory_lock(4242)");

        var held = inbox.AppendAsync([Firing("api-held")], default);
        await Eventually.ValueAsync(
            () => holder.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM pg_locks WHERE NOT granted AND locktype = 'advisory'"),
            n => n == 1,
            "the held round's INSERT to wait for the lock");
        // The same subject's next request is answered while the first round is still uncommitted, and its row (the larger
        // id) is applied first.
        await inbox.AppendAsync([Firing("api-2")], default).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(held.IsCompleted);
        Assert.Equal(1, await drain.ApplyBatchAsync(default));
        Assert.Equal(["api-2"], Assert.Single(await rig.Store.ListOpenAsync()).Pods.Select(p => p.Pod));

        await holder.ExecuteAsync("SELECT pg_advisory_unlock(4242)");
        await held;
        Assert.Equal(1, await drain.ApplyBatchAsync(default));
        Assert.Equal(0, await drain.ApplyBatchAsync(default));
        Assert.Equal(["api-2", "api-held"], Assert.Single(await rig.Store.ListOpenAsync()).Pods.Select(p => p.Pod).Order());

        await inbox.AppendAsync([Resolved("api-held"), Resolved("api-2")], default);
        Assert.Equal(1, await drain.ApplyBatchAsync(default));
        Assert.Empty(await rig.Store.ListOpenAsync());
        Assert.Equal(0, await inbox.CountAsync());
        var actions = (await rig.Audit.RecentAsync(10)).Select(a => a.Action).Order().ToList();
        Assert.Equal([AuditActions.IncidentOpened, AuditActions.IncidentResolved], actions);
    }

    [Fact]
    public async Task An_inbox_round_on_postgres_is_one_round_trip_its_insert_committed_without_a_begin_or_commit_of_its_own()
    {
        await using var rig = await StartAsync(DatabaseProvider.Postgres);
        var inbox = rig.Get<AlertInbox>();
        await inbox.AppendAsync([Firing("warm-1", "warm")], default);

        var sent = await SentToPostgres.CountAsync(() => inbox.AppendAsync([Firing("api-1"), Firing("web-1", "web")], default));

        output.WriteLine(sent.Describe());
        Assert.Equal(1, sent.RoundTrips); // it was two: the INSERT (with BEGIN), then COMMIT
        Assert.Equal(0, sent.Commits);
        Assert.StartsWith("INSERT INTO alert_inbox", Assert.Single(sent.Texts), StringComparison.Ordinal);
        Assert.Equal(3, await inbox.CountAsync());
    }

    [Fact]
    public async Task A_round_of_several_insert_statements_on_postgres_is_stored_all_or_nothing()
    {
        await using var rig = await StartAsync(DatabaseProvider.Postgres);
        var inbox = rig.Get<AlertInbox>();
        // The 250th subject's row (in the round's second INSERT statement) is refused: the first statement's 200 rows must
        // not stay behind either, and the request fails (503 at the webhook, Alertmanager sends it again).
        await ExecuteAsync(rig, """
            CREATE FUNCTION test_refuse_row() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.subject LIKE '%/w249' THEN RAISE EXCEPTION 'the test refuses the row'; END IF;
              RETURN NEW;
            END $$;
            CREATE TRIGGER test_refuse_row BEFORE INSERT ON alert_inbox FOR EACH ROW EXECUTE FUNCTION test_refuse_row();
            """);
        PullAlert[] alerts = [.. Enumerable.Range(0, 250).Select(w => Firing($"w{w}-1", $"w{w}"))];

        await Assert.ThrowsAnyAsync<Exception>(() => inbox.AppendAsync(alerts, default));
        Assert.Equal(0, await inbox.CountAsync());

        await ExecuteAsync(rig, "DROP TRIGGER test_refuse_row ON alert_inbox");
        await inbox.AppendAsync(alerts, default);
        Assert.Equal(250, await inbox.CountAsync());
    }

    /// <summary>Holds the store's inbox writes up until disposed.</summary>
    private static async Task<IAsyncDisposable> HoldWritesAsync(DatabaseProvider provider, BotDatabase database)
    {
        if (provider == DatabaseProvider.Sqlite)
        {
            // Taken in a flow of its own: the inbox's writer, started from the test's flow, must not count as its holder.
            return new HeldTurn(await Task.Run(() => database.WriteTurn.TakeAsync(default).AsTask()));
        }

        var connection = await database.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        await connection.ExecuteAsync("LOCK TABLE alert_inbox IN EXCLUSIVE MODE", transaction: transaction);
        return new HeldLock(connection, transaction);
    }

    private Task<EngineRig> StartAsync(DatabaseProvider provider) => InboxRigs.StartWithoutDrainAsync(provider, postgres);

    private sealed class HeldTurn(SqliteWriteTurn.Pass pass) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            pass.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    private sealed class HeldLock(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await transaction.RollbackAsync();
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
        }
    }
}
