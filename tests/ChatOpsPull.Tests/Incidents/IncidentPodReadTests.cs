using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Incidents;
using ChatOpsPull.Storage;
using ChatOpsPull.Tests.Storage;

namespace ChatOpsPull.Tests.Incidents;

/// <summary>
/// The store reads the pods of every incident it lists in one query (the incident ids are one list parameter on both
/// engines): a list longer than any old chunk (500) still gives each incident exactly its own pods.
/// </summary>
[Collection(UsesPostgres.Name)]
public sealed class IncidentPodReadTests(PostgresFixture postgres)
{
    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Listing_more_than_500_incidents_gives_each_its_own_pods_in_order(DatabaseProvider provider)
    {
        const int count = 730;
        await using var rig = await EngineRig.StartAsync(provider, postgres);
        var database = rig.Store.Database;
        await using (var connection = await database.OpenAsync())
        {
            await using var transaction = await database.Dialect.BeginAsync(connection, CancellationToken.None);
            for (var i = 0; i < count; i++)
            {
                await IncidentStore.InsertAsync(connection, transaction, Incident(i));
            }

            await transaction.CommitAsync();
        }

        var open = await rig.Store.ListOpenAsync("prod");

        Assert.Equal(count, open.Count);
        foreach (var incident in open)
        {
            var i = int.Parse(incident.Id["pod-read-".Length..], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(Incident(i).Pods, incident.Pods);
        }
    }

    /// <summary>Incident <paramref name="i"/> with 1–3 pods whose names say whose they are, listed newest first.</summary>
    private static Incident Incident(int i)
    {
        var opened = Failures.Start.AddSeconds(i);
        var pods = Enumerable.Range(0, 1 + (i % 3))
            .Select(p => new AffectedPod($"w{i}-pod-{p}", "app", "ErrImagePull", $"not found {i}", opened.AddMilliseconds(p), opened.AddMilliseconds(p)))
            .ToList();
        return new Incident(
            $"pod-read-{i}",
            new IncidentKey("prod", "shop", $"deployment/w{i}", PullCause.ImageNotFound),
            $"registry.example.com/shop/w{i}:1.0",
            IncidentState.Open,
            opened,
            opened,
            pods,
            1);
    }
}
