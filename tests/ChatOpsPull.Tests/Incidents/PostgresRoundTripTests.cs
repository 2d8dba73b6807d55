using System.Collections.Concurrent;
using System.Diagnostics;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Incidents;
using ChatOpsPull.Storage;
using ChatOpsPull.Tests.Storage;
using Xunit.Abstractions;

namespace ChatOpsPull.Tests.Incidents;

/// <summary>
/// How many times the bot waits for PostgreSQL while it stores a report round and a diagnosis: each command or batch
/// Npgsql sends is one round trip (its "Npgsql" activity), and so is each COMMIT (a transaction's BEGIN travels with its
/// first command). In a storm every round trip is a wait for the server and for a core; these counts pin the fewest that
/// keep the guarantees, so a change that adds one shows here. Counted are the statements of the call's own flow (the
/// round, its after-commit reads, the news delivered in it), not the host's background pollers.
/// </summary>
[Collection(UsesPostgres.Name)]
public sealed class PostgresRoundTripTests(PostgresFixture postgres, ITestOutputHelper output)
{
    [Fact]
    public async Task A_report_joining_an_open_incident_costs_three_round_trips_on_postgres()
    {
        await using var rig = await EngineRig.StartAsync(DatabaseProvider.Postgres, postgres);
        await rig.Engine.ReportAsync(Failures.Pod("api-1"), default);
        await rig.Engine.ReportAsync(Failures.Pod("api-2"), default); // the notices' caches are warm from here on

        var sent = await SentToPostgres.CountAsync(() => rig.Engine.ReportAsync(Failures.Pod("api-3"), default));

        output.WriteLine(sent.Describe());
        Assert.Equal(3, sent.RoundTrips); // lock + read, the writes, COMMIT
        Assert.Equal(3, Assert.Single(await rig.Store.ListOpenAsync()).ActivePodCount);
    }

    [Fact]
    public async Task A_report_opening_an_incident_costs_four_round_trips_with_its_storm_check_on_postgres()
    {
        await using var rig = await EngineRig.StartAsync(DatabaseProvider.Postgres, postgres);
        await rig.Engine.ReportAsync(Failures.Pod("web-1", workload: "web"), default); // another subject: warms the code, not this one's rows

        var sent = await SentToPostgres.CountAsync(() => rig.Engine.ReportAsync(Failures.Pod("api-1"), default));

        output.WriteLine(sent.Describe());
        Assert.Equal(4, sent.RoundTrips); // lock + open and closed ones, the writes, COMMIT; then the storm check's read
        var opened = Assert.Single(await rig.Store.ListOpenAsync(), i => i.Key.Subject == "deployment/api");
        Assert.Equal(AuditActions.IncidentOpened, Assert.Single(await rig.Audit.ForIncidentAsync(opened.Id)).Action);
        Assert.Contains((opened.Id, 1), rig.Scheduler.Requests);
    }

    [Fact]
    public async Task A_diagnosis_stored_costs_three_round_trips_on_postgres()
    {
        await using var rig = await EngineRig.StartAsync(DatabaseProvider.Postgres, postgres);
        await rig.Engine.ReportAsync(Failures.Pod("web-1", workload: "web"), default);
        await rig.Engine.ReportAsync(Failures.Pod("api-1"), default);
        await rig.Engine.ReportAsync(Failures.Pod("api-2"), default);
        var warm = await rig.Store.FindOpenAsync(new IncidentKey("prod", "shop", "deployment/web", PullCause.ImageNotFound));
        var diagnosis = new Core.Diagnoses.Diagnosis(PullCause.ImageNotFound, 0.9, "the tag does not exist", [], "push it", []);
        await DiagnoseAsync(rig, warm!.Id, 1, diagnosis); // warms the code
        var id = (await rig.Store.FindOpenAsync(new IncidentKey("prod", "shop", "deployment/api", PullCause.ImageNotFound)))!.Id;

        // What DiagnosisRun does around the diagnoser: the ticket and the incident, then the result stored and carded.
        IncidentUpdateOutcome? outcome = null;
        var sent = await SentToPostgres.CountAsync(async () => outcome = await DiagnoseAsync(rig, id, 1, diagnosis));

        output.WriteLine(sent.Describe());
        Assert.Equal(IncidentUpdateOutcome.Changed, outcome);
        Assert.Equal(3, sent.RoundTrips); // ticket + incident; lock + conditional write with its audit line + pods; COMMIT
        var stored = await rig.Store.GetAsync(id);
        Assert.Equal(IncidentState.Diagnosed, stored!.State);
        Assert.Equal(2, stored.ActivePodCount);
        Assert.Equal(new DiagnosisTicket(1, 1), await rig.Store.GetDiagnosisTicketAsync(id));
        Assert.Contains(rig.Notifier.Calls, c => c.Incident.Id == id && c.Change == IncidentChange.Diagnosed && c.Incident.ActivePodCount == 2);
        Assert.Contains(await rig.Audit.ForIncidentAsync(id), a => a.Action == AuditActions.IncidentDiagnosed);

        // Once only: the same request again is skipped on its first read.
        var again = await SentToPostgres.CountAsync(async () => outcome = await DiagnoseAsync(rig, id, 1, diagnosis));
        output.WriteLine(again.Describe());
        Assert.Null(outcome);
        Assert.Equal(1, again.RoundTrips);
    }

