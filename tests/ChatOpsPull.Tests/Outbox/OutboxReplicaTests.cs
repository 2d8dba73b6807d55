using ChatOpsPull.Chat;
using ChatOpsPull.Chat.Outbox;
using ChatOpsPull.Chat.Slack;
using ChatOpsPull.Tests.Slack;
using ChatOpsPull.Tests.Slack.FakeSlack;

namespace ChatOpsPull.Tests.Outbox;

/// <summary>Two bot replicas sharing a real PostgreSQL database send each outbox row once, still paced per channel.</summary>
public sealed class OutboxReplicaTests(PostgresServer postgres) : IClassFixture<PostgresServer>, IAsyncLifetime
{
    private FakeSlackServer _fake = null!;

    public async Task InitializeAsync() => _fake = await FakeSlackServer.StartAsync();

    public async Task DisposeAsync() => await _fake.DisposeAsync();

    [Fact]
    public async Task Two_replicas_on_postgres_send_every_row_once_and_keep_each_channel_paced()
    {
        _fake.RatePerSecond = 5;
        _fake.Burst = 1;
        var connectionString = await postgres.CreateDatabaseAsync("outbox_" + Guid.NewGuid().ToString("N")[..8]);
        var settings = new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "Postgres",
            ["Storage:ConnectionString"] = connectionString,
            ["Outbox:MessageInterval"] = "00:00:00.200",
            ["Outbox:MaxParallelChannels"] = "2",
        };
        await using var replicaA = SlackTestHost.Start(_fake, settings);
        await using var replicaB = SlackTestHost.Start(_fake, settings);
        var channels = Enumerable.Range(1, 8).Select(i => $"C0SHARED{i}").ToList();

        var enqueues = new List<Task>();
        foreach (var (channel, c) in channels.Select((channel, c) => (channel, c)))
        {
            for (var i = 0; i < 8; i++)
            {
                var surface = (i % 2 == 0 ? replicaA : replicaB).Get<SlackSurface>();
                enqueues.Add(surface.PublishAsync(channel, SlackOutboxTests.Card($"incident:inc-p{c}{i:D6}", $"{channel} card {i}"), CancellationToken.None));
            }
        }

        await Task.WhenAll(enqueues);
        await _fake.WaitUntilAsync(calls => calls.Count(c => c.Ok) >= 64, TimeSpan.FromSeconds(90), "64 posted cards");
        await Drained.WaitAsync(replicaA.Services); // one outbox for both replicas: a duplicate send would be in it

        var posts = _fake.CallsTo("chat.postMessage");
        var titles = posts.Where(c => c.Ok).Select(c => SlackOutboxTests.Title(c.Body)).ToList();
        Assert.Equal(64, titles.Count);
        Assert.Equal(64, titles.Distinct().Count());
        foreach (var channel in channels)
        {
            var sends = posts.Where(c => c.Channel == channel).OrderBy(c => c.At).ToList();
            // Sends start 200 ms apart; arrival times jitter by up to ~100 ms on a loaded machine, so two neighbours may
            // land close together. Two replicas sending the same channel at once would come in pairs a few ms apart,
            // and four sends in a row would then span about one interval instead of three.
            var tightestFour = sends.Zip(sends.Skip(3), (a, b) => (b.At - a.At).TotalMilliseconds).Min();
            Assert.True(tightestFour >= 350, $"{channel}: four sends in a row within {tightestFour:F0} ms: " + string.Join(", ", sends.Select(c => $"{c.At:ss.fff} {c.Status} {c.Error}")));
        }

        var rows = new List<OutboxRow>();
        foreach (var channel in channels)
        {
            rows.AddRange(await replicaA.Get<ChatOutbox>().ListAsync(ChatPlatform.Slack, channel, CancellationToken.None));
        }

        Assert.Equal(64, rows.Count);
        Assert.All(rows, r => Assert.Equal(OutboxState.Delivered, r.State));
        Assert.Equal(2, rows.Select(r => r.SentBy).Distinct().Count());
        SlackTestHost.DeleteDirectory(replicaA.DataDirectory);
        SlackTestHost.DeleteDirectory(replicaB.DataDirectory);
    }
}
