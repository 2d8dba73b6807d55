using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Incidents;
using ChatOpsPull.Storage;
using ChatOpsPull.Tests.Infrastructure;

namespace ChatOpsPull.Tests.Incidents;

/// <summary>
/// The storm rule as the notifiers hear it: news about an incident rolled up under an open parent — the engine's own or
/// announced by approvals and remediation — goes on the parent's card, prefixed with the incident's namespace/workload.
/// </summary>
public sealed class StormNewsTests
{
    private const string Image = "registry.example.com/base/runtime:2.0";

    /// <summary>Workloads a, b and c fail on one image: b and c roll up under a.</summary>
    private static async Task<(EngineRig Rig, Incident Parent, Incident Child)> StormAsync()
    {
        var rig = await EngineRig.StartAsync(DatabaseProvider.Sqlite, null, new() { ["Incidents:RollupThreshold"] = "3" });
        foreach (var workload in new[] { "a", "b", "c" })
        {
            await rig.Engine.ReportAsync(Failures.Pod($"{workload}-1", workload: workload, image: Image), default);
            rig.Time.Advance(TimeSpan.FromSeconds(1));
        }

        var open = await rig.Store.ListOpenAsync();
        var parent = Assert.Single(open, i => i.RollupOf is null);
        var child = open.Single(i => i.Key.Subject == "deployment/b");
        Assert.Equal(parent.Id, child.RollupOf);
        return (rig, parent, child);
    }

    [Fact]
    public async Task A_write_landing_between_the_roll_ups_commit_and_its_telling_does_not_change_the_keys_of_its_lines()
    {
        await using var rig = await EngineRig.StartAsync(DatabaseProvider.Sqlite, null, new() { ["Incidents:RollupThreshold"] = "3" });
        foreach (var workload in new[] { "a", "b" })
        {
            await rig.Engine.ReportAsync(Failures.Pod($"{workload}-1", workload: workload, image: Image), default);
            rig.Time.Advance(TimeSpan.FromSeconds(1));
        }

        var open = await rig.Store.ListOpenAsync();
        var a = open.Single(i => i.Key.Subject == "deployment/a");
        var b = open.Single(i => i.Key.Subject == "deployment/b");

        // A silent write (a pod's last seen, say: no news owed) lands on the storm's parent and on the rolled-up child
        // once the roll-up has owed their lines. Here a trigger makes it at the last moment it can (in the roll-up's own
        // transaction): whatever reads the incidents after the commit sees the newer versions.
        await using (var connection = await rig.Store.Database.OpenAsync(default))
        {
            await Dapper.SqlMapper.ExecuteAsync(connection, """
                CREATE TRIGGER a_write_lands AFTER INSERT ON incident_news_owed
                WHEN NEW.detail LIKE '%workloads fail on%' OR NEW.detail LIKE 'rolled up under%'
                BEGIN UPDATE incidents SET version = version + 1 WHERE id = NEW.incident_id; END;
                CREATE TRIGGER a_write_lands_on_owed AFTER UPDATE OF detail ON incident_news_owed
                WHEN NEW.detail LIKE '%workloads fail on%' OR NEW.detail LIKE 'rolled up under%'
                BEGIN UPDATE incidents SET version = version + 1 WHERE id = NEW.incident_id; END;
                """);
        }

        await rig.Engine.ReportAsync(Failures.Pod("c-1", workload: "c", image: Image), default);
        Assert.Equal(a.Id, (await rig.Store.GetAsync(b.Id))!.RollupOf);

        // The lines are told with the versions the roll-up wrote (the keys their owed news has, so a retell after a crash
        // queues neither line again), not with the versions read after the commit.
        var keys = await Eventually.ValueAsync(
            () => Task.FromResult(rig.Notifier.NewsKeys),
            k => k.Contains(IncidentNewsKeys.Of(a.Id, a.Version, IncidentChange.PodsChanged)) && k.Contains(IncidentNewsKeys.Of(b.Id, b.Version + 1, IncidentChange.PodsChanged)),
            "the storm line and the rolled-up line, keyed by the roll-up's versions");
        Assert.DoesNotContain(IncidentNewsKeys.Of(a.Id, a.Version + 1, IncidentChange.PodsChanged), keys);
        Assert.DoesNotContain(IncidentNewsKeys.Of(b.Id, b.Version + 2, IncidentChange.PodsChanged), keys);
    }

