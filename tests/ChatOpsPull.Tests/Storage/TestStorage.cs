using ChatOpsPull.Storage;

namespace ChatOpsPull.Tests.Storage;

/// <summary>Where a test host keeps its state: a fresh SQLite data directory, or a PostgreSQL database.</summary>
/// <param name="DataDirectory">Always a fresh temp directory (Hangfire's SQLite file and other files go there).</param>
public sealed record TestStorage(DatabaseProvider Provider, string DataDirectory, string? ConnectionString) : IDisposable
{
    public static TestStorage Sqlite() => new(DatabaseProvider.Sqlite, NewTempDirectory(), null);

    /// <summary>Another host on the same SQLite files (a restart).</summary>
    public static TestStorage SqliteIn(string dataDirectory) => new(DatabaseProvider.Sqlite, dataDirectory, null);

    public static async Task<TestStorage> PostgresAsync(PostgresFixture postgres) =>
        new(DatabaseProvider.Postgres, NewTempDirectory(), await postgres.CreateDatabaseAsync());

    /// <summary>A second replica on the same PostgreSQL database, with its own data directory.</summary>
    public TestStorage Replica() => this with { DataDirectory = Provider == DatabaseProvider.Sqlite ? DataDirectory : NewTempDirectory() };

    /// <summary>The bot's database on this storage with only <paramref name="migrations"/> applied (storage tests' own tables).</summary>
    public Task<BotDatabase> OpenMigratedAsync(params SchemaMigration[] migrations) => OpenMigratedAsync(new StorageOptions().PostgresWarmConnections, migrations);

    /// <summary>The same with <paramref name="postgresWarmConnections"/> (on PostgreSQL, also the shared rounds' write turns).</summary>
    public async Task<BotDatabase> OpenMigratedAsync(int postgresWarmConnections, params SchemaMigration[] migrations)
    {
        var database = new BotDatabase(
            Microsoft.Extensions.Options.Options.Create(new StorageOptions { Provider = Provider, ConnectionString = ConnectionString, PostgresWarmConnections = postgresWarmConnections }),
            Microsoft.Extensions.Options.Options.Create(new ChatOpsPull.Configuration.BotOptions { DataDirectory = DataDirectory }),
            [new SchemaMigrationSet(migrations)]);
        await database.MigrateAsync();
        return database;
    }

    /// <summary>Configuration keys for a host using this storage.</summary>
    public IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Bot:DataDirectory"] = DataDirectory,
        ["Storage:Provider"] = Provider.ToString(),
        ["Storage:ConnectionString"] = ConnectionString,
        // Two warm connections, not the default 24: the warming still runs in every PostgreSQL host, without each of the
        // suite's hundreds of hosts starting two dozen server backends on CI's two cores.
        ["Storage:PostgresWarmConnections"] = "2",
    };

    public override string ToString() => Provider.ToString();

    /// <summary>
    /// Closes the idle connections of this database's pool (each test database has a pool of its own, and idle ones would
    /// otherwise live for minutes: a collection of many PostgreSQL hosts ran the server out of connections), then deletes
    /// the data directory.
    /// </summary>
    public void Dispose()
    {
        if (Provider == DatabaseProvider.Postgres && ConnectionString is not null)
        {
            using var connection = new Npgsql.NpgsqlConnection(ConnectionString);
            Npgsql.NpgsqlConnection.ClearPool(connection);
        }

        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static string NewTempDirectory() => Directory.CreateTempSubdirectory("chatopspull-test-").FullName;
}
