using ChatOpsPull.Storage;

namespace ChatOpsPull.Prevention;

public static class PreventionServices
{
    /// <summary>
    /// Prevention: sections "Admission" and "Sweep" (validated at start), the admission check
    /// (<see cref="AdmissionReviewer"/>), the sweep and its recurring job, the findings table and the recorder that stores
    /// findings and tells <see cref="IPreventionNotifier"/>s. Needs AddRegistry, AddKubernetes, AddRemediation's options,
    /// AddStorage and AddJobs; the HTTPS endpoint is AddAdmission's (Admission/).
    /// </summary>
    public static IServiceCollection AddPrevention(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AdmissionOptions>()
            .Bind(configuration.GetSection(AdmissionOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<SweepOptions>()
            .Bind(configuration.GetSection(SweepOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSchemaMigrations(FindingStore.Migration);
        services.AddSingleton<FindingStore>();
        services.AddSingleton<FindingRecorder>();
        services.AddHostedService(sp => sp.GetRequiredService<FindingRecorder>());
        services.AddSingleton<ClusterLookups>();
        services.AddSingleton<ImageVerifier>();
        services.AddSingleton<PreventionPlans>();
        services.AddSingleton<AdmissionReviewer>();
        services.AddSingleton<PreventionSweep>();
        services.AddTransient<PreventionSweepJob>();
        services.AddHostedService<PreventionSweepRegistration>();
        return services;
    }
}
