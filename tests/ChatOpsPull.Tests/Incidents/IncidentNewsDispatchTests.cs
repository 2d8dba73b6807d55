using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Incidents;
using ChatOpsPull.Storage;
using ChatOpsPull.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
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

    /// <summary>
    /// The PostgreSQL outage of the storm fault test, narrowed to its race: a diagnosis commits, and the card publisher
    /// that is told next cannot build the card or queue it because the store went down in between. Before, the news was
    /// dropped there (logged, "chat keeps its own persistent queue") and the card stayed at "diagnosing…" for good; a
    /// failure further in (making a report's incident whole) dropped the whole batch and stranded what was posted behind
    /// it. Now it is held in the incident's mailbox, in order, with what is posted after it, and told once the store
    /// answers, to the notifiers that missed it only; the write itself succeeded and says so.
    /// </summary>
    [Fact]
    public async Task A_diagnosis_whose_card_cannot_be_queued_because_the_store_went_down_is_carded_once_it_is_back_before_later_news()
    {
        var card = new StoreDownNotifier();
        await using var rig = await EngineRig.StartAsync(DatabaseProvider.Sqlite, null, services: s => s.AddSingleton<IIncidentNotifier>(card));
        await rig.Engine.ReportAsync(Failures.Pod("api-1"), default);
        var incident = Assert.Single(await rig.Store.ListOpenAsync());
        Assert.Equal([IncidentChange.Opened], card.ChangesFor(incident.Id));

        card.Down = true;
        var diagnosis = new Core.Diagnoses.Diagnosis(PullCause.ImageNotFound, 0.7, "not found", [], "x", []);
        var stored = await rig.Engine.ApplyDiagnosisAsync(incident.Id, 1, diagnosis);
        Assert.Equal(IncidentUpdateOutcome.Changed, stored.Outcome);
        await rig.Engine.ReportAsync(Failures.Pod("api-2"), default); // news posted while the diagnosis's waits
        Assert.Equal([IncidentChange.Opened], card.ChangesFor(incident.Id));

        card.Down = false;
        await Eventually.HoldsAsync(
            () =>
            {
                rig.Time.Advance(TimeSpan.FromMilliseconds(500)); // the held news's pause runs on the bot's clock
                return card.ChangesFor(incident.Id).Count == 3;
            },
            TimeSpan.FromSeconds(30),
            () => string.Join(", ", card.ChangesFor(incident.Id)));

        Assert.Equal([IncidentChange.Opened, IncidentChange.Diagnosed, IncidentChange.PodsChanged], card.ChangesFor(incident.Id));
        var last = card.Told.Last(c => c.Incident.Id == incident.Id).Incident;
        Assert.Equal(IncidentState.Diagnosed, last.State);
        Assert.Equal(2, last.Pods.Count);

        // The notifier that was told while the store was down is not told the same news again.
        Assert.Equal([IncidentChange.Opened, IncidentChange.Diagnosed, IncidentChange.PodsChanged], rig.Notifier.ChangesFor(incident.Id));
    }

    /// <summary>
    /// A notifier that needs the store (the card publisher builds the card from it and queues it in the outbox): while
    /// <see cref="Down"/> it fails as SQLite does when the database cannot be opened.
    /// </summary>
    private sealed class StoreDownNotifier : IIncidentNotifier
    {
        private readonly Lock _gate = new();
        private readonly List<(Incident Incident, IncidentChange Change)> _told = [];

        private volatile bool _down;

        public bool Down
        {
            get => _down;
            set => _down = value;
        }

        public IReadOnlyList<(Incident Incident, IncidentChange Change)> Told
        {
            get
            {
                lock (_gate)
                {
                    return [.. _told];
                }
            }
        }

        public List<IncidentChange> ChangesFor(string incidentId) => Told.Where(t => t.Incident.Id == incidentId).Select(t => t.Change).ToList();

        public Task IncidentChangedAsync(Incident incident, IncidentChange change, string? detail, string? newsKey, CancellationToken cancellationToken)
        {
            if (Down)
            {
                throw new SqliteException("SQLite Error 14: 'unable to open database file'.", 14);
            }

            lock (_gate)
            {
                _told.Add((incident, change));
            }

            return Task.CompletedTask;
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

        public async Task IncidentChangedAsync(Incident incident, IncidentChange change, string? detail, string? newsKey, CancellationToken cancellationToken)
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
