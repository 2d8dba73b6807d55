using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Incidents;
using ChatOpsPull.Storage;
using ChatOpsPull.Tests.Storage;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

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
