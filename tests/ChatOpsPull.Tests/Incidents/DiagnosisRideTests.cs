using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Incidents;
using ChatOpsPull.Storage;
using ChatOpsPull.Tests.Alerts;
using ChatOpsPull.Tests.Storage;
using Xunit.Abstractions;

namespace ChatOpsPull.Tests.Incidents;

/// <summary>
/// A diagnosis's result rides in its subject's group-commit round (<see cref="IncidentEngine.ApplyDiagnosisAsync(Incident, int, Core.Diagnoses.Diagnosis, CancellationToken)"/>)
/// instead of queuing for the subject lock behind that round: stored in the round's transaction, checked on its ticket
/// there, once; a round that fails leaves the ticket pending for the retry or the sweep.
/// </summary>
[Collection(UsesPostgres.Name)]
public sealed class DiagnosisRideTests(PostgresFixture postgres, ITestOutputHelper output)
{
    private static readonly Core.Diagnoses.Diagnosis NotFound = new(PullCause.ImageNotFound, 0.9, "tag 9.9.9 is not in registry.example.com/shop/api", [], "x", []);

    private static Dictionary<string, string?> ProductionPool => new()
    {
        ["Storage:PostgresWarmConnections"] = new StorageOptions().PostgresWarmConnections.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Incidents:WriteRetryDelay"] = "00:00:00",
    };

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_diagnosis_arriving_while_its_subjects_round_waits_for_a_write_turn_is_stored_in_that_round_once(DatabaseProvider provider)
    {
        await using var rig = await EngineRig.StartAsync(provider, postgres, ProductionPool);
        await rig.Engine.ReportAsync(Failures.Pod("api-1"), default);
        var opened = Assert.Single(await rig.Store.ListOpenAsync());
        var turn = rig.Get<BotDatabase>().WriteTurn;
        var turns = provider == DatabaseProvider.Sqlite ? 1 : new StorageOptions().PostgresWriteTurns;

        // Every write turn held elsewhere (other subjects' transactions in a storm), each taken in a flow of its own.
        var held = new List<SqliteWriteTurn.Pass>();
        for (var i = 0; i < turns; i++)
        {
            held.Add(await Task.Run(async () => await turn.TakeTurnAsync(null, default)));
        }

        using var transactions = new TransactionRounds();
        IncidentUpdate[] stored = [];
        await transactions.CountAsync(async () =>
        {
            var report = rig.Engine.ReportAsync(Failures.Pod("api-2"), default);
            await WaitForAsync(() => turn.Waiting == 1, "the subject's round waits for a turn");

            // The worker's result and a second taker of the same request (the job after a hand-over, say) arrive meanwhile.
            var results = new[] { rig.Engine.ApplyDiagnosisAsync(opened, 1, NotFound), rig.Engine.ApplyDiagnosisAsync(opened.Id, 1, NotFound) };
            await Task.Delay(100);
            Assert.All(results, r => Assert.False(r.IsCompleted));
            Assert.Equal(1, turn.Waiting); // riding, not queued for a transaction of its own
            held.ForEach(h => h.Dispose());
            await report;
            stored = await Task.WhenAll(results);
        });

        output.WriteLine($"transactions (rounds each): {string.Join(", ", transactions.Rounds)}");
        Assert.Equal([1], transactions.Rounds); // the report and the diagnosis in one transaction
        Assert.Equal(
            [IncidentUpdateOutcome.Changed, IncidentUpdateOutcome.Unchanged],
            stored.Select(s => s.Outcome).Order());
        var incident = (await rig.Store.GetAsync(opened.Id))!;
        Assert.Equal(2, incident.ActivePodCount);
        Assert.Equal(IncidentState.Diagnosed, incident.State);
        Assert.Equal(NotFound.Summary, incident.Diagnosis!.Summary);
        Assert.Equal(incident.Version, stored.Single(s => s.Outcome == IncidentUpdateOutcome.Changed).Incident!.Version);
        var (ticket, _) = await rig.Store.GetForDiagnosisAsync(opened.Id, 1);
        Assert.Equal(new DiagnosisTicket(1, 1), ticket);
        Assert.Single(await rig.Audit.ForIncidentAsync(opened.Id), a => a.Action == AuditActions.IncidentDiagnosed);
        var told = await Eventually.ValueAsync(
            () => Task.FromResult(rig.Notifier.ChangesFor(opened.Id)),
            c => c.Contains(IncidentChange.Diagnosed),
            "the diagnosis is told");
        Assert.Single(told, c => c == IncidentChange.Diagnosed);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_round_that_fails_leaves_the_diagnosis_ticket_pending_and_the_retry_stores_it_once(DatabaseProvider provider)
    {
        await using var rig = await EngineRig.StartAsync(provider, postgres, ProductionPool);
        await rig.Engine.ReportAsync(Failures.Pod("api-1"), default);
        var opened = Assert.Single(await rig.Store.ListOpenAsync());
        await InboxRigs.ExecuteAsync(rig, provider == DatabaseProvider.Sqlite
            ? $"""
              CREATE TRIGGER test_refuse_diagnosis BEFORE INSERT ON audit_log WHEN NEW.action = '{AuditActions.IncidentDiagnosed}'
              BEGIN SELECT RAISE(ABORT, 'the test refuses the diagnosis'); END;
              """
            : $"""
              CREATE FUNCTION test_refuse_diagnosis() RETURNS trigger LANGUAGE plpgsql AS $$
              BEGIN
                IF NEW.action = '{AuditActions.IncidentDiagnosed}' THEN RAISE EXCEPTION 'the test refuses the diagnosis'; END IF;
                RETURN NEW;
              END $$;
              CREATE TRIGGER test_refuse_diagnosis BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION test_refuse_diagnosis();
              """);

        await Assert.ThrowsAnyAsync<Exception>(() => rig.Engine.ApplyDiagnosisAsync(opened, 1, NotFound));

        var (ticket, incident) = await rig.Store.GetForDiagnosisAsync(opened.Id, 1);
        Assert.Equal(new DiagnosisTicket(1, 0), ticket); // still asked for: the sweep or the job's retry takes it up
        Assert.Null(incident!.Diagnosis);
        Assert.Equal(opened.Version, incident.Version);
        Assert.DoesNotContain(IncidentChange.Diagnosed, rig.Notifier.ChangesFor(opened.Id));

        // The subject's rounds go on: a report after the failed round is stored.
        await rig.Engine.ReportAsync(Failures.Pod("api-2"), default);
        Assert.Equal(2, (await rig.Store.GetAsync(opened.Id))!.ActivePodCount);

        await InboxRigs.ExecuteAsync(rig, provider == DatabaseProvider.Sqlite
            ? "DROP TRIGGER test_refuse_diagnosis"
            : "DROP TRIGGER test_refuse_diagnosis ON audit_log");
        Assert.Equal(IncidentUpdateOutcome.Changed, (await rig.Engine.ApplyDiagnosisAsync(opened, 1, NotFound)).Outcome);
        Assert.Equal(IncidentUpdateOutcome.Unchanged, (await rig.Engine.ApplyDiagnosisAsync(opened, 1, NotFound)).Outcome);
        Assert.Single(await rig.Audit.ForIncidentAsync(opened.Id), a => a.Action == AuditActions.IncidentDiagnosed);
        var told = await Eventually.ValueAsync(
            () => Task.FromResult(rig.Notifier.ChangesFor(opened.Id)),
            c => c.Contains(IncidentChange.Diagnosed),
            "the diagnosis is told");
        Assert.Single(told, c => c == IncidentChange.Diagnosed);
    }

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(10), $"timed out: {what}");
            await Task.Delay(5);
        }
    }
}
