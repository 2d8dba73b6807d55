using ChatOpsPull.Chat.Teams;
using ChatOpsPull.Incidents;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ChatOpsPull.Chat.Actions;

public static class ChatActionServices
{
    /// <summary>
    /// What chat does with incidents and approvals: the incident card publisher (an <see cref="IIncidentNotifier"/>),
    /// chat users as approval actors, <see cref="IRemediationRequests"/>, the button handler (<see cref="IChatActionHandler"/>)
    /// and the policy-backed <see cref="ITeamsCardApprovers"/> (who sees Approve/Deny in Teams).
    /// Needs <see cref="Approvals.ApprovalServices.AddApprovals"/>.
    /// </summary>
    public static IServiceCollection AddChatActions(this IServiceCollection services)
    {
        services.TryAddSingleton<Cards.FixOffer>();
        services.AddSingleton<IncidentCardPublisher>();
        services.AddSingleton<IIncidentNotifier>(sp => sp.GetRequiredService<IncidentCardPublisher>());
        services.AddSingleton<ApprovalActors>();
        services.AddSingleton<ChatApprovals>();
        services.AddSingleton<IRemediationRequests>(sp => sp.GetRequiredService<ChatApprovals>());
        services.AddSingleton<IChatActionHandler, CardActionHandler>();
        services.Replace(ServiceDescriptor.Singleton<ITeamsCardApprovers, PolicyTeamsCardApprovers>());
        return services;
    }
}
