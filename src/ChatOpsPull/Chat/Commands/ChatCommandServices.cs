using ChatOpsPull.Kubernetes;
using Microsoft.Extensions.DependencyInjection.Extensions;
using ChatOpsPull.Diagnosing;

namespace ChatOpsPull.Chat.Commands;

public static class ChatCommandServices
{
    /// <summary>
    /// The channel-neutral <see cref="IChatCommandHandler"/> that Slack (HTTP and Socket Mode) and Teams hand commands to.
    /// Also registers the Kubernetes-only <see cref="IPullFailureDiagnoser"/> for <c>diagnose</c> unless another one
    /// (the evidence-backed diagnoser with registry checks) is registered before this.
    /// </summary>
    public static IServiceCollection AddChatCommands(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ChatCommandOptions>()
            .Bind(configuration.GetSection(ChatCommandOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton<IPullFailureDiagnoser, InspectionDiagnoser>();
        services.TryAddSingleton<Cards.FixOffer>();
        services.AddSingleton<StatusCommand>();
        services.AddSingleton<DiagnoseCommand>();
        services.AddTransient<RelayedDiagnoseJob>();
        services.AddSingleton<CheckCommand>();
        services.AddSingleton<RetryCommand>();
        services.AddSingleton<ChatCommandHandler>();
        services.AddSingleton<IChatCommandHandler>(sp => sp.GetRequiredService<ChatCommandHandler>());
        return services;
    }
}
