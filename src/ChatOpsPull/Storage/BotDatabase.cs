using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using ChatOpsPull.Observability;
using Npgsql;

namespace ChatOpsPull.Storage;

/// <summary>
/// The bot's own database (incidents, approvals, audit, pending chat sends): SQLite file by default,
/// PostgreSQL when configured. Opens connections; <see cref="MigrateAsync"/> applies every registered migration once.
/// </summary>
public sealed class BotDatabase : IAsyncDisposable
{
    /// <summary>
    /// The activity source of the bot's own transactions: a "TRANSACTION" activity per transaction (from its write turn to
    /// its commit; tagged "rounds" when it holds several callers' writes) and a "COMMIT" activity per commit (a round trip
    /// on PostgreSQL that is no command of Npgsql's, whose own "Npgsql" activities count the rest). Nothing is made without
    /// a listener.
    /// </summary>
    public const string ActivitySourceName = "ChatOpsPull.Storage";

    internal static readonly ActivitySource Tracing = new(ActivitySourceName);

    /// <summary>PostgreSQL: how many statements each connection keeps prepared by default (Npgsql's Max Auto Prepare).</summary>
    public const int AutoPreparedStatements = 128;

    /// <summary>PostgreSQL: how often a connection sends a text before preparing it, by default (Npgsql's Auto Prepare Min Usages).</summary>
    public const int AutoPrepareMinUsages = 2;

    /// <summary>Session-level advisory lock key every replica takes while migrating ("chatopspull" in spirit).</summary>
    private const long MigrationLockKey = 684201337;

    private readonly string _connectionString;
    private readonly NpgsqlDataSource? _postgres;
    private readonly IReadOnlyList<SchemaMigration> _migrations;
    private readonly DatabaseWriteHealth? _writeHealth;
    private readonly SqliteWriteTurn _writeTurn;
    private readonly int _warmConnections;

    /// <summary>SQLite connections (native handles, reused by the pool) whose settings are made.</summary>
    private readonly ConditionalWeakTable<SQLitePCL.sqlite3, object> _configuredSqlite = [];
    private static readonly object Configured = new();

    /// <param name="writeHealth">Told the outcome of every transaction (the host registers one; tools may leave it out).</param>
    public BotDatabase(IOptions<StorageOptions> storage, IOptions<BotOptions> bot, IEnumerable<SchemaMigrationSet> migrations, DatabaseWriteHealth? writeHealth = null)
    {
        var options = storage.Value;
        _writeHealth = writeHealth;
        Dialect = SqlDialects.For(options.Provider);
        _migrations = migrations.SelectMany(m => m.Migrations).OrderBy(m => m.Id, StringComparer.Ordinal).ToArray();
        CheckMigrations(_migrations, Dialect);

        if (Provider == DatabaseProvider.Postgres)
        {
            (_connectionString, _warmConnections) = PostgresDefaults(options.ConnectionString!, options.PostgresWarmConnections);
            _postgres = PostgresDataSource(_connectionString, options.PostgresGenericPlans);
            Location = DescribePostgres(_connectionString);
            _writeTurn = new SqliteWriteTurn(Dialect, roundTurns: Math.Min(options.PostgresWriteTurns, _warmConnections));
        }
        else
        {
            var directory = Path.GetFullPath(bot.Value.DataDirectory);
            Directory.CreateDirectory(directory);
            var file = Path.Combine(directory, options.SqliteFile);
            Location = file;
            _writeTurn = new SqliteWriteTurn(Dialect);
            _connectionString = new SqliteConnectionStringBuilder
            {
                DataSource = file,
                Mode = SqliteOpenMode.ReadWriteCreate,
                Cache = SqliteCacheMode.Private,
                Pooling = true,
                DefaultTimeout = 30,
            }.ToString();
        }
    }

    public DatabaseProvider Provider => Dialect.Provider;

