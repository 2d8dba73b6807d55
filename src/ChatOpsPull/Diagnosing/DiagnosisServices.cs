using ChatOpsPull.Kubernetes;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ChatOpsPull.Diagnosing;

public static class DiagnosisServices
{
    /// <summary>
    /// The evidence-backed diagnoser, used by the diagnose job (incidents), the <c>diagnose</c> command and CLI verb.
    /// Needs AddRegistry and AddKubernetes (a missing cluster connection only narrows the evidence).
    /// </summary>
    public static IServiceCollection AddDiagnosis(this IServiceCollection services)
    {
        services.TryAddSingleton<ICredentialSourceCatalog, NoCredentialSources>();
        services.TryAddSingleton<ReportedPodCredentials>(); // empty without a watcher (AddKubernetes registers the same one)
        services.AddSingleton<EvidenceDiagnoser>();
        services.RemoveAll<IIncidentDiagnoser>();
        services.AddSingleton<IIncidentDiagnoser>(sp => sp.GetRequiredService<EvidenceDiagnoser>());
        services.RemoveAll<IPullFailureDiagnoser>();
        services.AddSingleton<IPullFailureDiagnoser>(sp => sp.GetRequiredService<EvidenceDiagnoser>());
        return services;
    }

    /// <summary>
    /// Diagnosis in process with a durable backstop: the <see cref="Incidents.IDiagnosisScheduler"/> the incident engine
    /// asks (<see cref="InProcessDiagnosisScheduler"/>: in-process workers; a Hangfire job for overflow and failed runs), the
    /// diagnose job, and the recurring sweep (<see cref="DiagnosisSweepJob"/>) that takes up the diagnosis tickets a crash
    /// or a stop left undone. Needs AddJobs.
    /// </summary>
    public static IServiceCollection AddDiagnosisJobs(this IServiceCollection services)
    {
        services.AddOptions<DiagnosisOptions>()
            .BindConfiguration(DiagnosisOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<HangfireDiagnosisScheduler>();
        services.AddSingleton<InProcessDiagnosisScheduler>();
        services.AddSingleton<Incidents.IDiagnosisScheduler>(sp => sp.GetRequiredService<InProcessDiagnosisScheduler>());
        services.AddHostedService<DiagnosisWorkers>();
        services.AddHostedService<DiagnosisWarmUp>();
        services.AddTransient<DiagnosisRun>();
        services.AddTransient<DiagnoseIncidentJob>();
        services.AddTransient<DiagnosisSweepJob>();
        services.AddHostedService<RecurringJobsRegistration>();
        return services;
    }
}
