namespace ChatOpsPull.Storage;

public static class StorageServices
{
    public static IServiceCollection AddStorage(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<StorageOptions>()
            .Bind(configuration.GetSection(StorageOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<DatabaseWriteHealth>();
        services.AddSingleton<BotDatabase>();
        services.AddHostedService<MigrateOnStart>();
        return services;
    }

    /// <summary>Registers a capability's schema migrations.</summary>
    public static IServiceCollection AddSchemaMigrations(this IServiceCollection services, params SchemaMigration[] migrations)
    {
        services.AddSingleton(new SchemaMigrationSet(migrations));
        return services;
    }

    /// <summary>
    /// Runs before every other hosted service (registered first), so the schema is there when they start; then warms the
    /// PostgreSQL pool (<see cref="BotDatabase.WarmConnectionsAsync"/>).
    /// </summary>
    private sealed class MigrateOnStart(BotDatabase database) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            await database.MigrateAsync(cancellationToken).ConfigureAwait(false);
            await database.WarmConnectionsAsync(cancellationToken).ConfigureAwait(false);
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
