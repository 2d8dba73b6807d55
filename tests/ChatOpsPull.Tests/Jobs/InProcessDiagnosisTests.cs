using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Diagnosing;
using ChatOpsPull.Incidents;
using ChatOpsPull.Storage;
using ChatOpsPull.Tests.Incidents;
using ChatOpsPull.Tests.Infrastructure;
using ChatOpsPull.Tests.Storage;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Failures = ChatOpsPull.Tests.Incidents.Failures;

namespace ChatOpsPull.Tests.Jobs;

/// <summary>
/// Diagnoses from the message like the default; the calls named in <see cref="HoldFor"/> wait until <see cref="Release"/>
/// (or until the host stops them), the others run at once.
/// </summary>
public sealed class HeldDiagnoser(TimeProvider time) : IIncidentDiagnoser
{
    private readonly MessageOnlyDiagnoser _inner = new(time);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _started;
    private int _finished;

    /// <summary>Holds every call whose incident this says; null: none.</summary>
    public Func<Incident, bool>? HoldFor { get; set; }

    public int Started => Volatile.Read(ref _started);

    public int Finished => Volatile.Read(ref _finished);

    public void Release() => _released.TrySetResult();

    public async Task<Core.Diagnoses.Diagnosis> DiagnoseAsync(Incident incident, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _started);
        if (HoldFor?.Invoke(incident) == true)
        {
            await _released.Task.WaitAsync(cancellationToken);
        }

        var diagnosis = await _inner.DiagnoseAsync(incident, cancellationToken);
        Interlocked.Increment(ref _finished);
        return diagnosis;
    }
}

/// <summary>The in-process diagnosis queue and its durable backstop (the diagnosis ticket, taken up by the sweep on any host), on a real SQLite file and a real PostgreSQL database.</summary>
[Collection(UsesPostgres.Name)]
public sealed class InProcessDiagnosisTests(PostgresFixture postgres)
{
    private static BotTestHost Host(TestStorage storage, Dictionary<string, string?> settings, HeldDiagnoser? diagnoser = null, RecordingNotifier? notifier = null, TimeProvider? time = null) =>
        new(storage, settings, services =>
        {
            if (time is not null)
            {
                services.AddSingleton(time);
            }

            services.RemoveAll<IIncidentDiagnoser>();
            services.AddSingleton(provider => diagnoser ?? new HeldDiagnoser(provider.GetRequiredService<TimeProvider>()));
            services.AddSingleton<IIncidentDiagnoser>(provider => provider.GetRequiredService<HeldDiagnoser>());
            if (notifier is not null)
            {
                services.AddSingleton<IIncidentNotifier>(notifier);
            }
        });

