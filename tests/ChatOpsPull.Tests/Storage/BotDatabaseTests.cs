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
        "CREATE TABLE widgets (id {bigint} PRIMARY KEY, name TEXT NOT NULL UNIQUE, at {bigint} NOT NULL)");

    private static readonly SchemaMigration WidgetColour = new(
        "9902-widget-colour",
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
        Assert.True(database.Dialect.IsUniqueViolation(error), error.ToString());
        await using var check = await database.OpenAsync();
        Assert.Equal(1L, await check.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM widgets"));
    }

    [Fact]
    public async Task A_warmed_postgres_pool_serves_as_many_writers_at_once_without_starting_a_server_connection()
    {
        using var storage = await StorageAsync(DatabaseProvider.Postgres);
        await using var database = new BotDatabase(
            Options.Create(new StorageOptions { Provider = storage.Provider, ConnectionString = storage.ConnectionString, PostgresWarmConnections = 6 }),
            Options.Create(new BotOptions { DataDirectory = storage.DataDirectory }),
            [new SchemaMigrationSet([Widgets])]);
        await database.MigrateAsync();

        Assert.Equal(6, await database.WarmConnectionsAsync());
        var database_ = new Npgsql.NpgsqlConnectionStringBuilder(storage.ConnectionString).Database;
        await using var admin = new Npgsql.NpgsqlConnection(_postgres.AdminConnectionString);
        await admin.OpenAsync();
        async Task<(long Backends, DateTime? Newest)> BackendsAsync() => await admin.QuerySingleAsync<(long, DateTime?)>(
            "SELECT COUNT(*), MAX(backend_start) FROM pg_stat_activity WHERE datname = @database_", new { database_ });
        var warmed = await BackendsAsync();
        Assert.Equal(6, warmed.Backends);

        // Six writers at once, each holding its transaction until all six are in theirs: the pool's warm connections serve them.
        using var allIn = new CountdownEvent(6);
        await Task.WhenAll(Enumerable.Range(1, 6).Select(i => Task.Run(() => database.InTransactionAsync(async (connection, transaction) =>
        {
            await connection.ExecuteAsync("INSERT INTO widgets (id, name, at) VALUES (@i, @name, 0)", new { i, name = $"w{i}" }, transaction);
            allIn.Signal();
            await Task.Run(() => allIn.Wait(TimeSpan.FromSeconds(60)));
            return i;
        }))));

        Assert.Equal(warmed, await BackendsAsync());
        await using var read = await database.OpenAsync();
        Assert.Equal(6L, await read.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM widgets"));
    }

    [Fact]
    public async Task A_broken_migration_stops_start_with_its_id_and_leaves_nothing_half_applied()
    {
        using var storage = await StorageAsync(DatabaseProvider.Postgres);
        var broken = new SchemaMigration("9903-broken", "CREATE TABLE half (id INT); CREATE TABLE half (id INT);");
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
        var error = Assert.Throws<InvalidOperationException>(() => Open(storage, Widgets, new SchemaMigration(Widgets.Id, "SELECT 2")));
        Assert.Contains("9901-widgets", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_migration_with_a_placeholder_no_dialect_knows_is_refused_at_start_with_its_name()
    {
        using var storage = TestStorage.Sqlite();
        var typo = new SchemaMigration("9904-typo", "CREATE TABLE typo (at {bigInt} NOT NULL)");
        var error = Assert.Throws<InvalidOperationException>(() => Open(storage, typo));
        Assert.Contains("9904-typo", error.Message, StringComparison.Ordinal);
        Assert.Contains("{bigInt}", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [InlineData(DatabaseProvider.Postgres)]
    public async Task One_text_makes_a_table_numbered_by_the_database_on_both_engines(DatabaseProvider provider)
    {
        using var storage = await StorageAsync(provider);
        await using var database = Open(storage, new SchemaMigration("9905-notes", "CREATE TABLE notes (id {identity}, at {bigint} NOT NULL, body TEXT NOT NULL)"));
        await database.MigrateAsync();
        await using var connection = await database.OpenAsync();
        var first = await connection.ExecuteScalarAsync<long>("INSERT INTO notes (at, body) VALUES (@at, 'a') RETURNING id", new { at = long.MaxValue });
        var second = await connection.ExecuteScalarAsync<long>("INSERT INTO notes (at, body) VALUES (0, 'b') RETURNING id");
        Assert.True(second > first, $"{first} then {second}");
        Assert.Equal(long.MaxValue, await connection.ExecuteScalarAsync<long>("SELECT at FROM notes WHERE id = @first", new { first }));
    }

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [InlineData(DatabaseProvider.Postgres)]
    public async Task A_consolidated_migration_takes_the_place_of_the_ones_it_replaces_and_runs_only_its_upgrade(DatabaseProvider provider)
    {
        using var storage = await StorageAsync(provider);
        await using (var before = Open(storage, Widgets, WidgetColour))
        {
            await before.MigrateAsync();
            await using var connection = await before.OpenAsync();
            await connection.ExecuteAsync("INSERT INTO widgets (id, name, at, colour) VALUES (1, 'a', 5, 'red')");
        }

        var merged = new SchemaMigration("9900-widgets", "CREATE TABLE widgets (id {bigint} PRIMARY KEY, name TEXT NOT NULL UNIQUE, at {bigint} NOT NULL, colour TEXT)")
        {
            Replaces = ["9901-widgets", "9902-widget-colour"],
            Upgrade = _ => "CREATE INDEX ix_widgets_colour ON widgets (colour)",
        };
        await using var after = Open(storage, merged);
        await after.MigrateAsync();
        await after.MigrateAsync();

        Assert.Equal(["9900-widgets"], await after.AppliedMigrationsAsync());
        await using var check = await after.OpenAsync();
        Assert.Equal("red", await check.ExecuteScalarAsync<string>("SELECT colour FROM widgets WHERE id = 1"));
        var indexes = provider == DatabaseProvider.Sqlite
            ? "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'ix_widgets_colour'"
            : "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'ix_widgets_colour'";
        Assert.Equal(1L, await check.ExecuteScalarAsync<long>(indexes));
    }

    [Fact]
    public async Task A_database_with_only_some_of_the_replaced_migrations_is_refused_and_left_as_it_was()
    {
        using var storage = TestStorage.Sqlite();
        await using (var before = Open(storage, Widgets))
        {
            await before.MigrateAsync();
        }

        var merged = new SchemaMigration("9900-widgets", "CREATE TABLE widgets (id {bigint} PRIMARY KEY, name TEXT NOT NULL UNIQUE, at {bigint} NOT NULL, colour TEXT)")
        {
            Replaces = ["9901-widgets", "9902-widget-colour"],
        };
        await using var after = Open(storage, merged);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => after.MigrateAsync());
        Assert.Contains("9900-widgets", error.Message, StringComparison.Ordinal);
        Assert.Contains("9902-widget-colour", error.Message, StringComparison.Ordinal);
        Assert.Equal(["9901-widgets"], await after.AppliedMigrationsAsync());
    }

    [Fact]
    public void A_replaced_migration_registered_beside_the_one_that_replaces_it_is_refused_at_start()
    {
        using var storage = TestStorage.Sqlite();
        var merged = new SchemaMigration("9900-widgets", "SELECT 1") { Replaces = ["9901-widgets"] };
        var error = Assert.Throws<InvalidOperationException>(() => Open(storage, merged, Widgets));
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
            await Task.Delay(30); // work done while holding the lock, so an overlap would show: not a wait for an outcome
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
