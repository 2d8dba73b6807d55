using System.Data.Common;
using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ChatOpsPull.Storage;

/// <summary>
/// The bot's own database (incidents, approvals, audit, pending chat sends): SQLite file by default,
/// PostgreSQL when configured. Opens connections; <see cref="MigrateAsync"/> applies every registered migration once.
/// </summary>
public sealed class BotDatabase : IAsyncDisposable
{
    private readonly string _connectionString;
    private readonly NpgsqlDataSource? _postgres;
    private readonly IReadOnlyList<SchemaMigration> _migrations;

    public BotDatabase(IOptions<StorageOptions> storage, IOptions<BotOptions> bot, IEnumerable<SchemaMigrationSet> migrations)
    {
        var options = storage.Value;
        Provider = options.Provider;
        _migrations = migrations.SelectMany(m => m.Migrations).OrderBy(m => m.Id, StringComparer.Ordinal).ToArray();
        if (Provider == DatabaseProvider.Postgres)
        {
            _connectionString = options.ConnectionString!;
            _postgres = NpgsqlDataSource.Create(_connectionString);
        }
        else
        {
            var directory = Path.GetFullPath(bot.Value.DataDirectory);
            Directory.CreateDirectory(directory);
            _connectionString = new SqliteConnectionStringBuilder
            {
                DataSource = Path.Combine(directory, options.SqliteFile),
                Mode = SqliteOpenMode.ReadWriteCreate,
                Cache = SqliteCacheMode.Private,
                Pooling = true,
                DefaultTimeout = 30,
            }.ToString();
        }
    }

    public DatabaseProvider Provider { get; }

    /// <summary>Opens a connection. SQLite connections wait up to 5 s on a locked database instead of failing.</summary>
    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
        if (_postgres is not null)
        {
            return await _postgres.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }

        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync("PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;").ConfigureAwait(false);
        return connection;
    }

    /// <summary>Picks the statement for this provider.</summary>
    public string Sql(string sqlite, string postgres) => Provider == DatabaseProvider.Postgres ? postgres : sqlite;

    /// <summary>
    /// Applies migrations not yet applied, each in its own transaction. Several replicas starting at once on
    /// PostgreSQL serialize on an advisory lock; SQLite serializes on its write lock.
    /// </summary>
    public async Task MigrateAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        if (Provider == DatabaseProvider.Sqlite)
        {
            await connection.ExecuteAsync("PRAGMA journal_mode = WAL;").ConfigureAwait(false);
        }
        else
        {
            await connection.ExecuteAsync("SELECT pg_advisory_lock(684201337)").ConfigureAwait(false);
        }

        try
        {
            await connection.ExecuteAsync(
                "CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)").ConfigureAwait(false);
            var applied = (await connection.QueryAsync<string>("SELECT id FROM schema_migrations").ConfigureAwait(false))
                .ToHashSet(StringComparer.Ordinal);
            foreach (var migration in _migrations.Where(m => !applied.Contains(m.Id)))
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await connection.ExecuteAsync(Sql(migration.Sqlite, migration.Postgres), transaction: transaction).ConfigureAwait(false);
                await connection.ExecuteAsync(
                    "INSERT INTO schema_migrations (id, applied_at) VALUES (@id, @at)",
                    new { id = migration.Id, at = DateTimeOffset.UtcNow.ToString("O") },
                    transaction).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            if (Provider == DatabaseProvider.Postgres)
            {
                await connection.ExecuteAsync("SELECT pg_advisory_unlock(684201337)").ConfigureAwait(false);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync().ConfigureAwait(false);
        }
    }
}
