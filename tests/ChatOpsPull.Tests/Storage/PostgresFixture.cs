using System.Globalization;
using ChatOpsPull.Tests.Infrastructure;
using Npgsql;

namespace ChatOpsPull.Tests.Storage;

/// <summary>
/// A throwaway PostgreSQL 15 cluster from Debian's server binaries: <c>initdb</c> in a temp directory, the server on
/// a free loopback port (127.0.0.1 only, fsync off), run as the <c>postgres</c> user when the tests run as root.
/// Shared per xunit collection (<see cref="UsesPostgres"/>); each test class asks for its own database with
/// <see cref="CreateDatabaseAsync"/>. Stopped with <c>pg_ctl stop -m immediate</c>, then by PID, on dispose.
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    public const string BinDirectory = "/usr/lib/postgresql/15/bin";
    private const string ServiceUser = "postgres";

    private readonly string _root = Path.Combine(Path.GetTempPath(), "chatopspull-pg-" + Guid.NewGuid().ToString("N")[..10]);
    private ExternalProcess? _server;
    private int _databases;

    public int Port { get; private set; }

    /// <summary>Connection string to the "postgres" maintenance database (superuser, trust auth on loopback).</summary>
    public string AdminConnectionString => ConnectionStringFor("postgres");

    private string DataDirectory => Path.Combine(_root, "data");

    private static bool RunningAsRoot => Environment.UserName == "root" || string.Equals(Environment.GetEnvironmentVariable("USER"), "root", StringComparison.Ordinal);

    public async Task InitializeAsync()
    {
        var initdb = Path.Combine(BinDirectory, "initdb");
        var postgres = Path.Combine(BinDirectory, "postgres");
        if (!File.Exists(initdb) || !File.Exists(postgres))
        {
            throw new InvalidOperationException(
                $"PostgreSQL 15 server binaries are missing ({BinDirectory}/initdb, postgres). Install them with .ci/install-deps (Debian package 'postgresql').");
        }

        Directory.CreateDirectory(_root);
        if (RunningAsRoot)
        {
            await ExternalProcess.RunAsync("chown", [$"{ServiceUser}:", _root]);
        }

        await RunAsServiceUserAsync(initdb, ["-D", DataDirectory, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-instructions"]);

        (_server, Port) = await ExternalProcess.StartOnFreePortAsync(
            port =>
            {
                Port = port;
                return Task.FromResult(StartServer());
            },
            TimeSpan.FromSeconds(60));
        await WaitUntilAcceptingAsync();
    }

    /// <summary>Stops the server (<c>pg_ctl stop -m fast</c>: every client is disconnected at once), as an outage does.</summary>
    public async Task StopAsync()
    {
        await RunAsServiceUserAsync(Path.Combine(BinDirectory, "pg_ctl"), ["stop", "-D", DataDirectory, "-m", "fast", "-w", "-t", "30"]);
        if (_server is not null)
        {
            await _server.DisposeAsync();
            _server = null;
        }
    }

    /// <summary>Starts the stopped server again on the same port and data, and waits until it accepts connections.</summary>
    public async Task StartAgainAsync()
    {
        _server = StartServer();
        await _server.WaitForPortAsync(Port, TimeSpan.FromSeconds(60));
        await WaitUntilAcceptingAsync();
    }

    private ExternalProcess StartServer()
    {
        var postgres = Path.Combine(BinDirectory, "postgres");
        var (file, arguments) = AsServiceUser(postgres,
        [
            "-D", DataDirectory,
            "-p", Port.ToString(CultureInfo.InvariantCulture),
            "-c", "listen_addresses=127.0.0.1",
            "-c", "unix_socket_directories=" + _root,
            "-c", "fsync=off",
            "-c", "synchronous_commit=off",
            "-c", "full_page_writes=off",
            "-c", "max_connections=300",
            "-c", "shared_buffers=32MB",
            "-c", "log_min_messages=warning",
        ]);
        return ExternalProcess.Start(file, arguments, _root);
    }

    /// <summary>A new, empty database; returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string? prefix = null)
    {
        var name = $"{prefix ?? "test"}_{Interlocked.Increment(ref _databases)}_{Guid.NewGuid().ToString("N")[..6]}".ToLowerInvariant();
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync();
        return ConnectionStringFor(name);
    }

    public string ConnectionStringFor(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = "postgres",
        Database = database,
        Pooling = true,
        MaxPoolSize = 40,
        Timeout = 15,
    }.ToString();

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_server is not null)
        {
            try
            {
                await RunAsServiceUserAsync(Path.Combine(BinDirectory, "pg_ctl"), ["stop", "-D", DataDirectory, "-m", "immediate", "-w", "-t", "20"]);
            }
            catch (InvalidOperationException)
            {
                // already stopped: the PID kill below is the fallback
            }

            await _server.DisposeAsync();
        }

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Waits until a connection opens (the port answers before "the database system is starting up" ends).</summary>
    private Task WaitUntilAcceptingAsync() => Postgres.AcceptsConnectionsAsync(AdminConnectionString, TimeSpan.FromSeconds(60));

    private static (string File, IReadOnlyList<string> Arguments) AsServiceUser(string file, IReadOnlyList<string> arguments) =>
        RunningAsRoot ? ("runuser", ["-u", ServiceUser, "--", file, .. arguments]) : (file, arguments);

    private async Task RunAsServiceUserAsync(string file, IReadOnlyList<string> arguments)
    {
        var (command, args) = AsServiceUser(file, arguments);
        await ExternalProcess.RunAsync(command, args, _root, TimeSpan.FromMinutes(2));
    }
}

/// <summary>Test classes that need PostgreSQL join this collection: <c>[Collection(UsesPostgres.Name)]</c>.</summary>
[CollectionDefinition(Name)]
public sealed class UsesPostgres : ICollectionFixture<PostgresFixture>
{
    public const string Name = "PostgreSQL";
}
