using ChatOpsPull.Storage;

namespace ChatOpsPull.Chat.Outbox;

public static class OutboxServices
{
    /// <summary>
    /// The persistent, paced outbound chat queue (<see cref="IChatOutbox"/>) and its dispatcher. Each platform plugs in an
    /// <see cref="IOutboxDelivery"/>. Settings: section "Outbox" (<see cref="OutboxOptions"/>).
    /// </summary>
    public static IServiceCollection AddChatOutbox(this IServiceCollection services)
    {
        services.AddOptions<OutboxOptions>()
            .BindConfiguration(OutboxOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSchemaMigrations(OutboxSchema.Outbox, OutboxSchema.OnceKeys);
        services.AddSingleton<OutboxSignal>();
        services.AddSingleton<SqliteWriteGate>();
        services.AddSingleton<ChatOutbox>();
        services.AddSingleton<IChatOutbox>(sp => sp.GetRequiredService<ChatOutbox>());
        services.AddHostedService<OutboxDispatcher>();
        return services;
    }
}
