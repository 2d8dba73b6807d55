using ChatOpsPull.Incidents;
using ChatOpsPull.Storage;
using Dapper;
using Npgsql;

namespace ChatOpsPull.Tests.Storage;

/// <summary>
/// Migration 0420 fills PostgreSQL's <c>incidents</c> pages to half, so a storm's writes of an incident find room for the
/// new row version on its page. It must be safe on a database with rows and while replicas of the release before keep
/// writing (a rolling upgrade); on SQLite it runs nothing.
/// </summary>
[Collection(UsesPostgres.Name)]
public sealed class IncidentsHalfFilledPagesMigrationTests(PostgresFixture postgres)
{
    private static readonly DateTimeOffset At = new(2026, 12, 7, 10, 0, 0, TimeSpan.Zero);

    /// <summary>The incidents' migrations of the release before this one.</summary>
    private static readonly SchemaMigration[] Before =
    [
        IncidentSchema.Incidents, IncidentSchema.NewsOwed, IncidentSchema.AnnouncementsOwed, IncidentSchema.NewsOwedChangeVersion,
        IncidentSchema.DiagnosisTakenUntil, IncidentSchema.NewsOwedAtUnindexed,
    ];

    [Fact]
    public async Task Halving_the_incidents_pages_keeps_every_row_and_does_not_wait_for_a_writer_of_the_release_before_on_postgres()
    {
        using var storage = await TestStorage.PostgresAsync(postgres);
        var old = await storage.OpenMigratedAsync(Before);
        await old.InTransactionAsync(async (connection, transaction) =>
        {
            foreach (var n in Enumerable.Range(1, 20))
            {
                await IncidentStore.InsertAsync(connection, transaction, Incident($"inc-{n}", $"deployment/api-{n}"));
            }

            return true;
        });

        // A replica of the release before holds a write on incidents open while another replica migrates.
        await using var writer = new NpgsqlConnection(storage.ConnectionString + ";Pooling=false");
        await writer.OpenAsync();
        await using var writing = await writer.BeginTransactionAsync();
        Assert.Equal(1, await writer.ExecuteAsync("UPDATE incidents SET updated_at = updated_at + 1, version = version + 1 WHERE id = 'inc-1'", transaction: writing));

        var migrated = await storage.Replica().OpenMigratedAsync([.. Before, IncidentSchema.IncidentsHalfFilledPages]).WaitAsync(TimeSpan.FromMinutes(2)); // a deadline, not a timing
        await writing.CommitAsync();

        await using var connection = await migrated.OpenAsync();
        Assert.Equal(["fillfactor=50"], await connection.QueryAsync<string>("SELECT unnest(reloptions) FROM pg_class WHERE relname = 'incidents' AND relkind = 'r'"));
        Assert.Contains("0420-incidents-half-filled-pages", await migrated.AppliedMigrationsAsync());
        Assert.Equal(20, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM incidents"));
        Assert.Equal(20, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM incident_pods"));
        Assert.Equal(2, await connection.ExecuteScalarAsync<long>("SELECT version FROM incidents WHERE id = 'inc-1'"));

        // The writer of the release before goes on writing the same rows.
        Assert.Equal(1, await writer.ExecuteAsync("UPDATE incidents SET updated_at = updated_at + 1, version = version + 1 WHERE id = 'inc-2'"));
        Assert.Equal(2, await connection.ExecuteScalarAsync<long>("SELECT version FROM incidents WHERE id = 'inc-2'"));
    }

    [Fact]
    public async Task On_sqlite_the_half_filled_pages_migration_runs_nothing_and_is_recorded()
    {
        using var storage = TestStorage.Sqlite();
        var database = await storage.OpenMigratedAsync([.. Before, IncidentSchema.IncidentsHalfFilledPages]);

        Assert.Equal(string.Empty, IncidentSchema.IncidentsHalfFilledPages.TextFor(SqliteDialect.Instance));
        Assert.Contains("0420-incidents-half-filled-pages", await database.AppliedMigrationsAsync());
        await database.InTransactionAsync(async (connection, transaction) =>
            await IncidentStore.InsertAsync(connection, transaction, Incident("inc-1", "deployment/api")));
        await using var connection = await database.OpenAsync();
        Assert.Equal(1, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM incidents"));
    }

    private static Core.Incidents.Incident Incident(string id, string subject) => new(
        id,
        new Core.Incidents.IncidentKey("prod", "shop", subject, Core.Failures.PullCause.ImageNotFound),
        "registry.example/shop/api:9",
        Core.Incidents.IncidentState.Open,
        At,
        At,
        [new Core.Incidents.AffectedPod(subject + "-pod", "app", "ErrImagePull", "manifest unknown", At, At)],
        1);
}
