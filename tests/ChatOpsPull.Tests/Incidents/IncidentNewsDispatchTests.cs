using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Incidents;
using ChatOpsPull.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace ChatOpsPull.Tests.Incidents;

/// <summary>The one news path under load: one incident's news is told by one runner at a time, all of it, in order.</summary>
public sealed class IncidentNewsDispatchTests
{
    [Fact]
    public async Task Announcements_racing_about_one_incident_are_told_one_at_a_time_all_of_them_each_senders_in_order()
    {
        var overlap = new OverlapNotifier();
        await using var rig = await EngineRig.StartAsync(DatabaseProvider.Sqlite, null, services: s => s.AddSingleton<IIncidentNotifier>(overlap));
        await rig.Engine.ReportAsync(Failures.Pod("api-1"), default);
        var incident = Assert.Single(await rig.Store.ListOpenAsync());
        const int Senders = 8, Each = 25;

        // Each sender announces its news one after another, so a runner often empties the mailbox just as the next
        // notice is posted: the moment a second runner could start on the same incident.
        await Task.WhenAll(Enumerable.Range(0, Senders).Select(sender => Task.Run(async () =>
        {
            for (var n = 0; n < Each; n++)
            {
                await rig.Engine.AnnounceAsync(incident.Id, IncidentChange.ApprovalDecided, $"news {sender}.{n}");
            }
        })));

        Assert.Equal(1, overlap.MostAtOnce);
        var told = overlap.Told.Where(d => d.StartsWith("news ", StringComparison.Ordinal)).ToList();
        Assert.Equal(Senders * Each, told.Count);
        for (var sender = 0; sender < Senders; sender++)
        {
            var prefix = $"news {sender}.";
            Assert.Equal(
                Enumerable.Range(0, Each).Select(n => $"news {sender}.{n}"),
                told.Where(d => d.StartsWith(prefix, StringComparison.Ordinal)));
        }
    }

    /// <summary>Counts how many deliveries are in it at once; yields inside so that an overlap has room to happen.</summary>
    private sealed class OverlapNotifier : IIncidentNotifier
    {
        private readonly Lock _gate = new();
        private readonly List<string> _told = [];
        private int _inside;
        private int _mostAtOnce;

        public int MostAtOnce => Volatile.Read(ref _mostAtOnce);

        public IReadOnlyList<string> Told
        {
            get
            {
                lock (_gate)
                {
                    return [.. _told];
                }
            }
        }

        public async Task IncidentChangedAsync(Incident incident, IncidentChange change, string? detail, CancellationToken cancellationToken)
        {
            lock (_gate)
            {
                _inside++;
                _mostAtOnce = Math.Max(_mostAtOnce, _inside);
                _told.Add(detail ?? string.Empty);
            }

            await Task.Yield();
            lock (_gate)
            {
                _inside--;
            }
        }
    }
}
