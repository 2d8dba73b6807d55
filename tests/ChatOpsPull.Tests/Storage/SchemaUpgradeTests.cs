using System.Data.Common;
using System.Globalization;
using System.Text.RegularExpressions;
using ChatOpsPull.Storage;
using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace ChatOpsPull.Tests.Storage;

/// <summary>
/// The bot's schema migrations make one schema whether they start from an empty database or from one made by main before
/// the migrations were consolidated (tests/fixtures/schema/main-dee687b: main's exact DDL), and an upgrade keeps every row
/// and numbers new ones after them.
/// </summary>
[Collection(UsesPostgres.Name)]
public sealed partial class SchemaUpgradeTests(PostgresFixture postgres)
{
    private const string MainBuild = "main-dee687b";

    /// <summary>Unix milliseconds past 2^32, so a column too narrow for them would show.</summary>
    private const long At = 1_767_225_600_123;

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [InlineData(DatabaseProvider.Postgres)]
    public async Task A_database_made_by_main_ends_with_the_schema_of_an_empty_one_and_keeps_its_rows(DatabaseProvider provider)
    {
        using var empty = await StorageAsync(provider);
        using var fromMain = await StorageAsync(provider);
        var fresh = await MigrateAsTheBotDoesAsync(empty);

        await MigrateAsMainDidAsync(fromMain);
        await FillEveryTableAsync(fromMain);
        var rowsBefore = await RowsAsync(fromMain);
        var columnsBefore = await ColumnsAsync(fromMain);
        var upgraded = await MigrateAsTheBotDoesAsync(fromMain);

        Assert.Equal(await SchemaAsync(empty), await SchemaAsync(fromMain));
        Assert.Equal(fresh, upgraded);
        // Main's rows keep every value they had; what later migrations add (columns, tables) starts empty.
        Assert.Equal(rowsBefore, await RowsAsync(fromMain, columnsBefore));
        var rowsAfter = await RowsAsync(fromMain);
        Assert.All(rowsAfter.Where(table => !columnsBefore.ContainsKey(table.Key)), table => Assert.Empty(table.Value));
        foreach (var (table, columns) in await ColumnsAsync(fromMain))
        {
            var added = columns.Except(columnsBefore.GetValueOrDefault(table, columns)).ToArray();
            Assert.All(rowsAfter[table], row => Assert.All(added, column => Assert.Contains($"{column}=", row.Split(" | "))));
        }
        Assert.DoesNotContain(rowsBefore, table => table.Value.Count == 0);

        // The database still numbers new rows after the ones it had.
        await using var connection = await OpenAsync(fromMain);
        var lastAudit = await connection.ExecuteScalarAsync<long>("SELECT MAX(id) FROM audit_log");
        var nextAudit = await connection.ExecuteScalarAsync<long>(
            "INSERT INTO audit_log (at, actor_platform, actor_id, actor_name, action, outcome) VALUES (@At, 'web', 'u', 'U', 'later', 'ok') RETURNING id", new { At });
        Assert.True(nextAudit > lastAudit, $"audit line {nextAudit} after {lastAudit}");
        var lastPull = await connection.ExecuteScalarAsync<long>("SELECT MAX(id) FROM pull_events");
        var nextPull = await connection.ExecuteScalarAsync<long>(
            """
            INSERT INTO pull_events (cluster, namespace, pod, image, observed_at, event_key)
            VALUES ('prod', 'shop', 'api-later', 'registry.example/shop/api:1.2', '2026-01-02T00:00:00.0000000+00:00', 'uid-later') RETURNING id
            """);
        Assert.True(nextPull > lastPull, $"pull event {nextPull} after {lastPull}");
    }

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [InlineData(DatabaseProvider.Postgres)]
    public async Task Running_the_migrations_again_over_an_upgraded_database_changes_nothing(DatabaseProvider provider)
    {
        using var fromMain = await StorageAsync(provider);
        await MigrateAsMainDidAsync(fromMain);
        await FillEveryTableAsync(fromMain);
        var applied = await MigrateAsTheBotDoesAsync(fromMain);
        var schema = await SchemaAsync(fromMain);
        var rows = await RowsAsync(fromMain);

        Assert.Equal(applied, await MigrateAsTheBotDoesAsync(fromMain));
        Assert.Equal(schema, await SchemaAsync(fromMain));
        Assert.Equal(rows, await RowsAsync(fromMain));
    }

