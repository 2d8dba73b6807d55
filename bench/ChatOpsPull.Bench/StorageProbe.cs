using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using ChatOpsPull.Storage;
using Dapper;

namespace ChatOpsPull.Bench;

/// <summary>
/// Counts the bot's own transactions during a run (the "TRANSACTION" and "COMMIT" activities of <see cref="BotDatabase"/>):
/// how many commits, how many subject rounds they held, and how long the write turn was held in them — counts, which load
/// bends less than latencies. Also prints the SQLite settings a write connection runs with (what a commit costs depends on
/// them: in WAL mode with synchronous=NORMAL a commit appends to the WAL and does not fsync; only checkpoints do).
/// </summary>
internal sealed class StorageProbe : IDisposable
{
    private readonly ActivityListener _listener;
    private readonly ConcurrentDictionary<string, Totals> _byName = new(StringComparer.Ordinal);
    private long _rounds;

    public StorageProbe()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == BotDatabase.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = activity =>
            {
                var totals = _byName.GetOrAdd(activity.OperationName, _ => new Totals());
                Interlocked.Increment(ref totals.Count);
                Interlocked.Add(ref totals.Ticks, activity.Duration.Ticks);
                if (activity.OperationName == "TRANSACTION")
                {
                    Interlocked.Add(ref _rounds, activity.GetTagItem("rounds") is int rounds ? rounds : 1);
                }
            },
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Clear()
    {
        _byName.Clear();
        Interlocked.Exchange(ref _rounds, 0);
    }

    public string Report(double stormMilliseconds)
    {
        Totals Of(string name) => _byName.GetValueOrDefault(name) ?? new Totals();
        var transactions = Of("TRANSACTION");
        var commits = Of("COMMIT");
        var rounds = Interlocked.Read(ref _rounds);
        return string.Create(CultureInfo.InvariantCulture,
            $"  storage during the storm: {transactions.Count} transactions holding {rounds} rounds ({(transactions.Count == 0 ? 0 : rounds / (double)transactions.Count):0.0} per transaction), "
            + $"{commits.Count} commits taking {TimeSpan.FromTicks(commits.Ticks).TotalMilliseconds:0} ms; write turn held {TimeSpan.FromTicks(transactions.Ticks).TotalMilliseconds:0} ms "
            + $"of the storm's {stormMilliseconds:0} ms");
    }

    /// <summary>journal_mode and synchronous as a connection of the bot's runs them.</summary>
    public static async Task<string> SettingsAsync(BotDatabase database)
    {
        if (database.Provider != DatabaseProvider.Sqlite)
        {
            return string.Empty;
        }

        await using var connection = await database.OpenAsync();
        var journal = await connection.ExecuteScalarAsync<string>("PRAGMA journal_mode");
        var synchronous = await connection.ExecuteScalarAsync<long>("PRAGMA synchronous");
        var name = synchronous switch { 0 => "OFF", 1 => "NORMAL", 2 => "FULL", 3 => "EXTRA", _ => synchronous.ToString(CultureInfo.InvariantCulture) };
        return $"  SQLite settings of a write connection: journal_mode={journal}, synchronous={name}";
    }

    public void Dispose() => _listener.Dispose();

    private sealed class Totals
    {
        public long Count;
        public long Ticks;
    }
}
