using ChatOpsPull.Chat.Outbox;
using ChatOpsPull.Chat.Teams.Activities;
using ChatOpsPull.Chat.Teams.Auth;
using ChatOpsPull.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Polly;

namespace ChatOpsPull.Chat.Teams;

public static class TeamsServices
{
    /// <summary>
    /// Teams over the Bot Framework: options (validated at start; empty App ID = Teams off), token validation,
    /// the Bot Connector client, conversation references, the outbox delivery and the <see cref="TeamsSurface"/>.
    /// The surface and the processor need an <see cref="IChatOutbox"/> (the outbox capability registers it); they are
    /// built on first use so the host starts without one.
    /// </summary>
    public static IServiceCollection AddTeams(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<TeamsOptions>()
            .Bind(configuration.GetSection(TeamsOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSchemaMigrations(TeamsConversationStore.Migration);
        services.TryAddSingleton(TimeProvider.System);

        services.AddHttpClient(BotFrameworkTokenValidator.HttpClientName, ConfigureTimeout);
        services.AddHttpClient(BotTokenSource.HttpClientName, ConfigureTimeout);
        services.AddHttpClient<TeamsConnectorClient>(ConfigureTimeout);
        services.AddSingleton<BotFrameworkTokenValidator>();
        services.AddSingleton<BotTokenSource>();
        services.AddResiliencePipeline<string, ConnectorResponse>(TeamsConnectorRetry.PipelineName, (builder, context) => TeamsConnectorRetry.Configure(
            builder,
            context.ServiceProvider.GetRequiredService<BotTokenSource>(),
            context.ServiceProvider.GetRequiredService<TimeProvider>()));
        services.AddSingleton<TeamsConversationStore>();
        services.TryAddSingleton<ITeamsCardApprovers, ConfiguredTeamsCardApprovers>();
        services.AddTransient<IOutboxDelivery, TeamsOutboxDelivery>();

        services.AddSingleton(sp => new TeamsSurface(
            sp.GetRequiredService<IChatOutbox>(),
            sp.GetRequiredService<TeamsConversationStore>(),
            sp.GetRequiredService<ITeamsCardApprovers>()));
        services.AddSingleton<IChatSurface>(sp => sp.GetRequiredService<TeamsSurface>());
        services.AddScoped(sp => new TeamsActivityProcessor(
            sp.GetRequiredService<TeamsConversationStore>(),
            sp.GetRequiredService<TeamsSurface>(),
            sp.GetRequiredService<IChatOutbox>(),
            sp.GetService<IChatCommandHandler>(),
            sp.GetService<IChatActionHandler>(),
            sp.GetRequiredService<ILogger<TeamsActivityProcessor>>()));
        return services;
    }

    private static void ConfigureTimeout(IServiceProvider services, HttpClient client) =>
        client.Timeout = TimeSpan.FromSeconds(services.GetRequiredService<IOptions<TeamsOptions>>().Value.HttpTimeoutSeconds);
}
