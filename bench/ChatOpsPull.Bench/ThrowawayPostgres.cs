using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace ChatOpsPull.Bench;

/// <summary>
/// A PostgreSQL 15 cluster in a temp directory for the drivers (Debian's binaries, 127.0.0.1, fsync off, pg_stat_statements
/// loaded), run as the
/// postgres user when this runs as root. Stopped with pg_ctl stop -m immediate, then by PID.
/// </summary>
public sealed class ThrowawayPostgres : IAsyncDisposable
{
    private const string Bin = "/usr/lib/postgresql/15/bin";
    private readonly string _root = Path.Combine(Path.GetTempPath(), "chatopspull-bench-pg-" + Guid.NewGuid().ToString("N")[..8]);
    private Process? _server;

    public int Port { get; private set; }

    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres;Pooling=true;Maximum Pool Size=60";

    private static bool Root => Environment.UserName == "root";

    public static async Task<ThrowawayPostgres> StartAsync()
    {
        if (!File.Exists(Path.Combine(Bin, "initdb")))
        {
            throw new InvalidOperationException($"PostgreSQL 15 server binaries are missing in {Bin}; install the Debian package 'postgresql' (.ci/install-deps).");
        }

        var pg = new ThrowawayPostgres();
        Directory.CreateDirectory(pg._root);
        if (Root)
        {
            await RunAsync("chown", ["postgres:", pg._root]);
        }

        await RunAsync(Path.Combine(Bin, "initdb"), ["-D", Path.Combine(pg._root, "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-instructions"], asPostgres: true);
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            pg.Port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        pg._server = Start(Path.Combine(Bin, "postgres"),
        [
            "-D", Path.Combine(pg._root, "data"), "-p", pg.Port.ToString(CultureInfo.InvariantCulture),
            "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + pg._root,
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=300",
            // Calls, plans and plan/exec time per statement (PostgresStormProbe prints them); track_planning costs a little.
            "-c", "shared_preload_libraries=pg_stat_statements", "-c", "pg_stat_statements.track_planning=on",
            "-c", "pg_stat_statements.max=2000",
            .. ExtraSettings(),
        ]);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                await using var connection = new Npgsql.NpgsqlConnection(pg.ConnectionString);
                await connection.OpenAsync();
                return pg;
            }
            catch (Exception) when (DateTime.UtcNow < deadline && !pg._server.HasExited)
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>
    /// Server settings for a probe run from <c>CHATOPSPULL_BENCH_PG_SETTINGS</c> (space-separated <c>name=value</c>, e.g.
    /// <c>session_preload_libraries=auto_explain auto_explain.log_min_duration=0 auto_explain.log_analyze=on
    /// logging_collector=on log_directory=/tmp/pglog</c>: the server's own output is not kept otherwise).
    /// </summary>
    private static IEnumerable<string> ExtraSettings() =>
        (Environment.GetEnvironmentVariable("CHATOPSPULL_BENCH_PG_SETTINGS") ?? string.Empty)
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .SelectMany(setting => new[] { "-c", setting });

    public async ValueTask DisposeAsync()
    {
        Npgsql.NpgsqlConnection.ClearAllPools();
        try
        {
            await RunAsync(Path.Combine(Bin, "pg_ctl"), ["stop", "-D", Path.Combine(_root, "data"), "-m", "immediate", "-w"], asPostgres: true);
        }
        catch (InvalidOperationException)
        {
        }

        if (_server is { HasExited: false })
        {
            _server.Kill(entireProcessTree: true);
            await _server.WaitForExitAsync();
        }

        _server?.Dispose();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static Process Start(string file, IReadOnlyList<string> args, bool asPostgres = true)
    {
        var runAs = Root && asPostgres;
        var info = runAs ? new ProcessStartInfo("runuser") : new ProcessStartInfo(file);
        if (runAs)
        {
            foreach (var a in new[] { "-u", "postgres", "--", file })
            {
                info.ArgumentList.Add(a);
            }
        }

        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task RunAsync(string file, IReadOnlyList<string> args, bool asPostgres = false)
    {
        using var process = Start(file, args, asPostgres);
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} exited {process.ExitCode}");
        }
    }
}
