using ChatOpsPull.Core.Failures;
using ChatOpsPull.Detection.Webhooks;
using ChatOpsPull.Detection.Webhooks.Inbox;
using ChatOpsPull.Storage;
using ChatOpsPull.Tests.Incidents;
using ChatOpsPull.Tests.Storage;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ChatOpsPull.Tests.Alerts;

/// <summary>The parts the alert inbox's tests share: a host without its own drain (the test drives the inbox), alerts, raw SQL.</summary>
internal static class InboxRigs
{
    /// <summary>The host without its own inbox drain, so the test appends and applies the inbox itself.</summary>
    public static Task<EngineRig> StartWithoutDrainAsync(DatabaseProvider provider, PostgresFixture postgres, TestStorage? storage = null, Dictionary<string, string?>? settings = null) =>
        storage is null
            ? EngineRig.StartAsync(provider, postgres, settings, WithoutDrain)
            : EngineRig.StartOnAsync(storage, settings, WithoutDrain);

    public static PullAlert Firing(string pod, string workload = "api", string? image = null) =>
        new(AlertStatus.Firing, image is null ? Failures.Pod(pod, workload: workload) : Failures.Pod(pod, workload: workload, image: image), null);

    public static PullAlert Resolved(string pod, string workload = "api") => new(AlertStatus.Resolved, Failures.Pod(pod, workload: workload), null);

    public static async Task ExecuteAsync(EngineRig rig, string sql)
    {
        await using var connection = await rig.Get<BotDatabase>().OpenAsync();
        await connection.ExecuteAsync(sql);
    }

    private static void WithoutDrain(IServiceCollection services) =>
        services.Remove(services.Single(d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(AlertInboxDrain)));
}
