using ChatOpsPull.Chat.Routing;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Hosting;

public static class CoreServices
{
    /// <summary>Options and services every capability needs.</summary>
    public static IServiceCollection AddBotCore(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<BotOptions>()
            .Bind(configuration.GetSection(BotOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton(TimeProvider.System);
        services.AddOptions<ChatRoutingOptions>().Bind(configuration.GetSection(ChatRoutingOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ChatRoutingOptions>, ChatRoutingValidation>();
        services.AddSingleton<ChatRouter>();
        return services;
    }
}
