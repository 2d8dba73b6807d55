using ChatOpsPull.Detection.Webhooks.Inbox;
using ChatOpsPull.Storage;

namespace ChatOpsPull.Detection.Webhooks;

public static class AlertWebhookServices
{
    /// <summary>
    /// The Alertmanager and generic alert webhooks. What they accept goes into the <see cref="AlertInbox"/> (its table is
    /// migrated here), and <see cref="AlertInboxDrain"/> applies it to <see cref="Incidents.IPullFailureSink"/>, which the
    /// incident store registers.
    /// </summary>
    public static IServiceCollection AddAlertWebhooks(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AlertWebhookOptions>()
            .Bind(configuration.GetSection(AlertWebhookOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<AlertmanagerWebhookOptions>()
            .Bind(configuration.GetSection(AlertmanagerWebhookOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<GenericWebhookOptions>()
            .Bind(configuration.GetSection(GenericWebhookOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSchemaMigrations(AlertInboxSchema.AlertInbox, AlertInboxSchema.AlertInboxSubject, AlertInboxSchema.AlertInboxQuarantine);
        services.AddSingleton<AlertInbox>();
        services.AddHostedService<AlertInboxDrain>();
        services.AddSingleton<AlertWebhookCounts>();
        services.AddSingleton<AlertmanagerWebhook>();
        services.AddSingleton<GenericWebhook>();
        return services;
    }
}
