using ChatOpsPull.Fleet;
using ChatOpsPull.Storage;
using Hangfire;
using Hangfire.Common;
using Hangfire.AspNetCore;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Hangfire.Storage.SQLite;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Jobs;

/// <summary>
/// Hangfire in the host: the job storage follows Storage:Provider (SQLite file under Bot:DataDirectory, or the shared
/// PostgreSQL database in schema "hangfire"), a job server with Jobs:WorkerCount workers, and the dashboard at /hangfire
/// behind the local login. Storage, activator and clients are this host's own services (nothing global), so several
/// hosts can run in one process (tests) and several replicas can share one PostgreSQL database. The server takes the
/// queues <see cref="ClusterQueues.ServerQueues"/> names (in a fleet: its own cluster's and the shared one); jobs keep
/// their queue through retries (<see cref="QueueKeepingFilter"/>) and, in a fleet, only the bot's own jobs run
/// (<see cref="FleetJobGuard"/>).
/// </summary>
public static class JobsServices
{
    public const string DashboardPath = "/hangfire";

    public static IServiceCollection AddJobs(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<JobsOptions>()
            .Bind(configuration.GetSection(JobsOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();

        // Registered before AddHangfire, whose TryAdd would otherwise fall back to the static JobStorage.Current.
        services.AddSingleton<JobStorage>(CreateStorage);
        services.TryAddSingleton<ClusterQueues>();
        services.AddSingleton<ClusterJobs>();
        services.AddSingleton<QueueKeepingFilter>();
        services.AddSingleton<FleetJobGuard>();
        AddHostFilters(services);
        services.AddSingleton<JobActivator>(provider => new AspNetCoreJobActivator(provider.GetRequiredService<IServiceScopeFactory>()));
        services.AddHangfire((provider, config) => config
            .UseLogProvider(new HostLogProvider(provider.GetRequiredService<ILoggerFactory>()))
            .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer()
            .UseRecommendedSerializerSettings());
        if (configuration.GetSection(JobsOptions.Section).GetValue(nameof(JobsOptions.RunServer), true))
        {
            services.AddHangfireServer((provider, server) =>
            {
                var jobs = provider.GetRequiredService<IOptions<JobsOptions>>().Value;
                server.WorkerCount = jobs.WorkerCount;
                server.Queues = provider.GetRequiredService<ClusterQueues>().ServerQueues();
                server.ServerName = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..6]}";
                server.SchedulePollingInterval = TimeSpan.FromSeconds(5);
                server.ShutdownTimeout = TimeSpan.FromSeconds(10);
            });
        }

        return services;
    }

    /// <summary>
    /// This host's job filters (per host, not Hangfire's global ones): the queue keeper always, the fleet guard in fleet
    /// mode, on top of whatever filter provider was registered before (Observability's, with Hangfire's own providers).
    /// </summary>
    private static void AddHostFilters(IServiceCollection services)
    {
        var earlier = services.LastOrDefault(d => d.ServiceType == typeof(IJobFilterProvider));
        services.Replace(ServiceDescriptor.Singleton<IJobFilterProvider>(provider =>
        {
            var own = new JobFilterCollection { provider.GetRequiredService<QueueKeepingFilter>() };
            if (provider.GetRequiredService<ClusterQueues>().FleetMode)
            {
                own.Add(provider.GetRequiredService<FleetJobGuard>());
            }

            var before = earlier switch
            {
                { ImplementationInstance: IJobFilterProvider instance } => instance,
                { ImplementationFactory: { } factory } => (IJobFilterProvider)factory(provider),
                _ => JobFilterProviders.Providers,
            };
            return new JobFilterProviderCollection(before, own);
        }));
    }

    private static JobStorage CreateStorage(IServiceProvider provider)
    {
        var storage = provider.GetRequiredService<IOptions<StorageOptions>>().Value;
        var jobs = provider.GetRequiredService<IOptions<JobsOptions>>().Value;
        if (storage.Provider == DatabaseProvider.Postgres)
        {
            var options = new PostgreSqlStorageOptions
            {
                SchemaName = jobs.PostgresSchema,
                PrepareSchemaIfNecessary = true,
                QueuePollInterval = jobs.PostgresPollInterval,
                EnableLongPolling = jobs.PostgresNotify,
                InvisibilityTimeout = TimeSpan.FromMinutes(30),
                UseSlidingInvisibilityTimeout = true,
                DistributedLockTimeout = TimeSpan.FromMinutes(1),
            };
            return new PostgreSqlStorage(new NpgsqlConnectionFactory(storage.ConnectionString!, options), options);
        }

        var directory = Path.GetFullPath(provider.GetRequiredService<IOptions<BotOptions>>().Value.DataDirectory);
        Directory.CreateDirectory(directory);
        return new SQLiteStorage(Path.Combine(directory, jobs.SqliteFile), new SQLiteStorageOptions
        {
            QueuePollInterval = jobs.SqlitePollInterval,
            InvisibilityTimeout = TimeSpan.FromMinutes(30),
        });
    }
}
