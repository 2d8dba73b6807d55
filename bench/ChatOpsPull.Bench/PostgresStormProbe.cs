using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using ChatOpsPull.Observability;
using ChatOpsPull.Storage;
using Npgsql;

namespace ChatOpsPull.Bench;

/// <summary>
/// Where PostgreSQL's share of a storm goes, in counts that load bends little: every command or batch Npgsql sends
/// (its "Npgsql" activity: one round trip) and every COMMIT of the bot's (<see cref="BotDatabase.ActivitySourceName"/>),
/// sorted into the diagnosis runs' (sent while <see cref="DiagnosisStageTimes.Current"/> is set), Hangfire's (its schema
/// named in the text) and the rest of the bot's (intake, outbox, alert drain, sweeps), each by statement shape; requests
/// waiting for a pooled connection (Npgsql's pending-requests gauge, per pool) and the server's backends (pg_stat_activity
/// from a connection of its own), both sampled every 10 ms; and the server's own count per statement text (calls, plans,
/// plan and execute time: pg_stat_statements, reset at the start). Listens and reads; changes nothing.
/// </summary>
internal sealed partial class PostgresStormProbe : IAsyncDisposable
{
    private static readonly TimeSpan Every = TimeSpan.FromMilliseconds(10);

    private readonly ActivityListener _activities;
    private readonly MeterListener _meters = new();
    private readonly ConcurrentDictionary<(string Flow, string Shape), Tally> _sent = new();
    private readonly ConcurrentDictionary<string, long> _pending = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _pendingSamples = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _pendingMax = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _backends = new(StringComparer.Ordinal);
    private readonly NpgsqlConnection _server;
    private readonly CancellationTokenSource _stop = new();
    private Task? _sampling;
    private long _samples;
    private long _serverSamples;
    private volatile bool _counting;
    private int _postmaster;
    private readonly List<double> _created = [];
    private readonly List<ServerStatement> _statements = [];
    private DateTime _begunAt;
    private long _newBackends;
    private double _serverCpuAtBegin;
    private double _serverCpu;
    private Dictionary<string, (long Updates, long Hot)> _updatesAtBegin = [];
    private List<(string Table, long Updates, long Hot)> _updates = [];
    private Dictionary<string, (long Inserts, long Deletes)> _writesAtBegin = [];
    private List<(string Table, long Inserts, long Deletes)> _writes = [];
    private (long Records, long Bytes) _walAtBegin;
    private (long Records, long Bytes) _wal;

