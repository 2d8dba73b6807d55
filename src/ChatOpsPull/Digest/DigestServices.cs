namespace ChatOpsPull.Digest;

public static class DigestServices
{
    /// <summary>
    /// The digest's data: options (section "Digest", validated at start), the data reader, the cluster scan and the
    /// report builder. The cards, the job that posts them and the schedule are <see cref="Chat.Digest.DigestChatServices.AddDigestCards"/>.
    /// Needs AddStorage, AddKubernetes and AddRegistry.
    /// </summary>
    public static IServiceCollection AddDigest(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DigestOptions>()
            .Bind(configuration.GetSection(DigestOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<DigestDataReader>();
        services.AddSingleton<ClusterImageScan>();
        services.AddSingleton<FleetClusterScans>();
        services.AddTransient<ClusterScanRelayJob>();
        services.AddSingleton<DigestBuilder>();
        return services;
    }
}