    /// <summary>Every migration the real host registers, applied by its <see cref="BotDatabase"/>; returns the ids applied.</summary>
    private static async Task<IReadOnlyList<string>> MigrateAsTheBotDoesAsync(TestStorage storage)
    {
        await using var host = new BotTestHost(storage) { BackgroundWork = false };
        var database = host.Services.GetRequiredService<BotDatabase>();
        await database.MigrateAsync();
        return await database.AppliedMigrationsAsync();
    }

    /// <summary>What main's <c>BotDatabase.MigrateAsync</c> did: each migration's text for this engine, in id order, each in a transaction.</summary>
    private static async Task MigrateAsMainDidAsync(TestStorage storage)
    {
        var directory = Path.Combine(AppContext.BaseDirectory, "fixtures", "schema", MainBuild);
        var suffix = storage.Provider == DatabaseProvider.Postgres ? ".postgres.sql" : ".sqlite.sql";
        var files = Directory.GetFiles(directory, "*" + suffix).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(11, files.Count);
        await using var connection = await OpenAsync(storage);
        if (storage.Provider == DatabaseProvider.Sqlite)
        {
            await connection.ExecuteAsync("PRAGMA journal_mode = WAL;");
        }

        await connection.ExecuteAsync("CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)");
        foreach (var file in files)
        {
            await using var transaction = await connection.BeginTransactionAsync();
            await connection.ExecuteAsync(await File.ReadAllTextAsync(file), transaction: transaction);
            await connection.ExecuteAsync(
                "INSERT INTO schema_migrations (id, applied_at) VALUES (@id, @at)",
                new { id = Path.GetFileName(file)[..^suffix.Length], at = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture) },
                transaction);
            await transaction.CommitAsync();
        }
    }

    /// <summary>At least one row in every table main made, with the columns main's code wrote.</summary>
    private static async Task FillEveryTableAsync(TestStorage storage)
    {
        await using var connection = await OpenAsync(storage);
        await connection.ExecuteAsync(
            """
            INSERT INTO incidents (id, cluster, namespace, subject, cause, open_key, storm_key, image, state, workload_kind, workload_name,
                opened_at, updated_at, resolved_at, snoozed_until, rollup_of, diagnosis, diagnosis_requested, diagnosis_applied, reopen_notified_at, version)
            VALUES ('inc-1', 'prod', 'shop', 'deployment/api', 'TagNotFound', 'prod/shop/deployment/api', 'storm', 'registry.example/shop/api:1.2', 'open',
                'Deployment', 'api', @At, @At, NULL, @At, NULL, '{"cause":"TagNotFound"}', 2, 1, @At, 3);
            INSERT INTO incidents (id, cluster, namespace, subject, cause, open_key, storm_key, image, state, opened_at, updated_at, resolved_at, version)
            VALUES ('inc-2', 'prod', 'shop', 'deployment/web', 'AuthFailed', NULL, 'storm', 'registry.example/shop/web:2', 'resolved', @At, @At, @At, 1);
            INSERT INTO incident_pods (incident_id, pod, container, reason, message, first_seen, last_seen, resolved_at, node_name)
            VALUES ('inc-1', 'api-7d9c-abcde', 'api', 'ErrImagePull', 'manifest unknown', @At, @At, NULL, 'node-1');
            INSERT INTO incident_mutes (id, scope, cluster, pattern, until_at, created_by, created_at, removed_at)
            VALUES ('mute-1', 'namespace', 'prod', 'shop', @At, 'slack:U1', @At, NULL);
            INSERT INTO audit_log (at, actor_platform, actor_id, actor_name, action, incident_id, approval_id, detail, outcome)
            VALUES (@At, 'slack', 'U1', 'Ada', 'incident.opened', 'inc-1', NULL, 'opened', 'ok');
            INSERT INTO audit_log (at, actor_platform, actor_id, actor_name, action, incident_id, approval_id, detail, outcome)
            VALUES (@At, 'teams', 'T1', 'Grace', 'approval.requested', 'inc-1', 'apr-1', NULL, 'ok');
            INSERT INTO chat_outbox (platform, channel, operation, payload, dedupe_key, attempts, not_before, last_error, created_at, updated_at, state, lease_owner, lease_until, sent_by)
            VALUES ('slack', 'C1', 'post', '{"text":"hi"}', 'card:inc-1', 0, @At, NULL, @At, @At, 'pending', NULL, NULL, NULL);
            INSERT INTO chat_outbox (platform, channel, operation, payload, dedupe_key, attempts, not_before, last_error, created_at, updated_at, state, lease_owner, lease_until, sent_by)
            VALUES ('slack', 'C1', 'update', '{"text":"hi"}', NULL, 2, @At, 'rate limited', @At, @At, 'sent', NULL, NULL, 'replica-a');
            INSERT INTO chat_outbox_lanes (platform, channel, next_at, lease_owner, lease_until) VALUES ('slack', 'C1', @At, 'replica-a', @At);
            INSERT INTO slack_seen_events (id, seen_at, expires_at) VALUES ('Ev1', @At, @At);
            INSERT INTO slack_card_messages (channel, card_key, ts, posted_at, updated_at) VALUES ('C1', 'incident:inc-1', '1767225600.000100', @At, @At);
            INSERT INTO teams_conversations (conversation_id, service_url, tenant_id, team_id, team_name, channel_id, channel_name, conversation_type, bot_id, bot_name, updated_at)
            VALUES ('19:abc@thread.tacv2', 'https://smba.example/emea/', 'tenant', 'team', 'Ops', '19:abc@thread.tacv2', 'General', 'channel', '28:bot', 'ChatOpsPull', '2026-01-01T00:00:00.0000000+00:00');
            INSERT INTO teams_cards (conversation_id, card_key, activity_id, thread_conversation_id, viewer_json, approver_json, approvers, fallback_text, updated_at)
            VALUES ('19:abc@thread.tacv2', 'incident:inc-1', '1767225600123', NULL, '{}', '{}', '["aad-1"]', 'inc-1 failing', '2026-01-01T00:00:00.0000000+00:00');
            INSERT INTO teams_users (aad_object_id, user_id, name, updated_at) VALUES ('aad-1', '29:user', 'Grace', '2026-01-01T00:00:00.0000000+00:00');
            INSERT INTO pull_events (cluster, namespace, pod, node, image, registry_host, duration_ms, size_bytes, observed_at, event_key)
            VALUES ('prod', 'shop', 'api-7d9c-abcde', 'node-1', 'registry.example/shop/api:1.1', 'registry.example', 1234, 5368709120, '2026-01-01T00:00:00.0000000+00:00', 'uid-1');
            INSERT INTO pull_events (cluster, namespace, pod, node, image, registry_host, duration_ms, size_bytes, observed_at, event_key)
            VALUES ('prod', 'shop', 'api-7d9c-fghij', NULL, 'registry.example/shop/api:1.1', 'registry.example', NULL, NULL, '2026-01-01T00:00:01.0000000+00:00', 'uid-2');
            INSERT INTO approval_requests (id, incident_id, cluster, namespace, plan_key, plan, requested_by, requested_at, expires_at, status, required, votes, dry_run, decided_at, pending_key, version)
            VALUES ('apr-1', 'inc-1', 'prod', 'shop', 'set-image', '{"kind":"SetImage"}', 'slack:U1', @At, @At, 'approved', 1, '[{"by":"slack:U2"}]', 'ok', @At, NULL, 2);
            INSERT INTO remediation_runs (approval_id, incident_id, cluster, plan, image, status, detail, queued_at, started_at, applied_at, finished_at, lease_owner, lease_until, attempts)
            VALUES ('apr-1', 'inc-1', 'prod', '{"kind":"SetImage"}', 'registry.example/shop/api:1.1', 'succeeded', 'rolled out', @At, @At, @At, @At, NULL, NULL, 1);
            INSERT INTO remediation_steps (approval_id, step, intent, result, done_at) VALUES ('apr-1', 'patch', '{"image":"1.1"}', 'patched', @At);
            INSERT INTO digest_runs (platform, channel, card_key, schedule_id, period_from, period_to, chart_file, chart_sent, empty, posted_at)
            VALUES ('slack', 'C1', 'digest:daily:2026-01-01', 'daily', @At, @At, 'chart-1.png', 1, 0, @At);
            INSERT INTO prevention_findings (id, finding_key, source, kind, cluster, namespace, workload_kind, workload_name, container, image, summary, detail, state, first_seen, last_seen, resolved_at, seen)
            VALUES ('find-1', 'prod/shop/deployment/api/api/missing-tag', 'sweep', 'MissingTag', 'prod', 'shop', 'Deployment', 'api', 'api', 'registry.example/shop/api:9', 'tag 9 is missing', '{}', 'open', @At, @At, NULL, 3);
            """,
            new { At });
    }

    /// <summary>Every table's rows, each rendered as text and sorted, by table name.</summary>
    /// <summary>Every table's rows as text; with <paramref name="columnsOf"/>, only those tables and those columns.</summary>
    private static async Task<SortedDictionary<string, List<string>>> RowsAsync(TestStorage storage, IReadOnlyDictionary<string, string[]>? columnsOf = null)
    {
        await using var connection = await OpenAsync(storage);
        var tables = columnsOf?.Keys ?? await TablesAsync(connection, storage.Provider);
        var rows = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var table in tables)
        {
            var found = await connection.QueryAsync($"SELECT * FROM {table}");
            rows[table] = found
                .Select(row => string.Join(" | ", ((IDictionary<string, object?>)row)
                    .Where(c => columnsOf is null || columnsOf[table].Contains(c.Key, StringComparer.Ordinal))
                    .Select(c => $"{c.Key}={Convert.ToString(c.Value, CultureInfo.InvariantCulture)}")))
                .Order(StringComparer.Ordinal)
                .ToList();
        }

        return rows;
    }

    private static Task<IEnumerable<string>> TablesAsync(DbConnection connection, DatabaseProvider provider) =>
        connection.QueryAsync<string>(provider == DatabaseProvider.Postgres
            ? "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'schema_migrations'"
            : "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'");

    private static async Task<Dictionary<string, string[]>> ColumnsAsync(TestStorage storage)
    {
        await using var connection = await OpenAsync(storage);
        var columns = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var table in await TablesAsync(connection, storage.Provider))
        {
            await using var reader = await connection.ExecuteReaderAsync($"SELECT * FROM {table} LIMIT 0");
            columns[table] = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToArray();
        }

        return columns;
    }

    /// <summary>
    /// The schema as the engine holds it. SQLite: each object's CREATE text from sqlite_master with whitespace evened out
    /// (SQLite keeps the text as written). PostgreSQL: columns with types, defaults and identity, indexes and constraints.
    /// </summary>
    private static async Task<List<string>> SchemaAsync(TestStorage storage)
    {
        await using var connection = await OpenAsync(storage);
        if (storage.Provider == DatabaseProvider.Sqlite)
        {
            var objects = await connection.QueryAsync<(string Type, string Name, string Table, string? Sql)>(
                "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name");
            return objects.Select(o => $"{o.Type} {o.Name} on {o.Table}: {Even(o.Sql)}").ToList();
        }

        var columns = await connection.QueryAsync<string>(
            """
            SELECT table_name || '.' || column_name || ' #' || ordinal_position || ' ' || data_type || ' nullable=' || is_nullable
                || ' default=' || COALESCE(column_default, '-') || ' identity=' || is_identity || ' ' || COALESCE(identity_generation, '-')
            FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position
            """);
        var indexes = await connection.QueryAsync<string>(
            "SELECT 'index ' || indexname || ': ' || indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname");
        var constraints = await connection.QueryAsync<string>(
            """
            SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ': ' || pg_get_constraintdef(oid)
            FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY conrelid::regclass::text, conname
            """);
        var sequences = await connection.QueryAsync<string>(
            "SELECT 'sequence ' || sequencename || ' ' || data_type::text FROM pg_sequences WHERE schemaname = 'public' ORDER BY sequencename");
        return [.. columns, .. indexes, .. constraints, .. sequences];
    }

    private static string? Even(string? sql) =>
        sql is null ? null : AroundPunctuation().Replace(Whitespace().Replace(sql, " ").Trim(), "$1");

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    [GeneratedRegex(@"\s*([(),])\s*")]
    private static partial Regex AroundPunctuation();

    private static async Task<System.Data.Common.DbConnection> OpenAsync(TestStorage storage)
    {
        System.Data.Common.DbConnection connection = storage.Provider == DatabaseProvider.Postgres
            ? new NpgsqlConnection(storage.ConnectionString)
            : new SqliteConnection($"Data Source={Path.Combine(storage.DataDirectory, new StorageOptions().SqliteFile)};Pooling=false");
        await connection.OpenAsync();
        return connection;
    }

    private async Task<TestStorage> StorageAsync(DatabaseProvider provider) =>
        provider == DatabaseProvider.Sqlite ? TestStorage.Sqlite() : await TestStorage.PostgresAsync(postgres);
}
