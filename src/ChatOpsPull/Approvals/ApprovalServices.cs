using ChatOpsPull.Incidents;
using ChatOpsPull.Remediation;
using ChatOpsPull.Storage;

namespace ChatOpsPull.Approvals;

public static class ApprovalServices
{
    /// <summary>
    /// Approvals: options (section "Approvals", validated at start), the decision retry pipeline
    /// (<see cref="ApprovalRetryPipelines"/>), the request store and schema, the approval workflow
    /// (also <see cref="IApprovalQueries"/>), the auto-run notifier (<see cref="IIncidentNotifier"/>) and its job, and the
    /// recurring expiry job, and the check every remediation job makes before it acts (<see cref="ApprovedRunCheck"/>) and the dry run it makes first when one waits (<see cref="DryRunBeforeTheFix"/>). Needs <see cref="Remediation.RemediationServices.AddRemediation"/>.
    /// </summary>
    public static IServiceCollection AddApprovals(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ApprovalOptions>()
            .Bind(configuration.GetSection(ApprovalOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddApprovalRetryPipelines();
        services.AddSchemaMigrations(ApprovalSchema.ApprovalsAndRuns, ApprovalSchema.RunDeadline, ApprovalSchema.DecisionSignatures);
        services.AddSingleton<ApprovalStore>();
        services.AddSingleton<ApprovalWorkflow>();
        services.AddSingleton<IRunAuthority, ApprovedRunCheck>();
        services.AddSingleton<IRunPreparation, DryRunBeforeTheFix>();
        services.AddSingleton<IApprovalQueries>(sp => sp.GetRequiredService<ApprovalWorkflow>());
        services.AddSingleton<IIncidentNotifier, AutoRunOnDiagnosis>();
        services.AddTransient<AutoRunJob>();
        services.AddTransient<DryRunJob>();
        services.AddTransient<ApprovalExpiryJob>();
        services.AddHostedService<ApprovalExpiryRegistration>();
        return services;
    }
}
