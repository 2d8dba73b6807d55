using System.Data.Common;
using ChatOpsPull.Incidents;
using ChatOpsPull.Storage;
using Dapper;
using Npgsql;

namespace ChatOpsPull.Tests.Storage;

/// <summary>
/// The bot's PostgreSQL connections prepare the statements they send again (Npgsql's automatic preparation, a default the
/// connection string can override), the rows of <see cref="StatementBatch.AddRows"/> are one text whatever their number,
/// and a statement prepared before another replica's migration changed its columns fails once as a transient error.
/// Each test reads <c>pg_prepared_statements</c> on the one connection it holds open (the view is per session).
/// </summary>
[Collection(UsesPostgres.Name)]
public sealed class PostgresPreparedStatementTests(PostgresFixture postgres)
{
    private static readonly SchemaMigration Gauges = new(
        "9931-gauges",
        "CREATE TABLE gauges (id {bigint} PRIMARY KEY, name TEXT NOT NULL, reading {bigint}, note TEXT)");

    private static readonly SchemaMigration GaugeUnit = new(
        "9932-gauge-unit",
        "ALTER TABLE gauges ADD COLUMN unit TEXT NOT NULL DEFAULT 'kPa'");

    private const string Insert = "INSERT INTO gauges (id, name, reading, note) VALUES";
    private const string Row = "(@id, @name, @reading, @note)";
    private const string Upsert = "ON CONFLICT (id) DO UPDATE SET reading = excluded.reading, note = excluded.note";

    [Fact]
    public async Task The_bots_connections_prepare_a_statement_they_send_twice_and_a_connection_string_can_turn_it_off()
    {
        using var storage = await TestStorage.PostgresAsync(postgres);
        await using (var database = await storage.OpenMigratedAsync(Gauges))
        {
            await using var connection = await database.OpenAsync();
            await ReadTwiceAsync(connection);
            Assert.Equal(1, await PreparedAsync(connection, "SELECT name FROM gauges%"));
        }

        var off = storage with { ConnectionString = storage.ConnectionString + ";Max Auto Prepare=0" };
        await using (var database = await off.OpenMigratedAsync(Gauges))
        {
            await using var connection = await database.OpenAsync();
            await ReadTwiceAsync(connection);
            Assert.Equal(0, await PreparedAsync(connection, "SELECT name FROM gauges%"));
        }

        static async Task ReadTwiceAsync(DbConnection connection)
        {
            for (var i = 0; i < 3; i++)
            {
                await connection.QueryAsync<string>("SELECT name FROM gauges WHERE id = @id", new { id = i });
            }
        }
    }

    [Fact]
    public async Task The_bots_connections_plan_a_prepared_statement_once_generically_only_when_generic_plans_are_turned_on()
    {
        using var storage = await TestStorage.PostgresAsync(postgres);
        await using (var migrated = await storage.OpenMigratedAsync(Gauges))
        {
        }

        await using (var database = new BotDatabase(
            Microsoft.Extensions.Options.Options.Create(new StorageOptions { Provider = storage.Provider, ConnectionString = storage.ConnectionString, PostgresGenericPlans = true }),
            Microsoft.Extensions.Options.Options.Create(new ChatOpsPull.Configuration.BotOptions { DataDirectory = storage.DataDirectory }),
            []))
        {
            var (custom, generic) = await PlansAfterEightReadsAsync(database);
            Assert.Equal(0, custom);
            Assert.True(generic >= 1, $"generic plans {generic}");
        }

        await using (var off = new BotDatabase(
            Microsoft.Extensions.Options.Options.Create(new StorageOptions { Provider = storage.Provider, ConnectionString = storage.ConnectionString }),
            Microsoft.Extensions.Options.Options.Create(new ChatOpsPull.Configuration.BotOptions { DataDirectory = storage.DataDirectory }),
            []))
        {
            // The default, PostgreSQL's own rule: the first five executions of a prepared statement with parameters get custom plans.
            var (custom, _) = await PlansAfterEightReadsAsync(off);
            Assert.True(custom >= 5, $"custom plans {custom}");
        }

        static async Task<(long Custom, long Generic)> PlansAfterEightReadsAsync(BotDatabase database)
        {
            await using var connection = await database.OpenAsync();
            for (var i = 0; i < 8; i++)
            {
                await connection.QueryAsync<string>("SELECT name FROM gauges WHERE id = @id", new { id = i });
            }

            return await connection.QuerySingleAsync<(long, long)>(
                "SELECT custom_plans, generic_plans FROM pg_prepared_statements WHERE statement LIKE 'SELECT name FROM gauges%'");
        }
    }

