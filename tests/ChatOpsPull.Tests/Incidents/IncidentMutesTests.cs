using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Incidents;
using ChatOpsPull.Incidents.Engine;
using ChatOpsPull.Storage;

namespace ChatOpsPull.Tests.Incidents;

/// <summary>
/// Notice delivery reads the active mutes from a cache: a mute written by this engine counts at once, one written by
/// another replica within <see cref="IncidentMutes.CacheLifetime"/>.
/// </summary>
public sealed class IncidentMutesTests
{
    private static readonly AuditActor Dave = new("slack", "U0DAVE001", "dave");

    [Fact]
    public async Task A_mute_written_here_silences_the_next_notice_at_once_and_its_removal_too()
    {
        await using var rig = await EngineRig.StartAsync(DatabaseProvider.Sqlite, null);
        await rig.Engine.ReportAsync(Failures.Pod("api-1"), default);
        await rig.Engine.ReportAsync(Failures.Pod("api-2"), default); // the cache now holds "no mutes"
        var told = rig.Notifier.Calls.Count;

        var mute = await rig.Engine.MuteAsync(MuteScope.Namespace, "prod", "shop", null, Dave);
        await rig.Engine.ReportAsync(Failures.Pod("api-3"), default);
        Assert.Equal(told, rig.Notifier.Calls.Count);

        Assert.True(await rig.Engine.UnmuteAsync(mute.Id, Dave));
        await rig.Engine.ReportAsync(Failures.Pod("api-4"), default);
        Assert.Equal(told + 1, rig.Notifier.Calls.Count);
    }

    [Fact]
    public async Task A_mute_written_by_another_replica_counts_once_the_cache_is_older_than_its_lifetime()
    {
        await using var rig = await EngineRig.StartAsync(DatabaseProvider.Sqlite, null);
        await rig.Engine.ReportAsync(Failures.Pod("api-1"), default);
        var incident = Assert.Single(await rig.Store.ListOpenAsync());
        Assert.False(await rig.Engine.IsSilencedAsync(incident)); // the cache now holds "no mutes"

        // Another replica mutes the namespace: straight into the shared table, this engine is not told.
        var elsewhere = new IncidentMute("mut-replica2", MuteScope.Namespace, "prod", "shop", null, "slack:U0ERIN001", rig.Time.GetUtcNow());
        await rig.Store.Database.InTransactionAsync(async (connection, transaction) =>
        {
            await IncidentStore.AddMuteAsync(connection, transaction, elsewhere);
            return true;
        });

        rig.Time.Advance(IncidentMutes.CacheLifetime - TimeSpan.FromMilliseconds(1));
        var told = rig.Notifier.Calls.Count;
        await rig.Engine.ReportAsync(Failures.Pod("api-2"), default);
        Assert.Equal(told + 1, rig.Notifier.Calls.Count);
        Assert.False(await rig.Engine.IsSilencedAsync(incident));

        rig.Time.Advance(TimeSpan.FromMilliseconds(1));
        await rig.Engine.ReportAsync(Failures.Pod("api-3"), default);
        Assert.Equal(told + 1, rig.Notifier.Calls.Count);
        Assert.True(await rig.Engine.IsSilencedAsync(incident));
    }
}
