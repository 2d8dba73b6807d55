using System.ComponentModel.DataAnnotations;

namespace ChatOpsPull.Jobs;

/// <summary>Section "Jobs": the Hangfire queue (storage follows Storage:Provider).</summary>
public sealed class JobsOptions
{
    public const string Section = "Jobs";

    /// <summary>Run a job server in this replica (false: this replica only enqueues and shows the dashboard).</summary>
    public bool RunServer { get; set; } = true;

    /// <summary>Jobs run at once per replica (diagnoses wait on the network, so a few more than cores is fine).</summary>
    [Range(1, 100, ErrorMessage = "Jobs:WorkerCount must be between 1 and 100.")]
    public int WorkerCount { get; set; } = 4;

    /// <summary>Hangfire's SQLite file inside Bot:DataDirectory (separate from the bot's own database).</summary>
    [Required(ErrorMessage = "Jobs:SqliteFile must name a file, e.g. \"hangfire.db\".")]
    [RegularExpression(@"^[A-Za-z0-9._-]+$", ErrorMessage = "Jobs:SqliteFile must be a plain file name (letters, digits, '.', '_', '-').")]
    public string SqliteFile { get; set; } = "hangfire.db";

    /// <summary>
    /// How often an idle SQLite worker looks for a queued job. The SQLite storage only polls; 200 ms keeps the wait
    /// for a queued job well under a second at the cost of ~5 cheap indexed reads per second per worker.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00", ErrorMessage = "Jobs:SqlitePollInterval must be between 50 ms and 1 minute.")]
    public TimeSpan SqlitePollInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// The PostgreSQL backstop poll. New jobs wake workers at once through LISTEN/NOTIFY (<see cref="PostgresNotify"/>) and, inside
    /// one replica, through Hangfire's in-process queue signal; the poll only catches a missed notification.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00", ErrorMessage = "Jobs:PostgresPollInterval must be between 50 ms and 1 minute.")]
    public TimeSpan PostgresPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Use Hangfire.PostgreSql's EnableLongPolling (NOTIFY new_job on enqueue, LISTEN while a worker waits).</summary>
    public bool PostgresNotify { get; set; } = true;

    /// <summary>Schema for Hangfire's tables in the shared PostgreSQL database.</summary>
    [Required(ErrorMessage = "Jobs:PostgresSchema must be set (default \"hangfire\").")]
    public string PostgresSchema { get; set; } = "hangfire";
}
