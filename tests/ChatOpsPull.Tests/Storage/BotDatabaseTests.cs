using ChatOpsPull.Configuration;
using ChatOpsPull.Storage;
using Dapper;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Tests.Storage;

[Collection(UsesPostgres.Name)]
public sealed class BotDatabaseTests
{
    private readonly PostgresFixture _postgres;

    public BotDatabaseTests(PostgresFixture postgres)
    {
        _postgres = postgres;
    }

    private static readonly SchemaMigration Widgets = new(
        "9901-widgets",
        "CREATE TABLE widgets (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, at INTEGER NOT NULL)",
        "CREATE TABLE widgets (id BIGINT PRIMARY KEY, name TEXT NOT NULL UNIQUE, at BIGINT NOT NULL)");

    private static readonly SchemaMigration WidgetColour = new(
        "9902-widget-colour",
        "ALTER TABLE widgets ADD COLUMN colour TEXT",
        "ALTER TABLE widgets ADD COLUMN colour TEXT");

    private static BotDatabase Open(TestStorage storage, params SchemaMigration[] migrations) => new(
        Options.Create(new StorageOptions { Provider = storage.Provider, ConnectionString = storage.ConnectionString }),
        Options.Create(new BotOptions { DataDirectory = storage.DataDirectory }),
        [new SchemaMigrationSet(migrations)]);

    private async Task<TestStorage> StorageAsync(DatabaseProvider provider) =>
        provider == DatabaseProvider.Sqlite ? TestStorage.Sqlite() : await TestStorage.PostgresAsync(_postgres);

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [InlineData(DatabaseProvider.Postgres)]
    public async Task Migrations_apply_once_in_order_and_later_ones_apply_on_the_next_start(DatabaseProvider provider)
    {
        using var storage = await StorageAsync(provider);
        await using (var first = Open(storage, Widgets))
        {
            await first.MigrateAsync();
            await first.MigrateAsync();
            Assert.Equal(["9901-widgets"], await first.AppliedMigrationsAsync());
        }

        await using var second = Open(storage, WidgetColour, Widgets);
        await second.MigrateAsync();
        Assert.Equal(["9901-widgets", "9902-widget-colour"], await second.AppliedMigrationsAsync());
        await using var connection = await second.OpenAsync();
        await connection.ExecuteAsync("INSERT INTO widgets (id, name, at, colour) VALUES (1, 'a', @at, 'red')", new { at = BotDatabase.ToDb(DateTimeOffset.UnixEpoch.AddDays(1)) });
        var at = await connection.ExecuteScalarAsync<long>("SELECT at FROM widgets WHERE id = 1");
        Assert.Equal(DateTimeOffset.UnixEpoch.AddDays(1), BotDatabase.FromDb(at));
    }

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [InlineData(DatabaseProvider.Postgres)]
    public async Task Replicas_starting_together_apply_each_migration_once(DatabaseProvider provider)
    {
        using var storage = await StorageAsync(provider);
        var replicas = Enumerable.Range(0, 4).Select(_ => Open(storage, Widgets, WidgetColour)).ToList();
        try
        {
            await Task.WhenAll(replicas.Select(r => r.MigrateAsync()));
            Assert.Equal(["9901-widgets", "9902-widget-colour"], await replicas[0].AppliedMigrationsAsync());
        }
        finally
        {
            foreach (var replica in replicas)
            {
                await replica.DisposeAsync();
            }
        }
    }

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [InlineData(DatabaseProvider.Postgres)]
    public async Task A_unique_violation_is_recognised_on_both_engines_and_rolls_the_transaction_back(DatabaseProvider provider)
    {
        using var storage = await StorageAsync(provider);
        await using var database = Open(storage, Widgets);
        await database.MigrateAsync();
        await using (var connection = await database.OpenAsync())
        {
            await connection.ExecuteAsync("INSERT INTO widgets (id, name, at) VALUES (1, 'a', 0)");
        }

        var error = await Assert.ThrowsAnyAsync<Exception>(() => database.InTransactionAsync(async (c, t) =>
        {
            await c.ExecuteAsync("INSERT INTO widgets (id, name, at) VALUES (2, 'b', 0)", transaction: t);
            return await c.ExecuteAsync("INSERT INTO widgets (id, name, at) VALUES (3, 'a', 0)", transaction: t);
        }));
        Assert.True(BotDatabase.IsUniqueViolation(error), error.ToString());
        await using var check = await database.OpenAsync();
        Assert.Equal(1L, await check.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM widgets"));
    }

    [Fact]
    public async Task A_broken_migration_stops_start_with_its_id_and_leaves_nothing_half_applied()
    {
        using var storage = await StorageAsync(DatabaseProvider.Postgres);
        var broken = new SchemaMigration("9903-broken", "SELECT 1", "CREATE TABLE half (id INT); CREATE TABLE half (id INT);");
        await using var database = Open(storage, Widgets, broken);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => database.MigrateAsync());
        Assert.Contains("9903-broken", error.Message, StringComparison.Ordinal);
        Assert.Equal(["9901-widgets"], await database.AppliedMigrationsAsync());
        await using var connection = await database.OpenAsync();
        Assert.Equal(0L, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'half'"));
    }

    [Fact]
    public void Two_migrations_with_one_id_are_refused_at_start()
    {
        using var storage = TestStorage.Sqlite();
        var error = Assert.Throws<InvalidOperationException>(() => Open(storage, Widgets, Widgets with { Sqlite = "SELECT 2" }));
        Assert.Contains("9901-widgets", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Advisory_locks_serialize_two_postgres_transactions_on_one_name()
    {
        using var storage = await StorageAsync(DatabaseProvider.Postgres);
        await using var database = Open(storage, Widgets);
        await database.MigrateAsync();
        var inside = 0;
        var maxInside = 0;
        await Task.WhenAll(Enumerable.Range(0, 6).Select(i => database.InTransactionAsync(async (c, t) =>
        {
            await database.LockAsync(c, t, "prod/shop/deployment/api");
            var now = Interlocked.Increment(ref inside);
            InterlockedMax(ref maxInside, now);
            await Task.Delay(30);
            Interlocked.Decrement(ref inside);
            return i;
        })));
        Assert.Equal(1, maxInside);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
