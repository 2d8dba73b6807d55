using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Incidents;
using ChatOpsPull.Storage;
using ChatOpsPull.Tests.Storage;
using Xunit.Abstractions;

namespace ChatOpsPull.Tests.Incidents;

/// <summary>
/// A storm's subject rounds on PostgreSQL with the production pool (24 warm connections, the default write turns): rounds
/// of several subjects that wait for a turn at once ride one transaction and one COMMIT (<see cref="TransactionGroup"/>),
/// instead of each subject finding a turn of its own and committing alone. Counted, not timed: the transactions and the
/// rounds each held, and the round trips (<see cref="SentToPostgres"/>). And the group keeps the promises of one round per
/// transaction: every pod in one incident, every change told once, also with two replicas storming the same subjects.
/// </summary>
[Collection(UsesPostgres.Name)]
public sealed class PostgresStormCommitTests(PostgresFixture postgres, ITestOutputHelper output)
{
    private const int Subjects = 20;

    /// <summary>
    /// The production pool, not the test hosts' two warm connections; a lost race is tried again at once (the rig's clock
    /// is fake: a retry delay would never end). Two replicas lose races legitimately: the storm roll-up of one replica
    /// changes incidents another replica's round has read.
    /// </summary>
    private static Dictionary<string, string?> ProductionPool => new()
    {
        ["Storage:PostgresWarmConnections"] = new StorageOptions().PostgresWarmConnections.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Incidents:WriteRetryDelay"] = "00:00:00",
    };

    [Fact]
    public async Task Twenty_subjects_reported_at_once_share_a_few_commits_instead_of_one_each_on_postgres()
    {
        await using var rig = await EngineRig.StartAsync(DatabaseProvider.Postgres, postgres, ProductionPool);
        for (var w = 0; w < Subjects; w++)
        {
            await rig.Engine.ReportAsync(Failing($"w{w}-1", w), default); // one open incident per subject
        }

        using var transactions = new TransactionRounds();
        var sent = await SentToPostgres.CountAsync(() => transactions.CountAsync(() =>
            Task.WhenAll(Enumerable.Range(0, Subjects).Select(w => rig.Engine.ReportAsync(Failing($"w{w}-2", w), default)))));

        output.WriteLine($"transactions (rounds each): {string.Join(", ", transactions.Rounds)}; {sent.RoundTrips} round trips ({sent.Commits} commits)");
        Assert.Equal(Subjects, transactions.Rounds.Sum());
        // With a turn per warm connection every subject found one free: twenty transactions of one round, twenty COMMITs.
        // With the default few turns the rounds queued behind them ride their commits (how many depends on timing: 7–16
        // transactions were seen with four turns).
        Assert.True(transactions.Rounds.Count < Subjects, $"{transactions.Rounds.Count} transactions held the {Subjects} subjects' rounds");
        Assert.Contains(transactions.Rounds, r => r >= 2);
        Assert.Equal(transactions.Rounds.Count, sent.Commits); // a round in a group costs no round trip of its own beyond its commands
        var open = await rig.Store.ListOpenAsync();
        Assert.Equal(Subjects, open.Count);
        Assert.All(open, i => Assert.Equal(2, i.ActivePodCount));
        Assert.Equal(Subjects, rig.Notifier.Calls.Count(c => c.Change == IncidentChange.PodsChanged));
    }

    [Fact]
    public async Task Two_replicas_storming_the_same_subjects_in_shared_commits_put_every_pod_in_one_incident_told_once_on_postgres()
    {
        await using var one = await EngineRig.StartAsync(DatabaseProvider.Postgres, postgres, ProductionPool);
        await using var two = await EngineRig.StartOnAsync(one.Storage.Replica(), ProductionPool);
        const int pods = 6;

        // Both replicas see every pod fail (two watchers of one cluster), all at once: in each replica the subjects'
        // rounds queue for its turns and ride shared commits; the replicas' groups meet on the subject locks. 
        using var transactions = new TransactionRounds();
        await transactions.CountAsync(() => Task.WhenAll(
            from w in Enumerable.Range(0, Subjects / 2)
            from p in Enumerable.Range(1, pods)
            from rig in new[] { one, two }
            select Task.Run(() => rig.Engine.ReportAsync(Failing($"w{w}-{p}", w), default))));

        output.WriteLine($"transactions (rounds each): {string.Join(", ", transactions.Rounds)}");
        Assert.Contains(transactions.Rounds, r => r > 1);
        var open = await one.Store.ListOpenAsync();
        Assert.Equal(Subjects / 2, open.Count); // one incident per subject, none opened twice
        Assert.All(open, i => Assert.Equal(pods, i.ActivePodCount));
        foreach (var incident in open)
        {
            Assert.Single(await one.Audit.ForIncidentAsync(incident.Id), a => a.Action == AuditActions.IncidentOpened);
        }

        var opened = one.Notifier.Calls.Concat(two.Notifier.Calls).Where(c => c.Change == IncidentChange.Opened).Select(c => c.Incident.Id).ToList();
        Assert.Equal(open.Select(i => i.Id).Order(StringComparer.Ordinal), opened.Order(StringComparer.Ordinal)); // each opening told once, by one replica
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Reports_of_a_subject_that_arrive_while_its_round_waits_for_a_write_turn_ride_in_that_round(DatabaseProvider provider)
    {
        await using var rig = await EngineRig.StartAsync(provider, postgres, ProductionPool);
        var turn = rig.Get<BotDatabase>().WriteTurn;
        var turns = provider == DatabaseProvider.Sqlite ? 1 : new StorageOptions().PostgresWriteTurns;
        const int pods = 10;

        // Every write turn held elsewhere (other subjects' transactions in a storm), each taken in a flow of its own.
        var held = new List<SqliteWriteTurn.Pass>();
        for (var i = 0; i < turns; i++)
        {
            held.Add(await Task.Run(async () => await turn.TakeTurnAsync(null, default)));
        }

        using var transactions = new TransactionRounds();
        await transactions.CountAsync(async () =>
        {
            var first = rig.Engine.ReportAsync(Failing("w0-1", 0), default);
            var queued = System.Diagnostics.Stopwatch.StartNew();
            while (turn.Waiting == 0 && queued.Elapsed < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(5);
            }

            Assert.Equal(1, turn.Waiting); // the subject's first round waits for a turn
            var later = Enumerable.Range(2, pods - 1).Select(p => rig.Engine.ReportAsync(Failing($"w0-{p}", 0), default)).ToList();
            Assert.All(later, t => Assert.False(t.IsCompleted));
            held.ForEach(h => h.Dispose());
            await Task.WhenAll(later.Append(first));
        });

        output.WriteLine($"transactions (rounds each): {string.Join(", ", transactions.Rounds)}");
        Assert.Equal([1], transactions.Rounds); // one round for the ten reports, not one for the first and one for the rest
        var incident = Assert.Single(await rig.Store.ListOpenAsync());
        Assert.Equal(pods, incident.ActivePodCount);
        Assert.Single(await rig.Audit.ForIncidentAsync(incident.Id), a => a.Action == AuditActions.IncidentOpened);
        Assert.Single(rig.Notifier.Calls, c => c.Change == IncidentChange.Opened);
    }

    /// <summary>
    /// A pod of workload <paramref name="workload"/> failing on an image of its own: no storm rolls the workloads up (their
    /// news would go on the storm's card instead of each incident's).
    /// </summary>
    private static Core.Failures.PullFailure Failing(string pod, int workload) =>
        Failures.Pod(pod, workload: $"w{workload}", image: $"registry.example.com/shop/w{workload}:1");
}
