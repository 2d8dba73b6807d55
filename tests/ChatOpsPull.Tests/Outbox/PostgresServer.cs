using ChatOpsPull.Tests.Infrastructure;
using Npgsql;

namespace ChatOpsPull.Tests.Outbox;

/// <summary>
/// A throwaway PostgreSQL 15 server (Debian's binaries) on a free loopback port, for tests where several bot replicas
/// share one database. initdb and postgres refuse to run as root, so as root they run as the "postgres" user.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    private const string Bin = "/usr/lib/postgresql/15/bin";
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "chatopspull-pg-" + Guid.NewGuid().ToString("N")[..12]);
    private ExternalProcess? _server;

    public int Port { get; private set; }

    public string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Pooling=true;Timeout=15";

    public async Task InitializeAsync()
    {
        var data = Path.Combine(_directory, "data");
        var sockets = Path.Combine(_directory, "sockets");
        Directory.CreateDirectory(sockets);
        if (IsRoot)
        {
            await ExternalProcess.RunAsync("chown", ["-R", "postgres:postgres", _directory]);
        }

        await ExternalProcess.RunAsync(AsPostgres(Path.Combine(Bin, "initdb")), Arguments(Path.Combine(Bin, "initdb"), ["-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"]));
        (_server, Port) = await ExternalProcess.StartOnFreePortAsync(
            port =>
            {
                var serverArguments = new[]
                {
                    "-D", data, "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-k", sockets,
                    "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                    "-c", "max_connections=200",
                };
                return Task.FromResult(ExternalProcess.Start(AsPostgres(Path.Combine(Bin, "postgres")), Arguments(Path.Combine(Bin, "postgres"), serverArguments)));
            },
            TimeSpan.FromSeconds(60));
        await WaitForQueriesAsync();
    }

    public async Task<string> CreateDatabaseAsync(string name)
    {
        await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // a file may still be held for a moment
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static bool IsRoot => Environment.UserName == "root";

    private static string AsPostgres(string program) => IsRoot ? "runuser" : program;

    private static IEnumerable<string> Arguments(string program, IEnumerable<string> arguments) =>
        IsRoot ? new[] { "-u", "postgres", "--", program }.Concat(arguments) : arguments;

    private Task WaitForQueriesAsync() => Storage.Postgres.AcceptsConnectionsAsync(ConnectionString("postgres"), TimeSpan.FromSeconds(30));
}