    [Fact]
    public async Task Announced_news_about_a_rolled_up_incident_goes_on_the_storms_card_only()
    {
        var (rig, parent, child) = await StormAsync();
        await using var _ = rig;
        var before = rig.Notifier.Calls.Count;

        await rig.Engine.AnnounceAsync(child.Id, IncidentChange.ApprovalDecided, "bob approved \"Restart deployment/b\"");

        var call = Assert.Single(rig.Notifier.Calls.Skip(before));
        Assert.Equal((parent.Id, IncidentChange.PodsChanged, "shop/deployment/b: bob approved \"Restart deployment/b\""), (call.Incident.Id, call.Change, call.Detail));
    }

    [Fact]
    public async Task A_remediation_result_that_closes_a_rolled_up_incident_is_told_on_the_storms_card()
    {
        var (rig, parent, child) = await StormAsync();
        await using var _ = rig;
        var before = rig.Notifier.Calls.Count;

        await rig.Engine.TransitionOrAnnounceAsync(child.Id, IncidentState.Failed, AuditActor.Bot, IncidentChange.RemediationFinished, "\"Restart deployment/b\" failed: forbidden");

        Assert.Equal(IncidentState.Failed, (await rig.Store.GetAsync(child.Id))!.State);
        var call = Assert.Single(rig.Notifier.Calls.Skip(before));
        Assert.Equal((parent.Id, IncidentChange.PodsChanged, "shop/deployment/b: \"Restart deployment/b\" failed: forbidden"), (call.Incident.Id, call.Change, call.Detail));
        Assert.Contains(await rig.Audit.ForIncidentAsync(child.Id), a => a.Action == AuditActions.IncidentStateChanged && a.Detail!.StartsWith("open → failed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Once_the_storms_parent_is_closed_a_rolled_up_incident_speaks_on_its_own_card()
    {
        var (rig, parent, child) = await StormAsync();
        await using var _ = rig;
        Assert.Equal(IncidentUpdateOutcome.Changed, (await rig.Engine.TransitionAsync(parent.Id, IncidentState.Resolved, AuditActor.Bot, IncidentChange.Resolved, "test")).Outcome);
        var before = rig.Notifier.Calls.Count;

        await rig.Engine.AnnounceAsync(child.Id, IncidentChange.ApprovalRequested, "alice asked to run \"Restart deployment/b\"");

        var call = Assert.Single(rig.Notifier.Calls.Skip(before));
        Assert.Equal((child.Id, IncidentChange.ApprovalRequested, "alice asked to run \"Restart deployment/b\""), (call.Incident.Id, call.Change, call.Detail));
    }

    [Fact]
    public async Task A_snoozed_storm_card_hears_nothing_from_its_rolled_up_incidents()
    {
        var (rig, parent, child) = await StormAsync();
        await using var _ = rig;
        await rig.Engine.SnoozeAsync(parent.Id, rig.Time.GetUtcNow().AddHours(1), AuditActor.Bot);
        var before = rig.Notifier.Calls.Count;

        await rig.Engine.AnnounceAsync(child.Id, IncidentChange.ApprovalDecided, "bob approved");
        await rig.Engine.ReportAsync(Failures.Pod("b-2", workload: "b", image: Image), default);

        Assert.Equal(before, rig.Notifier.Calls.Count);
        Assert.Equal(2, (await rig.Store.GetAsync(child.Id))!.ActivePodCount);
    }
}