    private static Task<Incident> DiagnosedAsync(IncidentStore store, string id, TimeSpan? timeout = null) =>
        Eventually.ValueAsync(async () => (await store.GetAsync(id))!, i => i.Diagnosis is not null, $"{id} to be diagnosed", timeout ?? TimeSpan.FromSeconds(60));

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task The_in_process_run_and_another_hosts_sweep_racing_store_one_diagnosis_and_send_one_card_update(DatabaseProvider provider)
    {
        using var storage = await Engines.StorageAsync(provider, postgres);
        var notifier = new RecordingNotifier();
        var diagnoser = new HeldDiagnoser(TimeProvider.System) { HoldFor = _ => true };
        await using var host = Host(storage, new() { ["Diagnosis:BackstopDelay"] = "01:00:00" }, diagnoser, notifier);
        var engine = host.Services.GetRequiredService<IncidentEngine>();
        var store = host.Services.GetRequiredService<IncidentStore>();
        var queue = host.Services.GetRequiredService<InProcessDiagnosisScheduler>();

        await engine.ReportAsync(Failures.Pod("api-1"), default);
        var id = Assert.Single(await store.ListOpenAsync()).Id;
        await Eventually.ValueAsync(() => Task.FromResult(diagnoser.Started), n => n == 1, "the in-process run to start");

        // A second host of the same database finds the ticket pending at once (backstop delay 0) and its sweep takes it
        // up too: both paths are inside the diagnosis at once, then both try to store it.
        using var replica = storage.Replica();
        await using var other = Host(replica, new() { ["Diagnosis:BackstopDelay"] = "00:00:00" }, diagnoser, notifier);
        var otherQueue = other.Services.GetRequiredService<InProcessDiagnosisScheduler>(); // starts the host
        Assert.Equal(1, await TakeUpAsync(other));
        await Eventually.ValueAsync(() => Task.FromResult(diagnoser.Started), n => n == 2, "the other host's sweep to start the same request");
        diagnoser.Release();
        await Eventually.ValueAsync(() => Task.FromResult(diagnoser.Finished), n => n == 2, "both diagnoses to finish");
        await Eventually.ValueAsync(() => Task.FromResult(queue.Pending), n => n == 0, "the in-process queue to drain");
        await Eventually.ValueAsync(() => Task.FromResult(otherQueue.Pending), n => n == 0, "the other host's queue to drain");

        var diagnosed = await DiagnosedAsync(store, id);
        Assert.Equal(IncidentState.Diagnosed, diagnosed.State);
        Assert.Single(await host.Services.GetRequiredService<AuditLog>().ForIncidentAsync(id), a => a.Action == AuditActions.IncidentDiagnosed);
        Assert.Single(notifier.ChangesFor(id), c => c == IncidentChange.Diagnosed);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_diagnosis_cut_off_by_a_crashed_host_leaves_no_job_behind_and_is_taken_up_from_its_ticket_by_the_next_host(DatabaseProvider provider)
    {
        using var storage = await Engines.StorageAsync(provider, postgres);
        string id;
        var held = new HeldDiagnoser(TimeProvider.System) { HoldFor = _ => true };

        // The first host takes the diagnosis in process and stops in the middle of it: asking for it stored no job
        // (the incident's diagnosis ticket is the only record of the request).
        await using (var first = Host(storage, new() { ["Jobs:RunServer"] = "false", ["Diagnosis:BackstopDelay"] = "01:00:00" }, held))
        {
            await first.Services.GetRequiredService<IncidentEngine>().ReportAsync(Failures.Pod("api-1"), default);
            var store = first.Services.GetRequiredService<IncidentStore>();
            id = Assert.Single(await store.ListOpenAsync()).Id;
            await Eventually.ValueAsync(() => Task.FromResult(held.Started), n => n == 1, "the in-process diagnosis to start");
            var monitoring = first.Services.GetRequiredService<JobStorage>().GetMonitoringApi();
            Assert.Equal(0, monitoring.ScheduledCount());
            Assert.Equal(0, monitoring.Queues().Sum(q => q.Length));
            Assert.True((await store.GetDiagnosisTicketAsync(id))!.IsPending);
        }

        Assert.Equal(0, held.Finished);
        using var replica = storage.Replica();
        await using var next = Host(replica, new() { ["Diagnosis:BackstopDelay"] = "00:00:01" });
        var nextStore = next.Services.GetRequiredService<IncidentStore>();
        await Eventually.ValueAsync(() => TakeUpAsync(next), n => n == 1, "the next host's sweep to take the ticket up once it is a second old");
        var diagnosed = await DiagnosedAsync(nextStore, id);

        Assert.Equal(IncidentState.Diagnosed, diagnosed.State);
        Assert.Equal(1, next.Services.GetRequiredService<HeldDiagnoser>().Finished);
        Assert.Single(await next.Services.GetRequiredService<AuditLog>().ForIncidentAsync(id), a => a.Action == AuditActions.IncidentDiagnosed);
        Assert.False((await nextStore.GetDiagnosisTicketAsync(id))!.IsPending);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Incidents_a_crash_left_undiagnosed_are_each_diagnosed_once_when_two_hosts_restart_and_both_sweep(DatabaseProvider provider)
    {
        const int Count = 4;
        var settings = new Dictionary<string, string?> { ["Incidents:RollupThreshold"] = "1000" };
        using var storage = await Engines.StorageAsync(provider, postgres);

        // The first host stores four incidents and dies in the middle of diagnosing every one of them.
        var crashed = new HeldDiagnoser(TimeProvider.System) { HoldFor = _ => true };
        await using (var first = Host(storage, new(settings) { ["Jobs:RunServer"] = "false", ["Diagnosis:BackstopDelay"] = "01:00:00" }, crashed))
        {
            var engine = first.Services.GetRequiredService<IncidentEngine>();
            for (var i = 0; i < Count; i++)
            {
                await engine.ReportAsync(Failures.Pod($"api{i}-1", workload: $"api{i}"), default);
            }

            await Eventually.ValueAsync(() => Task.FromResult(crashed.Started), n => n == Count, "the first host to start every diagnosis");
        }

        Assert.Equal(0, crashed.Finished);

        // Two hosts come back on the same database; their clock passes the backstop delay (2 min) at once, and the
        // sweep runs on each of them, twice, while the diagnoses it started are still running.
        var clock = new JumpingClock();
        var diagnoser = new HeldDiagnoser(clock) { HoldFor = _ => true };
        using var replicaA = storage.Replica();
        using var replicaB = storage.Replica();
        await using var a = Host(replicaA, settings, diagnoser, time: clock);
        await using var b = Host(replicaB, settings, diagnoser, time: clock);
        var store = a.Services.GetRequiredService<IncidentStore>();
        var ids = (await store.ListOpenAsync()).Select(i => i.Id).ToList();
        Assert.Equal(Count, ids.Count);
        _ = b.Services;
        clock.Jump(TimeSpan.FromMinutes(30));

        await SweepAsync(a);
        await SweepAsync(b);
        await Eventually.ValueAsync(() => Task.FromResult(diagnoser.Started), n => n >= Count, "the restarted hosts to take up the diagnoses");
        await SweepAsync(b);
        await SweepAsync(a);
        diagnoser.Release();

        var audit = a.Services.GetRequiredService<AuditLog>();
        foreach (var id in ids)
        {
            await DiagnosedAsync(store, id);
            Assert.Single(await audit.ForIncidentAsync(id), l => l.Action == AuditActions.IncidentDiagnosed);
        }

        await Eventually.ValueAsync(() => Task.FromResult(diagnoser.Started - diagnoser.Finished), n => n == 0, "every run to finish");
        Assert.Equal(Count, diagnoser.Started); // one diagnosis (one registry check) per incident, not one per host or per sweep
    }

    private static async Task SweepAsync(BotTestHost host)
    {
        using var scope = host.Services.CreateScope();
        await scope.ServiceProvider.GetRequiredService<DiagnosisSweepJob>().RunAsync(default);
    }

    private static async Task<int> TakeUpAsync(BotTestHost host)
    {
        using var scope = host.Services.CreateScope();
        return await scope.ServiceProvider.GetRequiredService<DiagnosisSweepJob>().TakeUpAsync(default);
    }

    [Fact]
    public async Task The_sweep_does_not_take_a_request_its_host_is_still_running_and_the_request_is_diagnosed_once()
    {
        using var storage = TestStorage.Sqlite();
        var diagnoser = new HeldDiagnoser(TimeProvider.System) { HoldFor = _ => true };
        await using var host = Host(storage, new() { ["Diagnosis:BackstopDelay"] = "00:00:00" }, diagnoser);
        var engine = host.Services.GetRequiredService<IncidentEngine>();
        var store = host.Services.GetRequiredService<IncidentStore>();

        await engine.ReportAsync(Failures.Pod("api-1"), default);
        var id = Assert.Single(await store.ListOpenAsync()).Id;
        await Eventually.ValueAsync(() => Task.FromResult(diagnoser.Started), n => n == 1, "the in-process diagnosis to start");

        // The request is pending past the backstop delay, but this host holds it: a sweep here takes nothing.
        Assert.True((await store.GetDiagnosisTicketAsync(id))!.IsPending);
        Assert.Equal(0, await TakeUpAsync(host));
        Assert.Equal(0, await TakeUpAsync(host));

        diagnoser.Release();
        await DiagnosedAsync(store, id);
        Assert.Equal(0, await TakeUpAsync(host));
        Assert.Equal(1, diagnoser.Started);
        Assert.Single(await host.Services.GetRequiredService<AuditLog>().ForIncidentAsync(id), a => a.Action == AuditActions.IncidentDiagnosed);
    }

    [Fact]
    public async Task A_full_in_process_queue_sends_requests_to_the_job_queue_and_every_incident_is_diagnosed_once()
    {
        using var storage = TestStorage.Sqlite();
        var diagnoser = new HeldDiagnoser(TimeProvider.System) { HoldFor = i => i.Key.Subject == "deployment/api0" };
        await using var host = Host(
            storage,
            new() { ["Incidents:RollupThreshold"] = "1000", ["Diagnosis:Workers"] = "1", ["Diagnosis:QueueCapacity"] = "1", ["Diagnosis:BackstopDelay"] = "01:00:00" },
            diagnoser);
        var engine = host.Services.GetRequiredService<IncidentEngine>();
        var store = host.Services.GetRequiredService<IncidentStore>();
        var queue = host.Services.GetRequiredService<InProcessDiagnosisScheduler>();

        // The one worker is held by api0; the queue holds one more; the rest overflow to the job queue.
        for (var i = 0; i < 4; i++)
        {
            await engine.ReportAsync(Failures.Pod($"api{i}-1", workload: $"api{i}"), default);
        }

        var incidents = await store.ListOpenAsync();
        Assert.Equal(4, incidents.Count);
        Assert.InRange(queue.Overflowed, 2, 3);

        // The overflow is diagnosed by the job server while the in-process worker is still held (the sweep is an hour away).
        await Eventually.ValueAsync(
            async () => (await store.ListOpenAsync()).Count(i => i.Diagnosis is not null),
            n => n >= queue.Overflowed,
            "the overflowed requests to be diagnosed by jobs");
        Assert.Null((await store.GetAsync(incidents.Single(i => i.Key.Subject == "deployment/api0").Id))!.Diagnosis);

        diagnoser.Release();
        var audit = host.Services.GetRequiredService<AuditLog>();
        foreach (var incident in incidents)
        {
            await DiagnosedAsync(store, incident.Id);
            Assert.Single(await audit.ForIncidentAsync(incident.Id), a => a.Action == AuditActions.IncidentDiagnosed);
        }
    }

    [Fact]
    public async Task The_diagnosis_stages_appear_on_metrics_with_counts_after_a_diagnosis()
    {
        using var storage = TestStorage.Sqlite();
        await using var host = Host(storage, []);
        using var client = host.CreateClient();
        var engine = host.Services.GetRequiredService<IncidentEngine>();
        var store = host.Services.GetRequiredService<IncidentStore>();
        await engine.ReportAsync(Failures.Pod("api-1"), default);
        await DiagnosedAsync(store, Assert.Single(await store.ListOpenAsync()).Id);

        var text = await Eventually.ValueAsync(
            () => client.GetStringAsync(new Uri("/metrics", UriKind.Relative)),
            t => t.Contains("stage=\"card\"", StringComparison.Ordinal),
            "the stage histograms on /metrics");

        foreach (var stage in new[] { "queue_wait", "kubernetes", "registry", "database", "card" })
        {
            Assert.Matches($"chatopspull_diagnosis_stage_seconds[a-z_]*_count\\{{[^}}]*stage=\"{stage}\"[^}}]*\\}} [1-9]", text);
        }
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task One_worker_diagnoses_the_next_incident_while_the_last_result_waits_for_its_write_on_postgres_but_not_on_sqlite_and_each_is_stored_once(DatabaseProvider provider)
    {
        using var storage = await Engines.StorageAsync(provider, postgres);
        var diagnoser = new HeldDiagnoser(TimeProvider.System) { HoldFor = _ => true };
        await using var host = Host(
            storage,
            new()
            {
                ["Diagnosis:Workers"] = "1",
                ["Diagnosis:BackstopDelay"] = "01:00:00",
                ["Storage:PostgresWarmConnections"] = "4",
                ["Storage:PostgresWriteTurns"] = "1", // one turn on both engines: the test holds it
            },
            diagnoser);
        var engine = host.Services.GetRequiredService<IncidentEngine>();
        var store = host.Services.GetRequiredService<IncidentStore>();
        var queue = host.Services.GetRequiredService<InProcessDiagnosisScheduler>();
        var turn = host.Services.GetRequiredService<BotDatabase>().WriteTurn;
        await engine.ReportAsync(Failures.Pod("api-1"), default);
        await engine.ReportAsync(Failures.Pod("web-1", workload: "web", image: "registry.example.com/shop/web:1.0.0"), default);
        var ids = (await store.ListOpenAsync()).Select(i => i.Id).ToList();
        Assert.Equal(2, ids.Count);
        await Eventually.ValueAsync(() => Task.FromResult(diagnoser.Started), n => n == 1, "the one worker to start the first diagnosis");

        // The write turn held elsewhere (a storm's intake), in a flow of its own: the first result cannot be stored.
        var held = await Task.Run(async () => await turn.TakeTurnAsync(null, default));
        diagnoser.Release();
        if (provider == DatabaseProvider.Postgres)
        {
            await Eventually.ValueAsync(() => Task.FromResult(diagnoser.Finished), n => n == 2, "the worker to diagnose the second incident meanwhile");
        }
        else
        {
            // SQLite's one writer: the worker waits for its result's write (the turn goes to it ahead of the intake).
            await Eventually.ValueAsync(() => Task.FromResult(diagnoser.Finished), n => n == 1, "the first diagnosis to be made");
            await Task.Delay(300);
            Assert.Equal(1, diagnoser.Finished);
        }

        foreach (var id in ids)
        {
            Assert.Null((await store.GetAsync(id))!.Diagnosis);
        }

        Assert.Equal(2, queue.Pending); // both still taken here until stored: the sweep leaves them alone

        held.Dispose();
        var audit = host.Services.GetRequiredService<AuditLog>();
        foreach (var id in ids)
        {
            await DiagnosedAsync(store, id);
            Assert.Single(await audit.ForIncidentAsync(id), a => a.Action == AuditActions.IncidentDiagnosed);
        }

        await Eventually.ValueAsync(() => Task.FromResult(queue.Pending), n => n == 0, "the in-process queue to drain");
        Assert.Equal(2, diagnoser.Started);
    }
}
