using System.ComponentModel.DataAnnotations;

namespace ChatOpsPull.Storage;

public enum DatabaseProvider
{
    /// <summary>Embedded file under Bot:DataDirectory. One replica.</summary>
    Sqlite,

    /// <summary>Shared server; several replicas.</summary>
    Postgres,
}

/// <summary>Section "Storage": where the bot's own state and the Hangfire queue live.</summary>
public sealed class StorageOptions : IValidatableObject
{
    public const string Section = "Storage";

    public DatabaseProvider Provider { get; set; } = DatabaseProvider.Sqlite;

    /// <summary>Npgsql connection string; required when Provider is Postgres.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// PostgreSQL: connections the bot's pool opens at start (after migrating), each reading every table of the bot's schema
    /// once, and keeps open (the pool's minimum, unless the connection string sets <c>Minimum Pool Size</c>); at most the
    /// pool's maximum. A storm's first second otherwise waits for a new server connection per concurrent write (a backend
    /// to start, its catalog caches cold): most of PostgreSQL's extra cold-storm latency. 0: none.
    /// </summary>
    [Range(0, 1000, ErrorMessage = "Storage:PostgresWarmConnections must be between 0 and 1000.")]
    public int PostgresWarmConnections { get; set; } = 24;

    /// <summary>
    /// PostgreSQL: how many shared write transactions (the intake's subject rounds, a diagnosis's result) one replica runs at
    /// once, each the group of the rounds queued behind it, one commit (<see cref="TransactionGroup"/>); at most
    /// <see cref="PostgresWarmConnections"/> (none without a warm pool: each round then its own transaction). With a turn
    /// per warm connection (24) a storm's twenty subjects each found a turn free and every round was a transaction of its
    /// own (1.0 round per commit): the groups never formed, and twenty transactions at once made the server and the bot
    /// switch between them on two cores. A few turns let the rounds queue and ride one commit. Four, not two: in a quiet
    /// A/B (2 cores) two turns grouped more rounds per commit but held up the intake (a 1,000-pod storm's "in an
    /// incident" p99 0.9–1.5 s with 2, 0.86–0.89 s with 4, 0.44–0.71 s with 24), and four gave the lowest diagnosed p99
    /// (0.92–0.95 s against 0.91–1.48 s with 2 and 1.27–1.31 s with 24; 5,000 pods 5.9 s against 6.8 s with 2).
    /// </summary>
    [Range(0, 1000, ErrorMessage = "Storage:PostgresWriteTurns must be between 0 and 1000.")]
    public int PostgresWriteTurns { get; set; } = 4;

    /// <summary>
    /// PostgreSQL: each connection of the bot's pool plans the statements it keeps prepared once, generically
    /// (<c>SET plan_cache_mode = force_generic_plan</c> when the connection is made), instead of five custom plans per
    /// statement and connection before PostgreSQL weighs the generic one. Off by default: a generic plan does not know
    /// the values, and on skewed data it loses — with one incident of ~200,000 pods (an Alertmanager flood) the intake's
    /// read of a round's pods (<c>incident_id IN (…) AND pod = ANY(@pods)</c>) took 4.9 ms a call instead of 0.3 ms,
    /// more than all the planning it saved. Never behind a pooler in transaction mode (PgBouncer): a session setting
    /// would follow the server connection to other clients.
    /// </summary>
    public bool PostgresGenericPlans { get; set; }

    /// <summary>SQLite file name inside Bot:DataDirectory.</summary>
    public string SqliteFile { get; set; } = "chatopspull.db";

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Provider == DatabaseProvider.Postgres && string.IsNullOrWhiteSpace(ConnectionString))
        {
            yield return new ValidationResult(
                "Storage:ConnectionString must be set when Storage:Provider is Postgres (e.g. \"Host=db;Database=chatopspull;Username=bot;Password=…\").",
                [nameof(ConnectionString)]);
        }
    }
}
