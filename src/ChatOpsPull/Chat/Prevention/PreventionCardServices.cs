using ChatOpsPull.Chat.Actions;
using ChatOpsPull.Prevention;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ChatOpsPull.Chat.Prevention;

public static class PreventionCardServices
{
    /// <summary>
    /// Findings in chat: their cards posted and updated in the routed channels (an <see cref="IPreventionNotifier"/>) and the
    /// clicks on their fix buttons (an <see cref="ICardTargetHandler"/>). Needs AddPrevention and AddChatActions.
    /// </summary>
    public static IServiceCollection AddPreventionCards(this IServiceCollection services)
    {
        services.TryAddSingleton<Cards.FixOffer>();
        services.AddSingleton<FindingCardPublisher>();
        services.AddSingleton<IPreventionNotifier>(sp => sp.GetRequiredService<FindingCardPublisher>());
        services.AddSingleton<ICardTargetHandler, FindingCardActions>();
        return services;
    }
}
