using System.Collections.Concurrent;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Incidents;
using ChatOpsPull.Storage;
using ChatOpsPull.Tests.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;

namespace ChatOpsPull.Tests.Incidents;

/// <summary>
/// A notifier that never finishes telling <paramref name="hangsOn"/> (unless its caller gives up): a host that dies there.
/// Registered before the others, it keeps them (the card publisher) from hearing that news, and the incident's mailbox
/// stays busy with it, so later news of the incident waits behind it.
/// </summary>
public sealed class HangingNotifier(IncidentChange hangsOn) : IIncidentNotifier
{
    public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async Task IncidentChangedAsync(Incident incident, IncidentChange change, string? detail, string? newsKey, CancellationToken cancellationToken)
    {
        if (change == hangsOn)
        {
            Entered.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
    }

    /// <summary>Registers <paramref name="first"/> ahead of the notifiers already registered (so they are told after it).</summary>
    public static void RegisterFirst(IServiceCollection services, IIncidentNotifier first)
    {
        var others = services.Where(d => d.ServiceType == typeof(IIncidentNotifier)).ToList();
        services.RemoveAll<IIncidentNotifier>();
        services.AddSingleton(first);
        others.ForEach(services.Add);
    }
}

/// <summary>Records what notifiers were told; can be told to throw.</summary>
public sealed class RecordingNotifier : IIncidentNotifier
{
    private readonly ConcurrentQueue<(Incident Incident, IncidentChange Change, string? Detail)> _calls = new();

    public bool Throw { get; set; }

    /// <summary>How long each call takes (a slow chat platform).</summary>
    public TimeSpan Delay { get; set; }

    public IReadOnlyList<(Incident Incident, IncidentChange Change, string? Detail)> Calls => _calls.ToList();

    public IReadOnlyList<IncidentChange> ChangesFor(string incidentId) =>
        _calls.Where(c => c.Incident.Id == incidentId).Select(c => c.Change).ToList();

    /// <summary>The news keys told with each call (in the order of <see cref="Calls"/>).</summary>
    public IReadOnlyList<string?> NewsKeys => _keys.ToList();

    private readonly ConcurrentQueue<string?> _keys = new();

    public Task IncidentChangedAsync(Incident incident, IncidentChange change, string? detail, string? newsKey, CancellationToken cancellationToken)
    {
        _keys.Enqueue(newsKey);
        _calls.Enqueue((incident, change, detail));
        return Throw ? throw new InvalidOperationException("chat is down") : Task.Delay(Delay, cancellationToken); // a slow platform's pace
    }
}

/// <summary>Records diagnosis requests instead of enqueueing jobs (grouping tests that must not race a diagnosis).</summary>
public sealed class RecordingScheduler : IDiagnosisScheduler
{
    private readonly ConcurrentQueue<(string IncidentId, int Version)> _requests = new();

    public IReadOnlyList<(string IncidentId, int Version)> Requests => _requests.ToList();

    public Task EnqueueAsync(string incidentId, int requestVersion, CancellationToken cancellationToken)
    {
        _requests.Enqueue((incidentId, requestVersion));
        return Task.CompletedTask;
    }
}

public static class Failures
{
    public static readonly DateTimeOffset Start = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    public static PullFailure Pod(
        string pod,
        string message = "rpc error: code = NotFound desc = failed to pull and unpack image \"registry.example.com/shop/api:1.4.3\": not found",
        string workload = "api",
        string reason = "ErrImagePull",
        string image = "registry.example.com/shop/api:1.4.3",
        string @namespace = "shop",
        string container = "app",
        DateTimeOffset? at = null) =>
        new(FailureSource.KubernetesWatch, "prod", @namespace, pod, container, ContainerKind.Regular, image, reason, message, at ?? Start)
        {
            Workload = workload.Length == 0 ? null : new WorkloadRef("Deployment", workload),
        };

    public static PullFailure Backoff(string pod, string workload = "api", DateTimeOffset? at = null) =>
        Pod(pod, "Back-off pulling image \"registry.example.com/shop/api:1.4.3\"", workload, "ImagePullBackOff", at: at);

    public static PullFailure Unauthorized(string pod, string workload = "api") =>
        Pod(pod, "failed to authorize: failed to fetch oauth token: unexpected status: 401 Unauthorized", workload);
}

/// <summary>Both engines for theories: [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))].</summary>
public static class Engines
{
    public static TheoryData<DatabaseProvider> Both => new() { DatabaseProvider.Sqlite, DatabaseProvider.Postgres };

    public static async Task<TestStorage> StorageAsync(DatabaseProvider provider, PostgresFixture postgres) =>
        provider == DatabaseProvider.Sqlite ? TestStorage.Sqlite() : await TestStorage.PostgresAsync(postgres);
}

/// <summary>
/// The real host on a test storage with a recording notifier, a recording diagnosis scheduler (no diagnosis runs) and a
/// fake clock starting at <see cref="Failures.Start"/>.
/// </summary>
public sealed class EngineRig : IAsyncDisposable
{
    public required BotTestHost Host { get; init; }

    public required TestStorage Storage { get; init; }

    public RecordingNotifier Notifier { get; } = new();

    public RecordingScheduler Scheduler { get; } = new();

    public FakeTimeProvider Time { get; } = new(Failures.Start);

    public IncidentEngine Engine => Host.Services.GetRequiredService<IncidentEngine>();

    public IncidentStore Store => Host.Services.GetRequiredService<IncidentStore>();

    public AuditLog Audit => Host.Services.GetRequiredService<AuditLog>();

    /// <param name="services">More registrations (another notifier, say), made after the rig's own.</param>
    public static async Task<EngineRig> StartAsync(
        DatabaseProvider provider, PostgresFixture? postgres, Dictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
        => await StartOnAsync(await Engines.StorageAsync(provider, postgres!), settings, services);

    /// <summary>The same on a given storage (a second replica on another rig's database: <see cref="TestStorage.Replica"/>).</summary>
    public static Task<EngineRig> StartOnAsync(TestStorage storage, Dictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        EngineRig? rig = null;
        var host = new BotTestHost(storage, settings, s =>
        {
            s.AddSingleton<IIncidentNotifier>(_ => rig!.Notifier);
            s.RemoveAll<IDiagnosisScheduler>();
            s.AddSingleton<IDiagnosisScheduler>(_ => rig!.Scheduler);
            s.AddSingleton<TimeProvider>(_ => rig!.Time);
            services?.Invoke(s);
        });
        rig = new EngineRig { Host = host, Storage = storage };
        _ = host.Services; // start the host: migrations run
        return Task.FromResult(rig);
    }

    public T Get<T>()
        where T : notnull => Host.Services.GetRequiredService<T>();

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        Storage.Dispose();
    }
}
