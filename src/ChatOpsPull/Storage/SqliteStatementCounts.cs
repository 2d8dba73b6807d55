using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using SQLitePCL;

namespace ChatOpsPull.Storage;

/// <summary>
/// Counts, for the benches, every statement the bot's SQLite connections run, by kind (its verb and first table:
/// "SELECT incidents", "BEGIN", "COMMIT"…), and how many of them ran a statement kept prepared
/// (<see cref="SqlitePreparedStatements"/>); every other one was prepared for that execution (Microsoft.Data.Sqlite and
/// Dapper compile a command's text each time it runs on a new connection object). Off unless <see cref="Enabled"/> is set
/// before the connections open: then each connection the bot opens has SQLite's trace hook tell it every statement
/// started (the hook turns each into a string: a counting run's CPU is not the plain run's).
/// </summary>
public static class SqliteStatementCounts
{
    private static readonly ConcurrentDictionary<string, Counts> ByKind = new(StringComparer.Ordinal);
    private static volatile bool s_enabled;

    /// <summary>Counting is on for connections opened from now on (the bench sets it before the bot starts).</summary>
    public static bool Enabled
    {
        get => s_enabled;
        set => s_enabled = value;
    }

    /// <summary>Statements prepared to be kept (<see cref="SqlitePreparedStatements.TotalPrepared"/>), counted always.</summary>
    public static long KeptPrepared => SqlitePreparedStatements.TotalPrepared;

    /// <summary>Every kind so far: statements run, and of them those run on a statement kept prepared.</summary>
    public static IReadOnlyDictionary<string, (long Run, long Kept)> Snapshot() =>
        ByKind.ToDictionary(k => k.Key, k => (Interlocked.Read(ref k.Value.Run), Interlocked.Read(ref k.Value.Kept)), StringComparer.Ordinal);

    /// <summary>
    /// "run R, prepared P (kept K, per execution E); per execution: kind n, …" per <paramref name="per"/> (pods, requests)
    /// between two snapshots.
    /// </summary>
    public static string Describe(IReadOnlyDictionary<string, (long Run, long Kept)> from, IReadOnlyDictionary<string, (long Run, long Kept)> to, double per, long keptPrepared)
    {
        var delta = to.Select(k =>
            {
                var before = from.GetValueOrDefault(k.Key);
                return (Kind: k.Key, Run: k.Value.Run - before.Run, Kept: k.Value.Kept - before.Kept);
            })
            .Where(k => k.Run > 0)
            .ToList();
        var run = delta.Sum(k => k.Run);
        var adHoc = delta.Sum(k => Math.Max(0, k.Run - k.Kept));
        var text = new StringBuilder(string.Create(CultureInfo.InvariantCulture,
            $"run {run / per:0.00}, prepared {(adHoc + keptPrepared) / per:0.00} (kept statements {keptPrepared / per:0.00}, prepared per execution {adHoc / per:0.00})"));
        var perExecution = delta.Where(k => k.Run > k.Kept).OrderByDescending(k => k.Run - k.Kept).Take(12).ToList();
        if (perExecution.Count > 0)
        {
            text.Append("; prepared per execution: ")
                .AppendJoin(", ", perExecution.Select(k => string.Create(CultureInfo.InvariantCulture, $"{k.Kind} {(k.Run - k.Kept) / per:0.00}")));
        }

        return text.ToString();
    }

    /// <summary>Has <paramref name="db"/> count what it runs (when counting is on).</summary>
    internal static void Watch(sqlite3 db)
    {
        if (s_enabled)
        {
            raw.sqlite3_trace(db, (_, sql) => Add(sql, kept: false), null);
        }
    }

    /// <summary>A kept statement of <paramref name="sql"/> is about to run.</summary>
    internal static void RanKept(string sql)
    {
        if (s_enabled)
        {
            Add(sql, kept: true);
        }
    }

    private static void Add(string sql, bool kept)
    {
        if (sql.StartsWith("--", StringComparison.Ordinal))
        {
            return; // a trigger's program, inside its statement
        }

        var counts = ByKind.GetOrAdd(KindOf(sql), _ => new Counts());
        Interlocked.Increment(ref kept ? ref counts.Kept : ref counts.Run);
    }

    /// <summary>The statement's verb and the first table it names (the same with its parameters bound or not).</summary>
    internal static string KindOf(string sql)
    {
        var words = sql.Split([' ', '\n', '\r', '\t', '(', ';', ','], StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0)
        {
            return "(empty)";
        }

        var verb = words[0].ToUpperInvariant();
        var after = verb switch
        {
            "SELECT" or "DELETE" => "FROM",
            "INSERT" => "INTO",
            "UPDATE" => "UPDATE",
            "WITH" => "WITH",
            _ => null,
        };
        var at = after is null ? -1 : Array.FindIndex(words, w => string.Equals(w, after, StringComparison.OrdinalIgnoreCase));
        return at >= 0 && at + 1 < words.Length ? $"{verb} {words[at + 1].Trim('"')}" : verb;
    }

    private sealed class Counts
    {
        public long Run;
        public long Kept;
    }
}
