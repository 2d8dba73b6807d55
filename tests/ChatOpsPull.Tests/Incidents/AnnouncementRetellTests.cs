using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Incidents;
using ChatOpsPull.Incidents.Engine;
using ChatOpsPull.Storage;
using ChatOpsPull.Tests.Infrastructure;
using ChatOpsPull.Tests.Storage;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ChatOpsPull.Tests.Incidents;

/// <summary>
/// Announcements another capability owes in its own transaction (an approval, a remediation run) and a host that stopped
/// right after that commit did not tell: the next host tells them after the grace, once across replicas, moving the
/// incident where the announcement says when that is still legal; told ones are never told again.
/// </summary>
[Collection(UsesPostgres.Name)]
public sealed class AnnouncementRetellTests(PostgresFixture postgres)
{
    private const string Line = "alice asked to run \"Set tag to 1.4.2\". It needs 1 approval.";
    private static readonly TimeSpan PastGrace = TimeSpan.FromSeconds(31);
    private static readonly AuditActor Alice = new("slack", "U0ALICE01", "alice");

    private static Dictionary<string, string?> Grace => new() { ["Incidents:NewsRetellGrace"] = "00:00:30" };

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task An_approval_request_committed_by_a_host_that_died_before_telling_it_moves_the_incident_and_is_told_once_by_the_next_host(DatabaseProvider provider)
    {
        await using var rig = await EngineRig.StartAsync(provider, postgres, Grace);
        var incidentId = await DiagnosedIncidentAsync(rig);

        // What the approval's transaction owed beside its own rows; the host that wrote it died before telling it.
        var owed = new OwedAnnouncement("approval:apr-dead0001:v1", incidentId, IncidentChange.ApprovalRequested, Line, IncidentState.AwaitingApproval, Alice, rig.Time.GetUtcNow());
        await OweAsync(rig.Storage, owed);
        rig.Time.Advance(PastGrace);
        await SweepAsync(rig);

        await Eventually.ValueAsync(() => OwedCountAsync(rig.Storage, incidentId), n => n == 0, "the announcement to be no longer owed", TimeSpan.FromSeconds(30));
        var stored = (await rig.Store.GetAsync(incidentId))!;
        Assert.Equal(IncidentState.AwaitingApproval, stored.State);
        var told = Assert.Single(rig.Notifier.Calls, c => c.Incident.Id == incidentId && c.Change == IncidentChange.ApprovalRequested);
        Assert.Equal(Line, told.Detail);
        Assert.Equal(IncidentState.AwaitingApproval, told.Incident.State);
        Assert.Contains(await rig.Audit.ForIncidentAsync(incidentId), a => a.Actor.Name == "alice" && a.Detail!.Contains("diagnosed → awaiting_approval", StringComparison.Ordinal));

        // Later sweeps find nothing: told once.
        var toldBefore = rig.Notifier.ChangesFor(incidentId).Count;
        rig.Time.Advance(PastGrace);
        Assert.Equal(0, await SweepAsync(rig));
        Assert.Equal(toldBefore, rig.Notifier.ChangesFor(incidentId).Count);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task An_announcement_its_host_told_is_removed_and_never_told_again(DatabaseProvider provider)
    {
        await using var rig = await EngineRig.StartAsync(provider, postgres, Grace);
        var incidentId = await DiagnosedIncidentAsync(rig);
        var owed = new OwedAnnouncement("approval:apr-told0001:v2", incidentId, IncidentChange.ApprovalDecided, "bob approved. 1 more approval is needed.", MoveTo: null, Alice, rig.Time.GetUtcNow());
        await OweAsync(rig.Storage, owed);

        await rig.Engine.TellAsync(owed);
        await Eventually.ValueAsync(() => OwedCountAsync(rig.Storage, incidentId), n => n == 0, "the told announcement to be removed", TimeSpan.FromSeconds(30));
        rig.Time.Advance(PastGrace);
        Assert.Equal(0, await SweepAsync(rig));

        Assert.Single(rig.Notifier.Calls, c => c.Incident.Id == incidentId && c.Change == IncidentChange.ApprovalDecided);
        Assert.Equal(IncidentState.Diagnosed, (await rig.Store.GetAsync(incidentId))!.State);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_move_told_by_its_host_takes_the_announcement_over_in_its_own_transaction(DatabaseProvider provider)
    {
        // The hanging notifier: the move's news is never told, as a host that dies right after the move's commit.
        var hang = new HangingNotifier(IncidentChange.ApprovalRequested);
        await using var rig = await EngineRig.StartAsync(provider, postgres, Grace, s => HangingNotifier.RegisterFirst(s, hang));
        var incidentId = await DiagnosedIncidentAsync(rig);
        var owed = new OwedAnnouncement("approval:apr-move0001:v1", incidentId, IncidentChange.ApprovalRequested, Line, IncidentState.AwaitingApproval, Alice, rig.Time.GetUtcNow());
        await OweAsync(rig.Storage, owed);

        using var dying = new CancellationTokenSource();
        var telling = rig.Engine.TellAsync(owed, dying.Token);
        await hang.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30));

        // Committed with the move: the announcement is gone and the move's news is owed instead (told by the news retell).
        Assert.Equal(0, await OwedCountAsync(rig.Storage, incidentId));
        Assert.Equal(1, await NewsOwedCountAsync(rig.Storage, incidentId));
        Assert.Equal(IncidentState.AwaitingApproval, (await rig.Store.GetAsync(incidentId))!.State);
        await dying.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => telling);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Two_replicas_sweeping_at_once_tell_an_announcement_a_dead_host_owed_once(DatabaseProvider provider)
    {
        using var storage = await Engines.StorageAsync(provider, postgres);
        var one = await EngineRig.StartOnAsync(storage.Replica(), Grace);
        await using var oneHost = one.Host;
        var two = await EngineRig.StartOnAsync(storage.Replica(), Grace);
        await using var twoHost = two.Host;
        var incidentId = await DiagnosedIncidentAsync(one);
        var owed = new OwedAnnouncement("run:apr-twice001:started", incidentId, IncidentChange.RemediationStarted, "Running \"Set tag to 1.4.2\"…", MoveTo: null, AuditActor.Bot, one.Time.GetUtcNow());
        await OweAsync(storage, owed);

        one.Time.Advance(PastGrace); // both replicas' own sweeps run on their clocks' tick, and the two below at once
        two.Time.Advance(PastGrace);
        var taken = await Task.WhenAll(SweepAsync(one), SweepAsync(two));
        Assert.InRange(taken.Sum(), 0, 1);

        await Eventually.ValueAsync(() => OwedCountAsync(storage, incidentId), n => n == 0, "the retold announcement to be removed", TimeSpan.FromSeconds(30));
        var told = one.Notifier.Calls.Concat(two.Notifier.Calls).Where(c => c.Incident.Id == incidentId && c.Change == IncidentChange.RemediationStarted).ToList();
        Assert.Equal(owed.Detail, Assert.Single(told).Detail);
    }

