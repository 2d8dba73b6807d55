using ChatOpsPull.Chat.Outbox;
using ChatOpsPull.Chat.Slack.SocketMode;
using ChatOpsPull.Storage;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Chat.Slack;

public static class SlackServices
{
    /// <summary>
    /// Slack: options (section "Slack", validated at start), Web API client, outbox delivery, the card surface, inbound
    /// handling and Socket Mode. Everything is registered even when Slack is not configured; the endpoints then answer
    /// 503 and the surface sends nothing. Needs <see cref="OutboxServices.AddChatOutbox"/>.
    /// </summary>
    public static IServiceCollection AddSlack(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SlackOptions>()
            .Bind(configuration.GetSection(SlackOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSchemaMigrations(SlackSchema.Slack);
        services.AddHttpClient<SlackApiClient>((sp, http) =>
            {
                http.Timeout = sp.GetRequiredService<IOptions<SlackOptions>>().Value.RequestTimeout;
                http.DefaultRequestHeaders.UserAgent.ParseAdd("ChatOpsPull/1.0");
            })
            .RemoveAllLoggers();
        services.AddHttpClient<SlackFileUpload>((sp, http) => http.Timeout = TimeSpan.FromSeconds(60)).RemoveAllLoggers();
        services.AddSingleton<SlackCardMessages>();
        services.AddSingleton<SlackSeenEvents>();
        services.AddSingleton<SlackUserGroups>();
        services.AddSingleton<SlackSurface>();
        services.AddSingleton<IChatSurface>(sp => sp.GetRequiredService<SlackSurface>());
        services.AddSingleton<IOutboxDelivery, SlackOutboxDelivery>();
        services.AddSingleton<SlackReplies>();
        services.AddSingleton<SlackBackgroundWork>();
        services.AddHostedService(sp => sp.GetRequiredService<SlackBackgroundWork>());
        services.AddSingleton<SlackInbound>();
        services.AddSingleton<SlackRequestGate>();
        services.AddHostedService<SlackSocketMode>();
        return services;
    }
}
