using ChatOpsPull.Detection.Webhooks;
using ChatOpsPull.Detection.Webhooks.Inbox;
using ChatOpsPull.Incidents;
using ChatOpsPull.Storage;
using ChatOpsPull.Tests.Incidents;
using ChatOpsPull.Tests.Storage;
using Dapper;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;
using static ChatOpsPull.Tests.Alerts.InboxRigs;

namespace ChatOpsPull.Tests.Alerts;

/// <summary>
/// The alert inbox drain on a real SQLite file and a real PostgreSQL database, driven batch by batch (the host's own drain
/// is left out): a subject's rows leave the inbox in the transaction that applies them, replicas do not apply the same
/// rows, and a batch is bounded by time.
/// </summary>
[Collection(UsesPostgres.Name)]
public sealed class AlertInboxDrainTests(PostgresFixture postgres, ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_fire_then_resolve_pair_whose_transaction_fails_is_not_applied_and_is_applied_once_when_tried_again(DatabaseProvider provider)
    {
        await using var rig = await StartAsync(provider);
        var inbox = rig.Get<AlertInbox>();
        await inbox.AppendAsync([Firing("api-1"), Firing("api-2")], default);
        await inbox.AppendAsync([Resolved("api-1"), Resolved("api-2")], default);
        var drain = DrainOf(rig);

        // The inbox refuses to give up its rows: the transaction that applied them must take nothing with it.
        await ExecuteAsync(rig, provider == DatabaseProvider.Sqlite
            ? "CREATE TRIGGER test_inbox_keeps_rows BEFORE DELETE ON alert_inbox BEGIN SELECT RAISE(ABORT, 'the test keeps the inbox rows'); END;"
            : """
              CREATE FUNCTION test_inbox_keeps_rows() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the test keeps the inbox rows'; END $$;
              CREATE TRIGGER test_inbox_keeps_rows BEFORE DELETE ON alert_inbox FOR EACH ROW EXECUTE FUNCTION test_inbox_keeps_rows();
              """);
        await Assert.ThrowsAnyAsync<Exception>(() => drain.ApplyBatchAsync(default));
        Assert.Equal(2, await inbox.CountAsync());
        Assert.Empty(await rig.Audit.RecentAsync(10));
        Assert.Empty(await rig.Store.ListOpenAsync());

        await ExecuteAsync(rig, "DROP TRIGGER test_inbox_keeps_rows" + (provider == DatabaseProvider.Sqlite ? string.Empty : " ON alert_inbox"));
        Assert.Equal(2, await drain.ApplyBatchAsync(default));
        Assert.Equal(0, await drain.ApplyBatchAsync(default));

        Assert.Equal(0, await inbox.CountAsync());
        Assert.Empty(await rig.Store.ListOpenAsync());
        var actions = (await rig.Audit.RecentAsync(10)).Select(a => a.Action).Order().ToList();
        Assert.Equal([AuditActions.IncidentOpened, AuditActions.IncidentResolved], actions);
    }

    [Fact]
    public async Task Two_replicas_draining_one_inbox_on_postgres_apply_every_fire_then_resolve_pair_once()
    {
        await using var first = await StartAsync(DatabaseProvider.Postgres);
        await using var second = await StartAsync(DatabaseProvider.Postgres, first.Storage.Replica());
        var inbox = first.Get<AlertInbox>();
        var workloads = Enumerable.Range(0, 8).Select(i => $"svc{i}").ToList();
        foreach (var workload in workloads)
        {
            await inbox.AppendAsync([Firing($"{workload}-1", workload), Firing($"{workload}-2", workload)], default);
            await inbox.AppendAsync([Resolved($"{workload}-1", workload), Resolved($"{workload}-2", workload)], default);
        }

        var drains = new[] { DrainOf(first), DrainOf(second) };
        await Task.WhenAll(drains.Select(drain => Task.Run(async () =>
        {
            while (await drain.ApplyBatchAsync(default) > 0)
            {
            }
        })));

        Assert.Equal(0, await inbox.CountAsync());
        var actions = (await first.Audit.RecentAsync(100)).Select(a => a.Action).ToList();
        Assert.Equal(workloads.Count, actions.Count(a => a == AuditActions.IncidentOpened));
        Assert.Equal(workloads.Count, actions.Count(a => a == AuditActions.IncidentResolved));
        Assert.DoesNotContain(AuditActions.IncidentReopened, actions);
    }

    [Fact]
    public async Task A_row_another_replica_is_applying_on_postgres_is_skipped_not_waited_for()
    {
        await using var rig = await StartAsync(DatabaseProvider.Postgres);
        var inbox = rig.Get<AlertInbox>();
        await inbox.AppendAsync([Firing("api-1")], default);
        await inbox.AppendAsync([Firing("web-1", "web")], default);
        var database = rig.Get<BotDatabase>();

        // "Another replica" holds the oldest row in its open transaction.
        await using var connection = await database.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var held = await connection.ExecuteScalarAsync<long>("SELECT id FROM alert_inbox ORDER BY id LIMIT 1 FOR UPDATE", transaction: transaction);

        var seen = await inbox.OldestAsync(10, alertsOfEveryRow: false, default);
        var entry = Assert.Single(seen);
        Assert.NotEqual(held, entry.Id);
        Assert.Equal(1, await DrainOf(rig).ApplyBatchAsync(default));
        Assert.Equal("web-1", Assert.Single(Assert.Single(await rig.Store.ListOpenAsync()).Pods).Pod);
        await transaction.RollbackAsync();
        Assert.Equal(1, await inbox.CountAsync());
    }

    [Fact]
    public async Task A_fire_a_batch_passed_over_on_postgres_is_still_applied_before_the_resolve_after_it()
    {
        await using var rig = await StartAsync(DatabaseProvider.Postgres);
        var inbox = rig.Get<AlertInbox>();
        await inbox.AppendAsync([Firing("api-1")], default);
        await inbox.AppendAsync([Resolved("api-1")], default);

        // Another replica's batch holds the fire's row for a moment: this batch passes over it and sees only the resolve.
        await using var connection = await rig.Get<BotDatabase>().OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await connection.ExecuteScalarAsync<long>("SELECT id FROM alert_inbox ORDER BY id LIMIT 1 FOR UPDATE", transaction: transaction);
        var batch = DrainOf(rig).ApplyBatchAsync(default);
        await Eventually.ValueAsync(
            () => connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM pg_locks WHERE NOT granted", transaction: transaction),
            waiting => waiting > 0 || batch.IsCompleted,
            "the batch to wait for the fire's row");
        await transaction.RollbackAsync();
        await batch;

        Assert.Equal(0, await inbox.CountAsync());
        Assert.Empty(await rig.Store.ListOpenAsync());
        var actions = (await rig.Audit.RecentAsync(10)).Select(a => a.Action).Order().ToList();
        Assert.Equal([AuditActions.IncidentOpened, AuditActions.IncidentResolved], actions);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_batch_whose_time_is_up_starts_no_further_wave_of_subjects_and_leaves_its_rows_for_the_next(DatabaseProvider provider)
    {
        await using var rig = await StartAsync(provider);
        var inbox = rig.Get<AlertInbox>();
        await inbox.AppendAsync([Firing("api-1"), Firing("web-1", "web"), Firing("db-1", "db")], default);
        Assert.Equal(3, await inbox.CountAsync()); // one row per subject

        // Each look at the clock finds a whole batch time gone; a wave of one subject.
        var drain = new AlertInboxDrain(inbox, rig.Engine, new SteppingClock(AlertInboxDrain.BatchTime), NullLogger<AlertInboxDrain>.Instance) { SubjectsAtOnce = 1 };
        Assert.Equal(1, await drain.ApplyBatchAsync(default));
        Assert.Equal(2, await inbox.CountAsync());
        Assert.Equal(["api-1"], (await rig.Store.ListOpenAsync()).SelectMany(i => i.Pods).Select(p => p.Pod));

        Assert.Equal(1, await drain.ApplyBatchAsync(default));
        Assert.Equal(1, await drain.ApplyBatchAsync(default));
        Assert.Equal(0, await inbox.CountAsync());
        Assert.Equal(3, (await rig.Store.ListOpenAsync()).Count);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task While_a_request_waits_for_the_inbox_the_drain_applies_one_subject_at_a_time_gives_way_before_each_and_goes_on_once_its_pause_is_over(DatabaseProvider provider)
    {
        await using var rig = await StartAsync(provider);
        var inbox = rig.Get<AlertInbox>();
        await inbox.AppendAsync([Firing("api-1"), Firing("web-1", "web")], default);
        var drain = DrainOf(rig); // on the rig's fake clock: a pause ends only when the test moves the clock

        // A request is waiting for its answer all along: the drain must still get through, one bounded pause per subject.
        using var waiting = inbox.Accepting.Begin();
        var batch = drain.ApplyBatchAsync(default);
        await Eventually.HoldsAsync(() => drain.Yields == 1, "the drain to give way before its first subject");
        Assert.False(batch.IsCompleted);
        Assert.Empty(await rig.Store.ListOpenAsync());
        Assert.Equal(2, await inbox.CountAsync());

        await Eventually.ValueAsync(
            () =>
            {
                rig.Time.Advance(AlertInboxDrain.YieldSlice);
                return Task.FromResult(batch.IsCompleted);
            },
            done => done,
            "the batch to finish while the request still waits");
        Assert.Equal(2, await batch);
        Assert.Equal(2, drain.Yields);
        Assert.Equal(0, await inbox.CountAsync());
        Assert.Equal(2, (await rig.Store.ListOpenAsync()).Count);
    }

    [Fact]
    public async Task While_a_request_waits_on_sqlite_the_drain_applies_a_subject_one_row_per_round_and_gives_way_between_its_rows()
    {
        await using var rig = await StartAsync(DatabaseProvider.Sqlite);
        var inbox = rig.Get<AlertInbox>();
        // Three requests for one workload: three rows of one subject (a storm's usual shape).
        foreach (var pod in new[] { "api-1", "api-2", "api-3" })
        {
            await inbox.AppendAsync([Firing(pod)], default);
        }

        var drain = DrainOf(rig); // on the rig's fake clock: a pause ends only when the test moves the clock
        using var waiting = inbox.Accepting.Begin();
        var batch = drain.ApplyBatchAsync(default);
        await Eventually.HoldsAsync(() => drain.Yields == 1, "the drain to give way before the subject's first row");
        rig.Time.Advance(AlertInboxDrain.MaxYield);

        // Within the subject: after its first row the drain gives way again, the subject's other rows still in the inbox
        // (the write turn a waiting request needs was held for one row's incident writes, not for the subject's three).
        await Eventually.HoldsAsync(() => drain.Yields == 2, "the drain to give way again within the subject");
        Assert.Equal(2, await inbox.CountAsync());
        Assert.Equal(["api-1"], Assert.Single(await rig.Store.ListOpenAsync()).Pods.Select(p => p.Pod));

        await Eventually.ValueAsync(
            () =>
            {
                rig.Time.Advance(AlertInboxDrain.YieldSlice); // small steps: a step taken while a row applies counts as batch time
                return Task.FromResult(batch.IsCompleted);
            },
            done => done,
            "the batch to finish while the request still waits");
        Assert.Equal(3, await batch);
        Assert.Equal(3, drain.Counts.SubjectRounds);
        Assert.Equal(3, drain.Counts.WavesWhileRequestsWait);
        Assert.Equal(0, await inbox.CountAsync());
        Assert.Equal(["api-1", "api-2", "api-3"], Assert.Single(await rig.Store.ListOpenAsync()).Pods.Select(p => p.Pod).Order(StringComparer.Ordinal));
        Assert.Single(rig.Notifier.Calls, c => c.Change == IncidentChange.Opened); // the opening told once
    }

    [Fact]
    public async Task Requests_that_arrived_on_sqlite_since_the_drain_last_looked_keep_its_rounds_to_one_row_though_none_waits_at_that_instant()
    {
        await using var rig = await StartAsync(DatabaseProvider.Sqlite);
        var inbox = rig.Get<AlertInbox>();
        var drain = DrainOf(rig); // the fake clock never moves: a pause would never end
        await inbox.AppendAsync([Firing("api-1")], default);
        await inbox.AppendAsync([Firing("api-2")], default);

        // Both requests were answered: none waits now, but they came since the drain last looked (a steady load between
        // two commits): the subject's rows go one per round, without a pause (nobody waits for the turn this instant).
        Assert.Equal(0, inbox.Accepting.InFlight);
        Assert.Equal(2, await drain.ApplyBatchAsync(default));
        Assert.Equal(2, drain.Counts.SubjectRounds);
        Assert.Equal(0, drain.Yields);

        // A drain that saw no request arrive applies the subject's rows of its batch whole, in one round.
        await inbox.AppendAsync([Firing("api-3")], default);
        await inbox.AppendAsync([Firing("api-4")], default);
        var quiet = DrainOf(rig);
        Assert.Equal(2, await quiet.ApplyBatchAsync(default));
        Assert.Equal(1, quiet.Counts.SubjectRounds);
        Assert.Equal(["api-1", "api-2", "api-3", "api-4"], Assert.Single(await rig.Store.ListOpenAsync()).Pods.Select(p => p.Pod).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task On_postgres_requests_that_came_but_wait_no_more_leave_a_subject_s_rows_in_one_round_inbox_rounds_take_no_turn_there()
    {
        await using var rig = await StartAsync(DatabaseProvider.Postgres);
        var inbox = rig.Get<AlertInbox>();
        var drain = DrainOf(rig); // the fake clock never moves: a pause would never end
        await inbox.AppendAsync([Firing("api-1")], default);
        await inbox.AppendAsync([Firing("api-2")], default);

        Assert.Equal(2, await drain.ApplyBatchAsync(default));
        Assert.Equal(1, drain.Counts.SubjectRounds);
        Assert.Equal(0, drain.Yields);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task With_no_request_waiting_the_drain_applies_every_subject_without_a_pause(DatabaseProvider provider)
    {
        await using var rig = await StartAsync(provider);
        var inbox = rig.Get<AlertInbox>();
        await inbox.AppendAsync([Firing("api-1"), Firing("web-1", "web"), Firing("db-1", "db")], default);
        var drain = DrainOf(rig); // the fake clock never moves: a pause would never end

        Assert.Equal(0, inbox.Accepting.InFlight);
        Assert.Equal(3, await drain.ApplyBatchAsync(default));
        Assert.Equal(0, drain.Yields);
        Assert.Equal(3, (await rig.Store.ListOpenAsync()).Count);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_batch_of_many_subjects_is_applied_in_a_few_shared_transactions_not_one_per_subject_each_alert_in_one_incident(DatabaseProvider provider)
    {
        const int subjects = 24;
        // The production pool (on PostgreSQL: 24 warm connections, the default write turns), not the test hosts' two.
        await using var rig = await StartAsync(provider, settings: new()
        {
            ["Storage:PostgresWarmConnections"] = new StorageOptions().PostgresWarmConnections.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        var inbox = rig.Get<AlertInbox>();
        // Two requests, each with one alert of every subject: two rows per subject, each workload on an image of its own
        // (no storm rolls them up).
        for (var request = 1; request <= 2; request++)
        {
            await inbox.AppendAsync([.. Enumerable.Range(0, subjects).Select(w => Firing($"w{w}-{request}", $"w{w}", $"registry.example.com/shop/w{w}:1"))], default);
        }

        Assert.Equal(2 * subjects, await inbox.CountAsync());
        using var transactions = new TransactionRounds();
        var applied = 0;
        await transactions.CountAsync(async () => applied = await DrainOf(rig).ApplyBatchAsync(default));

        output.WriteLine($"transactions (rounds each): {string.Join(", ", transactions.Rounds)}");
        Assert.Equal(2 * subjects, applied);
        Assert.Equal(0, await inbox.CountAsync());
        // One after another, every subject was a transaction of its own: 24. Applied at once, their rounds queue for the
        // write turns together and ride the commits of the few callers handed one. How few depends on how soon the 24 flows
        // reach the turns: on PostgreSQL (several turns, the first callers each handed one with nothing queued yet) it was
        // 8-11 transactions with the test host squeezed onto one core, 2-3 on SQLite; at most two thirds is the promise.
        Assert.True(transactions.Rounds.Count <= subjects * 2 / 3, $"{transactions.Rounds.Count} transactions ({string.Join(", ", transactions.Rounds)} rounds) held the {subjects} subjects");
        Assert.Contains(transactions.Rounds, r => r >= 2);
        var open = await rig.Store.ListOpenAsync();
        Assert.Equal(subjects, open.Count);
        Assert.All(open, i => Assert.Equal(2, i.ActivePodCount));
        foreach (var incident in open)
        {
            Assert.Single(await rig.Audit.ForIncidentAsync(incident.Id), a => a.Action == AuditActions.IncidentOpened);
        }

        var opened = rig.Notifier.Calls.Where(c => c.Change == IncidentChange.Opened).Select(c => c.Incident.Id).Order(StringComparer.Ordinal);
        Assert.Equal(open.Select(i => i.Id).Order(StringComparer.Ordinal), opened); // each opening told once
    }

    [Fact]
    public async Task A_subject_s_rows_are_claimed_with_its_lock_and_removed_in_one_round_trip_on_postgres()
    {
        await using var rig = await StartAsync(DatabaseProvider.Postgres);
        var inbox = rig.Get<AlertInbox>();
        var drain = DrainOf(rig);
        await inbox.AppendAsync([Firing("api-1")], default);
        Assert.Equal(1, await drain.ApplyBatchAsync(default)); // the incident is open, the code warm
        await inbox.AppendAsync([Firing("api-2")], default);
        await inbox.AppendAsync([Firing("api-3")], default);
        drain = DrainOf(rig); // one that did not see those requests arrive (it would apply a row per round while they come)

        var sent = await SentToPostgres.CountAsync(async () => Assert.Equal(2, await drain.ApplyBatchAsync(default)));

        output.WriteLine(sent.Describe());
        // The batch's read of ids and subjects, then one command for the subject lock and its rows taken out of the inbox
        // (it was three: the lock, the rows read FOR UPDATE, their DELETE).
        var inboxCommands = sent.Texts.Where(t => t.Contains("alert_inbox", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, inboxCommands.Count);
        Assert.Contains("SELECT id, subject", inboxCommands[0], StringComparison.Ordinal);
        Assert.Contains("pg_advisory_xact_lock", inboxCommands[1], StringComparison.Ordinal);
        Assert.Contains("DELETE FROM alert_inbox", inboxCommands[1], StringComparison.Ordinal);
        Assert.DoesNotContain(sent.Texts, t => t.Contains("pg_advisory_xact_lock", StringComparison.Ordinal) && !t.Contains("alert_inbox", StringComparison.Ordinal));
        Assert.Equal(0, await inbox.CountAsync());
        Assert.Equal(["api-1", "api-2", "api-3"], Assert.Single(await rig.Store.ListOpenAsync()).Pods.Select(p => p.Pod).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_request_marks_itself_waiting_only_until_its_append_is_committed_or_refused_so_a_store_fault_leaves_the_drain_no_pause()
    {
        await using var rig = await StartAsync(DatabaseProvider.Sqlite);
        var inbox = rig.Get<AlertInbox>();
        await inbox.AppendAsync([Firing("api-1")], default);
        Assert.Equal((0, 1L), (inbox.Accepting.InFlight, inbox.Accepting.Started));

        await ExecuteAsync(rig, "CREATE TRIGGER test_inbox_refuses BEFORE INSERT ON alert_inbox BEGIN SELECT RAISE(ABORT, 'the test refuses the row'); END;");
        await Assert.ThrowsAnyAsync<Exception>(() => inbox.AppendAsync([Firing("web-1", "web")], default));
        Assert.Equal((0, 2L), (inbox.Accepting.InFlight, inbox.Accepting.Started));

        var drain = DrainOf(rig); // the fake clock never moves: a pause would never end
        Assert.Equal(1, await drain.ApplyBatchAsync(default));
        Assert.Equal(0, drain.Yields);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_row_the_drain_cannot_read_is_quarantined_with_a_log_line_once_and_the_rows_around_it_are_applied(DatabaseProvider provider)
    {
        await using var rig = await StartAsync(provider);
        var inbox = rig.Get<AlertInbox>();
        await inbox.AppendAsync([Firing("api-1")], default);
        await inbox.AppendAsync([Firing("api-2")], default);
        await inbox.AppendAsync([Firing("web-1", "web")], default);
        await inbox.AppendAsync([Firing("db-1", "db")], default);
        // Damaged rows: the second valid JSON of the wrong shape, the fourth not JSON at all (the only row of its subject).
        await ExecuteAsync(rig, """UPDATE alert_inbox SET alerts = '{"status":"firing","labels":{"pod":"api-2"}}' WHERE id = (SELECT id FROM alert_inbox ORDER BY id LIMIT 1 OFFSET 1)""");
        await ExecuteAsync(rig, """UPDATE alert_inbox SET alerts = '[{"status":"Firing","failure":' WHERE id = (SELECT id FROM alert_inbox ORDER BY id LIMIT 1 OFFSET 3)""");
        var logger = new RecordingLogger();
        var drain = new AlertInboxDrain(inbox, rig.Engine, rig.Time, logger);

        Assert.Equal(4, await drain.ApplyBatchAsync(default));
        Assert.Equal(0, await drain.ApplyBatchAsync(default)); // nothing left to try again

        Assert.Equal(0, await inbox.CountAsync());
        Assert.Equal(["api", "web"], (await rig.Store.ListOpenAsync()).Select(i => i.Key.Subject.Split('/')[^1]).Order());
        await using var connection = await rig.Get<BotDatabase>().OpenAsync();
        var quarantined = (await connection.QueryAsync<(string Alerts, string Reason)>("SELECT alerts, reason FROM alert_inbox_quarantine ORDER BY id")).ToList();
        Assert.Equal(["""{"status":"firing","labels":{"pod":"api-2"}}""", """[{"status":"Firing","failure":"""], quarantined.Select(q => q.Alerts));
        Assert.All(quarantined, q => Assert.StartsWith("not the inbox's alert JSON", q.Reason, StringComparison.Ordinal));
        Assert.Equal(2, logger.Lines.Count(l => l.Level == LogLevel.Error && l.Text.Contains("alert_inbox_quarantine", StringComparison.Ordinal)));
    }

    private static AlertInboxDrain DrainOf(EngineRig rig) =>
        new(rig.Get<AlertInbox>(), rig.Engine, rig.Time, NullLogger<AlertInboxDrain>.Instance);

    private Task<EngineRig> StartAsync(DatabaseProvider provider, TestStorage? storage = null, Dictionary<string, string?>? settings = null) =>
        InboxRigs.StartWithoutDrainAsync(provider, postgres, storage, settings);

    /// <summary>A clock whose every timestamp is <paramref name="step"/> after the one before.</summary>
    private sealed class SteppingClock(TimeSpan step) : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Add(ref _ticks, step.Ticks);
    }

    /// <summary>Keeps what the drain logs.</summary>
    private sealed class RecordingLogger : ILogger<AlertInboxDrain>
    {
        private readonly List<(LogLevel Level, string Text)> _lines = [];

        public IReadOnlyList<(LogLevel Level, string Text)> Lines
        {
            get
            {
                lock (_lines)
                {
                    return [.. _lines];
                }
            }
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_lines)
            {
                _lines.Add((logLevel, formatter(state, exception)));
            }
        }
    }
}
