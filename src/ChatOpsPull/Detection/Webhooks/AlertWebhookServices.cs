namespace ChatOpsPull.Detection.Webhooks;

public static class AlertWebhookServices
{
    /// <summary>
    /// The Alertmanager and generic alert webhooks. They deliver into <see cref="Incidents.IPullFailureSink"/>, which the
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
        services.AddSingleton<AlertWebhookCounts>();
        services.AddSingleton<AlertmanagerWebhook>();
        services.AddSingleton<GenericWebhook>();
        return services;
    }
}
