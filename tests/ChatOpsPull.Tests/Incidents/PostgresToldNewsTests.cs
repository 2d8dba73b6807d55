using ChatOpsPull.Incidents;
using ChatOpsPull.Incidents.Engine;
using ChatOpsPull.Storage;
using ChatOpsPull.Tests.Storage;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace ChatOpsPull.Tests.Incidents;

/// <summary>
/// Removing told news (<c>incident_news_owed</c>) on PostgreSQL beside writers of the same rows: an intake round or a
/// diagnosis upserts an incident's row while its news is being removed. The removal must never wait for such a writer
/// (it held the rows it had removed while it waited, and every round of those incidents waited for it), must never remove
/// news of a newer version, and must not forget a row it left alone.
/// </summary>
[Collection(UsesPostgres.Name)]
public sealed class PostgresToldNewsTests(PostgresFixture postgres)
{
    private static readonly TimeSpan Hang = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Removing_told_news_leaves_a_row_a_writer_holds_without_waiting_and_removes_the_others_on_postgres()
    {
        await using var rig = await EngineRig.StartAsync(DatabaseProvider.Postgres, postgres);
        await OweAsync(rig, ("inc-a", 1), ("inc-b", 1));
        await using var writer = await HoldAsync(rig, "inc-a", 2); // an intake round of inc-a, not committed yet

        var held = await rig.Store.ForgetToldNewsAsync([new("inc-a", 1), new("inc-b", 1)], default).WaitAsync(Hang);

        Assert.Equal(["inc-a"], held);
        Assert.Equal([("inc-a", 1L)], await OwedAsync(rig));

        await writer.Transaction.CommitAsync();
        Assert.Empty(await rig.Store.ForgetToldNewsAsync([new("inc-a", 1)], default)); // told 1, owed 2: stays
        Assert.Equal([("inc-a", 2L)], await OwedAsync(rig));
    }

    [Fact]
    public async Task A_held_row_whose_writer_rolled_back_is_removed_by_the_next_removal_and_told_news_stays_known_until_then_on_postgres()
    {
        await using var rig = await EngineRig.StartAsync(DatabaseProvider.Postgres, postgres);
        using var told = new ToldNews(rig.Store, NullLogger<ToldNews>.Instance);
        await OweAsync(rig, ("inc-a", 3));
        await using (var writer = await HoldAsync(rig, "inc-a", 4))
        {
            // Told while the writer holds the row (ToldNews's own background removal runs too, every pause: it is left
            // alone by both, whichever comes first).
            told.Record("inc-a", 3);
            Assert.Equal(0, await told.FlushAsync(default).WaitAsync(Hang));
            Assert.True(told.Covers("inc-a", 3)); // kept: this host does not tell it again
            await writer.Transaction.RollbackAsync();
        }

        await told.FlushAsync(default); // this one or the background one removes it
        Assert.False(told.Covers("inc-a", 3));
        Assert.Empty(await OwedAsync(rig));
    }

    [Fact]
    public async Task Removing_told_news_is_one_round_trip_with_no_transaction_on_postgres()
    {
        await using var rig = await EngineRig.StartAsync(DatabaseProvider.Postgres, postgres);
        await OweAsync(rig, ("inc-a", 1), ("inc-b", 2), ("inc-c", 1));
        await rig.Store.ForgetToldNewsAsync([new("inc-x", 1)], default); // warms the code

        var sent = await SentToPostgres.CountAsync(() => rig.Store.ForgetToldNewsAsync([new("inc-a", 1), new("inc-b", 1), new("inc-c", 1)], default));

        Assert.Equal(1, sent.RoundTrips);
        Assert.Equal(0, sent.Commits);
        Assert.Equal([("inc-b", 2L)], await OwedAsync(rig)); // told 1, owed 2: stays
    }

    private static async Task OweAsync(EngineRig rig, params (string Id, int Version)[] rows) =>
        await rig.Store.Database.InTransactionAsync(
            async (connection, transaction) =>
            {
                var batch = new StatementBatch();
                foreach (var (id, version) in rows)
                {
                    IncidentStore.OweNews(batch, new OwedNews(id, version, IncidentChange.PodsChanged, "joined", false, Failures.Start));
                }

                await batch.ExecuteAsync(connection, transaction);
                return true;
            });

    /// <summary>Another transaction upserting <paramref name="id"/>'s row to <paramref name="version"/>, left open.</summary>
    private static async Task<HeldRow> HoldAsync(EngineRig rig, string id, int version)
    {
        var connection = new NpgsqlConnection(rig.Storage.ConnectionString);
        await connection.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        var batch = new StatementBatch();
        IncidentStore.OweNews(batch, new OwedNews(id, version, IncidentChange.PodsChanged, "joined", false, Failures.Start));
        await batch.ExecuteAsync(connection, transaction);
        return new HeldRow(connection, transaction);
    }

    private static async Task<List<(string, long)>> OwedAsync(EngineRig rig)
    {
        await using var connection = await rig.Store.Database.OpenAsync();
        return (await connection.QueryAsync<(string, long)>("SELECT incident_id, version FROM incident_news_owed ORDER BY incident_id")).ToList();
    }

    private sealed record HeldRow(NpgsqlConnection Connection, NpgsqlTransaction Transaction) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Transaction.DisposeAsync();
            await Connection.DisposeAsync();
        }
    }
}