    /// <summary>What differs between SQLite and PostgreSQL: ask it instead of checking <see cref="Provider"/>.</summary>
    public ISqlDialect Dialect { get; }

    /// <summary>The SQLite file, or host/port/database of the PostgreSQL server (never the password).</summary>
    public string Location { get; }

    /// <summary>
    /// Opens a connection. SQLite connections wait up to 5 s on a locked database instead of failing; their settings are
    /// made once per SQLite connection (the pool hands the same one out again with them still set), not per open, and so
    /// are the statements of the bot's writes (<see cref="SqlitePreparedStatements"/>).
    /// </summary>
    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
        if (_postgres is not null)
        {
            return await _postgres.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }

        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        SqlitePreparedStatements.FinalizeWithHandle(connection);
        if (!_configuredSqlite.TryGetValue(connection.Handle!, out _))
        {
            SqliteStatementCounts.Watch(connection.Handle!);
            await connection.ExecuteAsync("PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;").ConfigureAwait(false);
            _configuredSqlite.AddOrUpdate(connection.Handle!, Configured);
        }

        return connection;
    }

    /// <summary>
    /// This process's writers of a SQLite file take turns here (asynchronously) instead of blocking threads in SQLite's busy
    /// handler; <see cref="InTransactionAsync{T}"/> takes it for every transaction. On PostgreSQL only shared rounds
    /// (<see cref="InSharedTransactionAsync{T}"/>) take turns, as many at once as <see cref="StorageOptions.PostgresWriteTurns"/> (at most the warm pool).
    /// </summary>
    public SqliteWriteTurn WriteTurn => _writeTurn;

    /// <summary>
    /// Runs <paramref name="work"/> in one transaction and commits it. On SQLite the transaction takes the write lock
    /// at once (BEGIN IMMEDIATE), so a read-then-write inside it cannot be overtaken by another writer; it waits for this
    /// process's write turn first (<see cref="SqliteWriteTurn"/>), so it finds the lock free.
    /// </summary>
    public async Task<T> InTransactionAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken = default)
    {
        try
        {
            using var held = await TakeWriteTurnAsync(_writeTurn.TakeAsync, cancellationToken).ConfigureAwait(false);
            using var traced = Tracing.StartActivity("TRANSACTION", ActivityKind.Internal);
            await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var transaction = await Dialect.BeginAsync(connection, cancellationToken).ConfigureAwait(false);
            var result = await work(connection, transaction).ConfigureAwait(false);
            using (Tracing.StartActivity("COMMIT", ActivityKind.Client))
            {
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }

            WriteSucceeded();
            return result;
        }
        catch (Exception e) when (WriteFailed(e))
        {
            throw;
        }
    }

    /// <summary>
    /// Writes <paramref name="batch"/> atomically and durably, as <see cref="InTransactionAsync{T}"/> would, in as few round
    /// trips as the store allows: on PostgreSQL the batch alone, without BEGIN or COMMIT (a batch sent without a transaction
    /// runs in one implicit transaction, all or nothing, committed before its answer comes back: one round trip instead of
    /// two); on SQLite, where a commit is no round trip, in <see cref="InTransactionAsync{T}"/> (its write turn, BEGIN
    /// IMMEDIATE). For writes that read nothing back: <paramref name="inTransaction"/> is told when the statements are about
    /// to be sent (the write turn and connection in hand).
    /// </summary>
    public async Task WriteBatchAsync(StatementBatch batch, Action? inTransaction = null, CancellationToken cancellationToken = default)
    {
        if (Provider != DatabaseProvider.Postgres)
        {
            await InTransactionAsync(
                async (connection, transaction) =>
                {
                    inTransaction?.Invoke();
                    await batch.ExecuteAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
                    return true;
                },
                cancellationToken).ConfigureAwait(false);
            return;
        }

        try
        {
            using var traced = Tracing.StartActivity("TRANSACTION", ActivityKind.Internal);
            await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            inTransaction?.Invoke();
            await batch.ExecuteAsync(connection, transaction: null, cancellationToken).ConfigureAwait(false);
            WriteSucceeded();
        }
        catch (Exception e) when (WriteFailed(e))
        {
            throw;
        }
    }

    /// <summary>Tells <see cref="DatabaseWriteHealth"/> that a transaction committed.</summary>
    internal void WriteSucceeded() => _writeHealth?.Succeeded(Location);

    /// <summary>Tells <see cref="DatabaseWriteHealth"/> of a write that failed because the store is unavailable; returns whether it was that.</summary>
    internal bool WriteFailed(Exception e)
    {
        if (_writeHealth is null || !StorageFaults.IsUnavailable(e))
        {
            return false;
        }

        _writeHealth.Failed(Location, Provider, e);
        return true;
    }

    /// <summary>
    /// Runs <paramref name="work"/> in a transaction like <see cref="InTransactionAsync{T}"/>, but possibly in another
    /// caller's: writers queued for a write turn with such work are run together by the one handed the turn, each in its
    /// own savepoint, and committed once (<see cref="TransactionGroup"/>). <paramref name="work"/> may run on that caller's
    /// flow; its result (or its exception, when it threw or the shared transaction failed) is returned here only once the
    /// transaction that holds it ended. Once taken into a transaction, the work runs to its end: the cancellation token
    /// ends only the wait for the turn. On PostgreSQL the turns are <see cref="StorageOptions.PostgresWriteTurns"/>, at most the warm pool's connections (none when it
    /// has none: then exactly <see cref="InTransactionAsync{T}"/>), and a round that found its lock held elsewhere while in
    /// another caller's transaction (<see cref="TransactionLockBusyException"/>) is run again here, alone.
    /// </summary>
    public async Task<T> InSharedTransactionAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken = default)
    {
        if (!_writeTurn.TurnsForRounds)
        {
            return await InTransactionAsync(work, cancellationToken).ConfigureAwait(false);
        }

        var round = new SharedRound<T>(work);
        var turn = await TakeWriteTurnAsync(t => _writeTurn.TakeTurnAsync(round, t), cancellationToken).ConfigureAwait(false);
        if (!round.Claimed)
        {
            using (turn)
            {
                await TransactionGroup.RunAsync(this, _writeTurn, round, claimOthers: turn.Holds, onlyAhead: _writeTurn.GoingAhead).ConfigureAwait(false);
            }
        }

        try
        {
            return await round.Outcome.ConfigureAwait(false);
        }
        catch (TransactionLockBusyException)
        {
            // Taken into another caller's transaction after its first round, it found its lock held elsewhere: alone, it
            // holds nothing else while it waits for it.
            var alone = new SharedRound<T>(work);
            using (await TakeWriteTurnAsync(t => _writeTurn.TakeTurnAsync(null, t), cancellationToken).ConfigureAwait(false))
            {
                await TransactionGroup.RunAsync(this, _writeTurn, alone, claimOthers: false, onlyAhead: false).ConfigureAwait(false);
            }

            return await alone.Outcome.ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Waits for a write turn (<paramref name="take"/>), timed as the diagnosis stage <see cref="DiagnosisStage.WriteTurn"/>.
    /// Not async itself: the turn marks the calling flow as its holder (<see cref="SqliteWriteTurn"/>), and an async method's
    /// marks would end when it returns.
    /// </summary>
    private static ValueTask<SqliteWriteTurn.Pass> TakeWriteTurnAsync(Func<CancellationToken, ValueTask<SqliteWriteTurn.Pass>> take, CancellationToken cancellationToken)
    {
        var timing = DiagnosisStageTimes.Measure(DiagnosisStage.WriteTurn);
        var taking = take(cancellationToken);
        if (taking.IsCompletedSuccessfully)
        {
            timing.Dispose();
            return taking;
        }

        return TimedAsync(taking, timing);

        static async ValueTask<SqliteWriteTurn.Pass> TimedAsync(ValueTask<SqliteWriteTurn.Pass> taking, DiagnosisStageTimes.Timing timing)
        {
            using (timing)
            {
                return await taking.ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Writes and removes a row that takes new pages (so a full disk or a lost server fails it), in one transaction that
    /// reports to <see cref="DatabaseWriteHealth"/> like any other. Readiness asks this only while writes are failing.
    /// </summary>
    public Task ProbeWriteAsync(CancellationToken cancellationToken = default) =>
        InTransactionAsync(
            async (connection, transaction) =>
            {
                var (type, blob) = Provider == DatabaseProvider.Postgres ? ("BYTEA", "decode(repeat('00', 65536), 'hex')") : ("BLOB", "zeroblob(65536)");
                await connection.ExecuteAsync(
                    new CommandDefinition(
                        $"CREATE TABLE IF NOT EXISTS storage_probe (id INTEGER PRIMARY KEY, filler {type} NOT NULL); "
                        + $"INSERT INTO storage_probe (id, filler) VALUES (1, {blob}); DELETE FROM storage_probe WHERE id = 1",
                        transaction: transaction,
                        cancellationToken: cancellationToken)).ConfigureAwait(false);
                return true;
            },
            cancellationToken);

    /// <summary>
    /// Takes a transaction-scoped lock named by <paramref name="name"/>, so replicas sharing PostgreSQL serialize
    /// on it until the transaction ends. On SQLite the immediate transaction already holds the only write lock.
    /// </summary>
    public Task LockAsync(DbConnection connection, DbTransaction transaction, string name) =>
        Dialect.LockAsync(connection, transaction, LockKey(name));

    /// <summary>The lock <see cref="LockAsync"/> takes, for the transaction's first read to take with it (one per attempt).</summary>
    public TransactionLock PendingLock(string name) => new(Dialect, LockKey(name));

    /// <summary>A stable 64-bit key for a lock name (FNV-1a over UTF-16), the same in every replica.</summary>
    public static long LockKey(string name)
    {
        unchecked
        {
            var hash = 14695981039346656037UL;
            foreach (var ch in name)
            {
                hash = (hash ^ ch) * 1099511628211UL;
            }

            return (long)hash;
        }
    }

    /// <summary>Times are stored as Unix milliseconds (BIGINT/INTEGER) in both engines: sortable, exact, portable.</summary>
    public static long ToDb(DateTimeOffset value) => value.ToUnixTimeMilliseconds();

    public static long? ToDb(DateTimeOffset? value) => value?.ToUnixTimeMilliseconds();

    public static DateTimeOffset FromDb(long value) => DateTimeOffset.FromUnixTimeMilliseconds(value);

    public static DateTimeOffset? FromDb(long? value) => value is { } v ? DateTimeOffset.FromUnixTimeMilliseconds(v) : null;

    /// <summary>
    /// Applies migrations not yet applied, each in its own transaction. Several replicas starting at once on
    /// PostgreSQL serialize on an advisory lock; on SQLite each migration re-checks under the write lock. A migration that
    /// consolidates earlier ones (<see cref="SchemaMigration.Replaces"/>) runs its upgrade instead on a database that has them.
    /// </summary>
    public async Task MigrateAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var migrating = await Dialect.BeginMigratingAsync(connection, MigrationLockKey).ConfigureAwait(false);
        await connection.ExecuteAsync(
            "CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)").ConfigureAwait(false);
        var applied = await AppliedAsync(connection, null).ConfigureAwait(false);
        foreach (var migration in _migrations.Where(m => !applied.Contains(m.Id)))
        {
            await using var transaction = await Dialect.BeginAsync(connection, cancellationToken).ConfigureAwait(false);
            applied = await AppliedAsync(connection, transaction).ConfigureAwait(false);
            if (applied.Contains(migration.Id))
            {
                continue;
            }

            var replaced = migration.Replaces.Where(applied.Contains).ToList();
            if (replaced.Count > 0 && replaced.Count < migration.Replaces.Count)
            {
                throw new InvalidOperationException(
                    $"Schema migration \"{migration.Id}\" replaces {string.Join(", ", migration.Replaces)} together, but this {Provider} database has only "
                    + $"{string.Join(", ", replaced)}: it was made by a development build between them. Start from an empty database.");
            }

            var sql = replaced.Count > 0 ? migration.Upgrade?.Invoke(Dialect) ?? string.Empty : migration.TextFor(Dialect);
            try
            {
                if (sql.Length > 0)
                {
                    await connection.ExecuteAsync(sql, transaction: transaction).ConfigureAwait(false);
                }
            }
            catch (DbException e)
            {
                throw new InvalidOperationException($"Schema migration \"{migration.Id}\" failed on {Provider}: {e.Message}", e);
            }

            await connection.ExecuteAsync("DELETE FROM schema_migrations WHERE id = @id", replaced.Select(id => new { id }), transaction).ConfigureAwait(false);
            await connection.ExecuteAsync(
                "INSERT INTO schema_migrations (id, applied_at) VALUES (@id, @at)",
                new { id = migration.Id, at = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture) },
                transaction).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// PostgreSQL: opens <see cref="StorageOptions.PostgresWarmConnections"/> connections at once and has each read every
    /// table of the bot's schema (its backend loads their catalog entries), then gives them back to the pool, which keeps
    /// them (its minimum): a storm's first writes find a warm connection instead of each starting a server backend. Best
    /// effort: a server that refuses more connections ends it early. Returns the connections warmed (0 on SQLite).
    /// </summary>
    public async Task<int> WarmConnectionsAsync(CancellationToken cancellationToken = default)
    {
        if (_postgres is null || _warmConnections == 0)
        {
            return 0;
        }

        string warm;
        await using (var connection = await OpenAsync(cancellationToken).ConfigureAwait(false))
        {
            var tables = (await connection.QueryAsync<string>(new CommandDefinition(
                "SELECT c.relname FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') ORDER BY c.relname",
                cancellationToken: cancellationToken)).ConfigureAwait(false)).ToList();
            warm = tables.Count == 0
                ? "SELECT 1"
                : "SELECT " + string.Join(", ", tables.Select(t => $"(SELECT 1 FROM \"{t.Replace("\"", "\"\"", StringComparison.Ordinal)}\" LIMIT 0)"));
        }

        var opened = new List<DbConnection>(_warmConnections);
        try
        {
            await Task.WhenAll(Enumerable.Range(0, _warmConnections).Select(async _ =>
            {
                var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
                lock (opened)
                {
                    opened.Add(connection);
                }

                await connection.ExecuteAsync(new CommandDefinition(warm, cancellationToken: cancellationToken)).ConfigureAwait(false);
            })).ConfigureAwait(false);
        }
        catch (Exception e) when (StorageFaults.IsUnavailable(e))
        {
            // Too many connections for the server (or it went away): the pool starts with what it has.
        }
        finally
        {
            foreach (var connection in opened)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }

        return opened.Count;
    }

    /// <summary>The ids of the migrations applied to this database, in order.</summary>
    public async Task<IReadOnlyList<string>> AppliedMigrationsAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var ids = await connection.QueryAsync<string>("SELECT id FROM schema_migrations ORDER BY id").ConfigureAwait(false);
        return ids.ToList();
    }

    public async ValueTask DisposeAsync()
    {
        _writeTurn.Dispose();
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async Task<HashSet<string>> AppliedAsync(DbConnection connection, DbTransaction? transaction) =>
        (await connection.QueryAsync<string>("SELECT id FROM schema_migrations", transaction: transaction).ConfigureAwait(false))
            .ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// Refuses at start what would fail later: two migrations with one id, a replaced id that is also registered, and a
    /// text with a placeholder the dialect does not know.
    /// </summary>
    private static void CheckMigrations(IReadOnlyList<SchemaMigration> migrations, ISqlDialect dialect)
    {
        var duplicate = migrations.GroupBy(m => m.Id, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException(
                $"Two schema migrations are registered with the id \"{duplicate.Key}\"; each capability must use its own id prefix.");
        }

        var ids = migrations.Select(m => m.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var migration in migrations)
        {
            if (migration.Replaces.FirstOrDefault(ids.Contains) is { } both)
            {
                throw new InvalidOperationException(
                    $"Schema migration \"{migration.Id}\" replaces \"{both}\", which is registered too; register only the migration that replaces it.");
            }

            try
            {
                _ = migration.TextFor(dialect);
            }
            catch (InvalidOperationException e)
            {
                throw new InvalidOperationException($"Schema migration \"{migration.Id}\": {e.Message}", e);
            }
        }
    }

    /// <summary>
    /// The bot's own pool, with defaults where the connection string is silent: <c>Minimum Pool Size</c> = the warm
    /// connections (so the pool keeps them through quiet hours; never above <c>Maximum Pool Size</c>), and
    /// <c>No Reset On Close</c> (the bot leaves no session state on a connection: its transactions end, its one session
    /// lock — migrating — is released; the reset would be server work before every pooled open's first command).
    /// </summary>
    private static (string ConnectionString, int Warm) PostgresDefaults(string given, int warm)
    {
        var set = new DbConnectionStringBuilder { ConnectionString = given }.Keys
            .Cast<string>()
            .Select(k => k.Replace(" ", string.Empty, StringComparison.Ordinal).ToUpperInvariant())
            .ToHashSet(StringComparer.Ordinal);
        var builder = new NpgsqlConnectionStringBuilder(given);
        warm = Math.Min(warm, builder.MaxPoolSize);
        if (!set.Contains("MINIMUMPOOLSIZE") && !set.Contains("MINPOOLSIZE"))
        {
            builder.MinPoolSize = warm;
        }

        if (!set.Contains("NORESETONCLOSE"))
        {
            builder.NoResetOnClose = true;
        }

        // Statements a connection sends again are prepared on it (parsed and planned once, not per execution); their
        // texts are the code's constants, so the cache holds them all. A pooler in transaction mode (PgBouncer) hands a
        // session's prepared statements to other clients: a connection string naming Max Auto Prepare=0 turns it off.
        if (!set.Contains("MAXAUTOPREPARE"))
        {
            builder.MaxAutoPrepare = AutoPreparedStatements;
        }

        if (!set.Contains("AUTOPREPAREMINUSAGES"))
        {
            builder.AutoPrepareMinUsages = AutoPrepareMinUsages;
        }

        return (builder.ConnectionString, warm);
    }

    /// <summary>
    /// The bot's pool. With <paramref name="genericPlans"/> every physical connection, when it is made, plans the
    /// statements it keeps prepared generically (<see cref="StorageOptions.PostgresGenericPlans"/>): one plan per statement
    /// and connection, not the five custom ones PostgreSQL makes before it weighs the generic plan. The setting stays with
    /// the session (<c>No Reset On Close</c>; a reset would only take the saving away).
    /// </summary>
    private static NpgsqlDataSource PostgresDataSource(string connectionString, bool genericPlans)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        if (genericPlans)
        {
            builder.UsePhysicalConnectionInitializer(
                connection =>
                {
                    using var command = new NpgsqlCommand(GenericPlansSql, connection);
                    command.ExecuteNonQuery();
                },
                async connection =>
                {
                    await using var command = new NpgsqlCommand(GenericPlansSql, connection);
                    await command.ExecuteNonQueryAsync().ConfigureAwait(false);
                });
        }

        return builder.Build();
    }

    private const string GenericPlansSql = "SET plan_cache_mode = force_generic_plan";

    private static string DescribePostgres(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        return $"postgres://{builder.Host}:{builder.Port}/{builder.Database}";
    }
}
