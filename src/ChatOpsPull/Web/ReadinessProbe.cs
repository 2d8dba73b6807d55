using System.Data.Common;
using System.Diagnostics;
using ChatOpsPull.Storage;
using Dapper;
using Hangfire;

namespace ChatOpsPull.Web;

/// <summary>One thing readiness depends on: its name, whether it is fine, a sentence, and how long the check took.</summary>
public sealed record ReadinessCheck(string Name, bool Ready, string Detail, long Milliseconds);

/// <summary>What <c>/readyz</c> answers: ready only when every check is.</summary>
public sealed record ReadinessReport(bool Ready, IReadOnlyList<ReadinessCheck> Checks);

/// <summary>
/// Readiness: the bot's database answers and takes writes, every registered schema migration is applied, and Hangfire's
/// storage answers. Writes are known from <see cref="DatabaseWriteHealth"/> (every transaction reports there); while
/// they are failing — a full disk answers reads but not writes — each round probes with a write, so readiness
/// comes back as soon as the database writes again.
/// Each check has <see cref="CheckTimeout"/>. Reports are shared for <see cref="ReuseFor"/>, so a flood of probes costs
/// the database one round of queries a second, and concurrent callers wait for the same round. Details name what is
/// wrong in a sentence; never a connection string or a password.
/// </summary>
public sealed class ReadinessProbe(
    BotDatabase database,
    IEnumerable<SchemaMigrationSet> migrations,
    JobStorage jobStorage,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    DatabaseWriteHealth writeHealth)
{
    public static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan ReuseFor = TimeSpan.FromSeconds(1);

    private readonly string[] _migrationIds = migrations.SelectMany(m => m.Migrations).Select(m => m.Id).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
    private readonly Lock _gate = new();
    private (DateTimeOffset At, Task<ReadinessReport> Report)? _last;

    public Task<ReadinessReport> CheckAsync()
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            return Task.FromResult(new ReadinessReport(false, [new ReadinessCheck("process", false, "The bot is shutting down.", 0)]));
        }

        lock (_gate)
        {
            var now = time.GetUtcNow();
            if (_last is { } last && now - last.At < ReuseFor && now >= last.At)
            {
                return last.Report;
            }

            var report = RunChecksAsync();
            _last = (now, report);
            return report;
        }
    }

    private async Task<ReadinessReport> RunChecksAsync()
    {
        var checks = await Task.WhenAll(
            TimedAsync("database", CheckDatabaseAsync),
            TimedAsync("writes", CheckWritesAsync),
            TimedAsync("migrations", CheckMigrationsAsync),
            TimedAsync("jobs", CheckJobStorageAsync)).ConfigureAwait(false);
        return new ReadinessReport(checks.All(c => c.Ready), checks);
    }

    private async Task<(bool, string)> CheckDatabaseAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteScalarAsync<int>(new CommandDefinition("SELECT 1", cancellationToken: cancellationToken)).ConfigureAwait(false);
        return (true, $"The {database.Provider} database answers.");
    }

    private async Task<(bool, string)> CheckWritesAsync(CancellationToken cancellationToken)
    {
        if (writeHealth.Failure is null)
        {
            return (true, $"The {database.Provider} database takes writes.");
        }

        try
        {
            await database.ProbeWriteAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (StorageFaults.IsUnavailable(e))
        {
            // reported to writeHealth by the probe itself
        }

        return writeHealth.Failure is { } failure
            ? (false, $"The {database.Provider} database cannot write since {failure.Since:u}: {failure.Reason}")
            : (true, $"The {database.Provider} database takes writes again.");
    }

    private async Task<(bool, string)> CheckMigrationsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var applied = (await connection.QueryAsync<string>(new CommandDefinition("SELECT id FROM schema_migrations", cancellationToken: cancellationToken)).ConfigureAwait(false))
            .ToHashSet(StringComparer.Ordinal);
        var missing = _migrationIds.Where(id => !applied.Contains(id)).ToList();
        return missing.Count == 0
            ? (true, $"All {_migrationIds.Length} schema migrations are applied.")
            : (false, $"{missing.Count} of {_migrationIds.Length} schema migrations are not applied yet: {string.Join(", ", missing.Take(5))}{(missing.Count > 5 ? ", …" : string.Empty)}.");
    }

    private async Task<(bool, string)> CheckJobStorageAsync(CancellationToken cancellationToken)
    {
        // Hangfire's storage API is synchronous: run it off the request thread, bounded by the check's timeout.
        await Task.Run(
            () =>
            {
                using var connection = jobStorage.GetConnection();
                connection.GetAllItemsFromSet("recurring-jobs");
            },
            cancellationToken).WaitAsync(cancellationToken).ConfigureAwait(false);
        return (true, "The Hangfire job storage answers.");
    }

    private static async Task<ReadinessCheck> TimedAsync(string name, Func<CancellationToken, Task<(bool Ready, string Detail)>> check)
    {
        var started = Stopwatch.GetTimestamp();
        using var timeout = new CancellationTokenSource(CheckTimeout);
        try
        {
            var (ready, detail) = await check(timeout.Token).ConfigureAwait(false);
            return new ReadinessCheck(name, ready, detail, Elapsed(started));
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            return new ReadinessCheck(name, false, $"No answer within {CheckTimeout.TotalSeconds:0} s.", Elapsed(started));
        }
#pragma warning disable CA1031 // any failure of a dependency means "not ready", said in a sentence
        catch (Exception e)
#pragma warning restore CA1031
        {
            return new ReadinessCheck(name, false, Describe(name, e), Elapsed(started));
        }
    }

    /// <summary>What went wrong, in a sentence: the driver's own message (which never holds the password), shortened.</summary>
    private static string Describe(string name, Exception e)
    {
        var what = name switch
        {
            "database" => "The database does not answer",
            "migrations" => "The schema migrations cannot be read",
            "writes" => "The database cannot write",
            _ => "The Hangfire job storage does not answer",
        };
        var inner = e is AggregateException { InnerException: { } first } ? first : e;
        var message = inner is DbException or InvalidOperationException or IOException or TimeoutException or System.Net.Sockets.SocketException
            ? inner.Message.ReplaceLineEndings(" ")
            : inner.GetType().Name;
        return $"{what}: {(message.Length > 200 ? message[..200] + "…" : message)}";
    }

    private static long Elapsed(long started) => (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
}