    [Fact]
    public async Task Takers_of_one_diagnosis_request_on_two_replicas_at_once_store_it_once_with_one_audit_line_and_one_card_update_on_postgres()
    {
        await using var rig = await EngineRig.StartAsync(DatabaseProvider.Postgres, postgres);
        await using var other = await EngineRig.StartOnAsync(rig.Storage.Replica());
        await rig.Engine.ReportAsync(Failures.Pod("api-1"), default);
        await rig.Engine.ReportAsync(Failures.Pod("api-2"), default);
        var id = Assert.Single(await rig.Store.ListOpenAsync()).Id;
        var diagnosis = new Core.Diagnoses.Diagnosis(PullCause.ImageNotFound, 0.9, "the tag does not exist", [], "push it", []);

        // Every taker has read the ticket pending and the incident (as DiagnosisRun does), then all store at once: each
        // replica's writes of one subject queue in process, the two replicas' meet in the database.
        var taken = new List<(EngineRig Rig, Incident Read)>();
        foreach (var taker in new[] { rig, other, rig, other, rig, other })
        {
            var (ticket, read) = await taker.Store.GetForDiagnosisAsync(id, 1);
            Assert.Equal(new DiagnosisTicket(1, 0), ticket);
            taken.Add((taker, read!));
        }

        var outcomes = await Task.WhenAll(taken.Select(t => Task.Run(async () => (await t.Rig.Engine.ApplyDiagnosisAsync(t.Read, 1, diagnosis)).Outcome)));

        Assert.Single(outcomes, o => o == IncidentUpdateOutcome.Changed);
        Assert.Equal(5, outcomes.Count(o => o == IncidentUpdateOutcome.Unchanged));
        var stored = await rig.Store.GetAsync(id);
        Assert.Equal(IncidentState.Diagnosed, stored!.State);
        Assert.Equal("the tag does not exist", stored.Diagnosis!.Summary);
        Assert.Equal(2, stored.ActivePodCount);
        Assert.Equal(new DiagnosisTicket(1, 1), await rig.Store.GetDiagnosisTicketAsync(id));
        Assert.Single(await rig.Audit.ForIncidentAsync(id), a => a.Action == AuditActions.IncidentDiagnosed);
        var told = rig.Notifier.Calls.Concat(other.Notifier.Calls).Where(c => c.Incident.Id == id && c.Change == IncidentChange.Diagnosed).ToList();
        Assert.Equal(2, Assert.Single(told).Incident.ActivePodCount);
    }

    [Fact]
    public async Task A_superseded_diagnosis_request_stores_nothing_on_postgres()
    {
        await using var rig = await EngineRig.StartAsync(DatabaseProvider.Postgres, postgres);
        await rig.Engine.ReportAsync(Failures.Pod("api-1"), default);
        var id = Assert.Single(await rig.Store.ListOpenAsync()).Id;
        var (_, read) = await rig.Store.GetForDiagnosisAsync(id, 1);
        var version = (await rig.Engine.RequestDiagnosisAsync(id, AuditActor.Bot)).Incident!.Version; // request 2 supersedes 1
        var diagnosis = new Core.Diagnoses.Diagnosis(PullCause.ImageNotFound, 0.9, "stale", [], "push it", []);

        var update = await rig.Engine.ApplyDiagnosisAsync(read!, 1, diagnosis);

        Assert.Equal(IncidentUpdateOutcome.Unchanged, update.Outcome);
        var stored = await rig.Store.GetAsync(id);
        Assert.Null(stored!.Diagnosis);
        Assert.Equal(version, stored.Version);
        Assert.Equal(new DiagnosisTicket(version, 0), await rig.Store.GetDiagnosisTicketAsync(id));
        Assert.DoesNotContain(await rig.Audit.ForIncidentAsync(id), a => a.Action == AuditActions.IncidentDiagnosed);
        Assert.DoesNotContain(rig.Notifier.Calls, c => c.Change == IncidentChange.Diagnosed);
    }