    [Fact]
    public async Task Rows_of_any_number_are_one_prepared_text_and_each_row_keeps_its_own_values_and_nulls()
    {
        using var storage = await TestStorage.PostgresAsync(postgres);
        await using var database = await storage.OpenMigratedAsync(Gauges);
        await using var connection = await database.OpenAsync();

        long id = 0;
        foreach (var count in new[] { 1, 3, 2, 5 })
        {
            var rows = Enumerable.Range(0, count).Select(_ => ++id).Select(n => new StatementParameters()
                .Add("id", n)
                .Add("reading", n % 2 == 0 ? (long?)null : n * 10)
                .Add("note", n % 3 == 0 ? null : $"note {n}")).ToList();
            var batch = new StatementBatch();
            batch.AddRows(Insert, Row, Upsert, new StatementParameters().Add("name", "boiler"), rows, rowsPerStatement: 100);
            await batch.ExecuteAsync(connection, null);
        }

        // Three rows again: an upsert whose conflict updates them.
        var again = new StatementBatch();
        again.AddRows(Insert, Row, Upsert, new StatementParameters().Add("name", "ignored"),
            [.. new long[] { 1, 2, 11 }.Select(n => new StatementParameters().Add("id", n).Add("reading", (long?)(n + 1000)).Add("note", (string?)"again"))], rowsPerStatement: 2);
        await again.ExecuteAsync(connection, null);

        var stored = (await connection.QueryAsync<(long Id, string Name, long? Reading, string? Note)>("SELECT id, name, reading, note FROM gauges ORDER BY id")).ToList();
        Assert.Equal(Enumerable.Range(1, 11).Select(n => (long)n), stored.Select(r => r.Id));
        Assert.All(stored, r => Assert.Equal("boiler", r.Name));
        Assert.Equal((1L, "boiler", (long?)1001, (string?)"again"), stored[0]);
        Assert.Equal((3L, "boiler", (long?)30, (string?)null), stored[2]);
        Assert.Equal((4L, "boiler", (long?)null, (string?)"note 4"), stored[3]);
        Assert.Equal((11L, "boiler", (long?)1011, (string?)"again"), stored[10]);
        Assert.Equal(1, await PreparedAsync(connection, "INSERT INTO gauges%"));
    }

    [Fact]
    public async Task A_statement_prepared_before_another_replicas_migration_fails_once_as_transient_and_then_reads_the_new_column()
    {
        using var storage = await TestStorage.PostgresAsync(postgres);
        await using var running = await storage.OpenMigratedAsync(Gauges);
        await using var connection = await running.OpenAsync();
        await connection.ExecuteAsync("INSERT INTO gauges (id, name) VALUES (1, 'boiler')");
        for (var i = 0; i < 3; i++)
        {
            await connection.QueryAsync("SELECT * FROM gauges WHERE id = @id", new { id = 1 });
        }

        Assert.Equal(1, await PreparedAsync(connection, "SELECT * FROM gauges%"));

        // A newer replica starts and migrates; the running one's connection still holds the statement prepared.
        await using (var upgraded = await storage.Replica().OpenMigratedAsync(Gauges, GaugeUnit))
        {
            Assert.Contains(GaugeUnit.Id, await upgraded.AppliedMigrationsAsync());
        }

        var stale = await Assert.ThrowsAsync<PostgresException>(() => connection.QueryAsync("SELECT * FROM gauges WHERE id = @id", new { id = 1 }));
        Assert.True(running.Dialect.IsTransient(stale), stale.Message);
        Assert.True(IncidentRetryPipelines.IsLostRace(stale, uniqueViolations: false));

        var row = (IDictionary<string, object>)await connection.QuerySingleAsync("SELECT * FROM gauges WHERE id = @id", new { id = 1 });
        Assert.Equal("kPa", row["unit"]);
    }

    [Fact]
    public async Task Pooled_connections_of_a_database_migrated_at_start_keep_working_with_prepared_statements()
    {
        using var storage = await TestStorage.PostgresAsync(postgres);
        await using var database = await storage.OpenMigratedAsync(2, Gauges, GaugeUnit);
        Assert.Equal(2, await database.WarmConnectionsAsync());
        for (var i = 0; i < 6; i++)
        {
            var id = i;
            await database.InTransactionAsync(async (connection, transaction) =>
                await connection.ExecuteAsync("INSERT INTO gauges (id, name, unit) VALUES (@id, 'boiler', 'bar')", new { id }, transaction));
        }

        await using var read = await database.OpenAsync();
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(6L, await read.ExecuteScalarAsync<long>("SELECT count(*) FROM gauges WHERE unit = @unit", new { unit = "bar" }));
        }
    }

    private static async Task<long> PreparedAsync(DbConnection connection, string like) =>
        await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE @like", new { like });
}
