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
        services.AddSingleton<EvidenceDiagnoser>();
        services.RemoveAll<IIncidentDiagnoser>();
        services.AddSingleton<IIncidentDiagnoser>(sp => sp.GetRequiredService<EvidenceDiagnoser>());
        services.RemoveAll<IPullFailureDiagnoser>();
        services.AddSingleton<IPullFailureDiagnoser>(sp => sp.GetRequiredService<EvidenceDiagnoser>());
        return services;
    }
}
