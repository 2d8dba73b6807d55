using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Incidents;
using ChatOpsPull.Storage;
using ChatOpsPull.Tests.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;
using ChatOpsPull.Diagnosing;

namespace ChatOpsPull.Tests.Incidents;

/// <summary>The incident engine in the real host, on a real SQLite file and a real PostgreSQL database.</summary>
[Collection(UsesPostgres.Name)]
public sealed class IncidentEngineTests
{
    private readonly PostgresFixture _postgres;

    public IncidentEngineTests(PostgresFixture postgres)
    {
        _postgres = postgres;
    }

    private Task<EngineRig> StartAsync(DatabaseProvider provider, Dictionary<string, string?>? settings = null) =>
        EngineRig.StartAsync(provider, _postgres, settings);

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Ten_pods_of_one_workload_make_one_incident_told_once_as_opened(DatabaseProvider provider)
    {
        await using var rig = await StartAsync(provider);
        for (var i = 0; i < 10; i++)
        {
            await rig.Engine.ReportAsync(Failures.Pod($"api-7d9c-{i}"), default);
        }

        var incident = Assert.Single(await rig.Store.ListOpenAsync());
        Assert.Equal(new IncidentKey("prod", "shop", "deployment/api", PullCause.ImageNotFound), incident.Key);
        Assert.Equal(10, incident.ActivePodCount);
        Assert.Matches("^inc-[0-9a-z]{8}$", incident.Id);
        Assert.Equal(new Core.Failures.WorkloadRef("Deployment", "api"), incident.Workload);
        var changes = rig.Notifier.ChangesFor(incident.Id);
        Assert.Equal(IncidentChange.Opened, changes[0]);
        Assert.Equal(1, changes.Count(c => c == IncidentChange.Opened));
        Assert.Equal(9, changes.Count(c => c == IncidentChange.PodsChanged));
        Assert.Equal([(incident.Id, 1)], rig.Scheduler.Requests);
        var audit = await rig.Audit.ForIncidentAsync(incident.Id);
        Assert.Equal(AuditActions.IncidentOpened, Assert.Single(audit).Action);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task The_same_report_twice_changes_nothing_and_tells_nobody(DatabaseProvider provider)
    {
        await using var rig = await StartAsync(provider);
        await rig.Engine.ReportAsync(Failures.Pod("api-1"), default);
        var before = Assert.Single(await rig.Store.ListOpenAsync());
        var told = rig.Notifier.Calls.Count;
        await rig.Engine.ReportAsync(Failures.Pod("api-1"), default);
        await rig.Engine.ReportAsync(Failures.Pod("api-1", at: Failures.Start.AddSeconds(20)), default);
        var after = Assert.Single(await rig.Store.ListOpenAsync());
        Assert.Equal(before.Version, after.Version);
        Assert.Equal(told, rig.Notifier.Calls.Count);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Different_causes_of_one_workload_are_separate_incidents(DatabaseProvider provider)
    {
        await using var rig = await StartAsync(provider);
        await rig.Engine.ReportAsync(Failures.Pod("api-1"), default);
        await rig.Engine.ReportAsync(Failures.Unauthorized("api-2"), default);
        var open = await rig.Store.ListOpenAsync("prod", "shop");
        Assert.Equal([PullCause.ImageNotFound, PullCause.AuthFailed], open.Select(i => i.Key.Cause).Order());
        Assert.Equal(2, rig.Notifier.Calls.Count(c => c.Change == IncidentChange.Opened));
        Assert.Empty(await rig.Store.ListOpenAsync("staging"));
        Assert.Empty(await rig.Store.ListOpenAsync("prod", "web"));
        Assert.Equal(2, (await rig.Store.ListOpenedAsync(Failures.Start, Failures.Start.AddSeconds(1))).Count);
        Assert.Empty(await rig.Store.ListOpenedAsync(Failures.Start.AddSeconds(1), Failures.Start.AddHours(1)));
        var counts = await rig.Store.CountAsync(Failures.Start.AddHours(-1), Failures.Start.AddHours(1), "prod");
        Assert.Equal(2, counts.ByState[IncidentState.Open]);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Backoff_opens_one_incident_and_the_specific_message_upgrades_it_in_place(DatabaseProvider provider)
    {
        await using var rig = await StartAsync(provider);
        await rig.Engine.ReportAsync(Failures.Backoff("api-1"), default);
        await rig.Engine.ReportAsync(Failures.Backoff("api-2"), default);
        var vague = Assert.Single(await rig.Store.ListOpenAsync());
        Assert.Equal(PullCause.BackoffOnly, vague.Key.Cause);

        await rig.Engine.ReportAsync(Failures.Pod("api-1"), default);
        await rig.Engine.ReportAsync(Failures.Backoff("api-3"), default);
        var upgraded = Assert.Single(await rig.Store.ListOpenAsync());
        Assert.Equal(vague.Id, upgraded.Id);
        Assert.Equal(PullCause.ImageNotFound, upgraded.Key.Cause);
        Assert.Equal(3, upgraded.ActivePodCount);
        Assert.Contains("not found", upgraded.Pods.Single(p => p.Pod == "api-1").Message, StringComparison.Ordinal);
        Assert.NotNull(await rig.Store.FindOpenAsync(upgraded.Key));
        Assert.Null(await rig.Store.FindOpenAsync(vague.Key));

        Assert.Equal(2, rig.Scheduler.Requests.Count(r => r.IncidentId == vague.Id));
        Assert.Equal(1, rig.Notifier.Calls.Count(c => c.Change == IncidentChange.Opened));
        Assert.Contains(await rig.Audit.ForIncidentAsync(vague.Id), a => a.Action == AuditActions.IncidentCauseChanged && a.Detail!.Contains("image_not_found", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_storm_across_workloads_rolls_up_under_one_card(DatabaseProvider provider)
    {
        await using var rig = await StartAsync(provider, new() { ["Incidents:RollupThreshold"] = "3" });
        const string image = "registry.example.com/base/runtime:2.0";
        await rig.Engine.ReportAsync(Failures.Pod("a-1", workload: "a", image: image), default);
        rig.Time.Advance(TimeSpan.FromSeconds(1));
        await rig.Engine.ReportAsync(Failures.Pod("b-1", workload: "b", image: image), default);
        Assert.All(await rig.Store.ListOpenAsync(), i => Assert.Null(i.RollupOf));

        rig.Time.Advance(TimeSpan.FromSeconds(1));
        await rig.Engine.ReportAsync(Failures.Pod("c-1", workload: "c", image: image, @namespace: "web"), default);
        rig.Time.Advance(TimeSpan.FromSeconds(1));
        await rig.Engine.ReportAsync(Failures.Pod("d-1", workload: "d", image: image), default);
        var open = await rig.Store.ListOpenAsync();
        Assert.Equal(4, open.Count);
        var parent = Assert.Single(open, i => i.RollupOf is null);
        Assert.Equal("deployment/a", parent.Key.Subject);
        Assert.All(open.Where(i => i.Id != parent.Id), i => Assert.Equal(parent.Id, i.RollupOf));
        Assert.Equal(3, (await rig.Store.ListRolledUpAsync(parent.Id)).Count);

        // c and d were never shown on their own: their news went to the parent's card.
        var c = open.Single(i => i.Key.Subject == "deployment/c");
        var d = open.Single(i => i.Key.Subject == "deployment/d");
        Assert.Empty(rig.Notifier.ChangesFor(c.Id));
        Assert.Empty(rig.Notifier.ChangesFor(d.Id));
        Assert.Contains(rig.Notifier.Calls, call => call.Incident.Id == parent.Id && call.Detail!.Contains("web/deployment/c", StringComparison.Ordinal));

        // A different image does not join the storm.
        await rig.Engine.ReportAsync(Failures.Pod("e-1", workload: "e", image: "registry.example.com/other:1"), default);
        Assert.Null((await rig.Store.ListOpenAsync()).Single(i => i.Key.Subject == "deployment/e").RollupOf);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Resolving_pods_resolves_the_incident_when_none_is_still_failing(DatabaseProvider provider)
    {
        await using var rig = await StartAsync(provider);
        await rig.Engine.ReportAsync(Failures.Pod("api-1"), default);
        await rig.Engine.ReportAsync(Failures.Pod("api-2"), default);
        var id = Assert.Single(await rig.Store.ListOpenAsync()).Id;

        await rig.Engine.ResolveAsync("prod", "shop", "api-1", null, PodResolution.Ready, default);
        var partly = await rig.Store.GetAsync(id);
        Assert.Equal(IncidentState.Open, partly!.State);
        Assert.Equal(1, partly.ActivePodCount);

        await rig.Engine.ResolveAsync("prod", "shop", "api-1", null, PodResolution.Ready, default); // again: nothing
        await rig.Engine.ResolveAsync("prod", "shop", "api-2", "app", PodResolution.Deleted, default);
        var resolved = await rig.Store.GetAsync(id);
        Assert.Equal(IncidentState.Resolved, resolved!.State);
        Assert.Equal(Failures.Start, resolved.ResolvedAt);
        Assert.Empty(await rig.Store.ListOpenAsync());
        Assert.Equal(IncidentChange.Resolved, rig.Notifier.ChangesFor(id)[^1]);
        Assert.Single(rig.Notifier.ChangesFor(id), c => c == IncidentChange.Resolved);
        Assert.Contains(await rig.Audit.ForIncidentAsync(id), a => a.Action == AuditActions.IncidentResolved);
        Assert.Single(await rig.Store.ListClosedAsync(Failures.Start.AddMinutes(-1), Failures.Start.AddMinutes(1)));
        var counts = await rig.Store.CountAsync(Failures.Start.AddHours(-1), Failures.Start.AddHours(1));
        Assert.Equal((0, 1, 1), (counts.Open, counts.Opened, counts.Resolved));
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_relapse_inside_the_quiet_window_reopens_the_same_incident_and_flapping_is_not_retold(DatabaseProvider provider)
    {
        await using var rig = await StartAsync(provider, new() { ["Incidents:QuietWindow"] = "00:10:00" });
        await rig.Engine.ReportAsync(Failures.Pod("api-1"), default);
        var id = Assert.Single(await rig.Store.ListOpenAsync()).Id;
        await rig.Engine.ResolveAsync("prod", "shop", "api-1", null, PodResolution.AlertResolved, default);

        rig.Time.Advance(TimeSpan.FromMinutes(3));
        await rig.Engine.ReportAsync(Failures.Pod("api-1", at: rig.Time.GetUtcNow()), default);
        var reopened = Assert.Single(await rig.Store.ListOpenAsync());
        Assert.Equal(id, reopened.Id);
        Assert.Equal(IncidentState.Open, reopened.State);
        Assert.Null(reopened.ResolvedAt);

        rig.Time.Advance(TimeSpan.FromMinutes(1));
        await rig.Engine.ResolveAsync("prod", "shop", "api-1", null, PodResolution.AlertResolved, default);
        rig.Time.Advance(TimeSpan.FromMinutes(1));
        await rig.Engine.ReportAsync(Failures.Pod("api-1", at: rig.Time.GetUtcNow()), default); // re-fired alert
        Assert.Equal(id, Assert.Single(await rig.Store.ListOpenAsync()).Id);
        Assert.Equal(
            [IncidentChange.Opened, IncidentChange.Resolved, IncidentChange.Reopened, IncidentChange.Resolved],
            rig.Notifier.ChangesFor(id));
        Assert.Equal(2, (await rig.Audit.ForIncidentAsync(id)).Count(a => a.Action == AuditActions.IncidentReopened));

        // Outside the window it is a new problem: a new incident.
        await rig.Engine.ResolveAsync("prod", "shop", "api-1", null, PodResolution.AlertResolved, default);
        rig.Time.Advance(TimeSpan.FromMinutes(11));
        await rig.Engine.ReportAsync(Failures.Pod("api-1", at: rig.Time.GetUtcNow()), default);
        var fresh = Assert.Single(await rig.Store.ListOpenAsync());
        Assert.NotEqual(id, fresh.Id);
        Assert.Equal([IncidentChange.Opened], rig.Notifier.ChangesFor(fresh.Id));
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Snoozed_and_muted_incidents_are_stored_and_updated_but_nobody_is_told(DatabaseProvider provider)
    {
        await using var rig = await StartAsync(provider);
        var user = new AuditActor("slack", "U012AB3CD", "alice");
        await rig.Engine.ReportAsync(Failures.Pod("api-1"), default);
        var id = Assert.Single(await rig.Store.ListOpenAsync()).Id;

        var snoozed = await rig.Engine.SnoozeAsync(id, rig.Time.GetUtcNow().AddHours(1), user);
        Assert.Equal(IncidentUpdateOutcome.Changed, snoozed.Outcome);
        await rig.Engine.ReportAsync(Failures.Pod("api-2"), default);
        Assert.Equal(2, (await rig.Store.GetAsync(id))!.ActivePodCount);
        Assert.Equal([IncidentChange.Opened, IncidentChange.Snoozed], rig.Notifier.ChangesFor(id));
        Assert.Contains(await rig.Audit.ForIncidentAsync(id), a => a.Action == AuditActions.IncidentSnoozed && a.Actor == user);

        rig.Time.Advance(TimeSpan.FromHours(2)); // snooze over
        await rig.Engine.ReportAsync(Failures.Pod("api-3", at: rig.Time.GetUtcNow()), default);
        Assert.Equal(IncidentChange.PodsChanged, rig.Notifier.ChangesFor(id)[^1]);

        var mute = await rig.Engine.MuteAsync(MuteScope.Image, "*", "registry.example.com/shop/api", null, user);
        var told = rig.Notifier.Calls.Count;
        await rig.Engine.ReportAsync(Failures.Pod("api-4", at: rig.Time.GetUtcNow()), default);
        await rig.Engine.ReportAsync(Failures.Pod("web-1", workload: "web"), default);
        Assert.Equal(told, rig.Notifier.Calls.Count);
        Assert.Equal(4, (await rig.Store.GetAsync(id))!.ActivePodCount);
        Assert.Equal(2, (await rig.Store.ListOpenAsync()).Count);

        var nsMute = await rig.Engine.MuteAsync(MuteScope.Namespace, "prod", "other-*", rig.Time.GetUtcNow().AddMinutes(30), user);
        Assert.True(await rig.Engine.UnmuteAsync(mute.Id, user));
        Assert.False(await rig.Engine.UnmuteAsync(mute.Id, user));
        await rig.Engine.ReportAsync(Failures.Pod("api-5", at: rig.Time.GetUtcNow()), default);
        Assert.Equal(told + 1, rig.Notifier.Calls.Count);
        await rig.Engine.ReportAsync(Failures.Pod("x-1", workload: "x", @namespace: "other-team"), default);
        Assert.Equal(told + 1, rig.Notifier.Calls.Count);
        Assert.Single(await rig.Store.ListMutesAsync(rig.Time.GetUtcNow()), m => m.Id == nsMute.Id);
        var recent = await rig.Audit.RecentAsync(10);
        Assert.Contains(recent, a => a.Action == AuditActions.MuteAdded);
        Assert.Contains(recent, a => a.Action == AuditActions.MuteRemoved && a.Detail == mute.Id);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Illegal_transitions_are_refused_audited_and_change_nothing(DatabaseProvider provider)
    {
        await using var rig = await StartAsync(provider);
        var user = new AuditActor("teams", "00000000-0000-0000-0000-000000000001", "bob");
        await rig.Engine.ReportAsync(Failures.Pod("api-1"), default);
        var incident = Assert.Single(await rig.Store.ListOpenAsync());

        var refused = await rig.Engine.TransitionAsync(incident.Id, IncidentState.Remediating, user, IncidentChange.RemediationStarted, null);
        Assert.Equal(IncidentUpdateOutcome.Refused, refused.Outcome);
        Assert.Equal("An incident that is open cannot become being remediated.", refused.Message);
        Assert.Equal(incident.Version, (await rig.Store.GetAsync(incident.Id))!.Version);
        Assert.Contains(await rig.Audit.ForIncidentAsync(incident.Id), a => a.Outcome == AuditOutcome.Refused && a.Actor == user);

        var path = new[] { IncidentState.Diagnosed, IncidentState.AwaitingApproval, IncidentState.Remediating, IncidentState.Resolved };
        foreach (var state in path)
        {
            Assert.Equal(IncidentUpdateOutcome.Changed, (await rig.Engine.TransitionAsync(incident.Id, state, user, IncidentChange.ApprovalDecided, "step")).Outcome);
        }

        var closed = await rig.Store.GetAsync(incident.Id);
        Assert.Equal(IncidentState.Resolved, closed!.State);
        Assert.Equal(incident.Version + 4, closed.Version);
        Assert.Equal(IncidentUpdateOutcome.Refused, (await rig.Engine.TransitionAsync(incident.Id, IncidentState.Failed, user, IncidentChange.RemediationFinished, null)).Outcome);
        Assert.Equal(IncidentUpdateOutcome.NotFound, (await rig.Engine.TransitionAsync("inc-zzzzzzzz", IncidentState.Diagnosed, user, IncidentChange.Diagnosed, null)).Outcome);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_notifier_that_throws_neither_loses_the_change_nor_stops_the_others(DatabaseProvider provider)
    {
        using var storage = await Engines.StorageAsync(provider, _postgres);
        var broken = new RecordingNotifier { Throw = true };
        var working = new RecordingNotifier();
        await using var host = new BotTestHost(storage, null, services =>
        {
            services.AddSingleton<IIncidentNotifier>(broken);
            services.AddSingleton<IIncidentNotifier>(working);
            services.RemoveAll<IDiagnosisScheduler>();
            services.AddSingleton<IDiagnosisScheduler>(new RecordingScheduler());
        });
        var engine = host.Services.GetRequiredService<IncidentEngine>();
        await engine.ReportAsync(Failures.Pod("api-1"), default);
        await engine.ReportAsync(Failures.Pod("api-2"), default);
        Assert.Equal(2, Assert.Single(await host.Services.GetRequiredService<IncidentStore>().ListOpenAsync()).ActivePodCount);
        Assert.Equal(2, broken.Calls.Count);
        Assert.Equal([IncidentChange.Opened, IncidentChange.PodsChanged], working.Calls.Select(c => c.Change));
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_storm_of_concurrent_reports_makes_one_incident_per_workload(DatabaseProvider provider)
    {
        await using var rig = await StartAsync(provider);
        var reports = Enumerable.Range(0, 300)
            .Select(i => i % 3 == 0 ? Failures.Backoff($"api-{i}") : Failures.Pod($"api-{i}"))
            .Concat(Enumerable.Range(0, 60).Select(i => Failures.Pod($"web-{i}", workload: "web")))
            .ToList();
        await Parallel.ForEachAsync(reports, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (f, ct) => await rig.Engine.ReportAsync(f, ct));
        var open = await rig.Store.ListOpenAsync();
        Assert.Equal(2, open.Count);
        Assert.Equal(300, open.Single(i => i.Key.Subject == "deployment/api").ActivePodCount);
        Assert.Equal(60, open.Single(i => i.Key.Subject == "deployment/web").ActivePodCount);
        Assert.All(open, i => Assert.Equal(PullCause.ImageNotFound, i.Key.Cause));
        Assert.Equal(2, rig.Notifier.Calls.Count(c => c.Change == IncidentChange.Opened));
    }

    [Fact]
    public async Task Two_replicas_on_one_postgres_reporting_the_same_failures_make_one_incident()
    {
        using var storage = await TestStorage.PostgresAsync(_postgres);
        using var replica = storage.Replica();
        var schedulerA = new RecordingScheduler();
        var schedulerB = new RecordingScheduler();
        await using var a = new BotTestHost(storage, null, s => { s.RemoveAll<IDiagnosisScheduler>(); s.AddSingleton<IDiagnosisScheduler>(schedulerA); });
        await using var b = new BotTestHost(replica, null, s => { s.RemoveAll<IDiagnosisScheduler>(); s.AddSingleton<IDiagnosisScheduler>(schedulerB); });
        var engineA = a.Services.GetRequiredService<IncidentEngine>();
        var engineB = b.Services.GetRequiredService<IncidentEngine>();

        var failures = Enumerable.Range(0, 40).Select(i => Failures.Pod($"api-{i}")).ToList();
        await Task.WhenAll(
            Parallel.ForEachAsync(failures, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (f, ct) => await engineA.ReportAsync(f, ct)),
            Parallel.ForEachAsync(failures.AsEnumerable().Reverse(), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (f, ct) => await engineB.ReportAsync(f, ct)));

        var open = await a.Services.GetRequiredService<IncidentStore>().ListOpenAsync();
        var incident = Assert.Single(open);
        Assert.Equal(40, incident.ActivePodCount);
        Assert.Single(schedulerA.Requests.Concat(schedulerB.Requests));
        Assert.Single(await a.Services.GetRequiredService<AuditLog>().ForIncidentAsync(incident.Id), l => l.Action == AuditActions.IncidentOpened);
    }

    [Fact]
    public async Task Two_replicas_storming_overlapping_workloads_on_one_postgres_group_their_rounds_and_put_every_pod_in_exactly_one_incident()
    {
        // The rigs' clock stands still, and a write that loses a race (a storm roll-up of another subject, say) waits on it
        // before its next try: with no wait between tries it goes on at once instead of waiting forever.
        var noRetryWait = new Dictionary<string, string?> { ["Incidents:WriteRetryDelay"] = "00:00:00" };
        await using var a = await EngineRig.StartAsync(DatabaseProvider.Postgres, _postgres, noRetryWait);
        await using var b = await EngineRig.StartOnAsync(a.Storage.Replica(), noRetryWait);

        // Twelve workloads of ten pods, every pod reported by both replicas (in opposite orders), far more subjects at
        // once than each replica's two write turns: rounds queue and run in groups, whose subject locks meet the other
        // replica's head on.
        var workloads = Enumerable.Range(0, 12).Select(w => $"app{w}").ToArray();
        var failures = workloads.SelectMany(w => Enumerable.Range(0, 10).Select(i => Failures.Pod($"{w}-{i}", workload: w))).ToList();
        var grouped = 0;
        using var test = new System.Diagnostics.Activity("replica-storm").Start();
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = source => source.Name == BotDatabase.ActivitySourceName,
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllData,
            ActivityStopped = activity =>
            {
                if (activity.TraceId == test.TraceId && activity.GetTagItem("rounds") is int n && n > 1)
                {
                    Interlocked.Increment(ref grouped);
                }
            },
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);
        await Task.WhenAll(
            Parallel.ForEachAsync(failures, new ParallelOptions { MaxDegreeOfParallelism = 24 }, async (f, ct) => await a.Engine.ReportAsync(f, ct)),
            Parallel.ForEachAsync(failures.AsEnumerable().Reverse(), new ParallelOptions { MaxDegreeOfParallelism = 24 }, async (f, ct) => await b.Engine.ReportAsync(f, ct)))
            .WaitAsync(TimeSpan.FromSeconds(120));

        Assert.True(grouped > 0, "no transaction held more than one subject's round");
        var open = await a.Store.ListOpenAsync();
        Assert.Equal(workloads.Order(StringComparer.Ordinal), open.Select(i => i.Key.Subject["deployment/".Length..]).Order(StringComparer.Ordinal));
        var pods = open.SelectMany(i => i.Pods.Select(p => p.Pod)).ToList();
        Assert.Equal(failures.Select(f => f.Pod).Order(StringComparer.Ordinal), pods.Order(StringComparer.Ordinal)); // each pod once, in one incident
        Assert.Equal(workloads.Length, a.Scheduler.Requests.Concat(b.Scheduler.Requests).Count());
        var audit = a.Audit;
        foreach (var incident in open)
        {
            Assert.Single(await audit.ForIncidentAsync(incident.Id), l => l.Action == AuditActions.IncidentOpened);
        }
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Concurrent_updates_through_the_store_are_never_lost(DatabaseProvider provider)
    {
        await using var rig = await StartAsync(provider);
        await rig.Engine.ReportAsync(Failures.Pod("api-1"), default);
        var id = Assert.Single(await rig.Store.ListOpenAsync()).Id;
        var version = (await rig.Store.GetAsync(id))!.Version;

        // Twenty writers each add a pod by read-modify-write; a lost update would lose a pod.
        await Task.WhenAll(Enumerable.Range(0, 20).Select(i => rig.Store.UpdateAsync(id, incident =>
            incident with { Pods = [.. incident.Pods, new AffectedPod($"extra-{i}", "app", "ErrImagePull", "x", Failures.Start, Failures.Start)] })));

        var after = await rig.Store.GetAsync(id);
        Assert.Equal(21, after!.Pods.Count);
        Assert.Equal(version + 20, after.Version);
        Assert.Null(await rig.Store.UpdateAsync(id, _ => null));
        Assert.Null(await rig.Store.UpdateAsync("inc-00000000", i => i));
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task The_sweep_re_enqueues_a_diagnosis_that_was_asked_for_but_never_applied(DatabaseProvider provider)
    {
        await using var rig = await StartAsync(provider);
        await rig.Engine.ReportAsync(Failures.Pod("api-1"), default);
        var id = Assert.Single(await rig.Store.ListOpenAsync()).Id;
        Assert.Single(rig.Scheduler.Requests); // "lost": the recording scheduler never runs it

        async Task SweepAsync()
        {
            using var scope = rig.Host.Services.CreateScope();
            await scope.ServiceProvider.GetRequiredService<ChatOpsPull.Diagnosing.DiagnosisSweepJob>().RunAsync(default);
        }

        await SweepAsync(); // too young: may still be queued
        Assert.Single(rig.Scheduler.Requests);

        rig.Time.Advance(TimeSpan.FromMinutes(11));
        await SweepAsync();
        Assert.Equal([(id, 1), (id, 1)], rig.Scheduler.Requests);

        var diagnosis = new Core.Diagnoses.Diagnosis(PullCause.ImageNotFound, 0.7, "not found", [], "x", []);
        Assert.Equal(IncidentUpdateOutcome.Changed, (await rig.Engine.ApplyDiagnosisAsync(id, 1, diagnosis)).Outcome);
        rig.Time.Advance(TimeSpan.FromMinutes(11));
        await SweepAsync();
        Assert.Equal(2, rig.Scheduler.Requests.Count);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Pods_joining_a_diagnosed_incident_keep_its_diagnosis_and_each_round_advances_its_version(DatabaseProvider provider)
    {
        await using var rig = await StartAsync(provider);
        await rig.Engine.ReportAsync(Failures.Pod("api-1"), default);
        var id = Assert.Single(await rig.Store.ListOpenAsync()).Id;
        var diagnosis = new Core.Diagnoses.Diagnosis(PullCause.ImageNotFound, 0.7, "tag 9.9.9 is not in registry.example.com/shop/api — Grüße", [], "x", []);
        Assert.Equal(IncidentUpdateOutcome.Changed, (await rig.Engine.ApplyDiagnosisAsync(id, 1, diagnosis)).Outcome);
        var diagnosed = (await rig.Store.GetAsync(id))!;

        for (var i = 2; i <= 4; i++)
        {
            await rig.Engine.ReportAsync(Failures.Pod($"api-{i}"), default);
        }

        var joined = (await rig.Store.GetAsync(id))!;
        Assert.Equal(4, joined.ActivePodCount);
        Assert.Equal(diagnosed.Version + 3, joined.Version);
        Assert.Equal(IncidentJson.Serialize(diagnosed.Diagnosis!), IncidentJson.Serialize(joined.Diagnosis!));
        Assert.Equal(diagnosis.Summary, joined.Diagnosis!.Summary);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Muting_an_incidents_image_silences_every_tag_of_it_in_that_cluster_only(DatabaseProvider provider)
    {
        await using var rig = await StartAsync(provider);
        var user = new AuditActor("slack", "U1", "dave");
        await rig.Engine.ReportAsync(Failures.Pod("api-1"), default);
        var id = Assert.Single(await rig.Store.ListOpenAsync()).Id;
        var mute = await rig.Engine.MuteImageOfAsync(id, null, user);
        Assert.Equal(("prod", "registry.example.com/shop/api", MuteScope.Image), (mute!.Cluster, mute.Pattern, mute.Scope));
        Assert.Null(await rig.Engine.MuteImageOfAsync("inc-00000000", null, user));

        var told = rig.Notifier.Calls.Count;
        await rig.Engine.ReportAsync(Failures.Pod("old-1", workload: "old", image: "registry.example.com/shop/api:1.0.0"), default);
        Assert.Equal(told, rig.Notifier.Calls.Count);
        await rig.Engine.ReportAsync(Failures.Pod("web-1", workload: "web", image: "registry.example.com/shop/web:1.0.0"), default);
        Assert.Equal(told + 1, rig.Notifier.Calls.Count);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_slow_notifier_hears_a_storm_as_a_few_updates_ending_with_every_pod(DatabaseProvider provider)
    {
        await using var rig = await StartAsync(provider);
        rig.Notifier.Delay = TimeSpan.FromMilliseconds(150);
        await Parallel.ForEachAsync(Enumerable.Range(0, 60), new ParallelOptions { MaxDegreeOfParallelism = 12 }, async (i, ct) =>
            await rig.Engine.ReportAsync(Failures.Pod($"api-{i}"), ct));

        var calls = rig.Notifier.Calls;
        Assert.Equal(IncidentChange.Opened, calls[0].Change);
        Assert.All(calls.Skip(1), c => Assert.Equal(IncidentChange.PodsChanged, c.Change));
        Assert.True(calls.Count < 60, $"{calls.Count} notifications for 60 pods: nothing was coalesced");
        Assert.Equal(60, calls[^1].Incident.ActivePodCount);
        Assert.True(calls.Select(c => c.Incident.Version).SequenceEqual(calls.Select(c => c.Incident.Version).Order()), "told out of order");
        Assert.Equal(60, Assert.Single(await rig.Store.ListOpenAsync()).ActivePodCount);
    }
    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Reports_stored_together_keep_one_version_each_and_the_last_notice_is_the_stored_incident(DatabaseProvider provider)
    {
        await using var rig = await StartAsync(provider);
        await rig.Engine.ReportAsync(Failures.Pod("api-0"), default);
        await rig.Engine.ReportAsync(Failures.Pod("api-1", reason: "ImagePullBackOff"), default);

        // New pods and pods already in the incident with a new message, arriving together (group commit rounds).
        var failures = Enumerable.Range(2, 30).Select(i => Failures.Pod($"api-{i}", at: Failures.Start.AddMilliseconds(i)))
            .Append(Failures.Pod("api-0", message: "rpc error: code = NotFound desc = manifest unknown (again)"))
            .ToList();
        await Task.WhenAll(failures.Select(f => rig.Engine.ReportAsync(f, default)));

        var stored = Assert.Single(await rig.Store.ListOpenAsync());
        Assert.Equal(32, stored.ActivePodCount);
        Assert.Equal(1 + 1 + 31, stored.Version);
        var last = rig.Notifier.Calls[^1].Incident;
        Assert.Equal(stored.Version, last.Version);
        Assert.Equal(stored.Pods, last.Pods);
        Assert.Contains("(again)", last.Pods.Single(p => p.Pod == "api-0").Message, StringComparison.Ordinal);
    }
}