    /// <summary>An incident reported and moved to Diagnosed (where an approval request may move it on), its news told.</summary>
    private static async Task<string> DiagnosedIncidentAsync(EngineRig rig)
    {
        await rig.Engine.ReportAsync(Failures.Pod("api-1"), default);
        var incident = Assert.Single(await rig.Store.ListOpenAsync());
        Assert.Equal(IncidentUpdateOutcome.Changed, (await rig.Engine.TransitionAsync(incident.Id, IncidentState.Diagnosed, AuditActor.Bot, IncidentChange.Diagnosed, null)).Outcome);
        await Eventually.ValueAsync(() => NewsOwedCountAsync(rig.Storage, incident.Id), n => n == 0, "the incident's news to be told", TimeSpan.FromSeconds(30));
        return incident.Id;
    }

    private static Task<int> SweepAsync(EngineRig rig) =>
        rig.Host.Services.GetServices<IHostedService>().OfType<NewsRetell>().Single().SweepAsync(default);

    /// <summary>Owes the announcement in a transaction of its own, as the approval or run write it belongs to does.</summary>
    private static async Task OweAsync(TestStorage storage, OwedAnnouncement owed)
    {
        await using var database = await storage.OpenMigratedAsync();
        await database.InTransactionAsync(async (connection, transaction) =>
        {
            await OwedAnnouncements.OweAsync(connection, transaction, owed);
            return true;
        });
    }

    internal static async Task<long> OwedCountAsync(TestStorage storage, string incidentId)
    {
        await using var database = await storage.OpenMigratedAsync();
        await using var connection = await database.OpenAsync();
        return await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM incident_announcements_owed WHERE incident_id = @incidentId", new { incidentId });
    }

    private static async Task<long> NewsOwedCountAsync(TestStorage storage, string incidentId)
    {
        await using var database = await storage.OpenMigratedAsync();
        await using var connection = await database.OpenAsync();
        return await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM incident_news_owed WHERE incident_id = @incidentId", new { incidentId });
    }
}