    public static TheoryData<IncidentState> EveryState => [.. Enum.GetValues<IncidentState>()];

    [Theory]
    [MemberData(nameof(EveryState))]
    public async Task The_one_command_diagnosis_on_postgres_leaves_the_state_the_engine_rule_says(IncidentState before)
    {
        await using var rig = await EngineRig.StartAsync(DatabaseProvider.Postgres, postgres);
        await rig.Engine.ReportAsync(Failures.Pod("api-1"), default);
        var id = Assert.Single(await rig.Store.ListOpenAsync()).Id;
        await rig.Store.UpdateAsync(id, i => i with { State = before });
        var (_, read) = await rig.Store.GetForDiagnosisAsync(id, 1);
        var diagnosis = new Core.Diagnoses.Diagnosis(PullCause.ImageNotFound, 0.9, "the tag does not exist", [], "push it", []);

        var update = await rig.Engine.ApplyDiagnosisAsync(read!, 1, diagnosis);

        Assert.Equal(IncidentUpdateOutcome.Changed, update.Outcome);
        var stored = await rig.Store.GetAsync(id);
        Assert.Equal(IncidentTransitions.AfterDiagnosis(before), stored!.State);
        Assert.Equal("the tag does not exist", stored.Diagnosis!.Summary);
    }

    private static async Task<IncidentUpdateOutcome?> DiagnoseAsync(EngineRig rig, string id, int version, Core.Diagnoses.Diagnosis diagnosis)
    {
        var (ticket, incident) = await rig.Store.GetForDiagnosisAsync(id, version);
        if (ticket is null || ticket.Requested != version || ticket.Applied >= version || incident is null)
        {
            return null;
        }

        return (await rig.Engine.ApplyDiagnosisAsync(incident, version, diagnosis)).Outcome;
    }
}

/// <summary>Counts what Npgsql sends in one call's own flow (its activity and those under it).</summary>
internal sealed class SentToPostgres
{
    private readonly ConcurrentQueue<string> _commands = new();
    private int _commits;

    private SentToPostgres()
    {
    }

    /// <summary>Commands and batches sent (one round trip each).</summary>
    public int Commands => _commands.Count;

    /// <summary>Commits (<see cref="BotDatabase"/>'s "COMMIT" activity): a round trip each, not a command of Npgsql's.</summary>
    public int Commits => _commits;

    public int RoundTrips => Commands + Commits;

    /// <summary>The text of every command or batch sent, in the order sent.</summary>
    public IReadOnlyList<string> Texts => [.. _commands];

    public int Statements => _commands.Sum(c => c.Split(';', StringSplitOptions.RemoveEmptyEntries).Count(s => s.Trim().Length > 0));

    public static async Task<SentToPostgres> CountAsync(Func<Task> call)
    {
        var counted = new SentToPostgres();
        ActivityTraceId? trace = null;
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "Npgsql" or BotDatabase.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> options) =>
                trace is { } t && options.Parent.TraceId == t ? ActivitySamplingResult.AllDataAndRecorded : ActivitySamplingResult.None,
            ActivityStopped = activity =>
            {
                if (activity.Source.Name == "Npgsql" && activity.GetTagItem("db.query.text") is string sql)
                {
                    counted._commands.Enqueue(sql);
                }
                else if (activity.Source.Name == BotDatabase.ActivitySourceName && activity.OperationName == "COMMIT")
                {
                    Interlocked.Increment(ref counted._commits);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        var outer = Activity.Current;
        Activity.Current = null; // the call's own trace, whatever ran before
        var marker = new Activity("counted call").Start();
        trace = marker.TraceId;
        try
        {
            await call();
        }
        finally
        {
            marker.Stop();
            Activity.Current = outer;
        }

        return counted;
    }

    public string Describe() =>
        $"{RoundTrips} round trips ({Commands} commands/batches + {Commits} commits), {Statements} statements:\n"
        + string.Join("\n", _commands.Select((c, i) => $"  {i + 1}. {c.ReplaceLineEndings(" ")}"));
}
