using ChatOpsPull.Storage;

namespace ChatOpsPull.Chat.Digest;

public static class DigestChatServices
{
    /// <summary>
    /// The scheduled digest in chat: the chart, the publisher (<see cref="IDigestPublisher"/> for the <c>digest</c>
    /// command), the Hangfire job, the recurring-job synchronization at start, and the digest_runs table.
    /// Needs <see cref="ChatOpsPull.Digest.DigestServices.AddDigest"/> and AddJobs.
    /// </summary>
    public static IServiceCollection AddDigestCards(this IServiceCollection services)
    {
        services.AddSchemaMigrations(DigestRuns.Migration);
        services.AddSingleton<DigestRuns>();
        services.AddSingleton<DigestChart>();
        services.AddSingleton<DigestPublisher>();
        services.AddSingleton<IDigestPublisher>(sp => sp.GetRequiredService<DigestPublisher>());
        services.AddTransient<DigestJob>();
        services.AddSingleton<DigestRecurringJobs>();
        services.AddHostedService(sp => sp.GetRequiredService<DigestRecurringJobs>());
        return services;
    }
}
