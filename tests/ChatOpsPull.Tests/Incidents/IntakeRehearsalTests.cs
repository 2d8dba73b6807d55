using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Diagnosing;
using ChatOpsPull.Incidents;
using ChatOpsPull.Observability;
using ChatOpsPull.Storage;
using ChatOpsPull.Tests.Storage;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ChatOpsPull.Tests.Incidents;

/// <summary>
/// The start-up rehearsal of the intake's write path (<see cref="IncidentEngine.RehearseIntakeAsync"/>): it runs the
/// real write path and rolls it back, so it must leave no trace in the store, the notifiers or the diagnosis queue.
/// </summary>
[Collection(UsesPostgres.Name)]
public sealed class IntakeRehearsalTests(PostgresFixture postgres)
{
    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task The_intake_rehearsal_stores_nothing_tells_nobody_and_asks_for_no_diagnosis(DatabaseProvider provider)
    {
        await using var rig = await EngineRig.StartAsync(provider, postgres);

        Assert.True(await rig.Engine.RehearseIntakeAsync(default));

        Assert.Equal((0L, 0L, 0L), await RowsAsync(rig));
        Assert.Empty(rig.Notifier.Calls);
        Assert.Empty(rig.Scheduler.Requests);
        Assert.Equal(0, rig.Host.Services.GetRequiredService<BotDatabase>().WriteTurn.Waiting);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Reports_around_a_rehearsal_make_their_incident_as_if_it_never_ran(DatabaseProvider provider)
    {
        await using var rig = await EngineRig.StartAsync(provider, postgres);
        await rig.Engine.ReportAsync(Failures.Pod("api-1"), default);
        var rehearsal = rig.Engine.RehearseIntakeAsync(default);
        await rig.Engine.ReportAsync(Failures.Pod("api-2"), default);
        Assert.True(await rehearsal);
        Assert.True(await rig.Engine.RehearseIntakeAsync(default));
        await rig.Engine.ReportAsync(Failures.Pod("api-3"), default);

        var incident = Assert.Single(await rig.Store.ListOpenAsync());
        Assert.Equal(["api-1", "api-2", "api-3"], incident.Pods.Select(p => p.Pod).Order());
        Assert.Equal((1L, 3L, 1L), await RowsAsync(rig));
        Assert.Equal([(incident.Id, 1)], rig.Scheduler.Requests);
        Assert.All(rig.Notifier.Calls, c => Assert.Equal(incident.Id, c.Incident.Id));
        Assert.Equal(1, rig.Notifier.Calls.Count(c => c.Change == IncidentChange.Opened));
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task The_start_up_warm_up_rehearses_the_intake_in_rounds_to_the_rollback_and_stores_tells_counts_and_asks_nothing(DatabaseProvider provider)
    {
        using var counted = new IntakeCounters();
        await using var rig = await EngineRig.StartAsync(provider, postgres, new() { ["Diagnosis:WarmUp"] = "true" });
        var warmUp = rig.Host.Services.GetServices<IHostedService>().OfType<DiagnosisWarmUp>().Single();
        await Eventually.HoldsAsync(() => warmUp.ExecuteTask is not null, "the warm-up to start");
        await warmUp.ExecuteTask!.WaitAsync(TimeSpan.FromMinutes(2));

        // Every rehearsal ran the write path to the end of its transaction (its rollback is how it reports success).
        Assert.Equal(DiagnosisWarmUp.IntakeRounds * DiagnosisWarmUp.RehearsalsPerRound, warmUp.IntakeRehearsals);
        Assert.Equal((0L, 0L, 0L), await RowsAsync(rig));
        await using (var connection = await rig.Host.Services.GetRequiredService<BotDatabase>().OpenAsync())
        {
            Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM incident_news_owed"));
        }

        Assert.Empty(rig.Notifier.Calls);
        Assert.Empty(rig.Scheduler.Requests);
        Assert.Equal(0, counted.Of(rig.Host.Services.GetRequiredService<IMeterFactory>()));
        Assert.Equal(0, rig.Host.Services.GetRequiredService<BotDatabase>().WriteTurn.Waiting);

        // And the intake works as if it never ran.
        await rig.Engine.ReportAsync(Failures.Pod("api-1"), default);
        var incident = Assert.Single(await rig.Store.ListOpenAsync());
        Assert.Equal(1, incident.Version);
        Assert.Equal([(incident.Id, 1)], rig.Scheduler.Requests);
    }

    /// <summary>What the intake counts on the bot's meter (failures seen, incident lifecycle events), per host (its meter factory).</summary>
    private sealed class IntakeCounters : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentQueue<(object? Scope, long Value)> _added = new();

        public IntakeCounters()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == BotMetrics.MeterName && instrument.Name is "pull_failures_seen" or "incidents")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => _added.Enqueue((instrument.Meter.Scope, value)));
            _listener.Start();
        }

        public long Of(IMeterFactory meterFactory) => _added.Where(a => ReferenceEquals(a.Scope, meterFactory)).Sum(a => a.Value);

        public void Dispose() => _listener.Dispose();
    }

    /// <summary>Incidents, their pod rows and audit lines in the store.</summary>
    private static async Task<(long Incidents, long Pods, long Audit)> RowsAsync(EngineRig rig)
    {
        await using var connection = await rig.Host.Services.GetRequiredService<BotDatabase>().OpenAsync();
        return (
            await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM incidents"),
            await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM incident_pods"),
            await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM audit_log"));
    }
}
