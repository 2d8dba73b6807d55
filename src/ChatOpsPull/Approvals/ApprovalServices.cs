using ChatOpsPull.Chat;
using ChatOpsPull.Chat.Actions;
using ChatOpsPull.Chat.Teams;
using ChatOpsPull.Incidents;
using ChatOpsPull.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ChatOpsPull.Approvals;

public static class ApprovalServices
{
    /// <summary>
    /// Approvals: options (section "Approvals", validated at start), the request store and schema, the approval service
    /// (also <see cref="IRemediationRequests"/> and <see cref="IApprovalQueries"/>), the button handler
    /// (<see cref="IChatActionHandler"/>), the incident card publisher and the auto-run notifier (<see cref="IIncidentNotifier"/>s),
    /// and the policy-backed <see cref="ITeamsCardApprovers"/> (who sees Approve/Deny in Teams).
    /// Needs <see cref="Remediation.RemediationServices.AddRemediation"/>.
    /// </summary>
    public static IServiceCollection AddApprovals(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ApprovalOptions>()
            .Bind(configuration.GetSection(ApprovalOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSchemaMigrations(ApprovalSchema.Approvals, ApprovalSchema.Runs);
        services.AddSingleton<ApprovalStore>();
        services.AddSingleton<ApprovalActors>();
        services.AddSingleton<ApprovalService>();
        services.AddSingleton<IRemediationRequests>(sp => sp.GetRequiredService<ApprovalService>());
        services.AddSingleton<IApprovalQueries>(sp => sp.GetRequiredService<ApprovalService>());
        services.AddSingleton<IncidentCardPublisher>();
        services.AddSingleton<IIncidentNotifier>(sp => sp.GetRequiredService<IncidentCardPublisher>());
        services.AddSingleton<IIncidentNotifier, AutoRunOnDiagnosis>();
        services.AddSingleton<IChatActionHandler, CardActionHandler>();
        services.Replace(ServiceDescriptor.Singleton<ITeamsCardApprovers, PolicyTeamsCardApprovers>());
        return services;
    }
}
