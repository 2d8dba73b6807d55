using ChatOpsPull.Chat.Routing;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Hosting;

public static class CoreServices
{
    /// <summary>Options and services every capability needs.</summary>
    /// <param name="contentRoot">The directory appsettings.json was read from; a relative Bot:DataDirectory is taken from it.</param>
    public static IServiceCollection AddBotCore(this IServiceCollection services, IConfiguration configuration, string contentRoot)
    {
        var dataDirectory = new ResolveDataDirectory(contentRoot);
        services.AddSingleton<IPostConfigureOptions<BotOptions>>(dataDirectory);
        services.AddSingleton<IValidateOptions<BotOptions>>(dataDirectory);
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
