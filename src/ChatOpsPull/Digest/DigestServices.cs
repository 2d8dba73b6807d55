using ChatOpsPull.Storage;
using ChatOpsPull.Chat.Digest;

namespace ChatOpsPull.Digest;

public static class DigestServices
{
    /// <summary>
    /// The scheduled digest: options (section "Digest", validated at start), the data reader, cluster scan, chart,
    /// publisher (<see cref="IDigestPublisher"/> for the <c>digest</c> command), the Hangfire job, the recurring-job
    /// synchronization at start, and the digest_runs table. Needs AddStorage, AddJobs, AddKubernetes and AddRegistry.
    /// </summary>
    public static IServiceCollection AddDigest(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DigestOptions>()
            .Bind(configuration.GetSection(DigestOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSchemaMigrations(DigestRuns.Migration);
        services.AddSingleton<DigestRuns>();
        services.AddSingleton<DigestDataReader>();
        services.AddSingleton<ClusterImageScan>();
        services.AddSingleton<DigestChart>();
        services.AddSingleton<DigestBuilder>();
        services.AddSingleton<DigestPublisher>();
        services.AddSingleton<IDigestPublisher>(sp => sp.GetRequiredService<DigestPublisher>());
        services.AddTransient<DigestJob>();
        services.AddSingleton<DigestRecurringJobs>();
        services.AddHostedService(sp => sp.GetRequiredService<DigestRecurringJobs>());
        return services;
    }
}