    private PostgresStormProbe(string connectionString)
    {
        _server = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, ApplicationName = "storm-probe" }.ToString());
        _activities = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "Npgsql" or BotDatabase.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = Stopped,
        };
        _meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Npgsql" && instrument.Name is "db.client.connection.npgsql.pending_requests" or "db.client.connection.npgsql.create_time")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _meters.SetMeasurementEventCallback<int>((_, value, tags, _) => Pending(value, tags));
        _meters.SetMeasurementEventCallback<long>((_, value, tags, _) => Pending(value, tags));
        _meters.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            if (instrument.Name == "db.client.connection.npgsql.pending_requests")
            {
                Pending((long)value, tags);
            }
            else if (_counting && instrument.Name == "db.client.connection.npgsql.create_time")
            {
                lock (_created)
                {
                    _created.Add(value * 1000);
                }
            }
        });
    }

    public static async Task<PostgresStormProbe> StartAsync(string connectionString)
    {
        var probe = new PostgresStormProbe(connectionString);
        await probe._server.OpenAsync();
        await using (var command = new NpgsqlCommand("SELECT pg_backend_pid()", probe._server))
        {
            probe._postmaster = ParentOf((int)(await command.ExecuteScalarAsync())!);
        }

        // Per statement calls, plans and server time (the cluster loads pg_stat_statements: ThrowawayPostgres).
        await using (var command = new NpgsqlCommand("CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset()", probe._server))
        {
            await command.ExecuteNonQueryAsync();
        }

        ActivitySource.AddActivityListener(probe._activities);
        probe._meters.Start();
        return probe;
    }

    /// <summary>From here until <see cref="StopAsync"/> everything sent is counted and the samplers run.</summary>
    public void Begin()
    {
        _serverCpuAtBegin = ServerCpuMilliseconds();
        _updatesAtBegin = TableUpdates().ToDictionary(t => t.Table, t => (t.Updates, t.Hot), StringComparer.Ordinal);
        _writesAtBegin = TableWrites().ToDictionary(t => t.Table, t => (t.Inserts, t.Deletes), StringComparer.Ordinal);
        _walAtBegin = Wal();
        _begunAt = DateTime.UtcNow;
        _counting = true;
        _sampling = Task.Run(SampleAsync);
    }

    public async Task StopAsync()
    {
        _counting = false;
        _serverCpu = ServerCpuMilliseconds() - _serverCpuAtBegin;
        await _stop.CancelAsync();
        if (_sampling is not null)
        {
            await _sampling;
        }

        await using (var command = new NpgsqlCommand(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND application_name <> 'storm-probe' AND backend_start >= @begun", _server))
        {
            command.Parameters.AddWithValue("begun", _begunAt);
            _newBackends = (long)(await command.ExecuteScalarAsync())!;
        }

        _updates = [.. TableUpdates()
            .Select(t => (t.Table, t.Updates - _updatesAtBegin.GetValueOrDefault(t.Table).Updates, t.Hot - _updatesAtBegin.GetValueOrDefault(t.Table).Hot))
            .Where(t => t.Item2 > 0)
            .OrderByDescending(t => t.Item2)];
        _writes = [.. TableWrites()
            .Select(t => (t.Table, t.Inserts - _writesAtBegin.GetValueOrDefault(t.Table).Inserts, t.Deletes - _writesAtBegin.GetValueOrDefault(t.Table).Deletes))
            .Where(t => t.Item2 > 0 || t.Item3 > 0)
            .OrderByDescending(t => t.Item2)];
        var wal = Wal();
        _wal = (wal.Records - _walAtBegin.Records, wal.Bytes - _walAtBegin.Bytes);

        await using (var command = new NpgsqlCommand(
            "SELECT calls, plans, total_plan_time, total_exec_time, rows, query, wal_bytes::bigint, shared_blks_dirtied FROM pg_stat_statements "
            + "WHERE query NOT LIKE '%pg_stat_activity%' AND query NOT LIKE '%pg_stat_statements%' AND query NOT LIKE '%pg_stat_user_tables%' AND query NOT LIKE '%pg_stat_clear_snapshot%' ORDER BY total_plan_time + total_exec_time DESC", _server))
        {
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                _statements.Add(new ServerStatement(reader.GetInt64(0), reader.GetInt64(1), reader.GetDouble(2), reader.GetDouble(3), reader.GetInt64(4), reader.GetString(5), reader.GetInt64(6), reader.GetInt64(7)));
            }
        }
    }

    /// <summary>The counts, per diagnosis run and per pod where that is the unit.</summary>
    public string Report(int pods, int diagnoses)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"  PostgreSQL server CPU during the storm (postmaster and its backends, /proc): {_serverCpu:0} ms");
        text.AppendLine(CultureInfo.InvariantCulture,
            $"  PostgreSQL server statements (pg_stat_statements, storm and its settling): {_statements.Sum(s => s.Calls)} executions of {_statements.Count} texts, {_statements.Sum(s => s.Plans)} plans ({_statements.Sum(s => s.Plans) / (double)Math.Max(1, pods):0.00} per pod), plan {_statements.Sum(s => s.PlanMs):0} ms, execute {_statements.Sum(s => s.ExecMs):0} ms");
        text.AppendLine(CultureInfo.InvariantCulture,
            $"  PostgreSQL WAL during the storm (pg_stat_wal): {_wal.Records} records, {_wal.Bytes / 1024.0:0} KiB ({_wal.Bytes / (double)Math.Max(1, pods):0} bytes per pod); by the statements below: {_statements.Sum(s => s.WalBytes) / 1024.0:0} KiB");
        text.AppendLine("    calls     plans   plan ms   exec ms      rows  WAL KiB  dirtied  statement (by plan + exec time)");
        foreach (var s in _statements.Take(15))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"    {s.Calls,6} {s.Plans,9} {s.PlanMs,9:0.0} {s.ExecMs,9:0.0} {s.Rows,9} {s.WalBytes / 1024.0,8:0} {s.Dirtied,8}  {Shape(s.Query)}");
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"  rows inserted / deleted during the storm (pg_stat_user_tables): {_writes.Sum(w => w.Inserts)} / {_writes.Sum(w => w.Deletes)}");
        foreach (var (table, inserts, deletes) in _writes)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"    {inserts,7} inserted, {deletes,7} deleted  {table}");
        }

        text.AppendLine(CultureInfo.InvariantCulture,
            $"  row updates during the storm (pg_stat_user_tables, as flushed by the backends): {_updates.Sum(u => u.Updates)}, HOT {_updates.Sum(u => u.Hot)} ({_updates.Sum(u => u.Hot) * 100.0 / Math.Max(1, _updates.Sum(u => u.Updates)):0} %)");
        foreach (var (table, updates, hot) in _updates)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"    {updates,7} updated, {hot,7} HOT ({hot * 100.0 / updates,3:0} %)  {table}");
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"  PostgreSQL during the storm ({pods} pods, {diagnoses} diagnosis runs): round trips (commands/batches + the bot's COMMITs) by flow and statement shape");
        foreach (var flow in _sent.Keys.Select(k => k.Flow).Distinct().Order(StringComparer.Ordinal))
        {
            var rows = _sent.Where(p => p.Key.Flow == flow).OrderByDescending(p => p.Value.Count).ToList();
            var total = rows.Sum(r => r.Value.Count);
            var unit = flow == "diagnosis" ? $"{total / (double)Math.Max(1, diagnoses):0.00} per diagnosis" : $"{total / (double)Math.Max(1, pods):0.00} per pod";
            text.AppendLine(CultureInfo.InvariantCulture, $"    {flow}: {total} round trips ({unit}), client time {rows.Sum(r => r.Value.Milliseconds):0} ms");
            foreach (var (key, tally) in rows.Take(12))
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"      {tally.Count,6} × {tally.Milliseconds / tally.Count,6:0.0} ms  {key.Shape}");
            }
        }

        double[] created;
        lock (_created)
        {
            created = [.. _created.Order()];
        }

        text.AppendLine(CultureInfo.InvariantCulture,
            $"  new server connections during the storm: {_newBackends} backends started (pg_stat_activity), Npgsql created {created.Length} (open took p50 {(created.Length > 0 ? created[created.Length / 2] : 0):0} ms, max {(created.Length > 0 ? created[^1] : 0):0} ms)");
        text.AppendLine(CultureInfo.InvariantCulture, $"  waiting for a pooled connection ({_samples} samples every {Every.TotalMilliseconds:0} ms; sum of waiters × interval ≈ total wait):");
        if (_pendingSamples.IsEmpty)
        {
            text.AppendLine("    (Npgsql's pending-requests gauge reported nothing)");
        }

        foreach (var (pool, sum) in _pendingSamples.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"    pool {pool}: ≈ {sum * Every.TotalMilliseconds:0} ms of waiting, most waiters at once {_pendingMax.GetValueOrDefault(pool)}");
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"  server backends by what they were doing ({_serverSamples} samples of pg_stat_activity; backend-samples, share of all):");
        var all = Math.Max(1, _backends.Values.Sum());
        foreach (var (what, count) in _backends.OrderByDescending(p => p.Value))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"    {count,7} ({count * 100.0 / all,5:0.0}%)  {what}");
        }

        return text.ToString().TrimEnd();
    }

    /// <summary>Row updates per table so far, and how many of them were HOT (no index entry written: no indexed column changed and the page had room).</summary>
    private List<(string Table, long Updates, long Hot)> TableUpdates() => TableCounts("n_tup_upd", "n_tup_hot_upd");

    /// <summary>Rows inserted and deleted per table so far (as flushed by the backends).</summary>
    private List<(string Table, long Inserts, long Deletes)> TableWrites() => TableCounts("n_tup_ins", "n_tup_del");

    /// <summary>Two of <c>pg_stat_user_tables</c>' counters per table of the bot's schema, read fresh.</summary>
    private List<(string Table, long First, long Second)> TableCounts(string first, string second)
    {
        using var clear = new NpgsqlCommand("SELECT pg_stat_clear_snapshot()", _server);
        clear.ExecuteNonQuery();
        using var command = new NpgsqlCommand($"SELECT relname, {first}, {second} FROM pg_stat_user_tables WHERE schemaname = 'public'", _server);
        using var reader = command.ExecuteReader();
        var tables = new List<(string, long, long)>();
        while (reader.Read())
        {
            tables.Add((reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)));
        }

        return tables;
    }

    /// <summary>WAL records and bytes the server wrote so far (pg_stat_wal; background writers included).</summary>
    private (long Records, long Bytes) Wal()
    {
        using var command = new NpgsqlCommand("SELECT wal_records, wal_bytes::bigint FROM pg_stat_wal", _server);
        using var reader = command.ExecuteReader();
        return reader.Read() ? (reader.GetInt64(0), reader.GetInt64(1)) : (0, 0);
    }

    public async ValueTask DisposeAsync()
    {
        _counting = false;
        await _stop.CancelAsync();
        if (_sampling is not null)
        {
            try
            {
                await _sampling;
            }
            catch (OperationCanceledException)
            {
            }
        }

        _activities.Dispose();
        _meters.Dispose();
        await _server.DisposeAsync();
        _stop.Dispose();
    }

    private void Stopped(Activity activity)
    {
        if (!_counting)
        {
            return;
        }

        string sql;
        if (activity.Source.Name == BotDatabase.ActivitySourceName)
        {
            if (activity.Kind != ActivityKind.Client)
            {
                return; // TRANSACTION: the span of a transaction, no round trip of its own
            }

            sql = activity.OperationName; // COMMIT
        }
        else if (activity.GetTagItem("db.query.text") is string text)
        {
            sql = text;
        }
        else
        {
            return;
        }

        if (sql.Contains("storm-probe", StringComparison.Ordinal) || sql.Contains("pg_stat_activity", StringComparison.Ordinal))
        {
            return;
        }

        var flow = sql.Contains("hangfire.", StringComparison.OrdinalIgnoreCase) || sql.Contains("\"hangfire\"", StringComparison.OrdinalIgnoreCase)
            ? "hangfire"
            : DiagnosisStageTimes.Current is not null ? "diagnosis" : "bot, outside diagnoses";
        var tally = _sent.GetOrAdd((flow, Shape(sql)), _ => new Tally());
        Interlocked.Increment(ref tally.Count);
        lock (tally)
        {
            tally.Milliseconds += activity.Duration.TotalMilliseconds;
        }
    }

    /// <summary>A command's shape: each statement's first words up to its table, parameters and literals dropped.</summary>
    private static string Shape(string sql)
    {
        var statements = sql.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => Whitespace().Replace(s, " "))
            .Where(s => s.Length > 0)
            .Select(s => s.Length > 48 ? s[..48] : s);
        var shape = string.Join(" | ", statements);
        return shape.Length > 150 ? shape[..150] + "…" : shape;
    }

    private void Pending(long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var pool = "?";
        foreach (var tag in tags)
        {
            if (tag.Key == "db.client.connection.pool.name")
            {
                pool = tag.Value?.ToString() ?? "?";
            }
        }

        pool = Password().Replace(pool, string.Empty);
        _pending.AddOrUpdate(pool, value, (_, sum) => sum + value); // the bot's data source and Hangfire's global pool may share a name
    }

    private async Task SampleAsync()
    {
        var next = Stopwatch.GetTimestamp();
        while (!_stop.IsCancellationRequested)
        {
            _pending.Clear();
            _meters.RecordObservableInstruments();
            foreach (var (pool, waiting) in _pending)
            {
                _pendingSamples.AddOrUpdate(pool, waiting, (_, sum) => sum + waiting);
                _pendingMax.AddOrUpdate(pool, waiting, (_, max) => Math.Max(max, waiting));
            }

            _samples++;
            try
            {
                await using var command = new NpgsqlCommand(
                    "SELECT CASE WHEN query LIKE '%hangfire.%' THEN 'hangfire' ELSE 'bot' END, state, COALESCE(wait_event_type, '-'), COALESCE(wait_event, '-'), "
                    + "CASE WHEN wait_event_type = 'Lock' THEN left(regexp_replace(query, '\\s+', ' ', 'g'), 60) "
                    + "|| COALESCE(' (held by: ' || (SELECT string_agg(b.state || ' ' || left(regexp_replace(b.query, '\\s+', ' ', 'g'), 50), '; ') FROM pg_stat_activity b WHERE b.pid = ANY(pg_blocking_pids(a.pid))) || ')', '') ELSE '' END "
                    + "FROM pg_stat_activity a WHERE backend_type = 'client backend' AND application_name <> 'storm-probe' AND state <> 'idle'",
                    _server);
                await using var reader = await command.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    var what = $"{reader.GetString(0)}: {reader.GetString(1)}, waiting {reader.GetString(2)}/{reader.GetString(3)}";
                    if (reader.GetString(4) is { Length: > 0 } statement)
                    {
                        what += $" in {statement}"; // who waits for a lock
                    }
                    _backends.AddOrUpdate(what, 1, (_, n) => n + 1);
                }

                _serverSamples++;
            }
            catch (OperationCanceledException)
            {
                return;
            }

            next += (long)(Every.TotalSeconds * Stopwatch.Frequency);
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), next);
            if (wait > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(wait, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            else
            {
                next = Stopwatch.GetTimestamp();
            }
        }
    }

    /// <summary>CPU of the postmaster, its reaped children and its live ones (user + system), from /proc.</summary>
    private double ServerCpuMilliseconds()
    {
        double ticks = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            var fields = StatFields(pid);
            if (fields is null)
            {
                continue;
            }

            if (pid == _postmaster)
            {
                ticks += fields[11] + fields[12] + fields[13] + fields[14];
            }
            else if ((int)fields[1] == _postmaster)
            {
                ticks += fields[11] + fields[12];
            }
        }

        return ticks * 10; // USER_HZ = 100
    }

    private static int ParentOf(int pid) => (int)(StatFields(pid)?[1] ?? 0);

    /// <summary>/proc/PID/stat's fields after the command name: [0] state, [1] ppid, … [11] utime, [12] stime, [13] cutime, [14] cstime.</summary>
    private static double[]? StatFields(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return rest.Take(15).Select(f => double.TryParse(f, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : 0).ToArray();
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    [GeneratedRegex(@"Password=[^;]*;?", RegexOptions.IgnoreCase)]
    private static partial Regex Password();

    private sealed record ServerStatement(long Calls, long Plans, double PlanMs, double ExecMs, long Rows, string Query, long WalBytes, long Dirtied);

    private sealed class Tally
    {
        public long Count;
        public double Milliseconds;
    }
}
